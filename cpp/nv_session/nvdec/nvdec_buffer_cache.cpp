#include "nv_session/nvdec/nvdec_buffer_cache.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "contract/errors.hpp"

namespace videohw::nv_session {

namespace {

struct Registry {
  std::mutex mu;
  // Never destroyed, as the contexts: a frame a caller still holds may come back at exit.
  std::map<std::pair<const PrimaryContext*, PoolMemory>, NvdecBufferCache*> caches;
  std::map<PoolMemory, int64_t> limits{
      {PoolMemory::Device, NvdecBufferCache::kDefaultDeviceLimitBytes},
      {PoolMemory::PinnedHost, NvdecBufferCache::kDefaultHostLimitBytes}};
};

Registry& registry() {
  static auto* r = new Registry;
  return *r;
}

std::vector<NvdecBufferCache*> caches_of(std::optional<PoolMemory> memory) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  std::vector<NvdecBufferCache*> out;
  for (const auto& [key, cache] : r.caches)
    if (!memory || key.second == *memory) out.push_back(cache);
  return out;
}

}  // namespace

NvdecBufferCache& NvdecBufferCache::of(const PrimaryContext& context, PoolMemory memory) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  NvdecBufferCache*& cache = r.caches[{&context, memory}];
  if (!cache) cache = new NvdecBufferCache(context, memory, r.limits[memory]);
  return *cache;
}

DeviceBuffer NvdecBufferCache::take(size_t bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto best = best_fit(idle_, bytes);
  if (best == idle_.end()) return {};
  DeviceBuffer buffer = *best;
  idle_.erase(best);
  idle_bytes_ -= static_cast<int64_t>(buffer.bytes);
  ++counts_.taken;
  return buffer;
}

std::deque<DeviceBuffer> NvdecBufferCache::over_limit_locked() {
  // Counted first and copied in one step, so running out of memory changes nothing.
  size_t n = 0;
  int64_t bytes = idle_bytes_;
  while (n < idle_.size() && bytes > limit_) bytes -= static_cast<int64_t>(idle_[n++].bytes);
  std::deque<DeviceBuffer> evicted(idle_.begin(), idle_.begin() + static_cast<long>(n));
  idle_.erase(idle_.begin(), idle_.begin() + static_cast<long>(n));
  idle_bytes_ = bytes;
  counts_.freed += static_cast<int64_t>(n);
  return evicted;
}

void NvdecBufferCache::keep(DeviceBuffer buffer) {
  std::deque<DeviceBuffer> evicted;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    try {
      idle_.push_back(buffer);
    } catch (...) {  // called from pools' destructors: no room to keep it, so it goes now
      free_now(buffer);
      return;
    }
    idle_bytes_ += static_cast<int64_t>(buffer.bytes);
    ++counts_.kept;
    try {
      evicted = over_limit_locked();
    } catch (...) {  // out of memory for the list: the next keep evicts them
    }
  }
  for (const DeviceBuffer& b : evicted) free_now(b);
}

void NvdecBufferCache::release() {
  std::deque<DeviceBuffer> all;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    all.swap(idle_);
    idle_bytes_ = 0;
    counts_.freed += static_cast<int64_t>(all.size());
  }
  for (const DeviceBuffer& b : all) free_now(b);
}

void NvdecBufferCache::set_limit(int64_t bytes) {
  std::deque<DeviceBuffer> evicted;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    limit_ = std::max<int64_t>(bytes, 0);
    evicted = over_limit_locked();
  }
  for (const DeviceBuffer& b : evicted) free_now(b);
}

BufferCacheStats NvdecBufferCache::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  BufferCacheStats s = counts_;
  s.idle = static_cast<int64_t>(idle_.size());
  s.idle_bytes = idle_bytes_;
  s.limit_bytes = limit_;
  return s;
}

DeviceBuffer NvdecBufferCache::allocate(size_t bytes) const {
  DeviceBuffer buffer;
  ContextScope scope(context_, ErrorKind::Decode);
  const CudaDriver& d = context_.driver();
  if (memory_ == PoolMemory::Device) {
    check_cuda(ErrorKind::Decode, d.cuMemAlloc(&buffer.ptr, bytes), "cuMemAlloc",
               "allocating a " + std::to_string(bytes) + "-byte output surface");
  } else {
    void* host = nullptr;
    check_cuda(ErrorKind::Decode, d.cuMemAllocHost(&host, bytes), "cuMemAllocHost",
               "allocating a " + std::to_string(bytes) + "-byte page-locked frame buffer");
    buffer.ptr = static_cast<CUdeviceptr>(reinterpret_cast<uintptr_t>(host));
  }
  buffer.bytes = bytes;
  return buffer;
}

void NvdecBufferCache::free_now(const DeviceBuffer& buffer) const {
  // The freeing thread may have no context current (Python's GC).
  ContextScope scope(context_, std::nothrow);
  if (!scope.entered()) return;
  const CudaDriver& d = context_.driver();
  if (memory_ == PoolMemory::Device)
    d.cuMemFree(buffer.ptr);
  else
    d.cuMemFreeHost(buffer.host());
}

void NvdecBufferCache::release_all() {
  for (NvdecBufferCache* cache : caches_of(std::nullopt)) cache->release();
}

void NvdecBufferCache::set_limit_all(PoolMemory memory, int64_t bytes) {
  {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mu);
    r.limits[memory] = std::max<int64_t>(bytes, 0);
  }
  for (NvdecBufferCache* cache : caches_of(memory)) cache->set_limit(bytes);
}

BufferCacheStats NvdecBufferCache::stats_all(PoolMemory memory) {
  BufferCacheStats total;
  {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mu);
    total.limit_bytes = r.limits[memory];
  }
  for (NvdecBufferCache* cache : caches_of(memory)) {
    const BufferCacheStats s = cache->stats();
    total.idle += s.idle;
    total.idle_bytes += s.idle_bytes;
    total.taken += s.taken;
    total.kept += s.kept;
    total.freed += s.freed;
  }
  return total;
}

}  // namespace videohw::nv_session
