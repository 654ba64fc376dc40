// Device buffers for frames submitted from CUDA memory, kept between frames like the host
// slots of ring::FramePool: a steady stream allocates once per slot in flight, not per frame.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

#include "backend/device_memory.hpp"

namespace videohw {

class DeviceFramePool {
 public:
  // The smallest free buffer of `device` with at least `bytes`, else a new one (counted).
  std::unique_ptr<DeviceBuffer> take(int device, size_t bytes);
  void give(std::unique_ptr<DeviceBuffer> buffer);
  int64_t allocations() const { return allocations_.load(std::memory_order_relaxed); }

 private:
  std::mutex mu_;
  std::vector<std::unique_ptr<DeviceBuffer>> free_;
  std::atomic<int64_t> allocations_{0};
};

}  // namespace videohw
