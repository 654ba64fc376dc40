// What a container says about itself and its streams: the values probe() reports and the
// reader plans with. Plain values, filled by the demuxer (and the frame table for exact
// counts); nothing here holds an FFmpeg object.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "contract/types.hpp"

namespace videohw::media {

struct Rational {
  int num = 0;
  int den = 1;
  bool valid() const { return num > 0 && den > 0; }
  double value() const { return valid() ? double(num) / den : 0.0; }
};

// Every stream, whatever its kind.
struct StreamSummary {
  int index = -1;
  std::string kind;  // "video", "audio", "subtitle", "data", "attachment", "unknown"
  std::string codec_name;
  std::optional<double> duration_seconds;
};

struct VideoStreamInfo {
  int index = -1;
  std::string codec_name;      // libavcodec's name: "h264", "hevc", "vp9", "av1", ...
  std::optional<Codec> codec;  // empty: no videohw backend decodes it
  int width = 0, height = 0;
  std::string pixel_format;  // "yuv420p", "yuv420p10le", ...; "" when unknown
  int bit_depth = 0;         // 0 when unknown
  Rational avg_frame_rate;   // the container's average; invalid when it gives none
  Rational real_frame_rate;  // libavformat's r_frame_rate (the lowest rate all pts fit)
  Rational time_base;
  Rational sample_aspect_ratio;
  std::optional<int64_t> start_pts;  // stream time base
  std::optional<double> duration_seconds;
  int64_t frame_count = 0;         // container's count (nb_frames) until a scan sets it
  bool frame_count_exact = false;  // true once counted from every packet
  int64_t keyframe_count = -1;     // -1 until a scan counted them
  ColorInfo color;
  std::optional<double> rotation;  // av_display_rotation_get: degrees counter-clockwise
  EncodedLayout layout = EncodedLayout::AnnexB;  // AVCC / HVCC: length-prefixed samples
  bool timed = true;  // false: packets carry no usable pts (raw elementary streams)
  std::vector<uint8_t> extradata;
};

struct ContainerInfo {
  std::string name;  // the path, or "<file object>"
  std::string format_name, format_long_name;
  std::optional<double> duration_seconds;
  int64_t bit_rate = 0;
  int64_t size_bytes = -1;  // -1: unknown (unseekable source)
  std::vector<StreamSummary> streams;
  std::vector<VideoStreamInfo> video_streams;
  int best_video_stream = -1;  // a stream index, -1 when there is no video
};

}  // namespace videohw::media
