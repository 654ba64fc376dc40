#include "pipeline/frame_reader.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "contract/clock.hpp"

namespace videohw::pipeline {

namespace {

// A wanted picture that has not come out this many packets after its own was pushed was
// dropped by the decoder (damaged data): stop waiting for it.
constexpr int64_t kGiveUpAfterPackets = 64;
constexpr size_t kMaxStreamTags = 4096;
constexpr int64_t kNotSequential = std::numeric_limits<int64_t>::max();
// Requests within the first frames of a file that has no frame table yet are served by a
// decode from the start (no packet scan).
constexpr int64_t kHeadFrames = 16;

media::VideoStreamInfo select_stream(media::Demuxer& demuxer, int stream_index) {
  demuxer.select(stream_index);
  return demuxer.selected_info();
}

Codec codec_of(const media::VideoStreamInfo& info, const std::string& name) {
  if (!info.codec)
    throw Error(ErrorKind::Media, name + ": video stream " + std::to_string(info.index) + " is " +
                                      info.codec_name +
                                      ", which no videohw backend decodes (h264, hevc, vp9, av1)");
  return *info.codec;
}

bool same_packet(const media::PacketView& p, const media::PacketEntry& e) {
  if (p.pos >= 0 && e.pos >= 0) return p.pos == e.pos;
  return p.dts == e.dts && p.pts == e.pts;
}

bool after_packet(const media::PacketView& p, const media::PacketEntry& e) {
  if (p.pos >= 0 && e.pos >= 0) return p.pos > e.pos;
  if (p.dts != media::kNoTimestamp && e.dts != media::kNoTimestamp) return p.dts > e.dts;
  return p.pts != media::kNoTimestamp && e.pts != media::kNoTimestamp && p.pts > e.pts;
}

}  // namespace

FrameReader::FrameReader(std::unique_ptr<media::Demuxer> demuxer, int stream_index,
                         std::shared_ptr<DecodeSession> session, uint32_t generation,
                         FrameReaderOptions options)
    : demuxer_(std::move(demuxer)),
      stream_(stream_index),
      session_(std::move(session)),
      generation_(generation),
      options_(options),
      stream_info_(select_stream(*demuxer_, stream_index)),
      converter_(codec_of(stream_info_, demuxer_->name()), stream_info_.extradata.data(),
                 stream_info_.extradata.size()) {
  if (!session_) throw Error(ErrorKind::Config, "FrameReader: no decode session");
}

media::VideoStreamInfo FrameReader::info() const {
  media::VideoStreamInfo v = stream_info_;
  if (table_) {
    v.frame_count = table_->frame_count();
    v.frame_count_exact = true;
    v.keyframe_count = table_->keyframe_count();
  }
  return v;
}

void FrameReader::rebind(std::shared_ptr<DecodeSession> session, uint32_t generation) {
  if (!session) throw Error(ErrorKind::Config, "FrameReader: no decode session");
  session_ = std::move(session);
  generation_ = generation;
  invalidate_pass();
  streaming_ = false;
}

void FrameReader::invalidate_pass() {
  pass_live_ = false;
  pending_wanted_.clear();
  held_.reset();
}

const media::FrameTable& FrameReader::table() {
  if (table_) return *table_;
  const int64_t start = monotonic_ns();
  invalidate_pass();
  streaming_ = false;
  if (demuxer_used_ && !demuxer_->rewind())
    throw Error(ErrorKind::Media, demuxer_->name() +
                                      ": the source cannot seek back to index "
                                      "the file (a file object without seek())");
  demuxer_used_ = true;
  media::FrameTable table = media::FrameTable::scan(*demuxer_, converter_);
  stats_.scan_ns += monotonic_ns() - start;
  if (table.frame_count() == 0)
    throw Error(ErrorKind::Media,
                demuxer_->name() + ": video stream " + std::to_string(stream_) + " has no frames" +
                    (table.scan_error().empty() ? std::string(" (no packets)")
                                                : " (" + table.scan_error() + ")"));
  table_ = std::move(table);
  return *table_;
}

double FrameReader::seconds_of_pts(int64_t pts) const {
  return double(pts) * stream_info_.time_base.num / stream_info_.time_base.den;
}

void FrameReader::finish_frame(DecodedFrame& frame, int64_t display,
                               std::optional<int64_t> pts) const {
  frame.index = display;
  frame.pts = pts;
  if (pts && stream_info_.time_base.valid()) {
    frame.seconds = seconds_of_pts(*pts);
  } else {
    const media::Rational rate = stream_info_.avg_frame_rate.valid() ? stream_info_.avg_frame_rate
                                                                     : stream_info_.real_frame_rate;
    frame.seconds = rate.valid() ? double(display) * rate.den / rate.num : double(display) / 25.0;
  }
}

bool FrameReader::read_packet(media::PacketView& out) {
  if (held_) {
    out = *held_;
    held_.reset();
    return true;
  }
  demuxer_used_ = true;
  if (!demuxer_->read(out)) return false;
  stats_.packets_read++;
  return true;
}

void FrameReader::push_packet(const media::PacketView& packet, int64_t tag, bool wanted) {
  if (!converter_.convert(packet.data, packet.size, packet.keyframe, unit_))
    stats_.damaged_packets++;
  DecodeUnit unit;
  unit.data = unit_.data();
  unit.size = unit_.size();
  unit.tag = tag;
  unit.skip_output = !wanted;
  stats_.units_pushed++;
  if (!wanted) stats_.units_skipped++;
  try {
    session_->push_unit(generation_, unit);
  } catch (const Error& e) {
    // Damaged data: the decoder resumes by itself and flags what it concealed; a picture
    // that never comes out is reported, with this reason, by the caller that waits for it.
    if (e.kind() != ErrorKind::Decode) throw;
    last_decode_error_ = e.what();
  }
}

// ---- random access ------------------------------------------------------------------------

void FrameReader::seek_to(int64_t start) {
  const media::FrameTable& t = *table_;
  stats_.seeks++;
  session_->reset(generation_);
  converter_.reset();
  invalidate_pass();
  last_decode_error_.clear();
  streaming_ = false;
  untimed_gop_ = -1;
  const media::PacketEntry& entry = t.packet(start);
  demuxer_used_ = true;
  if (!demuxer_->seek(entry.dts, entry.pts, entry.pos))
    throw Error(ErrorKind::Media, demuxer_->name() +
                                      ": the source cannot seek (a file object "
                                      "without seek()): read it in order");
  bool rewound = false;
  for (;;) {
    media::PacketView p;
    if (!demuxer_->read(p))
      throw Error(ErrorKind::Media,
                  demuxer_->name() + ": packet " + std::to_string(start) +
                      " of the index is missing after a seek (was the file changed?)" +
                      (demuxer_->last_error().empty() ? "" : ": " + demuxer_->last_error()));
    stats_.packets_read++;
    if (same_packet(p, entry)) {
      held_ = p;
      break;
    }
    if (after_packet(p, entry)) {  // the container's seek went past it
      if (rewound || !demuxer_->rewind())
        throw Error(ErrorKind::Media, demuxer_->name() + ": cannot position at packet " +
                                          std::to_string(start) + " of the index");
      rewound = true;
    }
  }
  pass_live_ = true;
  pass_start_ = next_decode_ = start;
}

void FrameReader::remember(int64_t display, DecodedFrame frame) {
  cache_[display] = std::move(frame);
  while (cache_.size() > size_t(std::max(options_.max_cached, 0)))
    cache_.erase(std::prev(cache_.end()));
}

void FrameReader::collect_frames(std::vector<DecodedFrame> frames, const std::set<int64_t>& want,
                                 int64_t sequential_from, std::map<int64_t, DecodedFrame>& got) {
  const media::FrameTable& t = *table_;
  for (auto& f : frames) {
    if (!f.pts || *f.pts < 0 || *f.pts >= t.packet_count()) continue;
    const int64_t tag = *f.pts;
    pending_wanted_.erase(tag);
    const media::PacketEntry& entry = t.packet(tag);
    int64_t display = entry.display;
    std::optional<int64_t> pts =
        entry.pts == media::kNoTimestamp ? std::nullopt : std::optional<int64_t>(entry.pts);
    if (!t.timed()) {
      // Closed GOPs: the k-th picture out of the GOP starting at g is display frame
      // first_display_from(g) + k.
      const int64_t gop = t.gop_start(tag);
      if (gop != untimed_gop_) {
        untimed_gop_ = gop;
        untimed_rank_ = 0;
      }
      const int64_t first = t.first_display_from(gop);
      display = first < 0 ? -1 : first + untimed_rank_++;
      if (display >= t.frame_count()) display = -1;
      pts = std::nullopt;
    }
    if (display < 0) continue;
    finish_frame(f, display, pts);
    if (want.count(display))
      got[display] = std::move(f);
    else if (display > sequential_from)
      remember(display, std::move(f));
  }
}

void FrameReader::collect(const std::set<int64_t>& want, int64_t sequential_from,
                          std::map<int64_t, DecodedFrame>& got) {
  collect_frames(session_->reap(generation_), want, sequential_from, got);
}

bool FrameReader::reachable(int64_t display) const {
  const media::FrameTable& t = *table_;
  const int64_t start = t.start_for(display);
  if (!pass_live_ || start < pass_start_ || start > next_decode_) return false;
  if (t.timed()) {
    // Its packet is still ahead, or was pushed for output and has not come out yet.
    const int64_t d = t.decode_index(display);
    return d >= next_decode_ || pending_wanted_.count(d) > 0;
  }
  // Untimed: pictures are numbered as they come out, GOP by GOP; one not yet numbered is
  // still to come.
  if (start != untimed_gop_) return start > untimed_gop_;
  return display >= t.first_display_from(start) + untimed_rank_;
}

std::vector<DecodedFrame> FrameReader::drain_session() {
  try {
    return session_->drain(generation_);
  } catch (const Error& e) {
    // Damage at the end of the data: what did come out was made ready before the throw.
    if (e.kind() != ErrorKind::Decode) throw;
    return session_->reap(generation_);
  }
}

void FrameReader::decode_group(const std::vector<int64_t>& group, const std::set<int64_t>& want,
                               int64_t sequential_from, std::map<int64_t, DecodedFrame>& got) {
  const media::FrameTable& t = *table_;
  const int64_t start = t.start_for(group.front());
  int64_t last = 0;
  bool reachable_now = true;
  for (int64_t display : group) {
    last = std::max(last, t.decode_index(display));
    reachable_now = reachable_now && reachable(display);
  }
  if (!reachable_now) {
    // Timed: wanted pictures still inside the decoder come out by their tags. Untimed
    // numbering needs every picture of a GOP, so a half-pushed GOP is discarded instead.
    if (t.timed() && pass_live_ && !pending_wanted_.empty())
      collect_frames(drain_session(), want, sequential_from, got);
    seek_to(start);
  }
  auto done = [&] {
    return std::all_of(group.begin(), group.end(), [&](int64_t i) { return got.count(i) > 0; });
  };
  while (!done()) {
    media::PacketView p;
    const bool give_up = next_decode_ > last + kGiveUpAfterPackets;
    if (give_up || next_decode_ >= t.packet_count() || !read_packet(p)) {
      collect_frames(drain_session(), want, sequential_from, got);
      invalidate_pass();
      if (done()) break;
      for (int64_t display : group)
        if (!got.count(display))
          throw Error(
              ErrorKind::Decode,
              demuxer_->name() + ": frame " + std::to_string(display) +
                  " could not be decoded (the decoder returned no picture for it)" +
                  (last_decode_error_.empty() ? "" : "; the decoder said: " + last_decode_error_) +
                  (demuxer_->last_error().empty() ? "" : "; " + demuxer_->last_error()));
    }
    const int64_t d = next_decode_++;
    const media::PacketEntry& entry = t.packet(d);
    if (p.pos >= 0 && entry.pos >= 0 && p.pos != entry.pos) {
      invalidate_pass();
      throw Error(ErrorKind::Media, demuxer_->name() + ": packet " + std::to_string(d) +
                                        " is not where the index put it (was the file changed?)");
    }
    const bool shown = entry.display >= 0;
    const bool wanted =
        !t.timed() || (shown && (want.count(entry.display) > 0 || entry.display > sequential_from));
    if (!wanted && entry.droppable && options_.drop_unneeded) {
      stats_.units_dropped++;
      continue;
    }
    if (wanted) pending_wanted_.insert(d);
    push_packet(p, d, wanted);
    collect(want, sequential_from, got);
  }
}

std::vector<DecodedFrame> FrameReader::head_frames(const std::vector<int64_t>& indices) {
  const int64_t last = *std::max_element(indices.begin(), indices.end());
  const std::set<int64_t> want(indices.begin(), indices.end());
  const int64_t next_out = stream_out_ - int64_t(stream_ready_.size());
  if (!streaming_ || next_out > *want.begin()) start_streaming();
  std::map<int64_t, DecodedFrame> got;
  for (bool done = false; !done;) {
    std::vector<DecodedFrame> batch = next(8);
    done = batch.empty();
    for (auto& f : batch) {
      done = done || *f.index >= last;
      if (want.count(*f.index)) got[*f.index] = std::move(f);
    }
  }
  stats_.requests++;
  std::vector<DecodedFrame> out;
  out.reserve(indices.size());
  for (int64_t i : indices) {
    auto it = got.find(i);
    if (it == got.end()) {
      const int64_t n = table().frame_count();  // the stream ended first: say how long it is
      throw Error(ErrorKind::Config, demuxer_->name() + ": frame index " + std::to_string(i) +
                                         " is out of range; the stream has " + std::to_string(n) +
                                         " frames");
    }
    out.push_back(it->second);
  }
  return out;
}

std::vector<DecodedFrame> FrameReader::frames_at(const std::vector<int64_t>& indices) {
  // The first frames of a file need no frame table: they are the first pictures out of a
  // decode from the start, which is what iteration does. Reading the table first would put
  // a scan of the whole file before a thumbnail.
  if (!table_ && !indices.empty() &&
      *std::max_element(indices.begin(), indices.end()) < kHeadFrames &&
      *std::min_element(indices.begin(), indices.end()) >= 0)
    return head_frames(indices);
  const media::FrameTable& t = table();
  const int64_t n = t.frame_count();
  for (int64_t i : indices)
    if (i < 0 || i >= n)
      throw Error(ErrorKind::Config, demuxer_->name() + ": frame index " + std::to_string(i) +
                                         " is out of range; the stream has " + std::to_string(n) +
                                         " frames");
  stats_.requests++;
  if (streaming_) {
    invalidate_pass();
    streaming_ = false;
  }
  const std::set<int64_t> want(indices.begin(), indices.end());
  std::map<int64_t, DecodedFrame> got;
  if (want.empty()) return {};
  for (int64_t i : want) {
    auto hit = cache_.find(i);
    if (hit == cache_.end()) continue;
    got[i] = std::move(hit->second);
    cache_.erase(hit);
    stats_.cache_hits++;
  }
  // A request that starts right after the previous one reads on: everything ahead is kept.
  const int64_t sequential_from =
      *want.begin() == last_request_max_ + 1 ? *want.rbegin() : kNotSequential;
  last_request_max_ = *want.rbegin();

  std::vector<int64_t> order;
  for (int64_t i : want)
    if (!got.count(i)) order.push_back(i);
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    const int64_t sa = t.start_for(a), sb = t.start_for(b);
    return sa != sb ? sa < sb : t.decode_index(a) < t.decode_index(b);
  });
  size_t next = 0;
  while (next < order.size()) {
    if (got.count(order[next])) {
      ++next;
      continue;
    }
    const int64_t start = t.start_for(order[next]);
    std::vector<int64_t> group;
    for (size_t k = next; k < order.size() && t.start_for(order[k]) == start; ++k)
      if (!got.count(order[k])) group.push_back(order[k]);
    decode_group(group, want, sequential_from, got);
  }
  std::vector<DecodedFrame> out;
  out.reserve(indices.size());
  for (int64_t i : indices) out.push_back(got.at(i));
  stats_.frames_returned += int64_t(out.size());
  return out;
}

