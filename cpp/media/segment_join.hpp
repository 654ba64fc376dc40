// One output from a file's segments transcoded apart (videohw.distributed splits long
// inputs at keyframes): the segments' packets carry the source's timestamps, so joining
// them is writing them in order into one muxer; the source's audio is copied in beside
// them in one pass, interleaved by time as the transcode graph's egress does.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "media/demuxer.hpp"
#include "media/muxer.hpp"

namespace videohw::media {

class SegmentJoin {
 public:
  // `config`: the video's codec, size, rate and time base (the source's video time base,
  // the unit of the packets' timestamps); its copied streams are filled here. `audio_from`:
  // the source whose best audio stream is copied, "" for none. Throws as Muxer and Demuxer.
  SegmentJoin(const std::string& path, MuxerConfig config, const std::string& audio_from);
  ~SegmentJoin();  // without close(): abort()
  SegmentJoin(const SegmentJoin&) = delete;
  SegmentJoin& operator=(const SegmentJoin&) = delete;

  // The next video packet in decode order (Annex-B, as encode sessions make them); dts must
  // increase across segments (Error(Config) otherwise, from the muxer).
  void write(const EncodedPacket& packet);
  // The audio left, the trailer, the rename; returns the final paths.
  std::vector<std::string> close();
  void abort();
  int64_t video_packets() const { return video_packets_; }
  int64_t audio_packets() const { return muxer_->copied_written(); }
  std::string audio() const { return audio_note_; }

 private:
  // Audio packets whose time is at or before `seconds`; every one left with `all`.
  void copy_audio(double seconds, bool all);

  std::unique_ptr<Demuxer> source_;
  std::optional<CopiedStream> stream_;
  std::unique_ptr<Muxer> muxer_;
  double video_tick_ = 0.0, audio_tick_ = 0.0;  // seconds per timestamp unit
  std::optional<CopiedPacket> waiting_;         // read, not yet due
  bool audio_done_ = true;
  int64_t video_packets_ = 0;
  std::string audio_note_ = "none";
};

}  // namespace videohw::media
