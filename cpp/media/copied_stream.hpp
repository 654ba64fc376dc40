// A stream carried from a demuxer to a muxer untouched (the ffmpeg tool's `-c copy`): a
// transcode re-encodes the video and copies the audio this way, so a film keeps its sound
// bit for bit. The codec parameters stay libavformat's own (shared, never changed); packets
// keep the stream's own time base.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "media/media_info.hpp"

struct AVCodecParameters;

namespace videohw::media {

struct CopiedStream {
  int source_index = -1;  // in the input container
  std::string kind;       // "audio", ...
  std::string codec_name;
  Rational time_base;
  std::shared_ptr<const AVCodecParameters> parameters;
};

// One packet of a copied stream, owning its bytes (it outlives the demuxer's next read).
struct CopiedPacket {
  int stream = 0;  // index into the muxer's copied streams
  std::vector<uint8_t> data;
  int64_t pts = INT64_MIN, dts = INT64_MIN;  // INT64_MIN: none
  int64_t duration = 0;
  bool keyframe = false;
};

}  // namespace videohw::media
