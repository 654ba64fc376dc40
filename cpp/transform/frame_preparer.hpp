// Makes a frame fit an encoder: the one place where frames are converted and scaled on
// their way to an encoder (docs/architecture.md, Frame preparation).
//
// A target is what one encoder takes: its size and the formats it accepts as they are.
// A frame that fits passes through untouched; any other is converted and scaled into
// memory the caller hands out on request, so the caller decides where prepared frames
// live (the pipeline: its pooled frame slots). One instance per thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "contract/types.hpp"
#include "transform/pixel_converter.hpp"

namespace videohw::transform {

struct FrameTarget {
  int width = 0, height = 0;
  std::vector<PixelFormat> formats;  // accepted as they are, in the encoder's preference
  bool device_frames = false;        // also when they are in CUDA device memory
};

bool operator==(const FrameTarget& a, const FrameTarget& b);
inline bool operator!=(const FrameTarget& a, const FrameTarget& b) {
  return !(a == b);
}

// Whether `frame` can go to an encoder of `target` as it is.
bool fits(const FrameView& frame, const FrameTarget& target);

// What a frame that does not fit becomes: its own format when the target accepts it (a
// resize then keeps the format), else the target's first. Every contract format is one
// libswscale writes, so the first accepted format is always producible.
PixelFormat prepared_format(const FrameView& frame, const FrameTarget& target);

class FramePreparer {
 public:
  // Memory for a prepared frame of `bytes` bytes; it must stay valid for as long as the
  // returned view is used.
  using Destination = std::function<uint8_t*(size_t bytes)>;

  FramePreparer() = default;
  explicit FramePreparer(FrameTarget target) : target_(std::move(target)) {}

  const FrameTarget& target() const { return target_; }
  void set_target(FrameTarget target) { target_ = std::move(target); }
  bool fits(const FrameView& frame) const { return transform::fits(frame, target_); }

  // `frame` itself when it fits (`destination` is not called); else the prepared copy in
  // memory from `destination`. A frame in device memory that does not fit must be copied
  // to the host first (the conversion reads host memory): Error(Encode) otherwise. `src_has_slack`:
  // PixelConverter::convert. Throws Error(Encode) when the target accepts no format or libswscale
  // fails.
  FrameView prepare(const FrameView& frame, const Destination& destination, bool src_has_slack);

 private:
  FrameTarget target_;
  PixelConverter converter_;
};

}  // namespace videohw::transform
