// The capability table nvEncGetEncodeCaps answers from: NVENC-like defaults, overridable by
// VIDEOHW_NVENC_DOUBLE_CAPS ("max_width=1920,b_frames=0,...") so tests can play other GPUs.
#pragma once

#include <ffnvcodec/nvEncodeAPI.h>

#include <map>
#include <string>

namespace nvdouble {

struct Caps {
  std::map<int, int> values;  // NV_ENC_CAPS -> value, for both codecs
  bool h264 = true;
  bool hevc = true;

  int get(NV_ENC_CAPS cap) const;
};

Caps default_caps();
// Applies "key=value,..." on top of `caps`. Throws std::invalid_argument on an unknown key
// or a value that is not an integer.
void apply_caps_overrides(Caps& caps, const std::string& text);

}  // namespace nvdouble
