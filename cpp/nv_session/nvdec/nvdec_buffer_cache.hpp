// Output buffers no session's pool wants any more, kept for the next session in the process.
//
// A session's pool (nvdec_surface_pool.hpp) keeps what that session may hold; what it lets go
// (over its cap, or when the session ends) comes here instead of going back to the driver.
// Page-locked host memory is what makes this worth it: cuMemAllocHost of a 1080p RGB frame
// costs 2-3 ms on an H200 and the driver serialises it across threads, so a new CPU_RGB
// session that allocated its frames afresh ran at half its steady-state rate, and many such
// sessions at once shared one allocator's ~400 frames per second between them.
//
// One cache per primary context and kind of memory, for the life of the process (as the
// context itself). Bounded by bytes (set_limit); beyond the bound the oldest buffers are freed.
// release() frees everything idle now (tests that count the driver's live allocations, a
// caller who wants the memory back).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>

#include "nv_session/cuda/context.hpp"

namespace videohw::nv_session {

// `ptr` is a device address, or for page-locked host memory a host address.
struct DeviceBuffer {
  CUdeviceptr ptr = 0;
  size_t bytes = 0;
  uint8_t* host() const { return reinterpret_cast<uint8_t*>(static_cast<uintptr_t>(ptr)); }
};

enum class PoolMemory { Device, PinnedHost };

// The smallest of `buffers` holding `bytes`, and never more than twice that, so one early
// large frame does not pin a big buffer under every small one after a size change; end()
// when none fits.
template <typename Buffers>
auto best_fit(Buffers& buffers, size_t bytes) {
  auto best = buffers.end();
  for (auto it = buffers.begin(); it != buffers.end(); ++it)
    if (it->bytes >= bytes && it->bytes <= 2 * bytes &&
        (best == buffers.end() || it->bytes < best->bytes))
      best = it;
  return best;
}

struct BufferCacheStats {
  int64_t idle = 0;        // buffers kept now
  int64_t idle_bytes = 0;  // their bytes
  int64_t taken = 0;       // buffers handed to a pool instead of a new allocation
  int64_t kept = 0;        // buffers pools gave here
  int64_t freed = 0;       // buffers freed over the limit or by release()
  int64_t limit_bytes = 0;
};

class NvdecBufferCache {
 public:
  // Default bounds: page-locked host 4 GiB (about 680 1080p RGB frames: 21 sessions at
  // once each holding a 1 MiB chunk's frames), device 2 GiB. Only what pools once held is
  // ever kept, so a process never keeps more than its peak.
  static constexpr int64_t kDefaultHostLimitBytes = int64_t(4) << 30;
  static constexpr int64_t kDefaultDeviceLimitBytes = int64_t(2) << 30;

  static NvdecBufferCache& of(const PrimaryContext& context, PoolMemory memory);

  // A kept buffer of at least `bytes` and at most twice that (a large buffer under every
  // small frame would pin memory for nothing), or {} when none fits.
  DeviceBuffer take(size_t bytes);
  // Takes `buffer` over; frees the oldest kept buffers while over the limit. Never throws
  // (pools call it from their destructors).
  void keep(DeviceBuffer buffer);
  void release();
  void set_limit(int64_t bytes);
  BufferCacheStats stats() const;

  // Allocates or frees as this cache's memory kind; the context is made current here.
  DeviceBuffer allocate(size_t bytes) const;
  void free_now(const DeviceBuffer& buffer) const;

  // Every cache of the process.
  static void release_all();
  static void set_limit_all(PoolMemory memory, int64_t bytes);
  static BufferCacheStats stats_all(PoolMemory memory);

 private:
  NvdecBufferCache(const PrimaryContext& context, PoolMemory memory, int64_t limit)
      : context_(context), memory_(memory), limit_(limit) {}
  // Removes the oldest buffers while over the limit; the caller frees them unlocked.
  std::deque<DeviceBuffer> over_limit_locked();

  const PrimaryContext& context_;
  const PoolMemory memory_;
  mutable std::mutex mutex_;
  std::deque<DeviceBuffer> idle_;  // oldest first
  int64_t idle_bytes_ = 0;
  int64_t limit_;
  BufferCacheStats counts_;
};

}  // namespace videohw::nv_session
