// Copied packets (audio) on their way from the ingress to one output's egress: bounded,
// the producer waits for room, and the consumer takes what it wants by time.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>

#include "media/copied_stream.hpp"

namespace videohw::pipeline {

class CopiedQueue {
 public:
  explicit CopiedQueue(size_t capacity) : capacity_(capacity ? capacity : 1) {}

  // Waits for room while `stopped` says false (asked every 50 ms); false when stopped.
  bool push(media::CopiedPacket packet, const std::function<bool()>& stopped) {
    std::unique_lock<std::mutex> lock(mu_);
    while (items_.size() >= capacity_) {
      if (stopped()) return false;
      room_.wait_for(lock, std::chrono::milliseconds(50));
    }
    items_.push_back(std::move(packet));
    peak_ = std::max(peak_, items_.size());
    return true;
  }

  // The oldest packet when `take(packet, size now)` says so.
  template <typename Decide>
  std::optional<media::CopiedPacket> pop_if(Decide take) {
    std::lock_guard<std::mutex> lock(mu_);
    if (items_.empty() || !take(items_.front(), items_.size(), capacity_)) return std::nullopt;
    media::CopiedPacket out = std::move(items_.front());
    items_.pop_front();
    room_.notify_one();
    return out;
  }

  size_t peak() const {
    std::lock_guard<std::mutex> lock(mu_);
    return peak_;
  }

 private:
  const size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable room_;
  std::deque<media::CopiedPacket> items_;
  size_t peak_ = 0;
};

}  // namespace videohw::pipeline
