#include "session/device_frame_pool.hpp"

namespace videohw {

std::unique_ptr<DeviceBuffer> DeviceFramePool::take(int device, size_t bytes) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    size_t best = free_.size();
    for (size_t i = 0; i < free_.size(); ++i) {
      const DeviceBuffer& b = *free_[i];
      if (b.device() == device && b.bytes() >= bytes &&
          (best == free_.size() || b.bytes() < free_[best]->bytes()))
        best = i;
    }
    if (best != free_.size()) {
      std::unique_ptr<DeviceBuffer> out = std::move(free_[best]);
      free_[best] = std::move(free_.back());
      free_.pop_back();
      return out;
    }
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
