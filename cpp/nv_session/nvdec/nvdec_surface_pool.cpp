#include "nv_session/nvdec/nvdec_surface_pool.hpp"

#include <algorithm>

namespace videohw::nv_session {

std::shared_ptr<NvdecSurfacePool> NvdecSurfacePool::create(std::shared_ptr<NvdecDevice> device,
                                                           size_t max_idle, PoolMemory memory) {
  return std::shared_ptr<NvdecSurfacePool>(
      new NvdecSurfacePool(std::move(device), max_idle, memory));
}

NvdecSurfacePool::NvdecSurfacePool(std::shared_ptr<NvdecDevice> device, size_t max_idle,
                                   PoolMemory memory)
    : device_(std::move(device)), max_idle_(max_idle), memory_(memory) {}

NvdecSurfacePool::~NvdecSurfacePool() {
  for (const DeviceBuffer& buffer : idle_) free_now(buffer);
}

std::shared_ptr<DeviceBuffer> NvdecSurfacePool::acquire(size_t bytes) {
  DeviceBuffer buffer;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // Best fit, and never more than twice the request, so one early large frame does not
    // pin a big buffer under every small one after a size change.
    auto best = idle_.end();
    for (auto it = idle_.begin(); it != idle_.end(); ++it)
      if (it->bytes >= bytes && it->bytes <= 2 * bytes &&
          (best == idle_.end() || it->bytes < best->bytes))
        best = it;
    if (best != idle_.end()) {
      buffer = *best;
      idle_.erase(best);
      ++stats_.reuses;
    }
  }
  if (!buffer.ptr) {
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
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++stats_.outstanding;
  }
  std::shared_ptr<NvdecSurfacePool> self = shared_from_this();
  return std::shared_ptr<DeviceBuffer>(new DeviceBuffer(buffer), [self](DeviceBuffer* b) {
    self->give_back(*b);
    delete b;
  });
}

void NvdecSurfacePool::give_back(DeviceBuffer buffer) {
  std::unique_lock<std::mutex> lock(mutex_);
  --stats_.outstanding;
  if (idle_.size() < max_idle_) {
    idle_.push_back(buffer);
    return;
  }
  lock.unlock();
  free_now(buffer);
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
  return stats_;
}

}  // namespace videohw::nv_session
