#include "nv_session/nvenc/nvenc_caps.hpp"

#include <algorithm>
#include <vector>

#include "contract/errors.hpp"

namespace videohw::nv_session {

namespace {

int caps_value(const NvencHandle& handle, const GUID& codec, NV_ENC_CAPS which) {
  NV_ENC_CAPS_PARAM param{};
  param.version = NV_ENC_CAPS_PARAM_VER;
  param.capsToQuery = which;
  int value = 0;
  handle.check(handle.fn().nvEncGetEncodeCaps(handle.get(), codec, &param, &value),
               "nvEncGetEncodeCaps");
  return value;
}

std::vector<GUID> encode_guids(const NvencHandle& handle) {
  uint32_t count = 0;
  handle.check(handle.fn().nvEncGetEncodeGUIDCount(handle.get(), &count),
               "nvEncGetEncodeGUIDCount");
  std::vector<GUID> guids(count);
  uint32_t returned = 0;
  if (count)
    handle.check(handle.fn().nvEncGetEncodeGUIDs(handle.get(), guids.data(), count, &returned),
                 "nvEncGetEncodeGUIDs");
  guids.resize(std::min(count, returned));
  return guids;
}

NV_ENC_BUFFER_FORMAT pick_input_format(const NvencHandle& handle, const GUID& codec) {
  uint32_t count = 0;
  handle.check(handle.fn().nvEncGetInputFormatCount(handle.get(), codec, &count),
               "nvEncGetInputFormatCount");
  std::vector<NV_ENC_BUFFER_FORMAT> formats(count);
  uint32_t returned = 0;
  if (count)
    handle.check(
        handle.fn().nvEncGetInputFormats(handle.get(), codec, formats.data(), count, &returned),
        "nvEncGetInputFormats");
  formats.resize(std::min(count, returned));
  for (NV_ENC_BUFFER_FORMAT wanted : {NV_ENC_BUFFER_FORMAT_IYUV, NV_ENC_BUFFER_FORMAT_NV12})
    if (std::find(formats.begin(), formats.end(), wanted) != formats.end()) return wanted;
  return NV_ENC_BUFFER_FORMAT_UNDEFINED;
}

}  // namespace

NvencCodecCaps query_codec_caps(const NvencHandle& handle, Codec codec) {
  NvencCodecCaps out;
  out.caps.backend = "nvidia";
  out.caps.codec = codec;
  if (codec == Codec::AV1 || codec == Codec::VP9) return out;  // not in this build's NVENC header
  const GUID guid = codec_guid(codec);
  const auto guids = encode_guids(handle);
  if (std::none_of(guids.begin(), guids.end(), [&](const GUID& g) { return same_guid(g, guid); }))
    return out;
  out.input_format = pick_input_format(handle, guid);
  if (out.input_format == NV_ENC_BUFFER_FORMAT_UNDEFINED) return out;

  Capabilities& caps = out.caps;
  caps.min_width = std::max(caps_value(handle, guid, NV_ENC_CAPS_WIDTH_MIN), 16);
  caps.min_height = std::max(caps_value(handle, guid, NV_ENC_CAPS_HEIGHT_MIN), 16);
  caps.max_width = caps_value(handle, guid, NV_ENC_CAPS_WIDTH_MAX);
  caps.max_height = caps_value(handle, guid, NV_ENC_CAPS_HEIGHT_MAX);
  caps.max_b_frames = caps_value(handle, guid, NV_ENC_CAPS_NUM_MAX_BFRAMES);
  caps.max_gop_length = 100'000;  // the contract's limit; NVENC takes any uint32
  // A bitmask of NV_ENC_PARAMS_RC_MODE values; constant QP (0) is always there.
  const int rc_modes = caps_value(handle, guid, NV_ENC_CAPS_SUPPORTED_RATECONTROL_MODES);
  if (rc_modes & NV_ENC_PARAMS_RC_CBR) caps.rate_control_modes.push_back(RateControlMode::CBR);
  if (rc_modes & NV_ENC_PARAMS_RC_VBR) caps.rate_control_modes.push_back(RateControlMode::VBR);
  caps.rate_control_modes.push_back(RateControlMode::ConstQP);
  // Every contract format: the pipeline prepares frames into I420 or NV12 for the adapter.
  caps.input_formats = {PixelFormat::ARGB8888, PixelFormat::BGRA, PixelFormat::RGB24,
                        PixelFormat::NV12, PixelFormat::I420};
  caps.low_latency = true;
  out.ability.dynamic_bitrate = caps_value(handle, guid, NV_ENC_CAPS_SUPPORT_DYN_BITRATE_CHANGE);
  out.ability.dynamic_rc_mode = caps_value(handle, guid, NV_ENC_CAPS_SUPPORT_DYN_RCMODE_CHANGE);
  out.ability.dynamic_resolution = caps_value(handle, guid, NV_ENC_CAPS_SUPPORT_DYN_RES_CHANGE);
  caps.dynamic_bitrate = out.ability.dynamic_bitrate;
  caps.dynamic_resolution = out.ability.dynamic_resolution;
  out.lossless = caps_value(handle, guid, NV_ENC_CAPS_SUPPORT_LOSSLESS_ENCODE);
  caps.presets = {"p1", "p2", "p3", "p4", "p5", "p6", "p7"};
  caps.tunes = {"hq", "ll", "ull"};
  if (out.lossless) caps.tunes.push_back("lossless");
  return out;
}

NvencProbe probe_nvenc(int ordinal) {
  NvencProbe probe;
  const CudaDriver& cuda = cuda_driver();
  probe.cuda_library = cuda.library;
  probe.device = cuda_device(cuda, ordinal, "NvidiaEncodeConfig.device");
  // NVENC's library before the context: a machine without it is told so without a primary
  // context being made for nothing.
  const NvencApi& nvenc = load_nvenc_api();
  probe.nvenc_library = nvenc.library;
  probe.driver_version = nvenc.driver_version;
  const PrimaryContext& context = PrimaryContext::of(ordinal, "NvidiaEncodeConfig.device");
  try {
    NvencHandle handle(nvenc, context);
    for (Codec codec : {Codec::H264, Codec::HEVC, Codec::AV1})
      probe.codecs[codec] = query_codec_caps(handle, codec);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::BackendUnavailable) throw;
    throw Error(ErrorKind::BackendUnavailable, std::string(e.what()) + " [device " +
                                                   std::to_string(ordinal) + ": " +
                                                   probe.device.name + "]");
  }
  return probe;
}

}  // namespace videohw::nv_session
