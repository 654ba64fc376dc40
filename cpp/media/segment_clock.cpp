#include "media/segment_clock.hpp"

#include <limits>

#include "contract/errors.hpp"

namespace videohw::media {

namespace {

// INT64_MIN is libavformat's "no timestamp": refused like an overflow.
int64_t add(int64_t a, int64_t b, const std::string& where) {
  int64_t sum = 0;
  if (__builtin_add_overflow(a, b, &sum) || sum == std::numeric_limits<int64_t>::min())
    throw Error(ErrorKind::Config, "timestamp " + std::to_string(a) + " is out of range " + where);
  return sum;
}

}  // namespace

SegmentClock::Stamp SegmentClock::plan(int64_t pts, int64_t dts, bool new_sequence,
                                       const std::string& where) const {
  if (pts < dts)
    throw Error(ErrorKind::Config, "pts " + std::to_string(pts) + " is before its dts " +
                                       std::to_string(dts) + " " + where +
                                       "; a picture cannot be shown before it is decoded");
  Stamp stamp;
  stamp.offset = offset_;
  stamp.dts = add(dts, stamp.offset, where);
  if (any_ && stamp.dts <= last_dts_) {
    if (!new_sequence)
      throw Error(ErrorKind::Config, "dts " + std::to_string(dts) +
                                         " does not increase after the previous dts " +
                                         std::to_string(last_dts_ - offset_) + " " + where +
                                         "; packets must come in decode order with increasing dts");
    stamp.offset = add(stamp.offset, last_dts_ + 1 - stamp.dts, where);
    stamp.dts = last_dts_ + 1;
  }
  stamp.pts = add(pts, stamp.offset, where);
  if (open_pts_.count(stamp.pts))
    throw Error(ErrorKind::Config, "pts " + std::to_string(pts) + " repeats " + where +
                                       "; every picture needs its own pts");
  return stamp;
}

void SegmentClock::commit(const Stamp& stamp) {
  offset_ = stamp.offset;
  any_ = true;
  last_dts_ = stamp.dts;
  open_pts_.insert(stamp.pts);
  open_pts_.erase(open_pts_.begin(), open_pts_.upper_bound(last_dts_));
}

}  // namespace videohw::media
