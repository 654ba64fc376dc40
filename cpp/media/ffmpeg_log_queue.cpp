#include "media/ffmpeg_log_queue.hpp"

#include <algorithm>
#include <new>

namespace videohw::media {

FfmpegLogQueue::FfmpegLogQueue(size_t capacity) : capacity_(capacity) {}

bool FfmpegLogQueue::push(FfmpegLogLine&& line) {
  bool was_empty = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (lines_.size() >= capacity_) {
      dropped_++;
      return false;
    }
    was_empty = lines_.empty();
    lines_.push_back(std::move(line));
    total_++;
  }
  // Only the first line of a batch wakes the consumer: it takes everything queued by then.
  if (was_empty) ready_.notify_all();
  return true;
}

size_t FfmpegLogQueue::take(std::vector<FfmpegLogLine>& out, size_t max) {
  std::lock_guard<std::mutex> lock(mu_);
  const size_t n = std::min(max, lines_.size());
  for (size_t i = 0; i < n; ++i) {
    out.push_back(std::move(lines_.front()));
    lines_.pop_front();
  }
  return n;
}

void FfmpegLogQueue::wait(const std::atomic<bool>& stop) {
  std::unique_lock<std::mutex> lock(mu_);
  ready_.wait(lock, [&] { return !lines_.empty() || stop.load(); });
}

void FfmpegLogQueue::interrupt() {
  // Taking the lock orders this after a waiter's check of `stop`: the wake-up is not lost.
  std::lock_guard<std::mutex> lock(mu_);
  ready_.notify_all();
}

FfmpegLogQueueStats FfmpegLogQueue::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return {capacity_, lines_.size(), total_, dropped_};
}

void FfmpegLogQueue::before_fork() {
  mu_.lock();
}

void FfmpegLogQueue::after_fork_in_parent() {
  mu_.unlock();
}

void FfmpegLogQueue::after_fork_in_child() {
  // The parent's waiters do not exist here; neither the lock nor the condition variable
  // may be destroyed in that state, only replaced.
  new (&mu_) std::mutex();
  new (&ready_) std::condition_variable();
  // Lines the parent queued are the parent's to forward; here they would be logged twice.
  lines_.clear();
}

}  // namespace videohw::media
