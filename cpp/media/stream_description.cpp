#include "media/stream_description.hpp"

#include <cmath>
#include <cstring>

extern "C" {
#include <libavutil/display.h>
#include <libavutil/pixdesc.h>
}

namespace videohw::media {

namespace {

std::optional<Codec> videohw_codec(AVCodecID id) {
  switch (id) {
    case AV_CODEC_ID_H264:
      return Codec::H264;
    case AV_CODEC_ID_HEVC:
      return Codec::HEVC;
    case AV_CODEC_ID_VP9:
      return Codec::VP9;
    case AV_CODEC_ID_AV1:
      return Codec::AV1;
    default:
      return std::nullopt;
  }
}

const char* kind_of(const AVStream& st) {
  if (st.disposition & AV_DISPOSITION_ATTACHED_PIC) return "attachment";
  switch (st.codecpar->codec_type) {
    case AVMEDIA_TYPE_VIDEO:
      return "video";
    case AVMEDIA_TYPE_AUDIO:
      return "audio";
    case AVMEDIA_TYPE_SUBTITLE:
      return "subtitle";
    case AVMEDIA_TYPE_DATA:
      return "data";
    case AVMEDIA_TYPE_ATTACHMENT:
      return "attachment";
    default:
      return "unknown";
  }
}

Rational rational(AVRational r) {
  if (r.num <= 0 || r.den <= 0) return {};
  return {r.num, r.den};
}

std::optional<double> stream_seconds(const AVStream& st) {
  if (st.duration == AV_NOPTS_VALUE || st.duration <= 0) return std::nullopt;
  return double(st.duration) * av_q2d(st.time_base);
}

// Length-prefixed samples: the extradata is a decoder configuration record rather than
// Annex-B parameter sets (which start with a start code).
EncodedLayout layout_of(const AVCodecParameters& par) {
  if (par.codec_id != AV_CODEC_ID_H264 && par.codec_id != AV_CODEC_ID_HEVC)
    return EncodedLayout::AnnexB;
  const uint8_t* d = par.extradata;
  const int n = par.extradata_size;
  if (!d || n < 7) return EncodedLayout::AnnexB;
  const bool start_code =
      (d[0] == 0 && d[1] == 0 && d[2] == 1) || (d[0] == 0 && d[1] == 0 && d[2] == 0 && d[3] == 1);
  if (start_code) return EncodedLayout::AnnexB;
  return par.codec_id == AV_CODEC_ID_HEVC ? EncodedLayout::HVCC : EncodedLayout::AVCC;
}

VideoStreamInfo describe_video(const AVFormatContext& ctx, const AVStream& st) {
  const AVCodecParameters& par = *st.codecpar;
  VideoStreamInfo v;
  v.index = st.index;
  v.codec_name = avcodec_get_name(par.codec_id);
  v.codec = videohw_codec(par.codec_id);
  v.width = par.width;
  v.height = par.height;
  if (const AVPixFmtDescriptor* desc = av_pix_fmt_desc_get(AVPixelFormat(par.format))) {
    v.pixel_format = desc->name;
    v.bit_depth = desc->comp[0].depth;
  } else if (par.bits_per_raw_sample > 0) {
    v.bit_depth = par.bits_per_raw_sample;
  }
  v.avg_frame_rate = rational(st.avg_frame_rate);
  v.real_frame_rate = rational(st.r_frame_rate);
  v.time_base = rational(st.time_base);
  // The container's value where it has one (Matroska's display size), as ffprobe reports.
  v.sample_aspect_ratio = rational(av_guess_sample_aspect_ratio(
      const_cast<AVFormatContext*>(&ctx), const_cast<AVStream*>(&st), nullptr));
  if (st.start_time != AV_NOPTS_VALUE) v.start_pts = st.start_time;
  v.duration_seconds = stream_seconds(st);
  if (!v.duration_seconds && ctx.duration > 0)
    v.duration_seconds = double(ctx.duration) / AV_TIME_BASE;
  v.frame_count = st.nb_frames > 0 ? st.nb_frames : 0;
  // AVColor* values are the H.273 code points themselves.
  v.color.primaries = int(par.color_primaries);
  v.color.transfer = int(par.color_trc);
  v.color.matrix = int(par.color_space);
  v.color.full_range = par.color_range == AVCOL_RANGE_JPEG;
  size_t matrix_size = 0;
  const uint8_t* matrix = av_stream_get_side_data(&st, AV_PKT_DATA_DISPLAYMATRIX, &matrix_size);
  if (matrix && matrix_size >= 9 * sizeof(int32_t)) {
    const double angle = av_display_rotation_get(reinterpret_cast<const int32_t*>(matrix));
    if (std::isfinite(angle)) v.rotation = angle == 0.0 ? 0.0 : angle;  // no "-0"
  }
  v.layout = layout_of(par);
  v.timed = !is_elementary_stream_format(ctx.iformat);
  if (par.extradata && par.extradata_size > 0)
    v.extradata.assign(par.extradata, par.extradata + par.extradata_size);
  return v;
}

}  // namespace

bool is_elementary_stream_format(const AVInputFormat* format) {
  if (!format || !format->name) return false;
  for (const char* raw : {"h264", "hevc", "obu"})
    if (std::strcmp(format->name, raw) == 0) return true;
  return false;
}

ContainerInfo describe_container(const AVFormatContext& ctx, const std::string& name) {
  ContainerInfo info;
  info.name = name;
  info.format_name = ctx.iformat && ctx.iformat->name ? ctx.iformat->name : "";
  info.format_long_name = ctx.iformat && ctx.iformat->long_name ? ctx.iformat->long_name : "";
  if (ctx.duration > 0) info.duration_seconds = double(ctx.duration) / AV_TIME_BASE;
  info.bit_rate = ctx.bit_rate;
  info.size_bytes = ctx.pb ? avio_size(ctx.pb) : -1;
  if (info.size_bytes < 0) info.size_bytes = -1;
  for (unsigned i = 0; i < ctx.nb_streams; ++i) {
    const AVStream& st = *ctx.streams[i];
    StreamSummary s;
    s.index = st.index;
    s.kind = kind_of(st);
    s.codec_name = avcodec_get_name(st.codecpar->codec_id);
    s.duration_seconds = stream_seconds(st);
    info.streams.push_back(s);
    if (s.kind == std::string("video")) info.video_streams.push_back(describe_video(ctx, st));
  }
  if (!info.video_streams.empty()) {
    const int best = av_find_best_stream(const_cast<AVFormatContext*>(&ctx), AVMEDIA_TYPE_VIDEO, -1,
                                         -1, nullptr, 0);
    info.best_video_stream = info.video_streams.front().index;
    for (const auto& v : info.video_streams)
      if (v.index == best) info.best_video_stream = best;
  }
  return info;
}

}  // namespace videohw::media
