#include "transform/pixel_converter.hpp"

#include <cstring>
#include <string>

extern "C" {
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
}

#include "contract/errors.hpp"
#include "contract/frame_layout.hpp"

namespace videohw::transform {

namespace {

void check(int code, const char* doing) {
  if (code < 0) {
    char text[AV_ERROR_MAX_STRING_SIZE] = {0};
    av_strerror(code, text, sizeof(text));
    throw Error(ErrorKind::Encode, std::string(doing) + ": " + text);
  }
}

}  // namespace

AVPixelFormat to_av_pixel_format(PixelFormat format) {
  switch (format) {
    case PixelFormat::ARGB8888:
      return AV_PIX_FMT_ARGB;
    case PixelFormat::BGRA:
      return AV_PIX_FMT_BGRA;
    case PixelFormat::RGB24:
      return AV_PIX_FMT_RGB24;
    case PixelFormat::NV12:
      return AV_PIX_FMT_NV12;
    case PixelFormat::I420:
      return AV_PIX_FMT_YUV420P;
  }
  return AV_PIX_FMT_NONE;
}

int aligned_pitch(PixelFormat format, int width) {
  return (minimum_pitch(format, width) + 31) / 32 * 32;
}

PixelConverter::~PixelConverter() {
  sws_freeContext(sws_);
}

void PixelConverter::prepare(const FrameView& src, const FrameView& dst) {
  const int key[6] = {int(src.format), src.width, src.height,
                      int(dst.format), dst.width, dst.height};
  if (sws_ && std::memcmp(key, key_, sizeof(key)) == 0) return;
  sws_freeContext(sws_);
  sws_ = sws_alloc_context();
  if (!sws_) throw Error(ErrorKind::Encode, "sws_alloc_context failed (out of memory)");
  av_opt_set_int(sws_, "srcw", src.width, 0);
  av_opt_set_int(sws_, "srch", src.height, 0);
  av_opt_set_int(sws_, "src_format", to_av_pixel_format(src.format), 0);
  av_opt_set_int(sws_, "dstw", dst.width, 0);
  av_opt_set_int(sws_, "dsth", dst.height, 0);
  av_opt_set_int(sws_, "dst_format", to_av_pixel_format(dst.format), 0);
  av_opt_set_int(sws_, "sws_flags", SWS_BILINEAR, 0);
  const int ret = sws_init_context(sws_, nullptr, nullptr);
  if (ret < 0) {
    sws_freeContext(sws_);
    sws_ = nullptr;
    check(ret, "initialising libswscale");
  }
  std::memcpy(key_, key, sizeof(key));
}

void PixelConverter::stage_tail(const FrameView& src, int rows, const uint8_t* planes[3]) {
  constexpr size_t kPad = 128;  // well past the widest SIMD over-read
  const int first = src.height - rows;
  size_t needed = 0;
  for (int i = 0; i < src.plane_count; ++i)
    needed += size_t(i == 0 ? rows : rows / 2) * size_t(src.strides[i]) + kPad;
  if (staging_.size() < needed) staging_.assign(needed, 0);
  uint8_t* cursor = staging_.data();
  for (int i = 0; i < src.plane_count; ++i) {
    const int plane_first = i == 0 ? first : first / 2;
    const size_t bytes = size_t(i == 0 ? rows : rows / 2) * size_t(src.strides[i]);
    std::memcpy(cursor, src.planes[i] + size_t(plane_first) * size_t(src.strides[i]), bytes);
    planes[i] = cursor;
    cursor += bytes + kPad;
  }
}

void PixelConverter::convert(const FrameView& src, const FrameView& dst, bool src_has_slack) {
  prepare(src, dst);
  uint8_t* out[4] = {nullptr, nullptr, nullptr, nullptr};
  int out_strides[4] = {0, 0, 0, 0};
  for (int i = 0; i < dst.plane_count; ++i) {
    out[i] = const_cast<uint8_t*>(dst.planes[i]);
    out_strides[i] = dst.strides[i];
  }
  int done = 0;
  if (src_has_slack || src.height < 4) {
    done = sws_scale(sws_, src.planes, src.strides, 0, src.height, out, out_strides);
  } else {
    // Two slices, top to bottom as libswscale requires; 4:2:0 needs even slice heights.
    const int tail = 2, body = src.height - tail;
    done = sws_scale(sws_, src.planes, src.strides, 0, body, out, out_strides);
    const uint8_t* staged[3] = {nullptr, nullptr, nullptr};
    stage_tail(src, tail, staged);
    done += sws_scale(sws_, staged, src.strides, body, tail, out, out_strides);
  }
  if (done != dst.height)
    throw Error(ErrorKind::Encode, "libswscale produced " + std::to_string(done) + " of " +
                                       std::to_string(dst.height) + " rows");
}

}  // namespace videohw::transform
