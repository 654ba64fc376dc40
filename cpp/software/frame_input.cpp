#include "software/frame_input.hpp"

#include <string>

extern "C" {
#include <libavutil/pixdesc.h>
}

#include "contract/errors.hpp"
#include "transform/pixel_converter.hpp"

namespace videohw::software {

namespace {

void mark_released(void* opaque, uint8_t*) {
  static_cast<std::atomic<bool>*>(opaque)->store(true, std::memory_order_release);
}

}  // namespace

FrameInput::FrameInput(int width, int height, AVPixelFormat encoder_format)
    : width_(width), height_(height), encoder_format_(encoder_format), borrowed_(av_frame_alloc()) {
  if (!borrowed_) throw Error(ErrorKind::Encode, "av_frame_alloc failed (out of memory)");
}

AVFrame* FrameInput::begin_frame(const FrameView& view) {
  if (view.width != width_ || view.height != height_ ||
      transform::to_av_pixel_format(view.format) != encoder_format_)
    throw Error(ErrorKind::Encode,
                std::string("internal: frame not prepared for the software encoder (got ") +
                    to_string(view.format) + " " + std::to_string(view.width) + "x" +
                    std::to_string(view.height) + ", the encoder takes " +
                    av_get_pix_fmt_name(encoder_format_) + " " + std::to_string(width_) + "x" +
                    std::to_string(height_) +
                    "); the pipeline prepares every frame, so this is a videohw bug");
  return borrow(view);
}

AVFrame* FrameInput::borrow(const FrameView& view) {
  AVFrame* f = borrowed_.get();
  f->format = encoder_format_;
  f->width = width_;
  f->height = height_;
  const uint8_t* begin = view.planes[0];
  const uint8_t* end = begin;
  for (int i = 0; i < view.plane_count; ++i) {
    f->data[i] = const_cast<uint8_t*>(view.planes[i]);  // read-only: buffer flagged below
    f->linesize[i] = view.strides[i];
    const int rows = i == 0 ? view.height : view.height / 2;
    const uint8_t* plane_end = view.planes[i] + size_t(rows) * size_t(view.strides[i]);
    if (plane_end > end) end = plane_end;
  }
  borrow_released_.store(false, std::memory_order_relaxed);
  f->buf[0] = av_buffer_create(f->data[0], size_t(end - begin), mark_released, &borrow_released_,
                               AV_BUFFER_FLAG_READONLY);
  if (!f->buf[0]) {
    borrow_released_.store(true, std::memory_order_relaxed);
    throw Error(ErrorKind::Encode, "av_buffer_create failed (out of memory)");
  }
  borrowing_ = true;
  return f;
}

void FrameInput::end_frame(EncodeStats& stats) {
  if (!borrowing_) return;
  borrowing_ = false;
  av_frame_unref(borrowed_.get());
  if (!borrow_released_.load(std::memory_order_acquire)) stats.borrow_leaks++;
}

}  // namespace videohw::software
