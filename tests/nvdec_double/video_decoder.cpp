#include "video_decoder.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>

extern "C" {
#include <libavutil/pixdesc.h>
}

#include "cuda_double_surfaces.h"

namespace nvdecdouble {

namespace {

constexpr int kInvalidValue = 1, kMapFailed = 205, kNotSupported = 801;
constexpr size_t kPitchAlignment = 512;
constexpr uint8_t kUnmappedPoison = 0xa5;

// The picture into an NV12 / P016 surface of `width` x `height` at `pitch`. The luma plane
// has an even number of rows (the last one repeated for an odd height), chroma follows.
void write_surface(const AVFrame& frame, int bytes_per_sample, int width, int height, size_t pitch,
                   uint8_t* out) {
  const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(AVPixelFormat(frame.format));
  const int shift = bytes_per_sample == 2 ? 16 - d->comp[0].depth : 0;
  const auto put = [&](uint8_t* dst, int i, const uint8_t* src_row, int x) {
    if (bytes_per_sample == 1) {
      dst[i] = src_row[x];
      return;
    }
    uint16_t v;
    std::memcpy(&v, src_row + 2 * x, 2);
    v = uint16_t(v << shift);
    std::memcpy(dst + 2 * i, &v, 2);
  };
  const int luma_rows = (height + 1) & ~1;
  for (int y = 0; y < luma_rows; ++y) {
    const uint8_t* src = frame.data[0] + std::min(y, height - 1) * frame.linesize[0];
    uint8_t* dst = out + size_t(y) * pitch;
    for (int x = 0; x < width; ++x) put(dst, x, src, x);
  }
  const int cw = (width + 1) / 2, ch = (height + 1) / 2;
  uint8_t* chroma = out + size_t(luma_rows) * pitch;
  for (int y = 0; y < ch; ++y) {
    const uint8_t* u = frame.data[1] + y * frame.linesize[1];
    const uint8_t* v = frame.data[2] + y * frame.linesize[2];
    uint8_t* dst = chroma + size_t(y) * pitch;
    for (int x = 0; x < cw; ++x) {
      put(dst, 2 * x, u, x);
      put(dst, 2 * x + 1, v, x);
    }
  }
}

}  // namespace

std::string unsupported_decoder(const CUVIDDECODECREATEINFO& info) {
  if (info.CodecType != cudaVideoCodec_H264 && info.CodecType != cudaVideoCodec_HEVC)
    return "codec " + std::to_string(int(info.CodecType)) + " is not emulated (H.264, HEVC)";
  if (info.ChromaFormat != cudaVideoChromaFormat_420) return "only 4:2:0 is emulated";
  const bool wide = info.bitDepthMinus8 > 0;
  if (info.OutputFormat != (wide ? cudaVideoSurfaceFormat_P016 : cudaVideoSurfaceFormat_NV12))
    return "output format " + std::to_string(int(info.OutputFormat)) + " for " +
           std::to_string(8 + info.bitDepthMinus8) + "-bit pictures is not emulated";
  if (info.ulTargetWidth != unsigned(info.display_area.right - info.display_area.left) ||
      info.ulTargetHeight != unsigned(info.display_area.bottom - info.display_area.top))
    return "scaling (a target size other than the display area's) is not emulated";
  return "";
}

VideoDecoder::VideoDecoder(const CUVIDDECODECREATEINFO& info, CUcontext context)
    : info_(info),
      created_target_width_(info.ulTargetWidth),
      created_target_height_(info.ulTargetHeight),
      context_(context) {
  surfaces_.resize(info.ulNumDecodeSurfaces);
  outputs_.resize(info.ulNumOutputSurfaces);
}

VideoDecoder::~VideoDecoder() {
  for (Output& o : outputs_) {
    if (o.mapped) videohw_cuda_double_withdraw_surface(o.memory);
    std::free(o.memory);
  }
}

int VideoDecoder::decode(const CUVIDPICPARAMS& p, std::shared_ptr<Picture> picture,
                         std::string& problem) {
  if (!in_range(p.CurrPicIdx)) {
    problem = "CurrPicIdx " + std::to_string(p.CurrPicIdx) + " is outside the decoder's " +
              std::to_string(surfaces_.size()) + " decode surfaces";
    return kInvalidValue;
  }
  for (const Output& o : outputs_)
    if (o.mapped && o.index == p.CurrPicIdx) {
      problem = "decode into surface " + std::to_string(p.CurrPicIdx) + " while it is mapped";
      return kInvalidValue;
    }
  if (unsigned(p.PicWidthInMbs) * 16 > ((info_.ulWidth + 15) & ~15u) ||
      unsigned(p.FrameHeightInMbs) * 16 > ((info_.ulHeight + 15) & ~15u)) {
    problem = "a " + std::to_string(p.PicWidthInMbs * 16) + "x" +
              std::to_string(p.FrameHeightInMbs * 16) + " picture into a decoder of " +
              std::to_string(info_.ulWidth) + "x" + std::to_string(info_.ulHeight) +
              " (cuvidReconfigureDecoder missing?)";
    return kInvalidValue;
  }
  if (!picture) return kNotSupported;  // bytes no parser of the double produced
  surfaces_[size_t(p.CurrPicIdx)] = std::move(picture);
  return 0;
}

int VideoDecoder::status(int index, CUVIDGETDECODESTATUS& s, bool fail, std::string& problem) {
  if (!in_range(index)) {
    problem = "picture index " + std::to_string(index) + " is outside the decode surfaces";
    return kInvalidValue;
  }
  const Picture* picture = surfaces_[size_t(index)].get();
  s = CUVIDGETDECODESTATUS{};
  if (!picture)
    s.decodeStatus = cuvidDecodeStatus_Invalid;
  else if (!picture->frame)
    s.decodeStatus = cuvidDecodeStatus_InProgress;
  else if (fail)
    s.decodeStatus = cuvidDecodeStatus_Error;
  else if ((picture->frame->flags & AV_FRAME_FLAG_CORRUPT) || picture->frame->decode_error_flags)
    s.decodeStatus = cuvidDecodeStatus_Error_Concealed;
  else
    s.decodeStatus = cuvidDecodeStatus_Success;
  return 0;
}

int VideoDecoder::reconfigure(const CUVIDRECONFIGUREDECODERINFO& r, std::string& problem) {
  if (r.ulWidth > info_.ulMaxWidth || r.ulHeight > info_.ulMaxHeight) {
    problem = "reconfigure to " + std::to_string(r.ulWidth) + "x" + std::to_string(r.ulHeight) +
              " beyond ulMaxWidth x ulMaxHeight " + std::to_string(info_.ulMaxWidth) + "x" +
              std::to_string(info_.ulMaxHeight);
    return kInvalidValue;
  }
  if (r.ulTargetWidth > created_target_width_ || r.ulTargetHeight > created_target_height_) {
    // NVDEC allocates the output surfaces at creation. The H200's driver accepted such a
    // reconfigure and the next copy out of a mapped surface failed (CUDA_ERROR_INVALID_VALUE).
    problem = "reconfigure to a " + std::to_string(r.ulTargetWidth) + "x" +
              std::to_string(r.ulTargetHeight) + " output, larger than the " +
              std::to_string(created_target_width_) + "x" + std::to_string(created_target_height_) +
              " the decoder's output surfaces were created for";
    return kInvalidValue;
  }
  if (r.ulNumDecodeSurfaces > info_.ulNumDecodeSurfaces) {
    problem = "reconfigure to " + std::to_string(r.ulNumDecodeSurfaces) +
              " decode surfaces, more than the " + std::to_string(info_.ulNumDecodeSurfaces) +
              " it was created with";
    return kInvalidValue;
  }
  if (mapped()) {
    problem = "reconfigure while " + std::to_string(mapped()) + " frame(s) are mapped";
    return kInvalidValue;
  }
  CUVIDDECODECREATEINFO next = info_;
  next.ulWidth = r.ulWidth;
  next.ulHeight = r.ulHeight;
  next.ulTargetWidth = r.ulTargetWidth;
  next.ulTargetHeight = r.ulTargetHeight;
  next.display_area.left = r.display_area.left;
  next.display_area.top = r.display_area.top;
  next.display_area.right = r.display_area.right;
  next.display_area.bottom = r.display_area.bottom;
  const std::string unsupported = unsupported_decoder(next);
  if (!unsupported.empty()) {
    problem = unsupported;
    return kNotSupported;
  }
  info_ = next;
  for (auto& s : surfaces_) s.reset();  // a reconfigured decoder starts without pictures
  return 0;
}

int VideoDecoder::mapped() const {
  return int(
      std::count_if(outputs_.begin(), outputs_.end(), [](const Output& o) { return o.mapped; }));
}

int VideoDecoder::map(int index, unsigned long long& pointer, unsigned& pitch_out,
                      std::string& problem) {
  if (!in_range(index) || !surfaces_[size_t(index)] || !surfaces_[size_t(index)]->frame) {
    problem = "map of picture index " + std::to_string(index) + ", which holds no decoded picture";
    return kInvalidValue;
  }
  auto free_output =
      std::find_if(outputs_.begin(), outputs_.end(), [](const Output& o) { return !o.mapped; });
  if (free_output == outputs_.end()) {
    problem = "more frames mapped at once than ulNumOutputSurfaces (" +
              std::to_string(outputs_.size()) + ")";
    return kMapFailed;
  }
  const AVFrame& frame = *surfaces_[size_t(index)]->frame;
  const int width = int(info_.ulTargetWidth), height = int(info_.ulTargetHeight);
  if (frame.width != width || frame.height != height) {
    problem = "a " + std::to_string(frame.width) + "x" + std::to_string(frame.height) +
              " picture mapped at the target size " + std::to_string(width) + "x" +
              std::to_string(height) + ": scaling is not emulated (reconfigure missing?)";
    return kNotSupported;
  }
  const int bps = info_.OutputFormat == cudaVideoSurfaceFormat_P016 ? 2 : 1;
  const size_t pitch =
      (size_t(width) * bps + kPitchAlignment - 1) / kPitchAlignment * kPitchAlignment;
  const size_t bytes = pitch * (size_t((height + 1) & ~1) + size_t((height + 1) / 2));
  Output& o = *free_output;
  if (o.bytes < bytes) {
    std::free(o.memory);
    o.memory = static_cast<uint8_t*>(std::aligned_alloc(kPitchAlignment, bytes));
    o.bytes = o.memory ? bytes : 0;
    if (!o.memory) return kMapFailed;
  }
  write_surface(frame, bps, width, height, pitch, o.memory);
  o.mapped = true;
  o.index = index;
  videohw_cuda_double_expose_surface(o.memory, bytes);
  pointer = reinterpret_cast<uintptr_t>(o.memory);
  pitch_out = unsigned(pitch);
  return 0;
}

int VideoDecoder::unmap(unsigned long long pointer, std::string& problem) {
  for (Output& o : outputs_)
    if (o.mapped && reinterpret_cast<uintptr_t>(o.memory) == pointer) {
      videohw_cuda_double_withdraw_surface(o.memory);
      // What a client still reads after unmapping is no longer its picture.
      std::memset(o.memory, kUnmappedPoison, o.bytes);
      o.mapped = false;
      o.index = -1;
      return 0;
    }
  problem = "unmap of " + std::to_string(pointer) + ", which is not a mapped frame";
  return kInvalidValue;
}

}  // namespace nvdecdouble
