#include "contract/color_names.hpp"

extern "C" {
#include <libavutil/pixdesc.h>
}

namespace videohw {

namespace {

// FFmpeg returns null for codes H.273 reserves; the number itself is still informative.
std::string or_code(const char* name, int code) {
  return name ? std::string(name) : "reserved(" + std::to_string(code) + ")";
}

}  // namespace

std::string color_primaries_name(int code) {
  return or_code(av_color_primaries_name(AVColorPrimaries(code)), code);
}

std::string color_transfer_name(int code) {
  return or_code(av_color_transfer_name(AVColorTransferCharacteristic(code)), code);
}

std::string color_matrix_name(int code) {
  return or_code(av_color_space_name(AVColorSpace(code)), code);
}

}  // namespace videohw
