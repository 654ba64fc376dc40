// The software decoder's YUV -> RGB24 conversion (RgbConverter, libswscale) written out as a
// table, so another backend can reproduce it bit for bit. libswscale's unscaled 4:2:0 -> RGB
// path computes each pixel from its own Y and the U, V of its 2x2 block alone, so one
// conversion of a picture that holds every (Y, U, V) combination once gives the whole
// function. NVDEC's CPU_RGB kernel reads this table; the GPU tests check the result equals
// the software decoder's output byte for byte.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "backend/decoder_backend.hpp"

namespace videohw::software {

// 256^3 RGB triplets: the entry of (Y, U, V) starts at ((U * 256 + V) * 256 + Y) * 3.
constexpr size_t kRgbTableBytes = size_t(256) * 256 * 256 * 3;

// The table for the matrix and range `color` declares (what RgbConverter would use for a
// frame with that colour description). Built once per (matrix, range) and process (tens of
// milliseconds), then shared.
std::shared_ptr<const std::vector<uint8_t>> rgb_table(const ColorInfo& color);

}  // namespace videohw::software
