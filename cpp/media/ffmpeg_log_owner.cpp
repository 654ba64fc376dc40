#include "media/ffmpeg_log_owner.hpp"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/log.h>
}

#include <cstdint>
#include <mutex>
#include <new>
#include <unordered_map>

namespace videohw::media {

namespace {

// Counting happens under the lock, so an owner being destroyed waits for a count in
// progress instead of having its counters written after it is gone.
struct Registry {
  std::mutex mu;
  std::unordered_map<const void*, FfmpegLogOwner*> owners;
};

Registry& registry() {
  // Never destroyed: FFmpeg's threads may still log while static destructors run.
  static Registry* r = new Registry;
  return *r;
}

// A parent chain longer than this is not one libav* builds (it is one or two deep).
constexpr int kMaxParentDepth = 4;

}  // namespace

FfmpegLogOwner::FfmpegLogOwner(const void* key) : key_(key) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.owners[key_] = this;
}

FfmpegLogOwner::~FfmpegLogOwner() {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  auto it = r.owners.find(key_);
  if (it != r.owners.end() && it->second == this) r.owners.erase(it);
}

const void* ffmpeg_log_owner_key(void* log_context) {
  const AVClass* codec_class = avcodec_get_class();
  void* context = log_context;
  // Reads only what av_log's own line formatting reads: the class at the start of the
  // context and, through it, the parent pointer.
  for (int depth = 0; context && depth < kMaxParentDepth; ++depth) {
    const AVClass* cls = *static_cast<const AVClass* const*>(context);
    if (!cls) return nullptr;
    if (cls == codec_class) return static_cast<AVCodecContext*>(context)->opaque;
    if (cls->parent_log_context_offset <= 0) return nullptr;
    context = *reinterpret_cast<void**>(static_cast<uint8_t*>(context) +
                                        cls->parent_log_context_offset);
  }
  return nullptr;
}

void count_ffmpeg_log_line(const void* key, int level) {
  if (!key || level > AV_LOG_WARNING) return;
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  auto it = r.owners.find(key);
  if (it == r.owners.end()) return;
  auto& counter = level <= AV_LOG_ERROR ? it->second->errors_ : it->second->warnings_;
  counter.fetch_add(1, std::memory_order_relaxed);
}

void ffmpeg_log_owners_before_fork() { registry().mu.lock(); }

void ffmpeg_log_owners_after_fork_in_parent() { registry().mu.unlock(); }

void ffmpeg_log_owners_after_fork_in_child() { new (&registry().mu) std::mutex(); }

}  // namespace videohw::media
