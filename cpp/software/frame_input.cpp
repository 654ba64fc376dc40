#include "software/frame_input.hpp"

#include "contract/clock.hpp"

#include <chrono>

#include "contract/errors.hpp"

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

AVFrame* FrameInput::begin_frame(const FrameView& view, EncodeStats& stats) {
  const bool same_size = view.width == width_ && view.height == height_;
  if (same_size && to_av_pixel_format(view.format) == encoder_format_) return borrow(view);
  return convert(view, stats);
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

void FrameInput::prepare_output(EncodeStats& stats) {
  if (!converted_) {
    converted_.reset(av_frame_alloc());
    if (!converted_) throw Error(ErrorKind::Encode, "av_frame_alloc failed (out of memory)");
    converted_->format = encoder_format_;
    converted_->width = width_;
    converted_->height = height_;
    check_av(av_frame_get_buffer(converted_.get(), 0), "allocating the conversion frame");
    stats.frame_buffer_allocations++;
  } else if (!av_frame_is_writable(converted_.get())) {
    // The encoder still holds the previous picture: a fresh buffer, counted, never a race.
    check_av(av_frame_make_writable(converted_.get()), "reallocating the conversion frame");
    stats.frame_buffer_allocations++;
  }
}

AVFrame* FrameInput::convert(const FrameView& view, EncodeStats& stats) {
  const int64_t start = monotonic_ns();
  prepare_output(stats);
  transform::I420Planes planes;
  for (int i = 0; i < 3; ++i) {
    planes.data[i] = converted_->data[i];
    planes.linesize[i] = converted_->linesize[i];
  }
  // A caller's view has no slack after its end, so the converter stages the last rows.
  converter_.to_i420(view, planes, width_, height_, /*src_has_slack=*/false);
  stats.frames_converted++;
  stats.convert_ns += monotonic_ns() - start;
  return converted_.get();
}

void FrameInput::end_frame(EncodeStats& stats) {
  if (!borrowing_) return;
  borrowing_ = false;
  av_frame_unref(borrowed_.get());
  if (!borrow_released_.load(std::memory_order_acquire)) stats.borrow_leaks++;
}

}  // namespace videohw::software