std::vector<int64_t> FrameReader::indices_played_at(const std::vector<double>& seconds) {
  const media::FrameTable& t = table();
  std::vector<int64_t> out;
  out.reserve(seconds.size());
  for (double s : seconds) {
    if (!std::isfinite(s)) {
      out.push_back(-1);
      continue;
    }
    if (!t.timed()) {
      const media::Rational rate = stream_info_.avg_frame_rate.valid()
                                       ? stream_info_.avg_frame_rate
                                       : stream_info_.real_frame_rate;
      const double fps = rate.valid() ? rate.value() : 25.0;
      const double i = std::floor(s * fps + 1e-9);
      out.push_back(i >= 0 && i < double(t.frame_count()) ? int64_t(i) : -1);
      continue;
    }
    // pts <= s in the stream's time base, with a margin for seconds that were printed
    // from a pts and parsed back.
    const double ticks = s * stream_info_.time_base.den / stream_info_.time_base.num;
    const int64_t pts = int64_t(std::floor(ticks + 1e-6));
    const int64_t i = t.display_at_or_before(pts);
    out.push_back(i >= 0 && pts < t.end_pts() ? i : -1);
  }
  return out;
}

// ---- streaming ---------------------------------------------------------------------------

void FrameReader::start_streaming() {
  invalidate_pass();
  session_->reset(generation_);
  converter_.reset();
  if (demuxer_used_ && !demuxer_->rewind())
    throw Error(ErrorKind::Media, demuxer_->name() + ": the source cannot seek back to its start");
  streaming_ = true;
  last_decode_error_.clear();
  stream_next_tag_ = stream_out_ = 0;
  stream_ended_ = false;
  stream_pts_.clear();
  stream_ready_.clear();
}

