#include "software/encoder_options.hpp"

#include <cmath>

extern "C" {
#include <libavutil/opt.h>
}

#include "contract/errors.hpp"
#include "media/ffmpeg_log.hpp"

namespace videohw::software {

namespace {

std::string kbps(int64_t bps) {
  return std::to_string(std::max<int64_t>(1, (bps + 500) / 1000));
}

// x264 and x265 derive I and B QPs from the P QP through these ratios:
// qp_I = qp_P - 6*log2(ipratio), qp_B = qp_P + 6*log2(pbratio).
std::string qp_ratio(int from, int to) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.6f", std::pow(2.0, (to - from) / 6.0));
  return text;
}

std::string rate_control_params(const RateControl& rc) {
  switch (rc.mode) {
    case RateControlMode::CBR: {
      const int64_t vbv = rc.vbv_buffer_bits ? rc.vbv_buffer_bits : rc.bitrate_bps;
      return "bitrate=" + kbps(rc.bitrate_bps) + ":vbv-maxrate=" + kbps(rc.bitrate_bps) +
             ":vbv-bufsize=" + kbps(vbv);
    }
    case RateControlMode::VBR: {
      const int64_t vbv = rc.vbv_buffer_bits ? rc.vbv_buffer_bits : rc.max_bitrate_bps;
      return "bitrate=" + kbps(rc.bitrate_bps) + ":vbv-maxrate=" + kbps(rc.max_bitrate_bps) +
             ":vbv-bufsize=" + kbps(vbv);
    }
    case RateControlMode::ConstQP:
      return "qp=" + std::to_string(rc.qp_inter_p) +
             ":ipratio=" + qp_ratio(rc.qp_intra, rc.qp_inter_p) +
             ":pbratio=" + qp_ratio(rc.qp_inter_p, rc.qp_inter_b);
  }
  return {};
}

// Exact keyframe positions: a fixed interval, no scene-cut keyframes, closed GOPs (every
// keyframe an IDR), and a fixed B-frame pattern rather than an adaptive one.
std::string gop_params(const CommonEncodeConfig& c) {
  std::string p = "keyint=" + std::to_string(c.gop_length) +
                  ":min-keyint=" + std::to_string(c.gop_length) +
                  ":scenecut=0:open-gop=0:bframes=" + std::to_string(c.b_frames);
  if (c.b_frames > 0) p += ":b-adapt=0";
  return p;
}

}  // namespace

std::vector<std::string> software_config_problems(const CommonEncodeConfig& c) {
  std::vector<std::string> problems;
  const RateControl& rc = c.rate_control;
  if (rc.mode != RateControlMode::ConstQP) return problems;
  constexpr int kMinStep = -39, kMaxStep = 19;
  const int ip = rc.qp_inter_p - rc.qp_intra, pb = rc.qp_inter_b - rc.qp_inter_p;
  if (ip < kMinStep || ip > kMaxStep)
    problems.push_back("rate_control.qp_intra: " + std::to_string(rc.qp_intra) +
                       " with qp_inter_p " + std::to_string(rc.qp_inter_p) + " is a step of " +
                       std::to_string(ip) +
                       "; libx264/libx265 take qp_inter_p - qp_intra in -39..19");
  if (pb < kMinStep || pb > kMaxStep)
    problems.push_back("rate_control.qp_inter_b: " + std::to_string(rc.qp_inter_b) +
                       " with qp_inter_p " + std::to_string(rc.qp_inter_p) + " is a step of " +
                       std::to_string(pb) +
                       "; libx264/libx265 take qp_inter_b - qp_inter_p in -39..19");
  return problems;
}

