#include "nv_session/nvdec/nvdec_decoder_cache.hpp"

#include <algorithm>
#include <utility>

namespace videohw::nv_session {

NvdecDecoderCache& NvdecDecoderCache::get() {
  static auto* cache = new NvdecDecoderCache;
  return *cache;
}

std::optional<ParkedDecoder> NvdecDecoderCache::take(const CudaDriver& driver, int ordinal,
                                                     cudaVideoCodec codec) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto it = parked_.rbegin(); it != parked_.rend(); ++it) {
    const PrimaryContext& context = it->device->context();
    if (&context.driver() != &driver || it->device->ordinal() != ordinal ||
        it->format.codec != codec)
      continue;
    ParkedDecoder found = std::move(*it);
    parked_.erase(std::next(it).base());
    ++counts_.adopted;
    return found;
  }
  return std::nullopt;
}

std::deque<ParkedDecoder> NvdecDecoderCache::over_limit_locked() {
  // Copied in one step before anything is removed, so running out of memory changes nothing.
  const size_t n = parked_.size() > size_t(limit_) ? parked_.size() - size_t(limit_) : 0;
  std::deque<ParkedDecoder> evicted(parked_.begin(), parked_.begin() + static_cast<long>(n));
  parked_.erase(parked_.begin(), parked_.begin() + static_cast<long>(n));
  counts_.destroyed += static_cast<int64_t>(n);
  return evicted;
}

void NvdecDecoderCache::park(ParkedDecoder parked) {
  std::deque<ParkedDecoder> evicted;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    parked_.push_back(std::move(parked));  // throws with nothing taken: the caller destroys it
    try {
      evicted = over_limit_locked();
    } catch (...) {  // out of memory for the list: the next park evicts them
    }
  }
  for (ParkedDecoder& p : evicted) destroy(p);
}

void NvdecDecoderCache::release() {
  std::deque<ParkedDecoder> all;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    all.swap(parked_);
    counts_.destroyed += static_cast<int64_t>(all.size());
  }
  for (ParkedDecoder& p : all) destroy(p);
}

void NvdecDecoderCache::set_limit(int decoders) {
  std::deque<ParkedDecoder> evicted;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    limit_ = std::max(decoders, 0);
    evicted = over_limit_locked();
  }
  for (ParkedDecoder& p : evicted) destroy(p);
}

DecoderCacheStats NvdecDecoderCache::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  DecoderCacheStats s = counts_;
  s.parked = static_cast<int64_t>(parked_.size());
  s.limit = limit_;
  return s;
}

void NvdecDecoderCache::destroy(ParkedDecoder& parked) {
  if (!parked.decoder) return;
  ContextScope scope(parked.device->context(), std::nothrow);
  parked.device->cuvid().cuvidDestroyDecoder(parked.decoder);
  parked.decoder = nullptr;
  parked.device.reset();  // after the decoder: its context lock goes with the device
}

}  // namespace videohw::nv_session
