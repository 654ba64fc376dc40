// Colour conversion (and, when sizes differ, scaling) of a FrameView into I420 with
// libswscale. Used by the pipeline's transform stage and by the software adapter when it is
// handed a format the encoder does not take.
//
// libswscale's SIMD reads a few bytes past the end of a row (measured up to 30 for NV12 and
// RGB24): harmless inside a frame, fatal at the end of a buffer that is exactly the frame's
// size. Callers say whether the source has slack after its end (pooled slots do); when it
// has none, the last two rows are converted from a padded staging copy.
#pragma once

#include <cstdint>
#include <vector>

#include "contract/types.hpp"

extern "C" {
#include <libavutil/pixfmt.h>
}

struct SwsContext;

namespace videohw::transform {

struct I420Planes {
  uint8_t* data[3] = {nullptr, nullptr, nullptr};
  int linesize[3] = {0, 0, 0};
};

// libavcodec's name for a contract pixel format.
AVPixelFormat to_av_pixel_format(PixelFormat format);

// Row pitch the transform stage gives I420 frames it produces: 32-byte aligned rows.
int i420_pitch(int width);

class PixelConverter {
 public:
  PixelConverter() = default;
  ~PixelConverter();
  PixelConverter(const PixelConverter&) = delete;
  PixelConverter& operator=(const PixelConverter&) = delete;

  // Converts `src` into `dst` (dst_width x dst_height I420). Throws Error(Encode) on failure.
  void to_i420(const FrameView& src, const I420Planes& dst, int dst_width, int dst_height,
               bool src_has_slack);

 private:
  void prepare(const FrameView& src, int dst_width, int dst_height);
  void stage_tail(const FrameView& src, int rows, const uint8_t* planes[3]);

  SwsContext* sws_ = nullptr;
  int key_[5] = {-1, -1, -1, -1, -1};  // source format, source size, destination size
  std::vector<uint8_t> staging_;
};

}  // namespace videohw::transform