EncoderOptions map_encoder_options(const CommonEncodeConfig& c, const SoftwareEncodeConfig& s) {
  if (auto problems = software_config_problems(c); !problems.empty())
    throw UnsupportedConfig(std::move(problems));
  EncoderOptions o;
  const bool hevc = c.codec == Codec::HEVC;
  if (c.codec != Codec::H264 && !hevc)
    throw Error(ErrorKind::UnsupportedConfig,
                std::string("codec: ") + to_string(c.codec) + " has no software encoder");
  o.encoder_name = hevc ? "libx265" : "libx264";
  o.gop_size = c.gop_length;
  o.max_b_frames = c.b_frames;
  o.thread_count = s.threads;

  std::string tune = s.tune;
  if (c.low_latency) {
    if (hevc && !tune.empty() && tune != "zerolatency")
      throw Error(ErrorKind::Config,
                  "SoftwareEncodeConfig.tune: libx265 takes one tune and "
                  "low_latency already sets zerolatency; got '" +
                      tune + "'");
    tune = tune.empty() || tune == "zerolatency" ? "zerolatency" : tune + ",zerolatency";
    // libavcodec's default thread type turns x264's sliced threads into frame threads,
    // which hold frames back; slices keep one packet out per frame in.
    o.thread_type = FF_THREAD_SLICE;
  }
  o.private_options.emplace_back("preset", s.preset);
  if (!tune.empty()) o.private_options.emplace_back("tune", tune);
  // A frame submitted as a keyframe must be an IDR, not merely an I frame.
  o.private_options.emplace_back("forced-idr", "1");

  std::string params = gop_params(c) + ":" + rate_control_params(c.rate_control);
  if (hevc) {
    params += ":repeat-headers=1:log-level=error";
    // libavcodec's wrapper sets x265's frame threads from thread_count after the tune is
    // applied, undoing zerolatency's single frame thread (frames would be held back).
    if (c.low_latency) params += ":frame-threads=1";
    // libx265 3.5's cuTree writes past its buffers when the picture is at most 48 pixels
    // wide (heap corruption, reproducible with the ffmpeg CLI); without cuTree it is clean.
    if (c.width <= 48) params += ":cutree=0";
  }
  o.private_options.emplace_back(hevc ? "x265-params" : "x264-params", params);
  return o;
}

namespace {
bool abr_family(RateControlMode mode) {
  return mode == RateControlMode::CBR || mode == RateControlMode::VBR;
}
}  // namespace

bool can_reconfigure_in_place(const CommonEncodeConfig& from, const CommonEncodeConfig& to) {
  if (from.codec != Codec::H264 || to.codec != Codec::H264) return false;  // libx265: no
  if (!abr_family(from.rate_control.mode) || !abr_family(to.rate_control.mode)) return false;
  return from.width == to.width && from.height == to.height && from.fps_num == to.fps_num &&
         from.fps_den == to.fps_den && from.low_latency == to.low_latency &&
         from.gop_length == to.gop_length && from.b_frames == to.b_frames &&
         from.frame_interval_p == to.frame_interval_p;
}

void set_rate_fields(AVCodecContext* ctx, const CommonEncodeConfig& c) {
  const RateControl& rc = c.rate_control;
  if (!abr_family(rc.mode)) return;
  const int64_t max_rate = rc.mode == RateControlMode::CBR ? rc.bitrate_bps : rc.max_bitrate_bps;
  const int64_t vbv = rc.vbv_buffer_bits ? rc.vbv_buffer_bits : max_rate;
  // Rounded to whole kbit/s as in the x264-params string, so the first frame sees no change.
  ctx->bit_rate = std::max<int64_t>(1, (rc.bitrate_bps + 500) / 1000) * 1000;
  ctx->rc_max_rate = std::max<int64_t>(1, (max_rate + 500) / 1000) * 1000;
  ctx->rc_buffer_size = int(std::max<int64_t>(1, (vbv + 500) / 1000) * 1000);
}

std::string option_value(const EncoderOptions& options, const std::string& key) {
  for (const auto& [k, v] : options.private_options)
    if (k == key) return v;
  return {};
}

UniqueAVCodecContext open_encoder(const CommonEncodeConfig& c, const EncoderOptions& o,
                                  const void* log_owner) {
  media::install_ffmpeg_log();
  const AVCodec* codec = avcodec_find_encoder_by_name(o.encoder_name.c_str());
  if (!codec)
    throw Error(ErrorKind::BackendUnavailable,
                "libavcodec has no " + o.encoder_name + " encoder (FFmpeg built without it)");
  UniqueAVCodecContext ctx(avcodec_alloc_context3(codec));
  if (!ctx) throw Error(ErrorKind::Encode, "avcodec_alloc_context3 failed (out of memory)");
  ctx->opaque = const_cast<void*>(log_owner);  // compared by the log callback, never followed
  ctx->width = c.width;
  ctx->height = c.height;
  ctx->pix_fmt = kEncoderPixelFormat;
  ctx->time_base = AVRational{c.fps_den, c.fps_num};
  ctx->framerate = AVRational{c.fps_num, c.fps_den};
  ctx->gop_size = o.gop_size;
  ctx->max_b_frames = o.max_b_frames;
  ctx->thread_count = o.thread_count;
  if (o.thread_type) ctx->thread_type = o.thread_type;
  ctx->color_range = AVCOL_RANGE_MPEG;
  if (c.codec == Codec::H264) set_rate_fields(ctx.get(), c);
  for (const auto& [key, value] : o.private_options) {
    int ret = av_opt_set(ctx->priv_data, key.c_str(), value.c_str(), 0);
    check_av(ret, "setting " + o.encoder_name + " option " + key + "=" + value);
  }
  check_av(avcodec_open2(ctx.get(), codec, nullptr), "opening " + o.encoder_name);
  return ctx;
}

}  // namespace videohw::software
