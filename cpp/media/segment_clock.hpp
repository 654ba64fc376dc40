// Timestamps of one segment: checks that each packet's are usable and maps them onto what
// the file gets (the packet's own plus the segment's offset).
#pragma once

#include <cstdint>
#include <set>
#include <string>

namespace videohw::media {

class SegmentClock {
 public:
  struct Stamp {
    int64_t pts = 0, dts = 0;  // for the file
    int64_t offset = 0;        // the offset they were made with
  };

  // `offset` is added to every timestamp (MP4 and Matroska segments start at 0 with it).
  explicit SegmentClock(int64_t offset = 0) : offset_(offset) {}

  // Checks one packet (decode order) and returns its timestamps without changing anything.
  // Throws Error(Config), naming both values and `where`, when pts < dts, when the dts does
  // not increase, or when a pts repeats. `new_sequence`: the packet is the first keyframe of
  // another encoder; a dts at or below the previous one then moves it and everything after
  // it later by the difference instead (a new encoder may reorder deeper than the last one).
  Stamp plan(int64_t pts, int64_t dts, bool new_sequence, const std::string& where) const;
  // Records a packet that was written with `stamp`.
  void commit(const Stamp& stamp);

 private:
  int64_t offset_;
  bool any_ = false;
  int64_t last_dts_ = 0;  // file timestamps
  // pts above last_dts_: the only ones a later packet could repeat (its pts >= its dts >
  // last_dts_), so the set stays as small as the reorder depth.
  std::set<int64_t> open_pts_;
};

}  // namespace videohw::media
