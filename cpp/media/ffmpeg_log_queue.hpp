// The bounded hand-off between av_log's callback and whoever forwards FFmpeg's lines (the
// Python logging bridge in bindings/ffmpeg_log.cpp). The callback runs on any thread, with
// any of our locks held, so it must never wait for its consumer: a full queue drops the
// line and counts the drop, and a flood of "error while decoding MB" cannot grow memory.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

namespace videohw::media {

struct FfmpegLogLine {
  int level = 0;          // the av_log level (AV_LOG_ERROR, ...)
  std::string component;  // item name of the context that logged it ("h264"); "" for none
  std::string text;       // the line as FFmpeg prints it, without the newline
  int64_t unix_ns = 0;    // when it was logged
  int64_t thread_id = 0;  // the OS thread that logged it (Python's threading.get_native_id)
};

struct FfmpegLogQueueStats {
  size_t capacity = 0;
  size_t queued = 0;    // waiting now
  int64_t lines = 0;    // taken into the queue so far
  int64_t dropped = 0;  // refused because the queue was full
};

class FfmpegLogQueue {
 public:
  explicit FfmpegLogQueue(size_t capacity);
  FfmpegLogQueue(const FfmpegLogQueue&) = delete;
  FfmpegLogQueue& operator=(const FfmpegLogQueue&) = delete;

  // Holds the lock only to append. False: the queue was full and the line was dropped.
  bool push(FfmpegLogLine&& line);
  // Moves up to `max` of the oldest lines to `out`; never blocks on producers beyond the lock.
  size_t take(std::vector<FfmpegLogLine>& out, size_t max);
  // Returns once a line is waiting or `stop` is true (set it, then call interrupt()).
  void wait(const std::atomic<bool>& stop);
  void interrupt();
  FfmpegLogQueueStats stats() const;

  // fork(): the child has only the forking thread, so a lock another thread held would
  // stay held forever. The lock is taken around fork() and the child gets a fresh one.
  void before_fork();
  void after_fork_in_parent();
  void after_fork_in_child();

 private:
  const size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable ready_;
  std::deque<FfmpegLogLine> lines_;
  int64_t total_ = 0;
  int64_t dropped_ = 0;
};

}  // namespace videohw::media
