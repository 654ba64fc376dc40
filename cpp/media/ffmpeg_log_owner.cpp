#include "media/ffmpeg_log_owner.hpp"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/log.h>
}

#include <algorithm>
#include <cstdint>
#include <cstring>
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

namespace {

// The AVCodecContext av_log's context argument is, or names as its log parent.
const AVCodecContext* codec_context_of(void* log_context) {
  const AVClass* codec_class = avcodec_get_class();
  void* context = log_context;
  // Reads only what av_log's own line formatting reads: the class at the start of the
  // context and, through it, the parent pointer.
  for (int depth = 0; context && depth < kMaxParentDepth; ++depth) {
    const AVClass* cls = *static_cast<const AVClass* const*>(context);
    if (!cls) return nullptr;
    if (cls == codec_class) return static_cast<const AVCodecContext*>(context);
    if (cls->parent_log_context_offset <= 0) return nullptr;
    context =
        *reinterpret_cast<void**>(static_cast<uint8_t*>(context) + cls->parent_log_context_offset);
  }
  return nullptr;
}

// Marks kept per owner: far more than a reorder window (16) plus frame threads.
constexpr size_t kDamageMarksKept = 256;

}  // namespace

bool FfmpegLogOwner::take_damage(int64_t unit) {
  std::lock_guard<std::mutex> lock(damage_mu_);
  for (size_t i = 0; i < damaged_units_.size(); ++i) {
    if (damaged_units_[i] != unit) continue;
    damaged_units_[i] = damaged_units_.back();
    damaged_units_.pop_back();
    return true;
  }
  return false;
}

void FfmpegLogOwner::clear_damage() {
  std::lock_guard<std::mutex> lock(damage_mu_);
  damaged_units_.clear();
}

void FfmpegLogOwner::mark_damage(int64_t unit) {
  std::lock_guard<std::mutex> lock(damage_mu_);
  for (int64_t marked : damaged_units_)
    if (marked == unit) return;
  // A mark whose picture never came out (a packet dropped whole) must not pile up: the
  // oldest packet's mark goes first.
  if (damaged_units_.size() >= kDamageMarksKept)
    damaged_units_.erase(std::min_element(damaged_units_.begin(), damaged_units_.end()));
  damaged_units_.push_back(unit);
}

const void* ffmpeg_log_owner_key(void* log_context) {
  const AVCodecContext* codec = codec_context_of(log_context);
  return codec ? codec->opaque : nullptr;
}

bool ffmpeg_log_line_reports_damage(int level, const char* format) {
  // libavcodec's error resilience reports what it concealed at INFO ("concealing %d DC, %d
  // AC, %d MV errors in %c frame").
  return level <= AV_LOG_ERROR ||
         (level == AV_LOG_INFO && format && std::strncmp(format, "concealing ", 11) == 0);
}

void note_ffmpeg_log_line(void* log_context, int level, const char* format) {
  const AVCodecContext* codec = codec_context_of(log_context);
  if (!codec || !codec->opaque) return;
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  auto it = r.owners.find(codec->opaque);
  if (it == r.owners.end()) return;
  FfmpegLogOwner& owner = *it->second;
  if (level <= AV_LOG_WARNING)
    (level <= AV_LOG_ERROR ? owner.errors_ : owner.warnings_)
        .fetch_add(1, std::memory_order_relaxed);
#if LIBAVCODEC_VERSION_MAJOR < 61
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  if (ffmpeg_log_line_reports_damage(level, format)) owner.mark_damage(codec->reordered_opaque);
#pragma GCC diagnostic pop
#endif
}

void ffmpeg_log_owners_before_fork() {
  registry().mu.lock();
}

void ffmpeg_log_owners_after_fork_in_parent() {
  registry().mu.unlock();
}

void ffmpeg_log_owners_after_fork_in_child() {
  new (&registry().mu) std::mutex();
}

}  // namespace videohw::media
