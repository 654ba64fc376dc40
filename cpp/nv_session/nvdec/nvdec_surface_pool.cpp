#include "nv_session/nvdec/nvdec_surface_pool.hpp"

#include <algorithm>

namespace videohw::nv_session {

std::shared_ptr<NvdecSurfacePool> NvdecSurfacePool::create(std::shared_ptr<NvdecDevice> device,
                                                           size_t max_kept, PoolMemory memory,
                                                           size_t max_kept_bytes) {
  return std::shared_ptr<NvdecSurfacePool>(
      new NvdecSurfacePool(std::move(device), max_kept, memory, max_kept_bytes));
}

NvdecSurfacePool::NvdecSurfacePool(std::shared_ptr<NvdecDevice> device, size_t max_kept,
                                   PoolMemory memory, size_t max_kept_bytes)
    : device_(std::move(device)),
      cache_(NvdecBufferCache::of(device_->context(), memory)),
      max_kept_(max_kept),
      max_kept_bytes_(max_kept_bytes) {}

NvdecSurfacePool::~NvdecSurfacePool() {
  for (const DeviceBuffer& buffer : idle_) cache_.keep(buffer);
}

std::shared_ptr<DeviceBuffer> NvdecSurfacePool::acquire(size_t bytes) {
  DeviceBuffer buffer = take_fit(bytes);
  if (!buffer.ptr) buffer = allocate(bytes);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++stats_.outstanding;
    stats_.peak_outstanding = std::max(stats_.peak_outstanding, stats_.outstanding);
  }
  std::shared_ptr<NvdecSurfacePool> self = shared_from_this();
  return std::shared_ptr<DeviceBuffer>(new DeviceBuffer(buffer), [self](DeviceBuffer* b) {
    self->give_back(*b);
    delete b;
  });
}

DeviceBuffer NvdecSurfacePool::take_fit(size_t bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto best = best_fit(idle_, bytes);
  if (best == idle_.end()) return {};
  DeviceBuffer buffer = *best;
  idle_bytes_ -= buffer.bytes;
  idle_.erase(best);
  ++stats_.reuses;
  return buffer;
}

DeviceBuffer NvdecSurfacePool::allocate(size_t bytes) {
  DeviceBuffer buffer = cache_.take(bytes);
  const bool cached = buffer.ptr != 0;
  if (!cached) buffer = cache_.allocate(bytes);
  std::lock_guard<std::mutex> lock(mutex_);
  ++stats_.allocations;
  if (cached) ++stats_.from_cache;
  return buffer;
}

void NvdecSurfacePool::give_back(DeviceBuffer buffer) {
  std::vector<DeviceBuffer> evicted;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    --stats_.outstanding;
    idle_.push_back(buffer);
    idle_bytes_ += buffer.bytes;
    // The oldest returned go first: after a size change those are the stale sizes.
    const size_t keep = std::min(max_kept_, static_cast<size_t>(stats_.peak_outstanding));
    size_t excess = idle_.size() > keep ? idle_.size() - keep : 0;
    size_t bytes = idle_bytes_;
    for (size_t i = 0; i < excess; ++i) bytes -= idle_[i].bytes;
    while (excess < idle_.size() && bytes > max_kept_bytes_) bytes -= idle_[excess++].bytes;
    idle_bytes_ = bytes;
    evicted.assign(idle_.begin(), idle_.begin() + static_cast<long>(excess));
    idle_.erase(idle_.begin(), idle_.begin() + static_cast<long>(excess));
    stats_.frees += static_cast<int64_t>(excess);
  }
  for (const DeviceBuffer& b : evicted) cache_.keep(b);
}

SurfacePoolStats NvdecSurfacePool::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  SurfacePoolStats s = stats_;
  s.idle = static_cast<int64_t>(idle_.size());
  return s;
}

}  // namespace videohw::nv_session
