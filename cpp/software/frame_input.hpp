// Turns a caller's FrameView into the AVFrame the encoder takes.
//
// Formats the encoder context takes directly (I420) are *borrowed*: the AVFrame points at
// the caller's memory through a non-owning AVBufferRef, so libavcodec references it instead
// of copying. libx264/libx265 copy the picture inside avcodec_send_frame and drop the
// reference before it returns; the release callback proves that on every frame.
// Other formats, and frames of another size than the encoder's, are converted (and scaled)
// by transform::PixelConverter into one frame allocated once and reused for the session.
#pragma once

#include <atomic>

#include "backend/encoder_backend.hpp"
#include "contract/types.hpp"
#include "software/ffmpeg_ptr.hpp"
#include "transform/pixel_converter.hpp"

namespace videohw::software {

using transform::to_av_pixel_format;

class FrameInput {
 public:
  FrameInput(int width, int height, AVPixelFormat encoder_format);
  FrameInput(const FrameInput&) = delete;
  FrameInput& operator=(const FrameInput&) = delete;

  // The frame to send for `view`. Valid until end_frame().
  AVFrame* begin_frame(const FrameView& view, EncodeStats& stats);
  // Call after avcodec_send_frame returned; drops our reference to a borrowed buffer.
  void end_frame(EncodeStats& stats);

 private:
  AVFrame* borrow(const FrameView& view);
  AVFrame* convert(const FrameView& view, EncodeStats& stats);
  void prepare_output(EncodeStats& stats);

  int width_, height_;
  AVPixelFormat encoder_format_;
  UniqueAVFrame borrowed_;
  UniqueAVFrame converted_;
  transform::PixelConverter converter_;
  std::atomic<bool> borrow_released_{true};
  bool borrowing_ = false;
};

}  // namespace videohw::software
