// Turns one decoded AVFrame into a DecodedFrame in the session's output mode. The only
// place that knows how libavcodec pictures map onto the decode contract.
#pragma once

#include "backend/decoder_backend.hpp"
#include "ring/buffer_pool.hpp"
#include "software/ffmpeg_ptr.hpp"

namespace videohw::software {

// Metadata of `frame` only: size, keyframe, damage, colour. pts and pixels are left to the
// caller.
DecodedFrame frame_metadata(const AVFrame& frame);

// NATIVE_SURFACE: a new reference to the decoder's own buffers (no pixel copy). The
// reference lives in DecodedFrame::owner; the decoder's pool cannot reuse those buffers
// until the last owner copy is gone.
void attach_native_planes(const AVFrame& frame, DecodedFrame& out);

// CPU_RGB through libswscale, with the matrix and range the frame declares (what ffmpeg's
// own scale filter does, so ffmpeg -pix_fmt rgb24 is a faithful reference). The scaler is
// cached and rebuilt only when the picture size or format changes.
// CPU_RGB output. The RGB buffers come from a pool and go back to it when the last view of
// a frame dies (on whatever thread that is): a fresh 6 MB buffer per 1080p frame would be
// page-faulted in every time, which costs a tenth of the decode.
class RgbConverter {
 public:
  RgbConverter();
  void convert(const AVFrame& frame, DecodedFrame& out);
  int64_t allocations() const { return pool_->allocations(); }

 private:
  UniqueSwsContext context_;
  std::shared_ptr<ring::FramePool> pool_;
  // The colour details context_ was last given (set again only when they change).
  AVColorSpace details_colorspace_ = AVCOL_SPC_NB;
  AVColorRange details_range_ = AVCOL_RANGE_NB;
};

}  // namespace videohw::software
