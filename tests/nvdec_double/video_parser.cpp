#include "video_parser.hpp"

#include <algorithm>
#include <stdexcept>

extern "C" {
#include <libavutil/pixdesc.h>
}

namespace nvdecdouble {

namespace {

constexpr int kMaxSurfaces = 32;  // NVDEC's limit on ulNumDecodeSurfaces
// A picture libavcodec has not output this many pictures after a later one never will
// (it was dropped as undecodable); its surface is freed.
constexpr int64_t kStaleAfter = 34;

AVCodecID av_codec(cudaVideoCodec codec) {
  switch (codec) {
    case cudaVideoCodec_H264:
      return AV_CODEC_ID_H264;
    case cudaVideoCodec_HEVC:
      return AV_CODEC_ID_HEVC;
    default:
      throw std::runtime_error("the NVDEC double parses H.264 and HEVC only");
  }
}

// NVDEC hands the decoder the picture's slice NAL units (start codes kept), not its
// parameter sets or SEI.
void take_slices(cudaVideoCodec codec, const std::vector<uint8_t>& au, Picture& picture,
                 int& first_type) {
  first_type = -1;
  const size_t n = au.size();
  std::vector<std::pair<size_t, size_t>> nals;  // payload start, end
  size_t i = 0;
  while (i + 3 <= n) {
    if (au[i] == 0 && au[i + 1] == 0 && au[i + 2] == 1) {
      const size_t start = i + 3;
      size_t j = start;
      while (j + 3 <= n && !(au[j] == 0 && au[j + 1] == 0 && (au[j + 2] == 1 || au[j + 2] == 0)))
        ++j;
      const size_t end = j + 3 <= n ? j : n;
      nals.emplace_back(start, end);
      i = end;
    } else {
      ++i;
    }
  }
  for (const auto& [start, end] : nals) {
    if (start >= end) continue;
    const int type = codec == cudaVideoCodec_H264 ? (au[start] & 0x1f) : ((au[start] >> 1) & 0x3f);
    const bool vcl = codec == cudaVideoCodec_H264 ? (type >= 1 && type <= 5) : type < 32;
    if (!vcl) continue;
    if (first_type < 0) first_type = type;
    picture.slice_offsets.push_back(unsigned(picture.slices.size()));
    picture.slices.insert(picture.slices.end(), {0, 0, 1});
    picture.slices.insert(picture.slices.end(), au.begin() + long(start), au.begin() + long(end));
  }
}

cudaVideoChromaFormat chroma_of(AVPixelFormat format) {
  const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(format);
  if (!d || d->nb_components < 3) return cudaVideoChromaFormat_Monochrome;
  if (d->log2_chroma_w == 1 && d->log2_chroma_h == 1) return cudaVideoChromaFormat_420;
  if (d->log2_chroma_w == 1) return cudaVideoChromaFormat_422;
  return cudaVideoChromaFormat_444;
}

bool same_format(const CUVIDEOFORMAT& a, const CUVIDEOFORMAT& b) {
  return a.codec == b.codec && a.coded_width == b.coded_width && a.coded_height == b.coded_height &&
         a.display_area.right == b.display_area.right &&
         a.display_area.bottom == b.display_area.bottom && a.chroma_format == b.chroma_format &&
         a.bit_depth_luma_minus8 == b.bit_depth_luma_minus8 &&
         a.video_signal_description.color_primaries == b.video_signal_description.color_primaries &&
         a.video_signal_description.transfer_characteristics ==
             b.video_signal_description.transfer_characteristics &&
         a.video_signal_description.matrix_coefficients ==
             b.video_signal_description.matrix_coefficients &&
         a.video_signal_description.video_full_range_flag ==
             b.video_signal_description.video_full_range_flag;
}

}  // namespace

VideoParser::VideoParser(const CUVIDPARSERPARAMS& params, bool lowest_surface)
    : params_(params), av_(av_codec(params.CodecType)), lowest_surface_(lowest_surface) {
  surfaces_ = int(std::clamp<unsigned>(params.ulMaxNumDecodeSurfaces, 1, kMaxSurfaces));
  busy_.assign(size_t(surfaces_), false);
}

CUresult VideoParser::parse(const CUVIDSOURCEDATAPACKET& packet, std::string& note) {
  std::vector<AccessUnit> units;
  const int64_t ts = (packet.flags & CUVID_PKT_TIMESTAMP) ? packet.timestamp : AV_NOPTS_VALUE;
  // A whole picture with nothing before it in the parser is one unit as it stands.
  const bool whole = (packet.flags & CUVID_PKT_ENDOFPICTURE) && !av_.holds_data();
  if (packet.payload_size && packet.payload) {
    if (whole)
      units.push_back(AccessUnit{
          std::vector<uint8_t>(packet.payload, packet.payload + packet.payload_size), ts});
    else
      av_.split(packet.payload, packet.payload_size, ts, units);
  }
  if ((packet.flags & (CUVID_PKT_ENDOFPICTURE | CUVID_PKT_ENDOFSTREAM)) && av_.holds_data())
    av_.end_unit(units);
  for (const AccessUnit& unit : units)
    if (!process(unit, note)) return CUresult(999);
  if (packet.flags & CUVID_PKT_ENDOFSTREAM) {
    if (!drain(note)) return CUresult(999);
    av_.restart();
    if ((packet.flags & CUVID_PKT_NOTIFY_EOS) && params_.pfnDisplayPicture)
      params_.pfnDisplayPicture(params_.pUserData, nullptr);
  }
  return CUDA_SUCCESS;
}

CUVIDEOFORMAT VideoParser::current_format(const UnitInfo& info) const {
  const AVCodecContext& c = av_.context();
  const bool decoded = c.pix_fmt != AV_PIX_FMT_NONE && c.width > 0;
  CUVIDEOFORMAT f{};
  f.codec = params_.CodecType;
  f.frame_rate.numerator = unsigned(std::max(0, c.framerate.num));
  f.frame_rate.denominator = unsigned(std::max(0, c.framerate.den));
  f.progressive_sequence = 1;
  const AVPixelFormat format = decoded ? c.pix_fmt : info.format;
  const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(format);
  const int depth = d ? d->comp[0].depth : 8;
  f.bit_depth_luma_minus8 = (unsigned char)(depth - 8);
  f.bit_depth_chroma_minus8 = (unsigned char)(depth - 8);
  f.coded_width = unsigned(decoded ? c.coded_width : info.coded_width);
  f.coded_height = unsigned(decoded ? c.coded_height : info.coded_height);
  f.display_area.right = decoded ? c.width : info.coded_width;
  f.display_area.bottom = decoded ? c.height : info.coded_height;
  f.chroma_format = chroma_of(format);
  // What the decoder must hold at once here: libavcodec's reorder delay, the display delay,
  // the picture being decoded and one being displayed.
  const int needed = std::max(c.refs, 1) + c.has_b_frames + int(params_.ulMaxDisplayDelay) + 2;
  f.min_num_decode_surfaces = (unsigned char)std::min(needed, kMaxSurfaces - 4);
  f.display_aspect_ratio.x = f.display_area.right;
  f.display_aspect_ratio.y = f.display_area.bottom;
  f.video_signal_description.video_format = 5;
  f.video_signal_description.video_full_range_flag =
      c.color_range == AVCOL_RANGE_JPEG || format == AV_PIX_FMT_YUVJ420P;
  f.video_signal_description.color_primaries = (unsigned char)c.color_primaries;
  f.video_signal_description.transfer_characteristics = (unsigned char)c.color_trc;
  f.video_signal_description.matrix_coefficients = (unsigned char)c.colorspace;
  return f;
}

bool VideoParser::send(const AccessUnit& unit, int64_t id) {
  int ret = av_.send(unit, id);
  if (ret == AVERROR(EAGAIN)) {
    collect();
    ret = av_.send(unit, id);
  }
  return ret >= 0;
}

bool VideoParser::process(const AccessUnit& unit, std::string& note) {
  const UnitInfo info = av_.inspect(unit);
  // A new coded size or format: the old sequence's pictures go out first.
  if (reported_.valid && info.coded_width > 0 &&
      (unsigned(info.coded_width) != reported_.format.coded_width ||
       unsigned(info.coded_height) != reported_.format.coded_height ||
       chroma_of(info.format) != reported_.format.chroma_format)) {
    if (!drain(note)) return false;
  }

  auto picture = std::make_shared<Picture>();
  picture->id = next_id_++;
  picture->timestamp = unit.timestamp == AV_NOPTS_VALUE ? 0 : unit.timestamp;
  int first_type = -1;
  take_slices(params_.CodecType, unit.bytes, *picture, first_type);
  const bool sent = send(unit, picture->id);
  if (picture->slices.empty() || !sent) {
    collect();
    return display(params_.ulMaxDisplayDelay, note);
  }

  const CUVIDEOFORMAT format = current_format(info);
  if (format.coded_width == 0) {
    collect();
    return display(params_.ulMaxDisplayDelay, note);
  }
  if (!reported_.valid || !same_format(format, reported_.format)) {
    if (params_.pfnSequenceCallback) {
      CUVIDEOFORMAT copy = format;
      const int result = params_.pfnSequenceCallback(params_.pUserData, &copy);
      if (result == 0) {
        note = "the sequence callback failed";
        return false;
      }
      if (result > 1) {
        surfaces_ = std::min(result, kMaxSurfaces);
        busy_.resize(size_t(surfaces_), false);
      }
    }
    reported_.format = format;
    reported_.valid = true;
  }

  picture->surface = take_surface();
  if (picture->surface < 0) {
    // Pictures held back only by the display delay make room first.
    if (!display(0, note)) return false;
    picture->surface = take_surface();
  }
  if (picture->surface < 0) {
    note = "every one of the " + std::to_string(surfaces_) +
           " decode surfaces holds a picture not yet displayed";
    return false;
  }
  in_flight_[picture->id] = picture;

  CUVIDPICPARAMS p{};
  p.PicWidthInMbs = int((format.coded_width + 15) / 16);
  p.FrameHeightInMbs = int((format.coded_height + 15) / 16);
  p.CurrPicIdx = picture->surface;
  p.nBitstreamDataLen = unsigned(picture->slices.size());
  p.pBitstreamData = picture->slices.data();
  p.nNumSlices = unsigned(picture->slice_offsets.size());
  p.pSliceDataOffsets = picture->slice_offsets.data();
  p.intra_pic_flag = info.intra || info.key;
  p.ref_pic_flag = 1;
  if (params_.CodecType == cudaVideoCodec_HEVC) {
    p.CodecSpecific.hevc.IrapPicFlag = first_type >= 16 && first_type <= 23;
    p.CodecSpecific.hevc.IdrPicFlag = first_type == 19 || first_type == 20;
  }
  register_picture(picture);
  const int decoded =
      params_.pfnDecodePicture ? params_.pfnDecodePicture(params_.pUserData, &p) : 1;
  unregister_picture(*picture);
  if (!decoded) {
    // Not decoded: never displayed either.
    in_flight_.erase(picture->id);
    release(picture);
    note = "the decode callback failed";
    return false;
  }
  collect();
  return display(params_.ulMaxDisplayDelay, note);
}

void VideoParser::collect() {
  while (FramePtr frame = av_.receive()) {
    auto it = in_flight_.find(frame->pts);
    if (it == in_flight_.end()) continue;  // a picture whose decode callback failed
    std::shared_ptr<Picture> picture = it->second;
    in_flight_.erase(it);
    picture->frame = std::move(frame);
    ready_.push_back(picture);
    for (auto stale = in_flight_.begin();
         stale != in_flight_.end() && stale->first < picture->id - kStaleAfter;) {
      release(stale->second);
      stale = in_flight_.erase(stale);
    }
  }
}

bool VideoParser::display(size_t keep, std::string& note) {
  while (ready_.size() > keep) {
    std::shared_ptr<Picture> picture = ready_.front();
    ready_.pop_front();
    CUVIDPARSERDISPINFO info{};
    info.picture_index = picture->surface;
    info.progressive_frame = 1;
    info.timestamp = picture->timestamp;
    const int shown =
        params_.pfnDisplayPicture ? params_.pfnDisplayPicture(params_.pUserData, &info) : 1;
    release(picture);
    if (!shown) {
      note = "the display callback failed";
      return false;
    }
  }
  return true;
}

bool VideoParser::drain(std::string& note) {
  av_.send_end();
  collect();
  const bool ok = display(0, note);
  // What libavcodec never output (undecodable pictures) is gone for good.
  for (auto& [id, picture] : in_flight_) release(picture);
  in_flight_.clear();
  av_.restart_decoder();
  return ok;
}

// NVDEC's parser cycles through its surfaces (CUVIDPARSERPARAMS.ulMaxNumDecodeSurfaces), so
// a picture just displayed, which a client may still have mapped, is not the next one's.
int VideoParser::take_surface() {
  const int start = lowest_surface_ ? -1 : last_surface_;
  for (int step = 1; step <= surfaces_; ++step) {
    const int i = (start + step) % surfaces_;
    if (!busy_[size_t(i)]) {
      busy_[size_t(i)] = true;
      last_surface_ = i;
      return i;
    }
  }
  return -1;
}

void VideoParser::release(const std::shared_ptr<Picture>& picture) {
  if (picture->surface >= 0 && picture->surface < surfaces_)
    busy_[size_t(picture->surface)] = false;
}

}  // namespace nvdecdouble
