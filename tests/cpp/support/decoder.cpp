#include "support/decoder.hpp"

#include <algorithm>
#include <memory>
#include <stdexcept>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>
#include <libavutil/video_enc_params.h>
}

namespace vhtest {

namespace {

struct CodecContextFree {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
struct FrameFree {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
struct PacketFree {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
struct ParserFree {
  void operator()(AVCodecParserContext* p) const { av_parser_close(p); }
};

std::string av_text(int code) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {0};
  av_strerror(code, text, sizeof(text));
  return text;
}

AVCodecID codec_id(videohw::Codec codec) {
  switch (codec) {
    case videohw::Codec::H264:
      return AV_CODEC_ID_H264;
    case videohw::Codec::HEVC:
      return AV_CODEC_ID_HEVC;
    default:
      throw std::runtime_error("test decoder: no decoder for this codec");
  }
}

double plane_mean(const AVFrame* f, int plane, int width, int height) {
  double sum = 0;
  for (int y = 0; y < height; ++y) {
    const uint8_t* row = f->data[plane] + ptrdiff_t(y) * f->linesize[plane];
    for (int x = 0; x < width; ++x) sum += row[x];
  }
  return width && height ? sum / (double(width) * height) : 0;
}

DecodedFrame describe(const AVFrame* f) {
  DecodedFrame d;
  d.width = f->width;
  d.height = f->height;
  d.key_frame = f->key_frame != 0;
  d.pict_type = av_get_picture_type_char(f->pict_type);
  d.pts = f->pts != AV_NOPTS_VALUE ? f->pts : f->best_effort_timestamp;
  if (f->format == AV_PIX_FMT_YUV420P || f->format == AV_PIX_FMT_YUVJ420P) {
    d.mean_y = plane_mean(f, 0, f->width, f->height);
    d.mean_u = plane_mean(f, 1, (f->width + 1) / 2, (f->height + 1) / 2);
    d.mean_v = plane_mean(f, 2, (f->width + 1) / 2, (f->height + 1) / 2);
  }
  if (const AVFrameSideData* sd = av_frame_get_side_data(f, AV_FRAME_DATA_VIDEO_ENC_PARAMS)) {
    auto* par = reinterpret_cast<AVVideoEncParams*>(sd->data);
    for (unsigned i = 0; i < par->nb_blocks; ++i) {
      const int qp = par->qp + av_video_enc_params_block(par, i)->delta_qp;
      d.qp_min = d.qp_min < 0 ? qp : std::min(d.qp_min, qp);
      d.qp_max = std::max(d.qp_max, qp);
    }
  }
  return d;
}

class Decoder {
 public:
  explicit Decoder(videohw::Codec codec) {
    const AVCodec* dec = avcodec_find_decoder(codec_id(codec));
    if (!dec) throw std::runtime_error("test decoder: libavcodec has no decoder");
    ctx_.reset(avcodec_alloc_context3(dec));
    ctx_->thread_count = 1;  // deterministic, and frames come out as soon as possible
    ctx_->export_side_data |= AV_CODEC_EXPORT_DATA_VIDEO_ENC_PARAMS;
    int ret = avcodec_open2(ctx_.get(), dec, nullptr);
    if (ret < 0) throw std::runtime_error("test decoder: open: " + av_text(ret));
  }

  void send(const AVPacket* packet) {
    const int ret = avcodec_send_packet(ctx_.get(), packet);
    if (ret < 0 && ret != AVERROR_EOF)
      throw std::runtime_error("test decoder: send_packet: " + av_text(ret));
    receive();
  }

  std::vector<DecodedFrame> finish() {
    send(nullptr);
    return std::move(frames_);
  }

 private:
  void receive() {
    for (;;) {
      const int ret = avcodec_receive_frame(ctx_.get(), frame_.get());
      if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return;
      if (ret < 0) throw std::runtime_error("test decoder: receive_frame: " + av_text(ret));
      frames_.push_back(describe(frame_.get()));
      av_frame_unref(frame_.get());
    }
  }

