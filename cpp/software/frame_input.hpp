// Turns a caller's FrameView into the AVFrame the encoder takes.
//
// Formats the encoder context takes directly (I420) are *borrowed*: the AVFrame points at
// the caller's memory through a non-owning AVBufferRef, so libavcodec references it instead
// of copying. libx264/libx265 copy the picture inside avcodec_send_frame and drop the
// reference before it returns; the release callback proves that on every frame.
// Other formats are converted by libswscale into one frame that is allocated once and
// reused for the life of the session. libswscale's SIMD reads a few bytes past the end of a
// row (measured up to 30 for NV12/RGB24), which is harmless inside a frame but runs off the
// end of a caller buffer that is exactly the frame's size. So the last two rows are
// converted from a padded staging copy (allocated once) and the rest straight from the
// caller's memory.
#pragma once

#include <atomic>
#include <vector>

#include "contract/types.hpp"
#include "session/encoder_backend.hpp"
#include "software/ffmpeg_ptr.hpp"

namespace videohw::software {

AVPixelFormat to_av_pixel_format(PixelFormat format);

class FrameInput {
 public:
  FrameInput(int width, int height, AVPixelFormat encoder_format);
  FrameInput(const FrameInput&) = delete;
  FrameInput& operator=(const FrameInput&) = delete;

  // The frame to send for `view`. Valid until end_frame().
  AVFrame* begin_frame(const FrameView& view, BackendStats& stats);
  // Call after avcodec_send_frame returned; drops our reference to a borrowed buffer.
  void end_frame(BackendStats& stats);

 private:
  AVFrame* borrow(const FrameView& view);
  AVFrame* convert(const FrameView& view, BackendStats& stats);
  void prepare_scaler(AVPixelFormat source);
  void prepare_output(BackendStats& stats);
  // Copies the last `rows` luma rows (and their chroma) of `view` into padded staging and
  // returns plane pointers to that copy.
  void stage_tail(const FrameView& view, int rows, const uint8_t* planes[3]);

  int width_, height_;
  AVPixelFormat encoder_format_;
  UniqueAVFrame borrowed_;
  UniqueAVFrame converted_;
  UniqueSwsContext sws_;
  AVPixelFormat sws_source_ = AV_PIX_FMT_NONE;
  std::vector<uint8_t> staging_;
  std::atomic<bool> borrow_released_{true};
  bool borrowing_ = false;
};

}  // namespace videohw::software
