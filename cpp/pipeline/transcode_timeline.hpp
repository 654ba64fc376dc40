// Timestamps through a transcode. Encoders number frames 0, 1, 2, ... (ticks: their
// rate control reads time from them); the timeline remembers the source pts of each tick,
// so output packets carry the source's own timestamps: pts = the frame's source pts, and
// a dts tick (an encoder with B-frames starts its dts below 0) maps onto the source times
// of earlier frames, extrapolated by one frame's duration before the first.
//
// Source pts are made usable first: a frame without one, or with one not above the
// previous frame's (damaged or odd files), gets the previous pts plus one frame.
//
// Thread-safety: one writer (the dispatch stage) and readers on other threads; a mutex.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <vector>

namespace videohw::pipeline {

class TranscodeTimeline {
 public:
  // `frame_duration`: one frame in the source time base (at least 1).
  explicit TranscodeTimeline(int64_t frame_duration);

  // Adds the next frame in display order; returns its tick.
  int64_t add(std::optional<int64_t> source_pts);
  // The source time of tick `tick` (any int64: below 0 and past the last known tick are
  // extrapolated).
  int64_t pts_of(int64_t tick) const;
  int64_t frames() const;
  int64_t repaired() const;  // frames whose pts was missing or out of order

 private:
  int64_t frame_duration_;
  mutable std::mutex mu_;
  std::vector<int64_t> pts_;
  int64_t repaired_ = 0;
};

}  // namespace videohw::pipeline
