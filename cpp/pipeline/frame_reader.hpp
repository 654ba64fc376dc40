// Frames of a media file by display index, on one persistent decode session.
//
// The reader joins a Demuxer (packets), a SampleConverter (container samples -> decoder
// bytes) and a DecodeSession (owned by a SessionManager; the reader holds it, it does not
// create it). Random access plans on a FrameTable built once by a packet scan; iteration
// streams without one. A seek is a reset of the same session and a reposition of the
// demuxer: no decoder is ever created here, so session_inits stays 1 over any number of
// seeks (and over files, when the caller hands the session to the next reader).
//
// Each packet is pushed as one DecodeUnit whose tag is its decode index (streaming: its
// running number), so a picture is matched to its packet exactly, whatever the decoder's
// reordering. Inside a pass, pictures nobody asked for are decoded with skip_output (no
// conversion, no copy), and droppable ones (no other picture references them) are not
// decoded at all.
//
// Thread-safety: none; the caller serialises (the Python VideoReader holds a lock).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "bitstream/sample_converter.hpp"
#include "media/demuxer.hpp"
#include "media/frame_table.hpp"
#include "session/decode_session.hpp"

namespace videohw::pipeline {

struct FrameReaderOptions {
  bool drop_unneeded = true;  // leave droppable pictures nobody asked for undecoded
  // Frames kept ready ahead of a sequential reader (decoded past its request anyway).
  int max_cached = 32;
};

struct FrameReaderStats {
  int64_t requests = 0;
  int64_t seeks = 0;  // decoder resets + demuxer repositions
  int64_t packets_read = 0;
  int64_t units_pushed = 0;
  int64_t units_skipped = 0;  // pushed for reference only
  int64_t units_dropped = 0;  // droppable and not wanted: never decoded
  int64_t frames_returned = 0;
  int64_t cache_hits = 0;
  int64_t scan_ns = 0;          // building the frame table
  int64_t damaged_packets = 0;  // samples that did not convert (truncated NAL lengths)
};

class FrameReader {
 public:
  // Takes the demuxer; the session must decode the stream's codec. Throws Error(Config)
  // for a stream that is not a video stream, Error(Media) for a codec no backend has.
  FrameReader(std::unique_ptr<media::Demuxer> demuxer, int stream_index,
              std::shared_ptr<DecodeSession> session, uint32_t generation,
              FrameReaderOptions options = {});

  const media::ContainerInfo& container() const { return demuxer_->info(); }
  // The selected stream; frame_count / keyframe_count exact once the table exists.
  media::VideoStreamInfo info() const;

  // Builds the frame table now (random access and len() need it).
  const media::FrameTable& table();
  int64_t frame_count() { return table().frame_count(); }

  // The frames at these display indices, in the order asked. Throws Error(Config) for an
  // index out of range (naming it and the count) and Error(Decode) when a frame cannot be
  // produced (a damaged file); frames already decoded stay cached for a retry.
  std::vector<DecodedFrame> frames_at(const std::vector<int64_t>& indices);
  // The display index shown at each time (the last frame whose start is <= t); -1 for a
  // time before the first frame or at/after the end of the last one.
  std::vector<int64_t> indices_played_at(const std::vector<double>& seconds);

  // Streaming: up to `max_frames` next frames in display order from the start of the
  // file (no table needed); empty at the end. restart() goes back to the first frame.
  std::vector<DecodedFrame> next(int max_frames);
  void restart();

  // Approximate mode: the first frame at or after `seconds`, decoded from the keyframe the
  // container's own seek finds (no table). Its index is estimated from the frame rate.
  DecodedFrame frame_near(double seconds);

  // A new session for the next requests (the old one is left as it is).
  void rebind(std::shared_ptr<DecodeSession> session, uint32_t generation);
  FrameReaderStats stats() const { return stats_; }

 private:
  double seconds_of_pts(int64_t pts) const;
  // Positions demuxer and decoder at table packet `start`.
  void seek_to(int64_t start);
  bool read_packet(media::PacketView& out);
  void push_packet(const media::PacketView& packet, int64_t tag, bool wanted);
  // Frames the session finished: matched to their packets, kept when wanted.
  void collect(const std::set<int64_t>& want, int64_t sequential_from,
               std::map<int64_t, DecodedFrame>& got);
  void collect_frames(std::vector<DecodedFrame> frames, const std::set<int64_t>& want,
                      int64_t sequential_from, std::map<int64_t, DecodedFrame>& got);
  void remember(int64_t display, DecodedFrame frame);
  void decode_group(const std::vector<int64_t>& group, const std::set<int64_t>& want,
                    int64_t sequential_from, std::map<int64_t, DecodedFrame>& got);
  void invalidate_pass();
  // Whether the current pass still produces display frame `display` (no seek needed).
  bool reachable(int64_t display) const;
  // The session's drain; a decode error there gives the frames that did come out.
  std::vector<DecodedFrame> drain_session();
  void finish_frame(DecodedFrame& frame, int64_t display, std::optional<int64_t> pts) const;
  void start_streaming();
  // frames_at for indices near the start, before any table exists: decoded as a stream.
  std::vector<DecodedFrame> head_frames(const std::vector<int64_t>& indices);

  std::unique_ptr<media::Demuxer> demuxer_;
  int stream_;
  std::shared_ptr<DecodeSession> session_;
  uint32_t generation_;
  FrameReaderOptions options_;
  media::VideoStreamInfo stream_info_;
  bitstream::SampleConverter converter_;
  std::optional<media::FrameTable> table_;
  std::vector<uint8_t> unit_;  // converted bytes of the packet being pushed

  // The current pass over the table: the decoder has had every packet from pass_start_
  // to next_decode_ - 1 (pushed, skipped or dropped), in order, since its last reset.
  bool pass_live_ = false;
  int64_t pass_start_ = 0, next_decode_ = 0;
  std::set<int64_t> pending_wanted_;             // decode indices pushed for output, not yet out
  std::optional<media::PacketView> held_;        // read while seeking, not yet pushed
  int64_t untimed_gop_ = -1, untimed_rank_ = 0;  // untimed display numbering
  int64_t last_request_max_ = -2;

  std::map<int64_t, DecodedFrame> cache_;  // display index -> frame decoded ahead
  std::string last_decode_error_;          // the decoder's last complaint since the seek

  // Streaming (next()): its own numbering, independent of the table.
  bool streaming_ = false;
  int64_t stream_next_tag_ = 0, stream_out_ = 0;
  bool stream_ended_ = false;
  std::map<int64_t, int64_t> stream_pts_;   // tag -> the packet's pts
  std::vector<DecodedFrame> stream_ready_;  // out of the decoder, beyond the last next()
  bool demuxer_used_ = false;               // read since it was opened or rewound

  FrameReaderStats stats_;
};

}  // namespace videohw::pipeline
