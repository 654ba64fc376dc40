// NVENC input and bitstream buffers (nvEncCreateInputBuffer / nvEncCreateBitstreamBuffer).
//
// Invariants: each buffer belongs to one encoder handle, which outlives it; the buffer is
// destroyed in its destructor, so a ring of them is released before the encoder (the owner
// declares the handle first). An input buffer is locked only inside write(), which always
// unlocks it.
#pragma once

#include "contract/types.hpp"
#include "nv_session/nvenc/nvenc_handle.hpp"

namespace videohw::nv_session {

class InputBuffer {
 public:
  InputBuffer(const NvencHandle& handle, int width, int height, NV_ENC_BUFFER_FORMAT format);
  ~InputBuffer();
  InputBuffer(const InputBuffer&) = delete;
  InputBuffer& operator=(const InputBuffer&) = delete;

  NV_ENC_INPUT_PTR get() const { return buffer_; }
  int width() const { return width_; }
  int height() const { return height_; }
  NV_ENC_BUFFER_FORMAT format() const { return format_; }

  // Copies an I420 or NV12 view of exactly this buffer's size into it (lock, copy with the
  // driver's pitch, unlock). Returns the pitch for NV_ENC_PIC_PARAMS::inputPitch.
  uint32_t write(const FrameView& view);

 private:
  const NvencHandle& handle_;
  NV_ENC_INPUT_PTR buffer_ = nullptr;
  int width_, height_;
  NV_ENC_BUFFER_FORMAT format_;
};

class BitstreamBuffer {
 public:
  explicit BitstreamBuffer(const NvencHandle& handle);
  ~BitstreamBuffer();
  BitstreamBuffer(const BitstreamBuffer&) = delete;
  BitstreamBuffer& operator=(const BitstreamBuffer&) = delete;

  NV_ENC_OUTPUT_PTR get() const { return buffer_; }

 private:
  const NvencHandle& handle_;
  NV_ENC_OUTPUT_PTR buffer_ = nullptr;
};

// Copies planes of `view` (I420 or NV12, view.width x view.height) into a locked buffer of
// `format` (IYUV or NV12) with row pitch `pitch`. Exposed for tests.
void copy_picture(const FrameView& view, uint8_t* dst, uint32_t pitch, NV_ENC_BUFFER_FORMAT format);

}  // namespace videohw::nv_session
