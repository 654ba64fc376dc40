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
      max_kept_(max_kept),
      memory_(memory),
      max_kept_bytes_(max_kept_bytes) {}

NvdecSurfacePool::~NvdecSurfacePool() {
  for (const DeviceBuffer& buffer : idle_) free_now(buffer);
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
  // Best fit, and never more than twice the request, so one early large frame does not
  // pin a big buffer under every small one after a size change.
  auto best = idle_.end();
  for (auto it = idle_.begin(); it != idle_.end(); ++it)
    if (it->bytes >= bytes && it->bytes <= 2 * bytes &&
        (best == idle_.end() || it->bytes < best->bytes))
      best = it;
  if (best == idle_.end()) return {};
  DeviceBuffer buffer = *best;
  idle_bytes_ -= buffer.bytes;
  idle_.erase(best);
  ++stats_.reuses;
  return buffer;
}

DeviceBuffer NvdecSurfacePool::allocate(size_t bytes) {
  DeviceBuffer buffer;
  ContextScope scope(device_->context(), ErrorKind::Decode);
  if (memory_ == PoolMemory::Device) {
    check_cuda(ErrorKind::Decode, device_->cuda().cuMemAlloc(&buffer.ptr, bytes), "cuMemAlloc",
               "allocating a " + std::to_string(bytes) + "-byte output surface");
  } else {
    void* host = nullptr;
    check_cuda(ErrorKind::Decode, device_->cuda().cuMemAllocHost(&host, bytes), "cuMemAllocHost",
               "allocating a " + std::to_string(bytes) + "-byte page-locked frame buffer");
    buffer.ptr = static_cast<CUdeviceptr>(reinterpret_cast<uintptr_t>(host));
  }
  buffer.bytes = bytes;
  std::lock_guard<std::mutex> lock(mutex_);
  ++stats_.allocations;
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
  for (const DeviceBuffer& b : evicted) free_now(b);
}

void NvdecSurfacePool::free_now(const DeviceBuffer& buffer) {
  // cuMemFree needs a current context; the caller's thread may have none (Python's GC).
  ContextScope scope(device_->context(), std::nothrow);
  if (!scope.entered()) return;
  const CudaDriver& d = device_->cuda();
  if (memory_ == PoolMemory::Device)
    d.cuMemFree(buffer.ptr);
  else
    d.cuMemFreeHost(buffer.host());
}

SurfacePoolStats NvdecSurfacePool::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  SurfacePoolStats s = stats_;
  s.idle = static_cast<int64_t>(idle_.size());
  return s;
}

}  // namespace videohw::nv_session
