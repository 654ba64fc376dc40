// Turns a caller's FrameView into the AVFrame the encoder takes.
//
// Frames are *borrowed*: the AVFrame points at the pipeline's memory through a non-owning
// AVBufferRef, so libavcodec references it instead of copying. libx264/libx265 copy the
// picture inside avcodec_send_frame and drop the reference before it returns; the release
// callback proves that on every frame. Nothing is converted here: the pipeline prepares
// every frame for the encoder's size and format (transform/frame_preparer.hpp).
#pragma once

#include <atomic>

#include "backend/encoder_backend.hpp"
#include "contract/types.hpp"
#include "software/ffmpeg_ptr.hpp"

namespace videohw::software {

class FrameInput {
 public:
  FrameInput(int width, int height, AVPixelFormat encoder_format);
  FrameInput(const FrameInput&) = delete;
  FrameInput& operator=(const FrameInput&) = delete;

  // The frame to send for `view`. Valid until end_frame(). Throws Error(Encode) for a frame
  // of another size or format than the encoder's: the pipeline failed to prepare it.
  AVFrame* begin_frame(const FrameView& view);
  // Call after avcodec_send_frame returned; drops our reference to a borrowed buffer.
  void end_frame(EncodeStats& stats);

 private:
  AVFrame* borrow(const FrameView& view);

  int width_, height_;
  AVPixelFormat encoder_format_;
  UniqueAVFrame borrowed_;
  std::atomic<bool> borrow_released_{true};
  bool borrowing_ = false;
};

}  // namespace videohw::software
