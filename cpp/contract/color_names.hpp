// Display names of the H.273 colour code points in ColorInfo ("bt709", "smpte170m", ...),
// the same names ffmpeg and ffprobe print, so users can compare them directly.
#pragma once

#include <string>

namespace videohw {

std::string color_primaries_name(int code);
std::string color_transfer_name(int code);
std::string color_matrix_name(int code);

}  // namespace videohw
