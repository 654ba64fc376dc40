// Colour conversion and scaling of a FrameView into a frame of any contract format with
// libswscale. FramePreparer (transform/frame_preparer.hpp) is its one user.
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

// libavcodec's name for a contract pixel format.
AVPixelFormat to_av_pixel_format(PixelFormat format);

// Row pitch of frames the pipeline produces: the format's minimum, 32-byte aligned.
int aligned_pitch(PixelFormat format, int width);

class PixelConverter {
 public:
  PixelConverter() = default;
  ~PixelConverter();
  PixelConverter(const PixelConverter&) = delete;
  PixelConverter& operator=(const PixelConverter&) = delete;

  // Converts (and scales) `src` into `dst`, whose format, size and planes say what to
  // write and where; dst's plane memory is written although the view is const. Throws
  // Error(Encode) on failure.
  void convert(const FrameView& src, const FrameView& dst, bool src_has_slack);

 private:
  void prepare(const FrameView& src, const FrameView& dst);
  void stage_tail(const FrameView& src, int rows, const uint8_t* planes[3]);

  SwsContext* sws_ = nullptr;
  int key_[6] = {-1, -1, -1, -1, -1, -1};  // formats and sizes of source and destination
  std::vector<uint8_t> staging_;
};

}  // namespace videohw::transform
