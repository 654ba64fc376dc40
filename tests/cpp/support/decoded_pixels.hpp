// The pixels of decoded pictures, for tests that compare two decodes of the same picture.
// Apart from frames.hpp: tests that bring in vhtest::DecodedFrame (support/decoder.hpp)
// must not see videohw::DecodedFrame under the same name.
#pragma once

#include <cstdint>
#include <vector>

#include "backend/decoder_backend.hpp"

namespace vhtest {

// The meaningful bytes of every plane, row after row (pitch padding left out).
std::vector<uint8_t> plane_bytes(const videohw::DecodedFrame& frame);

// An NV12 frame's samples as yuv420p bytes (Y rows, then U, then V), pitch left out: how the
// software decoder's planes of the same picture read.
std::vector<uint8_t> nv12_as_i420(const videohw::DecodedFrame& frame);

}  // namespace vhtest
