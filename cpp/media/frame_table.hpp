// Every packet of one video stream in decode order, and every shown frame in display
// order: the keyframe index that frame-exact random access plans with.
//
// Built once per reader by a packet scan (no decoding): MP4's sample table gives dts but
// not pts, Matroska's cues only keyframes, MPEG-TS nothing, so reading every packet header
// is the one source that is exact for all of them.
//
// Timed streams (containers): display order is pts order of the packets that are shown
// (packets before an edit list's start are decoded but never shown). Untimed streams (raw
// Annex-B, no pts): display order is known only per closed GOP, whose frames are shown
// after every frame before its IDR and before every frame after the next one, so frame i
// of the file is the (i - d)-th picture out of the GOP starting at decode index d.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bitstream/sample_converter.hpp"
#include "media/demuxer.hpp"

namespace videohw::media {

struct PacketEntry {
  int64_t pts = kNoTimestamp, dts = kNoTimestamp, pos = -1;
  int64_t duration = 0;
  int64_t display = -1;         // display index; -1: never shown
  bool keyframe = false;        // the container's keyframe flag
  bool keyframe_start = false;  // decoding may start here (H.264: IDR keyframes only)
  bool reset = false;           // a decoder may start here and nothing before it is needed
                                // after it (IDR; any keyframe for codecs without open GOPs)
  bool droppable = false;       // no other picture references it
  bool discard = false;         // decoded for reference, never shown (edit list)
};

class FrameTable {
 public:
  // Reads every packet of the demuxer's selected stream from its current position (a
  // freshly opened demuxer: the first packet) to the end.
  static FrameTable scan(Demuxer& demuxer, const bitstream::SampleConverter& converter);

  bool timed() const { return timed_; }
  int64_t frame_count() const { return int64_t(by_display_.size()); }
  int64_t packet_count() const { return int64_t(packets_.size()); }
  int64_t keyframe_count() const { return keyframe_count_; }
  const PacketEntry& packet(int64_t decode_index) const { return packets_[size_t(decode_index)]; }
  int64_t decode_index(int64_t display_index) const { return by_display_[size_t(display_index)]; }
  // The packet to start decoding at so that frame `display_index` comes out right: the
  // last start point (keyframe; for H.264 an IDR) before it in decode order whose pts is
  // not after the frame's (an open-GOP leading picture needs the keyframe before its own).
  int64_t start_for(int64_t display_index) const;
  // Timed: the largest display index whose pts is <= `pts`; -1 before the first frame.
  int64_t display_at_or_before(int64_t pts) const;
  // Timed: pts of display frame i.
  int64_t display_pts(int64_t display_index) const {
    return packets_[size_t(by_display_[size_t(display_index)])].pts;
  }
  // Untimed: the decode index of the GOP (reset point) holding decode index d, and the
  // display index of the first shown frame at or after a decode index (-1: none).
  int64_t gop_start(int64_t decode_index) const;
  int64_t first_display_from(int64_t decode_index) const;
  // Timed: where the last frame stops being shown (its pts plus its duration).
  int64_t end_pts() const;
  // A read error that ended the scan early (a damaged file), or "".
  const std::string& scan_error() const { return scan_error_; }

 private:
  void order_display();
  std::vector<PacketEntry> packets_;
  std::vector<int64_t> by_display_;  // decode index of each display index
  std::vector<int64_t> starts_;      // decode indices of start points, ascending
  std::vector<int64_t> resets_;      // decode indices of reset points, ascending
  int64_t keyframe_count_ = 0;
  bool timed_ = true;
  std::string scan_error_;
};

}  // namespace videohw::media
