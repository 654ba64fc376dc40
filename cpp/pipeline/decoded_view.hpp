// A decoded picture as an encoder input: the decoder's own planes, not copied.
#pragma once

#include "backend/decoder_backend.hpp"

namespace videohw::pipeline {

// The planes of a NATIVE_SURFACE frame as a FrameView (host memory, or CUDA device memory
// for NVDEC surfaces). Throws Error(UnsupportedConfig) for a picture format the transform
// stage does not take (it reads 8-bit 4:2:0: yuv420p, yuvj420p and nv12), naming it.
FrameView encoder_view(const DecodedFrame& frame);

}  // namespace videohw::pipeline
