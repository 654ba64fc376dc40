// Per-owner counts of FFmpeg's warnings and errors, for the telemetry of the session whose
// codec context logged them.
//
// An owner sets its key as the `opaque` of the AVCodecContexts it opens. That is the one
// thing libavcodec's per-thread copies of a context share with it (frame threads log
// through the copies), so a line is matched by the opaque value, looked up among the live
// owners: an opaque nobody registered is compared, never followed.
#pragma once

#include <atomic>
#include <cstdint>

namespace videohw::media {

class FfmpegLogOwner {
 public:
  // Registers `key` (the object set as AVCodecContext::opaque) while this lives. Lines
  // logged after destruction are not counted, so an owner outlives its contexts.
  explicit FfmpegLogOwner(const void* key);
  ~FfmpegLogOwner();
  FfmpegLogOwner(const FfmpegLogOwner&) = delete;
  FfmpegLogOwner& operator=(const FfmpegLogOwner&) = delete;

  int64_t warnings() const { return warnings_.load(std::memory_order_relaxed); }
  int64_t errors() const { return errors_.load(std::memory_order_relaxed); }  // PANIC..ERROR

 private:
  friend void count_ffmpeg_log_line(const void* key, int level);
  const void* key_;
  std::atomic<int64_t> warnings_{0};
  std::atomic<int64_t> errors_{0};
};

// The owner key of av_log's context argument: the opaque of the AVCodecContext it is, or
// that it names as its log parent; nullptr for any other context.
const void* ffmpeg_log_owner_key(void* log_context);

// Counts one line at av_log `level` for the owner registered under `key`, if any.
void count_ffmpeg_log_line(const void* key, int level);

// See FfmpegLogQueue: the registry's lock across fork().
void ffmpeg_log_owners_before_fork();
void ffmpeg_log_owners_after_fork_in_parent();
void ffmpeg_log_owners_after_fork_in_child();

}  // namespace videohw::media
