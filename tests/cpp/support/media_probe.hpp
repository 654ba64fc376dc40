// An independent reading of a media file: libavformat's demuxer and libavcodec's decoder
// (and the ffmpeg tool), never videohw's media code, so a verdict on what the Muxer wrote
// does not come from the Muxer's own understanding of containers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vhtest {

struct ProbedPacket {
  int64_t pts = 0, dts = 0, duration = 0;  // the stream's time base; INT64_MIN: unset
  bool key = false;
  int size = 0;
};

struct ProbedPicture {
  int width = 0, height = 0;
  bool key = false;
  int64_t pts = 0;  // best-effort timestamp, stream time base
};

struct ProbedFile {
  std::string format;     // demuxer name, e.g. "mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm"
  std::string codec;      // "h264", "hevc"
  std::string codec_tag;  // "avc1", "hev1" in MP4; empty where the container has none
  int width = 0, height = 0;
  int time_base_num = 0, time_base_den = 1;
  double start_time = 0, duration = 0;  // seconds, of the stream (0 when unknown)
  std::vector<uint8_t> extradata;
  std::vector<ProbedPacket> packets;    // file order
  std::vector<ProbedPicture> pictures;  // presentation order
  int decode_errors = 0;                // packets the decoder refused
};

// Demuxes the first video stream and decodes it. `format` forces a demuxer ("h264",
// "hevc" for raw streams); empty: probed by content. Throws std::runtime_error when the
// file cannot be opened or holds no video stream.
ProbedFile probe_file(const std::string& path, const std::string& format = "");

bool have_ffmpeg_tool();
// What `ffmpeg -v error -i path -f null -` prints; empty when the file decodes cleanly.
std::string ffmpeg_complaints(const std::string& path);
std::string shell_quoted(const std::string& text);
// Runs a shell command; true when it exits 0.
bool run_command(const std::string& command);

}  // namespace vhtest