void FrameReader::restart() {
  streaming_ = false;
}

std::vector<DecodedFrame> FrameReader::next(int max_frames) {
  if (!streaming_) start_streaming();
  std::vector<DecodedFrame> out;
  auto take = [&](std::vector<DecodedFrame> frames) {
    for (auto& f : frames) {
      std::optional<int64_t> pts;
      if (f.pts) {
        auto it = stream_pts_.find(*f.pts);
        if (it != stream_pts_.end()) {
          if (it->second != media::kNoTimestamp && stream_info_.timed) pts = it->second;
          stream_pts_.erase(it);
        }
      }
      finish_frame(f, stream_out_++, pts);
      stream_ready_.push_back(std::move(f));
    }
  };
  while (int(stream_ready_.size()) < max_frames && !stream_ended_) {
    media::PacketView p;
    if (!read_packet(p)) {
      take(drain_session());
      stream_ended_ = true;
      if (stream_out_ == 0 && !last_decode_error_.empty())
        throw Error(ErrorKind::Decode, demuxer_->name() +
                                           ": no frame could be decoded; the "
                                           "decoder said: " +
                                           last_decode_error_);
      break;
    }
    const int64_t tag = stream_next_tag_++;
    if (!p.discard) {
      stream_pts_[tag] = p.pts;
      if (stream_pts_.size() > kMaxStreamTags) stream_pts_.erase(stream_pts_.begin());
    }
    push_packet(p, tag, !p.discard);
    take(session_->reap(generation_));
  }
  const size_t n = std::min(stream_ready_.size(), size_t(std::max(max_frames, 0)));
  out.assign(std::make_move_iterator(stream_ready_.begin()),
             std::make_move_iterator(stream_ready_.begin() + long(n)));
  stream_ready_.erase(stream_ready_.begin(), stream_ready_.begin() + long(n));
  stats_.frames_returned += int64_t(out.size());
  return out;
}

