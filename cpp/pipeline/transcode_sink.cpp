#include "pipeline/transcode_sink.hpp"

namespace videohw::pipeline {

bool PulledSink::write(EncodedPacket&& packet, const std::function<bool()>& stop) {
  std::unique_lock<std::mutex> lock(mu_);
  while (queue_.size() >= capacity_ && !aborted_) {
    changed_.wait_for(lock, std::chrono::milliseconds(50));
    if (stop && queue_.size() >= capacity_) {
      lock.unlock();
      const bool stopped = stop();
      lock.lock();
      if (stopped) return false;
    }
  }
  if (aborted_) return false;
  queue_.push_back(std::move(packet));
  changed_.notify_all();
  return true;
}

void PulledSink::complete() {
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
  changed_.notify_all();
}

std::vector<std::string> PulledSink::close() {
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
  changed_.notify_all();
  return {};
}

void PulledSink::abort() {
  std::lock_guard<std::mutex> lock(mu_);
  aborted_ = closed_ = true;
  queue_.clear();
  changed_.notify_all();
}

std::vector<EncodedPacket> PulledSink::pull(size_t max, int64_t timeout_ns, bool* ended) {
  std::unique_lock<std::mutex> lock(mu_);
  if (timeout_ns > 0)
    changed_.wait_for(lock, std::chrono::nanoseconds(timeout_ns),
                      [this] { return !queue_.empty() || closed_; });
  std::vector<EncodedPacket> out;
  while (!queue_.empty() && (max == 0 || out.size() < max)) {
    out.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  if (!out.empty()) changed_.notify_all();
  if (ended) *ended = closed_ && queue_.empty();
  return out;
}

}  // namespace videohw::pipeline
