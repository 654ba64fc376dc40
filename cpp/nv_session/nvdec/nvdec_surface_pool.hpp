// Pooled buffers for NVDEC output: device memory (NATIVE_SURFACE frames, RGB staging) or
// page-locked host memory (CPU_RGB frames, so the one device-to-host copy is a DMA).
//
// A buffer is handed out as a shared_ptr; when its last owner dies (a Python tensor, a
// DecodedFrame copy, on any thread) it goes back to the pool. Each buffer handle keeps the
// pool alive, so device memory a caller still holds stays valid after its session is closed.
// Steady state allocates nothing: a returned buffer of a fitting size is reused, and the pool
// keeps as many returned buffers as were ever out at once (a push that yields 30 frames
// the caller holds until the next push needs 30), up to a cap, so a caller who once held
// hundreds of frames does not pin hundreds of buffers for the life of the session. What a
// pool lets go goes to the process's cache (nvdec_buffer_cache.hpp), which the next pool
// takes from before it allocates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "nv_session/nvdec/nvdec_buffer_cache.hpp"
#include "nv_session/nvdec/nvdec_device.hpp"

namespace videohw::nv_session {

struct SurfacePoolStats {
  int64_t allocations = 0;       // buffers the pool took in: from the process cache or new
  int64_t from_cache = 0;        // of those, from the cache (no driver allocation)
  int64_t frees = 0;             // buffers let go while the pool lives (over the cap, stale)
  int64_t reuses = 0;            // acquisitions served from returned buffers
  int64_t outstanding = 0;       // buffers handed out and not yet returned
  int64_t peak_outstanding = 0;  // the most ever handed out at once
  int64_t idle = 0;              // returned buffers kept for reuse
};

class NvdecSurfacePool : public std::enable_shared_from_this<NvdecSurfacePool> {
 public:
  // Keeps returned buffers up to the most ever outstanding at once, and never more than
  // `max_kept` of them or `max_kept_bytes` in all; beyond that the oldest returned one is
  // freed.
  static std::shared_ptr<NvdecSurfacePool> create(std::shared_ptr<NvdecDevice> device,
                                                  size_t max_kept,
                                                  PoolMemory memory = PoolMemory::Device,
                                                  size_t max_kept_bytes = SIZE_MAX);
  ~NvdecSurfacePool();

  // A buffer of at least `bytes`; throws Error(Decode) when the device is out of memory.
  std::shared_ptr<DeviceBuffer> acquire(size_t bytes);

  SurfacePoolStats stats() const;
  const std::shared_ptr<NvdecDevice>& device() const { return device_; }

 private:
  NvdecSurfacePool(std::shared_ptr<NvdecDevice> device, size_t max_kept, PoolMemory memory,
                   size_t max_kept_bytes);
  DeviceBuffer take_fit(size_t bytes);
  DeviceBuffer allocate(size_t bytes);
  void give_back(DeviceBuffer buffer);

  std::shared_ptr<NvdecDevice> device_;
  NvdecBufferCache& cache_;
  size_t max_kept_;
  size_t max_kept_bytes_;
  mutable std::mutex mutex_;        // give_back runs on whichever thread dropped the last owner
  std::vector<DeviceBuffer> idle_;  // oldest returned first
  size_t idle_bytes_ = 0;
  SurfacePoolStats stats_;
};

}  // namespace videohw::nv_session
