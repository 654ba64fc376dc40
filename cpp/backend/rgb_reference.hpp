// The RGB conversion every decode backend's CPU_RGB output must equal, as a lookup table per
// colour description. The software backend registers its own conversion (libswscale, what
// `ffmpeg -pix_fmt rgb24` gives); NVDEC's kernel reads the table, so both backends hand out
// the same bytes.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "contract/types.hpp"

namespace videohw {

// 256^3 RGB triplets; the entry of (Y, U, V) starts at ((U * 256 + V) * 256 + Y) * 3.
using RgbTableSource = std::function<std::shared_ptr<const std::vector<uint8_t>>(const ColorInfo&)>;

// For the registrar of the backend whose conversion is the reference; returns true.
bool register_reference_rgb_table(RgbTableSource source);

// The registered source, or an empty function when no backend registered one.
RgbTableSource reference_rgb_table();

}  // namespace videohw
