#include "av_encoder.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

extern "C" {
#include <libavutil/opt.h>
}

namespace nvdouble {

namespace {

std::string kbps(uint32_t bps) {
  return std::to_string(std::max<uint32_t>(1, (bps + 500) / 1000));
}

std::string ratio(int from, int to) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.6f", std::pow(2.0, (to - from) / 6.0));
  return text;
}

bool abr(NV_ENC_PARAMS_RC_MODE mode) {
  return mode == NV_ENC_PARAMS_RC_CBR || mode == NV_ENC_PARAMS_RC_VBR;
}

// A bitrate of 0 asks NVENC to choose; the double then encodes at constant quality.
bool constant_quality(const EncodeSettings& s) {
  return abr(s.rc_mode) && s.average_bitrate == 0;
}

uint32_t peak_rate(const EncodeSettings& s) {
  if (s.rc_mode == NV_ENC_PARAMS_RC_CBR) return s.average_bitrate;
  return s.max_bitrate;  // VBR: 0 means no peak constraint
}

std::string rate_params(const EncodeSettings& s) {
  if (s.rc_mode == NV_ENC_PARAMS_RC_CONSTQP)
    return "qp=" + std::to_string(s.qp_inter_p) + ":ipratio=" + ratio(s.qp_intra, s.qp_inter_p) +
           ":pbratio=" + ratio(s.qp_inter_p, s.qp_inter_b);
  if (constant_quality(s)) return "crf=23";
  std::string p = "bitrate=" + kbps(s.average_bitrate);
  if (const uint32_t peak = peak_rate(s)) {
    const uint32_t vbv = s.vbv_buffer_size ? s.vbv_buffer_size : peak;
    p += ":vbv-maxrate=" + kbps(peak) + ":vbv-bufsize=" + kbps(vbv);
  }
  return p;
}

// Keyframes only where the double asks for them; no lookahead, so nothing is held back
// beyond what the B-frames themselves need.
std::string x264_params(const EncodeSettings& s) {
  const int b = s.b_frames();
  return "keyint=infinite:scenecut=0:open-gop=0:rc-lookahead=0:sync-lookahead=0:mbtree=0:"
         "bframes=" +
         std::to_string(b) + (b ? ":b-adapt=0:b-pyramid=none" : "") + ":" + rate_params(s);
}

std::string x265_params(const EncodeSettings& s) {
  const int b = s.b_frames();
  return "keyint=-1:scenecut=0:open-gop=0:frame-threads=1:pools=none:cutree=0:"
         "repeat-headers=1:log-level=error:bframes=" +
         std::to_string(b) +
         (b ? ":b-adapt=0:b-pyramid=0:rc-lookahead=" + std::to_string(b + 1) : ":rc-lookahead=0") +
         ":" + rate_params(s);
}

const char* speed_preset(int nvenc_preset) {
  // Slower NVENC presets map onto slower x264/x265 presets, capped to stay cheap on CPU.
  if (nvenc_preset <= 3) return "ultrafast";
  if (nvenc_preset <= 5) return "superfast";
  return "veryfast";
}

void set_rate_fields(AVCodecContext* ctx, const EncodeSettings& s) {
  if (!abr(s.rc_mode) || constant_quality(s)) return;
  // Rounded like the params string, so libavcodec sees no change on the first frame.
  ctx->bit_rate = int64_t(std::max<uint32_t>(1, (s.average_bitrate + 500) / 1000)) * 1000;
  if (const uint32_t peak = peak_rate(s)) {
    const uint32_t vbv = s.vbv_buffer_size ? s.vbv_buffer_size : peak;
    ctx->rc_max_rate = int64_t(std::max<uint32_t>(1, (peak + 500) / 1000)) * 1000;
    ctx->rc_buffer_size = int(std::max<uint32_t>(1, (vbv + 500) / 1000) * 1000);
  } else {
    ctx->rc_max_rate = 0;
    ctx->rc_buffer_size = 0;
  }
}

void check(int ret, const std::string& doing) {
  if (ret < 0) throw std::runtime_error(videohw::software::av_error_text(ret, doing));
}

videohw::software::UniqueAVCodecContext open_context(const EncodeSettings& s, bool global_header) {
  const bool hevc = s.codec == CodecKind::HEVC;
  const char* name = hevc ? "libx265" : "libx264";
  const AVCodec* codec = avcodec_find_encoder_by_name(name);
  if (!codec) throw std::runtime_error(std::string("libavcodec has no ") + name + " encoder");
  videohw::software::UniqueAVCodecContext ctx(avcodec_alloc_context3(codec));
  if (!ctx) throw std::runtime_error("avcodec_alloc_context3 failed (out of memory)");
  ctx->width = s.width;
  ctx->height = s.height;
  ctx->pix_fmt = AV_PIX_FMT_YUV420P;
  ctx->time_base = AVRational{s.fps_den, s.fps_num};
  ctx->framerate = AVRational{s.fps_num, s.fps_den};
  ctx->max_b_frames = s.b_frames();
  ctx->thread_count = 1;  // deterministic, and the shared CI machines have few cores
  ctx->color_range = AVCOL_RANGE_MPEG;
  if (global_header) ctx->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  if (!hevc) set_rate_fields(ctx.get(), s);
  const std::string params = hevc ? x265_params(s) : x264_params(s);
  check(av_opt_set(ctx->priv_data, "preset", speed_preset(s.preset), 0), "setting preset");
  check(av_opt_set(ctx->priv_data, "tune", "zerolatency", 0), "setting tune");
  // A picture sent as AV_PICTURE_TYPE_I becomes an IDR, not a recovery-point I frame.
  check(av_opt_set(ctx->priv_data, "forced-idr", "1", 0), "setting forced-idr");
  check(av_opt_set(ctx->priv_data, hevc ? "x265-params" : "x264-params", params.c_str(), 0),
        std::string("setting ") + params);
  check(avcodec_open2(ctx.get(), codec, nullptr), std::string("opening ") + name);
  return ctx;
}

bool holds_idr(CodecKind codec, const uint8_t* data, size_t size) {
  size_t zeros = 0;
  for (size_t i = 0; i + 1 < size; ++i) {
    if (data[i] == 1 && zeros >= 2) {
      const uint8_t header = data[i + 1];
      const int type = codec == CodecKind::HEVC ? (header >> 1) & 0x3f : header & 0x1f;
      if (codec == CodecKind::HEVC ? (type == 19 || type == 20) : type == 5) return true;
    }
    zeros = data[i] == 0 ? zeros + 1 : 0;
  }
  return false;
}

}  // namespace

