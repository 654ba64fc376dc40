#include "nv_session/nvenc/nvenc_buffers.hpp"

#include <cstring>

#include "contract/errors.hpp"

namespace videohw::nv_session {

namespace {

void copy_rows(const uint8_t* src, int src_stride, uint8_t* dst, size_t dst_stride, size_t bytes,
               int rows) {
  for (int y = 0; y < rows; ++y)
    std::memcpy(dst + size_t(y) * dst_stride, src + size_t(y) * size_t(src_stride), bytes);
}

}  // namespace

void copy_picture(const FrameView& view, uint8_t* dst, uint32_t pitch,
                  NV_ENC_BUFFER_FORMAT format) {
  const int w = view.width, h = view.height, cw = (w + 1) / 2, ch = (h + 1) / 2;
  const bool planar_source = view.format == PixelFormat::I420;
  if (!planar_source && view.format != PixelFormat::NV12)
    throw Error(ErrorKind::InvalidFrame, std::string("NVENC input copy: ") +
                                             to_string(view.format) +
                                             " frame; expected I420 or NV12");
  copy_rows(view.planes[0], view.strides[0], dst, pitch, size_t(w), h);
  uint8_t* chroma = dst + size_t(pitch) * size_t(h);
  if (format == NV_ENC_BUFFER_FORMAT_IYUV) {
    // NVENC's IYUV layout: U then V, each with half the luma pitch.
    const size_t chroma_pitch = (pitch + 1) / 2;
    uint8_t* u = chroma;
    uint8_t* v = chroma + chroma_pitch * size_t(ch);
    if (planar_source) {
      copy_rows(view.planes[1], view.strides[1], u, chroma_pitch, size_t(cw), ch);
      copy_rows(view.planes[2], view.strides[2], v, chroma_pitch, size_t(cw), ch);
    } else {
      for (int y = 0; y < ch; ++y) {
        const uint8_t* uv = view.planes[1] + size_t(y) * size_t(view.strides[1]);
        for (int x = 0; x < cw; ++x) {
          u[size_t(y) * chroma_pitch + size_t(x)] = uv[2 * x];
          v[size_t(y) * chroma_pitch + size_t(x)] = uv[2 * x + 1];
        }
      }
    }
    return;
  }
  // NV12: one interleaved UV plane with the luma pitch.
  if (!planar_source) {
    copy_rows(view.planes[1], view.strides[1], chroma, pitch, size_t(2 * cw), ch);
    return;
  }
  for (int y = 0; y < ch; ++y) {
    const uint8_t* u = view.planes[1] + size_t(y) * size_t(view.strides[1]);
    const uint8_t* v = view.planes[2] + size_t(y) * size_t(view.strides[2]);
    uint8_t* uv = chroma + size_t(y) * pitch;
    for (int x = 0; x < cw; ++x) {
      uv[2 * x] = u[x];
      uv[2 * x + 1] = v[x];
    }
  }
}

InputBuffer::InputBuffer(const NvencHandle& handle, int width, int height,
                         NV_ENC_BUFFER_FORMAT format)
    : handle_(handle), width_(width), height_(height), format_(format) {
  NV_ENC_CREATE_INPUT_BUFFER create{};
  create.version = NV_ENC_CREATE_INPUT_BUFFER_VER;
  create.width = uint32_t(width);
  create.height = uint32_t(height);
  create.bufferFmt = format;
  handle_.check(
      handle_.fn().nvEncCreateInputBuffer(handle_.get(), &create),
      "nvEncCreateInputBuffer (" + std::to_string(width) + "x" + std::to_string(height) + ")");
  buffer_ = create.inputBuffer;
}

InputBuffer::~InputBuffer() {
  if (buffer_) handle_.fn().nvEncDestroyInputBuffer(handle_.get(), buffer_);
}

uint32_t InputBuffer::write(const FrameView& view) {
  if (view.width != width_ || view.height != height_)
    throw Error(ErrorKind::InvalidFrame, "NVENC input: a " + std::to_string(view.width) + "x" +
                                             std::to_string(view.height) + " frame for a " +
                                             std::to_string(width_) + "x" +
                                             std::to_string(height_) + " buffer");
  NV_ENC_LOCK_INPUT_BUFFER lock{};
  lock.version = NV_ENC_LOCK_INPUT_BUFFER_VER;
  lock.inputBuffer = buffer_;
  handle_.check(handle_.fn().nvEncLockInputBuffer(handle_.get(), &lock), "nvEncLockInputBuffer");
  try {
    copy_picture(view, static_cast<uint8_t*>(lock.bufferDataPtr), lock.pitch, format_);
  } catch (...) {
    handle_.fn().nvEncUnlockInputBuffer(handle_.get(), buffer_);
    throw;
  }
  handle_.check(handle_.fn().nvEncUnlockInputBuffer(handle_.get(), buffer_),
                "nvEncUnlockInputBuffer");
  return lock.pitch;
}

BitstreamBuffer::BitstreamBuffer(const NvencHandle& handle) : handle_(handle) {
  NV_ENC_CREATE_BITSTREAM_BUFFER create{};
  create.version = NV_ENC_CREATE_BITSTREAM_BUFFER_VER;
  handle_.check(handle_.fn().nvEncCreateBitstreamBuffer(handle_.get(), &create),
                "nvEncCreateBitstreamBuffer");
  buffer_ = create.bitstreamBuffer;
}

BitstreamBuffer::~BitstreamBuffer() {
  if (buffer_) handle_.fn().nvEncDestroyBitstreamBuffer(handle_.get(), buffer_);
}

}  // namespace videohw::nv_session
