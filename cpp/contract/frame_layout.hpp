// Turns a caller's flat buffer into plane pointers, checking that it holds exactly the
// bytes the format, size and row pitch need. Nothing here copies pixels.
#pragma once

#include <cstddef>
#include <cstdint>

#include "contract/types.hpp"

namespace videohw {

// Smallest row pitch in bytes for the luma/packed plane of `format` at `width`.
int minimum_pitch(PixelFormat format, int width);

// Bytes a frame of this format, size and pitch occupies.
size_t frame_bytes(PixelFormat format, int height, int pitch);

// pitch == 0 means the minimum. Throws Error(InvalidFrame) saying what was given and
// what was needed.
FrameView describe_frame(PixelFormat format, int width, int height, const uint8_t* data,
                         size_t size, int pitch);

}  // namespace videohw
