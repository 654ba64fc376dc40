#include "media/frame_table.hpp"

#include <algorithm>

#include "bitstream/nal.hpp"

namespace videohw::media {

namespace {

constexpr int kHevcRaslN = 8, kHevcRaslR = 9;

bool is_hevc_idr(int type) {
  return type == 19 || type == 20;
}
bool is_hevc_irap(int type) {
  return type >= 16 && type <= 23;
}

}  // namespace

FrameTable FrameTable::scan(Demuxer& demuxer, const bitstream::SampleConverter& converter) {
  FrameTable t;
  const Codec codec = converter.codec();
  t.timed_ = demuxer.selected_info().timed;
  std::vector<bitstream::PictureNal> nals;
  int max_temporal_id = 0;
  // RASL pictures of a CRA that starts the stream reference pictures the stream does not
  // have; decoders drop them, so they are never shown.
  bool first_irap_seen = false, in_leading_of_first_cra = false;
  PacketView p;
  while (demuxer.read(p)) {
    PacketEntry e;
    e.pts = p.pts;
    e.dts = p.dts;
    e.pos = p.pos;
    e.duration = p.duration;
    e.keyframe = p.keyframe;
    e.discard = p.discard;
    const bitstream::PictureNal nal = converter.first_picture_nal(p.data, p.size);
    max_temporal_id = std::max(max_temporal_id, nal.temporal_id);
    if (codec == Codec::H264) {
      e.reset = p.keyframe && nal.type == bitstream::h264::kSliceIdr;
      // A non-IDR I picture (open GOP, recovery point) is no place to start: libavcodec
      // drops the pictures after it that refer across it, so only IDRs are start points.
      e.keyframe_start = e.reset;
    } else {
      e.keyframe_start = p.keyframe;
    }
    if (codec == Codec::HEVC)
      e.reset = p.keyframe && is_hevc_idr(nal.type);
    else if (codec != Codec::H264)
      e.reset = p.keyframe;
    if (codec == Codec::HEVC && nal.found) {
      if (is_hevc_irap(nal.type)) {
        in_leading_of_first_cra = !first_irap_seen && !is_hevc_idr(nal.type);
        first_irap_seen = true;
      } else if (in_leading_of_first_cra && (nal.type == kHevcRaslN || nal.type == kHevcRaslR)) {
        e.display = -2;  // marked: never shown
      }
    }
    if (e.keyframe) t.keyframe_count_++;
    nals.push_back(nal);
    t.packets_.push_back(e);
  }
  t.scan_error_ = demuxer.last_error();
  for (size_t i = 0; i < t.packets_.size(); ++i)
    t.packets_[i].droppable = bitstream::is_droppable_picture(codec, nals[i], max_temporal_id);
  if (t.timed_)
    for (const auto& e : t.packets_)
      if (!e.discard && e.pts == kNoTimestamp) t.timed_ = false;
  t.order_display();
  return t;
}

void FrameTable::order_display() {
  std::vector<int64_t> shown;
  for (size_t i = 0; i < packets_.size(); ++i) {
    PacketEntry& e = packets_[i];
    const bool never = e.display == -2 || e.discard;
    e.display = -1;
    if (!never) shown.push_back(int64_t(i));
    if (e.keyframe_start) starts_.push_back(int64_t(i));
    if (e.reset) resets_.push_back(int64_t(i));
  }
  if (timed_)
    std::stable_sort(shown.begin(), shown.end(), [&](int64_t a, int64_t b) {
      return packets_[size_t(a)].pts < packets_[size_t(b)].pts;
    });
  by_display_ = std::move(shown);
  for (size_t i = 0; i < by_display_.size(); ++i)
    packets_[size_t(by_display_[i])].display = int64_t(i);
}

int64_t FrameTable::start_for(int64_t display_index) const {
  const int64_t target = by_display_[size_t(display_index)];
  if (!timed_) return gop_start(target);
  const int64_t target_pts = packets_[size_t(target)].pts;
  auto it = std::upper_bound(starts_.begin(), starts_.end(), target);
  while (it != starts_.begin()) {
    --it;
    if (packets_[size_t(*it)].pts <= target_pts) return *it;
  }
  return 0;  // no keyframe before it: the stream's first packet is the best there is
}

int64_t FrameTable::display_at_or_before(int64_t pts) const {
  int64_t lo = 0, hi = frame_count();  // first display index whose pts is > pts
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    if (display_pts(mid) <= pts)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo - 1;
}

int64_t FrameTable::first_display_from(int64_t decode_index) const {
  for (size_t i = size_t(std::max<int64_t>(decode_index, 0)); i < packets_.size(); ++i)
    if (packets_[i].display >= 0) return packets_[i].display;
  return -1;
}

int64_t FrameTable::end_pts() const {
  if (by_display_.empty()) return kNoTimestamp;
  const PacketEntry& last = packets_[size_t(by_display_.back())];
  int64_t duration = last.duration;
  if (duration <= 0 && by_display_.size() > 1)  // no duration stored: the last interval
    duration = last.pts - display_pts(frame_count() - 2);
  return last.pts + std::max<int64_t>(duration, 1);
}

int64_t FrameTable::gop_start(int64_t decode_index) const {
  auto it = std::upper_bound(resets_.begin(), resets_.end(), decode_index);
  return it == resets_.begin() ? 0 : *(it - 1);
}

}  // namespace videohw::media
