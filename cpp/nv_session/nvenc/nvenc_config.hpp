// How the common contract and NvidiaEncodeConfig map onto NVENC's initialize parameters.
// Pure functions: no driver is touched, so tests read the mapping without a GPU.
#pragma once

#include <ffnvcodec/nvEncodeAPI.h>

#include <string>
#include <vector>

#include "contract/types.hpp"

namespace videohw::nv_session {

bool same_guid(const GUID& a, const GUID& b);

// NV_ENC_CODEC_*_GUID; throws UnsupportedConfig for a codec this API version lacks (AV1).
GUID codec_guid(Codec codec);
// "p1".."p7" (empty: p4) -> NV_ENC_PRESET_P*_GUID; throws Config for another name.
GUID preset_guid(const std::string& preset);
// "hq", "ll", "ull", "lossless"; empty: ll when low_latency, else hq. Throws Config.
NV_ENC_TUNING_INFO tuning_info(const std::string& tuning, bool low_latency);
NV_ENC_PARAMS_RC_MODE rc_mode(RateControlMode mode);

// Throws Error(Config) naming the first invalid field of `config`.
void validate(const NvidiaEncodeConfig& config);

// What NVENC cannot do with this pair, one message each (the caps are checked elsewhere).
std::vector<std::string> nvidia_config_problems(const CommonEncodeConfig& common,
                                                const NvidiaEncodeConfig& nvidia);

// The largest size a session opened at width x height can be reconfigured to in place
// (maxEncodeWidth/Height): the smallest of 2048, 4096, 8192 squares that holds the size,
// capped by the GPU's maximum. A size in the same tier never needs a new session; the driver
// reserves memory for the tier, not for the largest size it supports.
struct EncodeSize {
  int width = 0, height = 0;
};
EncodeSize max_encode_size(int width, int height, EncodeSize caps_max);

// NV_ENC_INITIALIZE_PARAMS with the NV_ENC_CONFIG it points at. Not copyable: the
// parameters point into the object itself.
struct NvencSettings {
  NV_ENC_INITIALIZE_PARAMS init{};
  NV_ENC_CONFIG config{};

  NvencSettings() = default;
  NvencSettings(const NvencSettings&) = delete;
  NvencSettings& operator=(const NvencSettings&) = delete;
  // The initialize parameters, with encodeConfig pointing at `config`.
  NV_ENC_INITIALIZE_PARAMS* params() {
    init.encodeConfig = &config;
    return &init;
  }
};

// Writes the common contract over `config` (the preset's configuration from
// nvEncGetEncodePresetConfigEx, or zeros): GOP, B-frames, rate control, IDR period, SPS/PPS
// on every IDR. Lossless tuning keeps the preset's lossless rate control.
void apply_common(const CommonEncodeConfig& common, bool lossless, NV_ENC_CONFIG& config);

// Fills `out` for an encoder: sync mode, picture-type decision by the encoder, the preset's
// configuration `preset_config` with the contract applied.
void map_settings(const CommonEncodeConfig& common, const NvidiaEncodeConfig& nvidia,
                  const NV_ENC_CONFIG& preset_config, NV_ENC_BUFFER_FORMAT input_format,
                  EncodeSize max_size, NvencSettings& out);

// Whether a running encoder opened for `from` (max size `max_size`) can take `to` through
// nvEncReconfigureEncoder: same codec and GOP structure; rates, rate-control mode (when
// `dynamic_rc_mode`), frame rate, size within `max_size` (when `dynamic_resolution`).
struct ReconfigureAbility {
  bool dynamic_bitrate = false;
  bool dynamic_rc_mode = false;
  bool dynamic_resolution = false;
};
bool can_reconfigure(const CommonEncodeConfig& from, const CommonEncodeConfig& to,
                     EncodeSize max_size, const ReconfigureAbility& ability);

}  // namespace videohw::nv_session
