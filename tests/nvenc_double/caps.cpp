#include "caps.hpp"

#include <cstdlib>
#include <stdexcept>

#include "double_common.hpp"

namespace nvdouble {

namespace {

struct CapName {
  const char* key;
  NV_ENC_CAPS cap;
};

// Short names tests use; anything else stays at its default.
const CapName kNames[] = {
    {"max_width", NV_ENC_CAPS_WIDTH_MAX},
    {"max_height", NV_ENC_CAPS_HEIGHT_MAX},
    {"min_width", NV_ENC_CAPS_WIDTH_MIN},
    {"min_height", NV_ENC_CAPS_HEIGHT_MIN},
    {"b_frames", NV_ENC_CAPS_NUM_MAX_BFRAMES},
    {"rc_modes", NV_ENC_CAPS_SUPPORTED_RATECONTROL_MODES},
    {"dyn_res", NV_ENC_CAPS_SUPPORT_DYN_RES_CHANGE},
    {"dyn_bitrate", NV_ENC_CAPS_SUPPORT_DYN_BITRATE_CHANGE},
    {"dyn_rc_mode", NV_ENC_CAPS_SUPPORT_DYN_RCMODE_CHANGE},
    {"async", NV_ENC_CAPS_ASYNC_ENCODE_SUPPORT},
    {"lossless", NV_ENC_CAPS_SUPPORT_LOSSLESS_ENCODE},
    {"lookahead", NV_ENC_CAPS_SUPPORT_LOOKAHEAD},
    {"engines", NV_ENC_CAPS_NUM_ENCODER_ENGINES},
};

}  // namespace

int Caps::get(NV_ENC_CAPS cap) const {
  auto it = values.find(int(cap));
  return it == values.end() ? 0 : it->second;
}

Caps default_caps() {
  Caps c;
  auto set = [&](NV_ENC_CAPS cap, int v) { c.values[int(cap)] = v; };
  set(NV_ENC_CAPS_NUM_MAX_BFRAMES, 4);
  // CONSTQP is 0 and cannot be a bit; like the driver, the mask lists VBR and CBR.
  set(NV_ENC_CAPS_SUPPORTED_RATECONTROL_MODES, NV_ENC_PARAMS_RC_VBR | NV_ENC_PARAMS_RC_CBR);
  set(NV_ENC_CAPS_SUPPORT_QPELMV, 1);
  set(NV_ENC_CAPS_SUPPORT_BDIRECT_MODE, 1);
  set(NV_ENC_CAPS_SUPPORT_CABAC, 1);
  set(NV_ENC_CAPS_SUPPORT_ADAPTIVE_TRANSFORM, 1);
  set(NV_ENC_CAPS_NUM_MAX_TEMPORAL_LAYERS, 1);
  set(NV_ENC_CAPS_LEVEL_MAX, 62);
  set(NV_ENC_CAPS_LEVEL_MIN, 1);
  set(NV_ENC_CAPS_WIDTH_MAX, 4096);
  set(NV_ENC_CAPS_HEIGHT_MAX, 4096);
  set(NV_ENC_CAPS_WIDTH_MIN, 16);
  set(NV_ENC_CAPS_HEIGHT_MIN, 16);
  set(NV_ENC_CAPS_SUPPORT_DYN_RES_CHANGE, 1);
  set(NV_ENC_CAPS_SUPPORT_DYN_BITRATE_CHANGE, 1);
  set(NV_ENC_CAPS_SUPPORT_DYN_FORCE_CONSTQP, 1);
  set(NV_ENC_CAPS_SUPPORT_DYN_RCMODE_CHANGE, 1);
  set(NV_ENC_CAPS_SUPPORT_CUSTOM_VBV_BUF_SIZE, 1);
  set(NV_ENC_CAPS_ASYNC_ENCODE_SUPPORT, 0);
  set(NV_ENC_CAPS_MB_NUM_MAX, (4096 / 16) * (4096 / 16));
  set(NV_ENC_CAPS_MB_PER_SEC_MAX, (4096 / 16) * (4096 / 16) * 60);
  set(NV_ENC_CAPS_SUPPORT_SAO, 1);
  set(NV_ENC_CAPS_SUPPORT_MULTIPLE_REF_FRAMES, 1);
  set(NV_ENC_CAPS_NUM_ENCODER_ENGINES, 1);
  return c;
}

void apply_caps_overrides(Caps& caps, const std::string& text) {
  for (const std::string& item : split_list(text)) {
    const size_t eq = item.find('=');
    const std::string key = item.substr(0, eq);
    const std::string value = eq == std::string::npos ? "" : item.substr(eq + 1);
    char* end = nullptr;
    const long number = std::strtol(value.c_str(), &end, 0);
    if (value.empty() || *end != '\0')
      throw std::invalid_argument("caps item '" + item + "': expected key=<integer>");
    if (key == "h264") {
      caps.h264 = number != 0;
      continue;
    }
    if (key == "hevc") {
      caps.hevc = number != 0;
      continue;
    }
    bool known = false;
    for (const CapName& n : kNames) {
      if (key == n.key) {
        caps.values[int(n.cap)] = int(number);
        known = true;
      }
    }
    if (!known) {
      std::string keys = "h264, hevc";
      for (const CapName& n : kNames) keys += std::string(", ") + n.key;
      throw std::invalid_argument("unknown caps key '" + key + "'; expected one of: " + keys);
    }
  }
}

}  // namespace nvdouble
