#include "support/transcode_files.hpp"

#include <stdlib.h>

#include <algorithm>
#include <stdexcept>
#include <system_error>

#include "media/muxer.hpp"

extern "C" {
#include <libavformat/avformat.h>
#include <libavutil/log.h>
}

namespace vhtest {

namespace fs = std::filesystem;

TempDir::TempDir() {
  std::string pattern = (fs::temp_directory_path() / "vh-transcode-XXXXXX").string();
  if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;  // a destructor must not throw; a leftover folder is harmless
  fs::remove_all(path_, ignored);
}

std::vector<std::string> TempDir::entries() const {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(path_)) names.push_back(e.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

std::string make_source(const TempDir& dir, const std::string& name, const StreamSpec& spec,
                        videohw::Codec codec) {
  av_log_set_level(AV_LOG_ERROR);
  const std::vector<videohw::EncodedPacket> packets = encode_stream(codec, spec);
  videohw::media::MuxerConfig m;
  m.codec = codec;
  m.width = spec.width;
  m.height = spec.height;
  m.fps_num = 30;
  m.fps_den = 1;
  const std::string path = dir / name;
  videohw::media::Muxer muxer(path, m);
  for (const auto& p : packets) muxer.write(p);
  muxer.close();
  return path;
}

std::string make_source(const TempDir& dir, const std::string& name, int frames) {
  StreamSpec spec;  // 64x48 by default
  spec.frames = frames;
  spec.gop = 30;
  spec.b_frames = 2;
  return make_source(dir, name, spec);
}

int count_packets(const std::string& path, AVMediaType type) {
  AVFormatContext* ctx = nullptr;
  if (avformat_open_input(&ctx, path.c_str(), nullptr, nullptr) < 0) return -1;
  int count = -1;
  if (avformat_find_stream_info(ctx, nullptr) >= 0) {
    const int stream = av_find_best_stream(ctx, type, -1, -1, nullptr, 0);
    if (stream >= 0) {
      count = 0;
      AVPacket* packet = av_packet_alloc();
      while (av_read_frame(ctx, packet) >= 0) {
        if (packet->stream_index == stream) count++;
        av_packet_unref(packet);
      }
      av_packet_free(&packet);
    }
  }
  avformat_close_input(&ctx);
  return count;
}

}  // namespace vhtest
