#include "session/device_frame_pool.hpp"

#include "ring/buffer_pool.hpp"

namespace videohw {

std::unique_ptr<DeviceBuffer> DeviceFramePool::take(int device, size_t bytes) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::unique_ptr<DeviceBuffer> out;
    if (ring::take_smallest_fit(
            free_, bytes, [](const std::unique_ptr<DeviceBuffer>& b) { return b->bytes(); },
            [device](const std::unique_ptr<DeviceBuffer>& b) { return b->device() == device; },
            out))
      return out;
  }
  auto buffer = device_memory().allocate(device, bytes);
  allocations_.fetch_add(1, std::memory_order_relaxed);
  return buffer;
}

void DeviceFramePool::give(std::unique_ptr<DeviceBuffer> buffer) {
  if (!buffer) return;
  std::lock_guard<std::mutex> lock(mu_);
  free_.push_back(std::move(buffer));
}

}  // namespace videohw