  std::unique_ptr<AVCodecContext, CodecContextFree> ctx_;
  std::unique_ptr<AVFrame, FrameFree> frame_{av_frame_alloc()};
  std::vector<DecodedFrame> frames_;
};

}  // namespace

std::vector<DecodedFrame> decode_packets(videohw::Codec codec,
                                         const std::vector<videohw::EncodedPacket>& packets) {
  Decoder decoder(codec);
  std::unique_ptr<AVPacket, PacketFree> pkt(av_packet_alloc());
  for (const auto& p : packets) {
    if (av_new_packet(pkt.get(), int(p.data.size())) < 0)
      throw std::runtime_error("test decoder: av_new_packet failed");
    std::copy(p.data.begin(), p.data.end(), pkt->data);
    pkt->pts = p.pts;
    pkt->dts = p.dts;
    decoder.send(pkt.get());
    av_packet_unref(pkt.get());
  }
  return decoder.finish();
}

std::vector<DecodedFrame> decode_annexb(videohw::Codec codec, const std::vector<uint8_t>& stream) {
  Decoder decoder(codec);
  std::unique_ptr<AVCodecParserContext, ParserFree> parser(av_parser_init(codec_id(codec)));
  const AVCodec* dec = avcodec_find_decoder(codec_id(codec));
  std::unique_ptr<AVCodecContext, CodecContextFree> parse_ctx(avcodec_alloc_context3(dec));
  std::unique_ptr<AVPacket, PacketFree> pkt(av_packet_alloc());
  // The parser may read up to the padding past the end of what it is given.
  std::vector<uint8_t> padded(stream);
  padded.resize(stream.size() + AV_INPUT_BUFFER_PADDING_SIZE, 0);
  size_t pos = 0;
  const size_t size = stream.size();
  int64_t index = 0;
  for (;;) {
    uint8_t* out = nullptr;
    int out_size = 0;
    const bool at_end = pos >= size;
    const int used = av_parser_parse2(
        parser.get(), parse_ctx.get(), &out, &out_size, at_end ? nullptr : padded.data() + pos,
        at_end ? 0 : int(size - pos), AV_NOPTS_VALUE, AV_NOPTS_VALUE, 0);
    if (used < 0) throw std::runtime_error("test decoder: parser: " + av_text(used));
    pos += size_t(used);
    if (out_size > 0) {
      if (av_new_packet(pkt.get(), out_size) < 0)
        throw std::runtime_error("test decoder: av_new_packet failed");
      std::copy(out, out + out_size, pkt->data);
      pkt->pts = pkt->dts = AV_NOPTS_VALUE;
      pkt->pos = index++;
      decoder.send(pkt.get());
      av_packet_unref(pkt.get());
    }
    if (at_end && out_size == 0) break;
  }
  return decoder.finish();
}

std::vector<uint8_t> concatenate(const std::vector<videohw::EncodedPacket>& packets) {
  std::vector<uint8_t> stream;
  for (const auto& p : packets) stream.insert(stream.end(), p.data.begin(), p.data.end());
  return stream;
}

std::vector<int> nal_types(videohw::Codec codec, const uint8_t* data, size_t size) {
  std::vector<int> types;
  size_t zeros = 0;
  for (size_t i = 0; i < size; ++i) {
    if (data[i] == 1 && zeros >= 2 && i + 1 < size) {
      const uint8_t header = data[i + 1];
      types.push_back(codec == videohw::Codec::HEVC ? (header >> 1) & 0x3f : header & 0x1f);
    }
    zeros = data[i] == 0 ? zeros + 1 : 0;
  }
  return types;
}

bool holds_idr(videohw::Codec codec, const videohw::EncodedPacket& packet) {
  for (int type : nal_types(codec, packet.data.data(), packet.data.size())) {
    if (codec == videohw::Codec::HEVC ? (type == 19 || type == 20) : type == 5) return true;
  }
  return false;
}

std::vector<int64_t> keyframe_pts(const std::vector<DecodedFrame>& frames) {
  std::vector<int64_t> pts;
  for (const auto& f : frames)
    if (f.key_frame) pts.push_back(f.pts);
  return pts;
}

std::vector<int64_t> all_pts(const std::vector<DecodedFrame>& frames) {
  std::vector<int64_t> pts;
  for (const auto& f : frames) pts.push_back(f.pts);
  return pts;
}

}  // namespace vhtest
