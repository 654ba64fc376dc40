// libavcodec under the NVDEC double's parser: av_parser cuts access units (as the
// software backend's decoder does), a second parser in complete-frames mode reads each
// unit's sequence (size, format, picture type) before it is decoded, and one
// single-threaded libavcodec decoder decodes, so output is the software decoder's.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

extern "C" {
#include <libavcodec/avcodec.h>
}

#include "picture.hpp"

namespace nvdecdouble {

struct AccessUnit {
  std::vector<uint8_t> bytes;
  int64_t timestamp = AV_NOPTS_VALUE;
};

// What the info parser read from one access unit.
struct UnitInfo {
  int coded_width = 0, coded_height = 0;
  AVPixelFormat format = AV_PIX_FMT_NONE;
  bool key = false;
  bool intra = false;
};

class AvStream {
 public:
  // Throws std::runtime_error when libavcodec lacks the codec.
  explicit AvStream(AVCodecID codec);
  ~AvStream();
  AvStream(const AvStream&) = delete;
  AvStream& operator=(const AvStream&) = delete;

  // Cuts `data` into access units; the one still open stays inside until end_unit().
  void split(const uint8_t* data, size_t size, int64_t timestamp, std::vector<AccessUnit>& out);
  // Closes the open access unit (end of picture or stream).
  void end_unit(std::vector<AccessUnit>& out);
  // Whether bytes were split since the last end_unit() (the parser may hold some).
  bool holds_data() const { return split_since_end_; }
  UnitInfo inspect(const AccessUnit& unit);

  // libavcodec's avcodec_send_packet result; the picture comes back with pts = id.
  int send(const AccessUnit& unit, int64_t id);
  int send_end();
  FramePtr receive();  // nullptr when nothing is ready
  // Ready for a new stream: decoder flushed (parameter sets kept), parser reopened.
  void restart();
  // The decoder alone, after a drain: the parser may hold the next unit's first bytes.
  void restart_decoder();

  const AVCodecContext& context() const { return *decoder_; }

 private:
  void open_splitter();

  AVCodecID codec_;
  AVCodecContext* decoder_ = nullptr;
  AVCodecContext* info_context_ = nullptr;
  AVCodecParserContext* splitter_ = nullptr;
  AVCodecParserContext* info_ = nullptr;
  AVPacket* packet_ = nullptr;
  bool split_since_end_ = false;
};

}  // namespace nvdecdouble
