#include "contract/frame_layout.hpp"

#include <string>

#include "contract/errors.hpp"

namespace videohw {

namespace {
[[noreturn]] void invalid(const std::string& message) {
  throw Error(ErrorKind::InvalidFrame, message);
}

std::string describe(PixelFormat format, int width, int height, int pitch) {
  return std::string(to_string(format)) + " " + std::to_string(width) + "x" +
         std::to_string(height) + " frame with row pitch " + std::to_string(pitch);
}
}  // namespace

int minimum_pitch(PixelFormat format, int width) {
  switch (format) {
    case PixelFormat::ARGB8888:
    case PixelFormat::BGRA:
      return 4 * width;
    case PixelFormat::RGB24:
      return 3 * width;
    case PixelFormat::NV12:
    case PixelFormat::I420:
      return width;
  }
  return width;
}

size_t frame_bytes(PixelFormat format, int height, int pitch) {
  const size_t luma = size_t(height) * size_t(pitch);
  switch (format) {
    case PixelFormat::NV12:
      return luma + size_t(height / 2) * size_t(pitch);
    case PixelFormat::I420:
      return luma + 2 * size_t(height / 2) * size_t(pitch / 2);
    default:
      return luma;
  }
}

FrameView describe_frame(PixelFormat format, int width, int height, const uint8_t* data,
                         size_t size, int pitch) {
  const int min_pitch = minimum_pitch(format, width);
  if (pitch == 0) pitch = min_pitch;
  if (pitch < min_pitch)
    invalid(describe(format, width, height, pitch) + ": pitch is below the minimum of " +
            std::to_string(min_pitch) + " bytes");
  const bool planar = format == PixelFormat::NV12 || format == PixelFormat::I420;
  if (planar && pitch % 2)
    invalid(describe(format, width, height, pitch) + ": 4:2:0 formats need an even pitch");
  const size_t needed = frame_bytes(format, height, pitch);
  if (size != needed)
    invalid(describe(format, width, height, pitch) + " needs " + std::to_string(needed) +
            " bytes; the buffer has " + std::to_string(size));
  if (data == nullptr) invalid("frame buffer is null");

  FrameView view;
  view.format = format;
  view.width = width;
  view.height = height;
  view.planes[0] = data;
  view.strides[0] = pitch;
  view.plane_count = 1;
  const size_t luma = size_t(height) * size_t(pitch);
  if (format == PixelFormat::NV12) {
    view.planes[1] = data + luma;
    view.strides[1] = pitch;
    view.plane_count = 2;
  } else if (format == PixelFormat::I420) {
    const size_t chroma = size_t(height / 2) * size_t(pitch / 2);
    view.planes[1] = data + luma;
    view.planes[2] = data + luma + chroma;
    view.strides[1] = view.strides[2] = pitch / 2;
    view.plane_count = 3;
  }
  return view;
}

}  // namespace videohw
