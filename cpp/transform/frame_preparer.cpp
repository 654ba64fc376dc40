#include "transform/frame_preparer.hpp"

#include <algorithm>
#include <string>

#include "contract/errors.hpp"
#include "contract/frame_layout.hpp"

namespace videohw::transform {

namespace {

bool accepts(const FrameTarget& target, PixelFormat format) {
  return std::find(target.formats.begin(), target.formats.end(), format) != target.formats.end();
}

}  // namespace

bool operator==(const FrameTarget& a, const FrameTarget& b) {
  return a.width == b.width && a.height == b.height && a.formats == b.formats &&
         a.device_frames == b.device_frames;
}

bool fits(const FrameView& frame, const FrameTarget& target) {
  return frame.width == target.width && frame.height == target.height &&
         accepts(target, frame.format) &&
         (frame.memory == FrameMemory::Host || target.device_frames);
}

PixelFormat prepared_format(const FrameView& frame, const FrameTarget& target) {
  if (accepts(target, frame.format)) return frame.format;
  if (target.formats.empty())
    throw Error(ErrorKind::Encode,
                "internal: the encoder's frame target accepts no pixel format; cannot prepare a " +
                    std::string(to_string(frame.format)) + " frame for it");
  return target.formats.front();
}

FrameView FramePreparer::prepare(const FrameView& frame, const Destination& destination,
                                 bool src_has_slack) {
  if (fits(frame)) return frame;
  if (frame.memory != FrameMemory::Host)
    throw Error(ErrorKind::Encode,
                "internal: a frame in CUDA device memory reached the host frame preparation "
                "without being copied to the host");
  const PixelFormat format = prepared_format(frame, target_);
  const int w = target_.width, h = target_.height;
  const int pitch = aligned_pitch(format, w);
  const size_t bytes = frame_bytes(format, h, pitch);
  const FrameView out = describe_frame(format, w, h, destination(bytes), bytes, pitch);
  converter_.convert(frame, out, src_has_slack);
  return out;
}

}  // namespace videohw::transform
