// Turns one decoded AVFrame into a DecodedFrame in the session's output mode. The only
// place that knows how libavcodec pictures map onto the decode contract.
#pragma once

#include "session/decoder_backend.hpp"
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
class RgbConverter {
 public:
  void convert(const AVFrame& frame, DecodedFrame& out);

 private:
  UniqueSwsContext context_;
};

}  // namespace videohw::software
