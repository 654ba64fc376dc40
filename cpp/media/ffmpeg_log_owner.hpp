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
#include <mutex>
#include <vector>

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

  // Whether the decoder reported damage (an error, or concealment) while it decoded the
  // packet the owner numbered `unit` (AVCodecContext::reordered_opaque when it was sent);
  // forgets the mark. A frame-threaded decoder logs from the thread that decodes the
  // packet, with that thread's copy of the context and so of the number: unlike
  // AVFrame::decode_error_flags, which libavcodec 5.1 copies between threads without
  // waiting for them, this is a function of the input alone.
  bool take_damage(int64_t unit);
  void clear_damage();

 private:
  friend void note_ffmpeg_log_line(void* log_context, int level, const char* format);
  void mark_damage(int64_t unit);

  const void* key_;
  std::atomic<int64_t> warnings_{0};
  std::atomic<int64_t> errors_{0};
  std::mutex damage_mu_;
  std::vector<int64_t> damaged_units_;  // bounded: a few reorder windows of packets
};

// The owner key of av_log's context argument: the opaque of the AVCodecContext it is, or
// that it names as its log parent; nullptr for any other context.
const void* ffmpeg_log_owner_key(void* log_context);

// Counts a line that starts at av_log `level` for the owner of `log_context`, if any, and
// marks the packet being decoded as damaged when the line reports an error or concealment.
// `format` is av_log's unformatted format string.
void note_ffmpeg_log_line(void* log_context, int level, const char* format);

// Whether a line of `level` and `format` must reach note_ffmpeg_log_line although it is
// below the level that is counted or forwarded (error concealment reports at INFO).
bool ffmpeg_log_line_reports_damage(int level, const char* format);

// See FfmpegLogQueue: the registry's lock across fork().
void ffmpeg_log_owners_before_fork();
void ffmpeg_log_owners_after_fork_in_parent();
void ffmpeg_log_owners_after_fork_in_child();

}  // namespace videohw::media
