#include "pipeline/transcode_timeline.hpp"

#include <algorithm>

namespace videohw::pipeline {

TranscodeTimeline::TranscodeTimeline(int64_t frame_duration)
    : frame_duration_(std::max<int64_t>(1, frame_duration)) {}

int64_t TranscodeTimeline::add(std::optional<int64_t> source_pts) {
  std::lock_guard<std::mutex> lock(mu_);
  int64_t pts = source_pts.value_or(0);
  if (!pts_.empty() && (!source_pts || pts <= pts_.back())) {
    pts = pts_.back() + frame_duration_;
    repaired_++;
  } else if (pts_.empty() && !source_pts) {
    repaired_++;
  }
  pts_.push_back(pts);
  return int64_t(pts_.size()) - 1;
}

int64_t TranscodeTimeline::pts_of(int64_t tick) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (pts_.empty()) return tick * frame_duration_;
  if (tick < 0) return pts_.front() + tick * frame_duration_;
  const int64_t last = int64_t(pts_.size()) - 1;
  if (tick > last) return pts_.back() + (tick - last) * frame_duration_;
  return pts_[size_t(tick)];
}

int64_t TranscodeTimeline::frames() const {
  std::lock_guard<std::mutex> lock(mu_);
  return int64_t(pts_.size());
}

int64_t TranscodeTimeline::repaired() const {
  std::lock_guard<std::mutex> lock(mu_);
  return repaired_;
}

}  // namespace videohw::pipeline