AvEncoder::AvEncoder(const EncodeSettings& settings)
    : settings_(settings),
      context_(open_context(settings, false)),
      picture_(av_frame_alloc()),
      packet_(av_packet_alloc()) {
  if (!picture_ || !packet_) throw std::runtime_error("av_frame_alloc/av_packet_alloc failed");
  picture_->format = AV_PIX_FMT_YUV420P;
  picture_->width = settings.width;
  picture_->height = settings.height;
  check(av_frame_get_buffer(picture_.get(), 0), "allocating the input picture");
}

void AvEncoder::send(NV_ENC_PIC_TYPE type, int64_t pts, std::vector<EncodedUnit>& out) {
  picture_->pts = pts;
  switch (type) {
    // libavcodec has no way to ask libx264/libx265 for a non-IDR I picture in a closed GOP:
    // a scheduled I is coded (and reported) as an IDR.
    case NV_ENC_PIC_TYPE_IDR:
    case NV_ENC_PIC_TYPE_I:
      picture_->pict_type = AV_PICTURE_TYPE_I;
      break;
    case NV_ENC_PIC_TYPE_P:
      picture_->pict_type = AV_PICTURE_TYPE_P;
      break;
    case NV_ENC_PIC_TYPE_B:
      picture_->pict_type = AV_PICTURE_TYPE_B;
      break;
    default:
      picture_->pict_type = AV_PICTURE_TYPE_NONE;
      break;
  }
  check(avcodec_send_frame(context_.get(), picture_.get()), "sending a picture to the encoder");
  receive(out);
}

void AvEncoder::drain(std::vector<EncodedUnit>& out) {
  check(avcodec_send_frame(context_.get(), nullptr), "draining the encoder");
  receive(out);
}

void AvEncoder::receive(std::vector<EncodedUnit>& out) {
  for (;;) {
    const int ret = avcodec_receive_packet(context_.get(), packet_.get());
    if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return;
    check(ret, "receiving a packet from the encoder");
    EncodedUnit unit;
    unit.data.assign(packet_->data, packet_->data + packet_->size);
    unit.pts = packet_->pts;
    size_t stats_size = 0;
    const uint8_t* stats =
        av_packet_get_side_data(packet_.get(), AV_PKT_DATA_QUALITY_STATS, &stats_size);
    if (holds_idr(settings_.codec, packet_->data, size_t(packet_->size))) {
      unit.type = NV_ENC_PIC_TYPE_IDR;
    } else if (stats && stats_size >= 5) {
      const auto pict = AVPictureType(stats[4]);
      unit.type = pict == AV_PICTURE_TYPE_I   ? NV_ENC_PIC_TYPE_I
                  : pict == AV_PICTURE_TYPE_B ? NV_ENC_PIC_TYPE_B
                                              : NV_ENC_PIC_TYPE_P;
    } else {
      unit.type = (packet_->flags & AV_PKT_FLAG_KEY) ? NV_ENC_PIC_TYPE_I : NV_ENC_PIC_TYPE_P;
    }
    if (stats && stats_size >= 4) {
      const uint32_t quality = uint32_t(stats[0]) | uint32_t(stats[1]) << 8 |
                               uint32_t(stats[2]) << 16 | uint32_t(stats[3]) << 24;
      unit.average_qp = int(quality / FF_QP2LAMBDA);
    }
    av_packet_unref(packet_.get());
    out.push_back(std::move(unit));
  }
}

bool AvEncoder::can_update_in_place(const EncodeSettings& from, const EncodeSettings& to) {
  return from.codec == CodecKind::H264 && to.codec == CodecKind::H264 && abr(from.rc_mode) &&
         abr(to.rc_mode) && !constant_quality(from) && !constant_quality(to) &&
         (peak_rate(from) != 0) == (peak_rate(to) != 0) && from.width == to.width &&
         from.height == to.height && from.fps_num == to.fps_num && from.fps_den == to.fps_den &&
         from.frame_interval_p == to.frame_interval_p && from.preset == to.preset;
}

void AvEncoder::update_rates(const EncodeSettings& to) {
  set_rate_fields(context_.get(), to);  // libavcodec hands them to x264 on the next frame
  settings_ = to;
}

std::vector<uint8_t> sequence_headers(const EncodeSettings& settings) {
  auto ctx = open_context(settings, true);
  return std::vector<uint8_t>(ctx->extradata, ctx->extradata + ctx->extradata_size);
}

}  // namespace nvdouble