// ---- approximate ------------------------------------------------------------------------

DecodedFrame FrameReader::frame_near(double seconds) {
  if (!stream_info_.time_base.valid() || !stream_info_.timed)
    throw Error(ErrorKind::Config, demuxer_->name() +
                                       ": approximate seeking needs timestamps; "
                                       "this stream has none (use exact mode)");
  stats_.requests++;
  stats_.seeks++;
  invalidate_pass();
  streaming_ = false;
  session_->reset(generation_);
  converter_.reset();
  const double ticks = seconds * stream_info_.time_base.den / stream_info_.time_base.num;
  const int64_t target = int64_t(std::llround(ticks));
  demuxer_used_ = true;
  if (!demuxer_->seek(target, target, -1) && !demuxer_->rewind())
    throw Error(ErrorKind::Media, demuxer_->name() + ": the source cannot seek");
  std::map<int64_t, int64_t> pts_of;  // tag -> pts
  int64_t tag = 0;
  std::optional<DecodedFrame> last;
  auto pick = [&](std::vector<DecodedFrame> frames) -> bool {
    for (auto& f : frames) {
      if (!f.pts) continue;
      auto it = pts_of.find(*f.pts);
      if (it == pts_of.end()) continue;
      f.pts = it->second;
      const bool reached = *f.pts >= target;
      last = std::move(f);
      if (reached) return true;
    }
    return false;
  };
  bool found = false;
  while (!found) {
    media::PacketView p;
    if (!read_packet(p)) {
      pick(drain_session());
      break;
    }
    if (!p.discard && p.pts != media::kNoTimestamp) pts_of[tag] = p.pts;
    push_packet(p, tag++, !p.discard);
    found = pick(session_->reap(generation_));
  }
  if (!last)
    throw Error(
        ErrorKind::Decode,
        demuxer_->name() + ": no frame could be decoded near " + std::to_string(seconds) + " s" +
            (last_decode_error_.empty() ? "" : "; the decoder said: " + last_decode_error_));
  const media::Rational rate = stream_info_.avg_frame_rate.valid() ? stream_info_.avg_frame_rate
                                                                   : stream_info_.real_frame_rate;
  const double start = stream_info_.start_pts ? seconds_of_pts(*stream_info_.start_pts) : 0.0;
  const double at = seconds_of_pts(*last->pts);
  const int64_t index = rate.valid() ? int64_t(std::llround((at - start) * rate.value())) : 0;
  finish_frame(*last, index, last->pts);
  stats_.frames_returned++;
  return std::move(*last);
}

}  // namespace videohw::pipeline
