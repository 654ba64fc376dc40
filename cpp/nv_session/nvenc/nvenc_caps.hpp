// What an NVENC device can do, read once through an open encoder handle
// (nvEncGetEncodeGUIDs, nvEncGetEncodeCaps, nvEncGetInputFormats), and the device probe
// that the provider and the availability check share.
#pragma once

#include <map>
#include <string>

#include "contract/types.hpp"
#include "nv_session/cuda/context.hpp"
#include "nv_session/nvenc/nvenc_config.hpp"
#include "nv_session/nvenc/nvenc_handle.hpp"

namespace videohw::nv_session {

struct NvencCodecCaps {
  Capabilities caps;  // max_width == 0: the codec cannot be encoded here
  ReconfigureAbility ability;
  bool lossless = false;
  // The input buffer format the adapter uses: IYUV when offered (the transform stage's
  // I420 is copied as is), else NV12; UNDEFINED when neither is offered.
  NV_ENC_BUFFER_FORMAT input_format = NV_ENC_BUFFER_FORMAT_UNDEFINED;
};

// Reads the caps of `codec` through an open (uninitialised) encoder handle.
NvencCodecCaps query_codec_caps(const NvencHandle& handle, Codec codec);

struct NvencProbe {
  CudaDevice device;
  std::string cuda_library, nvenc_library;
  uint32_t driver_version = 0;  // NVENC API, NvEncodeAPIGetMaxSupportedVersion encoding
  std::map<Codec, NvencCodecCaps> codecs;
};

// Loads the driver, opens an encoder on device `ordinal`, reads its caps and closes it.
// Throws Error(BackendUnavailable) naming the cause: library missing, no CUDA device, no
// encode engine (NV_ENC_ERR_NO_ENCODE_DEVICE, as on H100/H200), driver too old.
NvencProbe probe_nvenc(int ordinal);

}  // namespace videohw::nv_session
