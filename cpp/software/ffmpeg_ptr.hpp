// Every FFmpeg object lives in a unique_ptr with FFmpeg's own free function: no manual
// frees anywhere in the adapter.
#pragma once

#include <memory>
#include <string>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>
#include <libswscale/swscale.h>
}

namespace videohw::software {

struct CodecContextDeleter {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
struct FrameDeleter {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
struct PacketDeleter {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
struct SwsDeleter {
  void operator()(SwsContext* s) const { sws_freeContext(s); }
};

using UniqueAVCodecContext = std::unique_ptr<AVCodecContext, CodecContextDeleter>;
using UniqueAVFrame = std::unique_ptr<AVFrame, FrameDeleter>;
using UniqueAVPacket = std::unique_ptr<AVPacket, PacketDeleter>;
using UniqueSwsContext = std::unique_ptr<SwsContext, SwsDeleter>;

struct ParserDeleter {
  void operator()(AVCodecParserContext* p) const { av_parser_close(p); }
};
using UniqueAVParser = std::unique_ptr<AVCodecParserContext, ParserDeleter>;

// FFmpeg's text for an error code, prefixed by what we were doing.
std::string av_error_text(int code, const std::string& doing);

// Throws Error(Encode) with av_error_text when code < 0.
void check_av(int code, const std::string& doing);

}  // namespace videohw::software
