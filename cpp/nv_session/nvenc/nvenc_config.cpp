#include "nv_session/nvenc/nvenc_config.hpp"

#include <algorithm>
#include <cstring>

#include "contract/errors.hpp"

namespace videohw::nv_session {

namespace {

const char* const kPresets[] = {"p1", "p2", "p3", "p4", "p5", "p6", "p7"};
const char* const kTunings[] = {"hq", "ll", "ull", "lossless"};

std::string quoted_list(const char* const* names, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += (i ? ", " : "") + std::string(names[i]);
  return out;
}

bool is_zero(const GUID& g) {
  static const GUID zero{};
  return same_guid(g, zero);
}

void apply_rate_control(const RateControl& rc, bool low_latency, NV_ENC_RC_PARAMS& out) {
  out.version = NV_ENC_RC_PARAMS_VER;
  out.rateControlMode = rc_mode(rc.mode);
  switch (rc.mode) {
    case RateControlMode::CBR:
      out.averageBitRate = uint32_t(rc.bitrate_bps);
      out.maxBitRate = uint32_t(rc.bitrate_bps);
      break;
    case RateControlMode::VBR:
      out.averageBitRate = uint32_t(rc.bitrate_bps);
      out.maxBitRate = uint32_t(std::max(rc.max_bitrate_bps, rc.bitrate_bps));
      break;
    case RateControlMode::ConstQP: {
      // A QP left at -1 follows the one before it (P from I, B from P).
      const int intra = std::max(rc.qp_intra, 0);
      const int inter_p = rc.qp_inter_p >= 0 ? rc.qp_inter_p : intra;
      const int inter_b = rc.qp_inter_b >= 0 ? rc.qp_inter_b : inter_p;
      out.constQP.qpIntra = uint32_t(intra);
      out.constQP.qpInterP = uint32_t(inter_p);
      out.constQP.qpInterB = uint32_t(inter_b);
      out.averageBitRate = out.maxBitRate = 0;
      break;
    }
  }
  if (rc.mode != RateControlMode::ConstQP) {
    // The contract's default VBV: one second of the peak rate.
    out.vbvBufferSize = uint32_t(rc.vbv_buffer_bits ? rc.vbv_buffer_bits : out.maxBitRate);
    out.vbvInitialDelay = out.vbvBufferSize;
  } else {
    out.vbvBufferSize = out.vbvInitialDelay = 0;
  }
  if (low_latency) {
    // Output in input order, one picture in, one out: what low latency promises.
    out.zeroReorderDelay = 1;
    out.enableLookahead = 0;
    out.lookaheadDepth = 0;
  }
}

}  // namespace

bool same_guid(const GUID& a, const GUID& b) {
  return std::memcmp(&a, &b, sizeof(GUID)) == 0;
}

GUID codec_guid(Codec codec) {
  switch (codec) {
    case Codec::H264:
      return NV_ENC_CODEC_H264_GUID;
    case Codec::HEVC:
      return NV_ENC_CODEC_HEVC_GUID;
    case Codec::AV1:
    case Codec::VP9:
      break;
  }
  throw UnsupportedConfig({std::string("codec: ") + to_string(codec) + " is not in NVENC API " +
                           std::to_string(NVENCAPI_MAJOR_VERSION) + "." +
                           std::to_string(NVENCAPI_MINOR_VERSION) +
                           " (this build's header); expected h264 or hevc"});
}

GUID preset_guid(const std::string& preset) {
  static const GUID guids[] = {NV_ENC_PRESET_P1_GUID, NV_ENC_PRESET_P2_GUID, NV_ENC_PRESET_P3_GUID,
                               NV_ENC_PRESET_P4_GUID, NV_ENC_PRESET_P5_GUID, NV_ENC_PRESET_P6_GUID,
                               NV_ENC_PRESET_P7_GUID};
  if (preset.empty()) return NV_ENC_PRESET_P4_GUID;
  for (size_t i = 0; i < std::size(kPresets); ++i)
    if (preset == kPresets[i]) return guids[i];
  throw Error(ErrorKind::Config, "NvidiaEncodeConfig.preset: '" + preset + "' is not one of " +
                                     quoted_list(kPresets, std::size(kPresets)));
}

NV_ENC_TUNING_INFO tuning_info(const std::string& tuning, bool low_latency) {
  if (tuning.empty())
    return low_latency ? NV_ENC_TUNING_INFO_LOW_LATENCY : NV_ENC_TUNING_INFO_HIGH_QUALITY;
  if (tuning == "hq") return NV_ENC_TUNING_INFO_HIGH_QUALITY;
  if (tuning == "ll") return NV_ENC_TUNING_INFO_LOW_LATENCY;
  if (tuning == "ull") return NV_ENC_TUNING_INFO_ULTRA_LOW_LATENCY;
  if (tuning == "lossless") return NV_ENC_TUNING_INFO_LOSSLESS;
  throw Error(ErrorKind::Config, "NvidiaEncodeConfig.tuning: '" + tuning + "' is not one of " +
                                     quoted_list(kTunings, std::size(kTunings)));
}

NV_ENC_PARAMS_RC_MODE rc_mode(RateControlMode mode) {
  switch (mode) {
    case RateControlMode::CBR:
      return NV_ENC_PARAMS_RC_CBR;
    case RateControlMode::VBR:
      return NV_ENC_PARAMS_RC_VBR;
    case RateControlMode::ConstQP:
      return NV_ENC_PARAMS_RC_CONSTQP;
  }
  return NV_ENC_PARAMS_RC_CBR;
}

void validate(const NvidiaEncodeConfig& c) {
  if (c.max_in_flight_outputs < 1 || c.max_in_flight_outputs > 64)
    throw Error(ErrorKind::Config, "NvidiaEncodeConfig.max_in_flight_outputs: " +
                                       std::to_string(c.max_in_flight_outputs) +
                                       " is outside 1..64");
  if (c.device < 0)
    throw Error(ErrorKind::Config, "NvidiaEncodeConfig.device: " + std::to_string(c.device) +
                                       " is negative; expected a CUDA device ordinal >= 0");
  preset_guid(c.preset);
  tuning_info(c.tuning, false);
}

std::vector<std::string> nvidia_config_problems(const CommonEncodeConfig& common,
                                                const NvidiaEncodeConfig& nvidia) {
  std::vector<std::string> problems;
  if (nvidia.tuning == "lossless" && common.rate_control.mode != RateControlMode::ConstQP)
    problems.push_back(std::string("NvidiaEncodeConfig.tuning: 'lossless' with rate_control ") +
                       to_string(common.rate_control.mode) +
                       "; expected RateControl.const_qp(...) (lossless has no bitrate target)");
  if (nvidia.max_in_flight_outputs < common.b_frames + 1)
    problems.push_back("NvidiaEncodeConfig.max_in_flight_outputs: " +
                       std::to_string(nvidia.max_in_flight_outputs) +
                       " cannot hold b_frames=" + std::to_string(common.b_frames) +
                       " (NVENC keeps the B inputs until the next P is encoded); expected >= " +
                       std::to_string(common.b_frames + 1));
  return problems;
}

EncodeSize max_encode_size(int width, int height, EncodeSize caps_max) {
  int tier = 8192;
  for (int side : {2048, 4096})
    if (width <= side && height <= side) {
      tier = side;
      break;
    }
  EncodeSize out;
  out.width = std::max(width, caps_max.width > 0 ? std::min(tier, caps_max.width) : tier);
  out.height = std::max(height, caps_max.height > 0 ? std::min(tier, caps_max.height) : tier);
  return out;
}

void apply_common(const CommonEncodeConfig& common, bool lossless, NV_ENC_CONFIG& config) {
  config.version = NV_ENC_CONFIG_VER;
  if (is_zero(config.profileGUID)) config.profileGUID = NV_ENC_CODEC_PROFILE_AUTOSELECT_GUID;
  config.gopLength = uint32_t(common.gop_length);
  config.frameIntervalP = common.b_frames + 1;
  config.frameFieldMode = NV_ENC_PARAMS_FRAME_FIELD_MODE_FRAME;
  if (!lossless) apply_rate_control(common.rate_control, common.low_latency, config.rcParams);
  // Every GOP starts with an IDR carrying its parameter sets, so a decoder (or a switch)
  // can start at any keyframe. B-frames are not references: GOP positions stay exact.
  if (common.codec == Codec::HEVC) {
    auto& hevc = config.encodeCodecConfig.hevcConfig;
    hevc.idrPeriod = uint32_t(common.gop_length);
    hevc.repeatSPSPPS = 1;
    hevc.useBFramesAsRef = NV_ENC_BFRAME_REF_MODE_DISABLED;
  } else {
    auto& h264 = config.encodeCodecConfig.h264Config;
    h264.idrPeriod = uint32_t(common.gop_length);
    h264.repeatSPSPPS = 1;
    h264.useBFramesAsRef = NV_ENC_BFRAME_REF_MODE_DISABLED;
  }
}

void map_settings(const CommonEncodeConfig& common, const NvidiaEncodeConfig& nvidia,
                  const NV_ENC_CONFIG& preset_config, NV_ENC_BUFFER_FORMAT input_format,
                  EncodeSize max_size, NvencSettings& out) {
  const NV_ENC_TUNING_INFO tuning = tuning_info(nvidia.tuning, common.low_latency);
  out.init = NV_ENC_INITIALIZE_PARAMS{};
  out.init.version = NV_ENC_INITIALIZE_PARAMS_VER;
  out.init.encodeGUID = codec_guid(common.codec);
  out.init.presetGUID = preset_guid(nvidia.preset);
  out.init.tuningInfo = tuning;
  out.init.encodeWidth = out.init.darWidth = uint32_t(common.width);
  out.init.encodeHeight = out.init.darHeight = uint32_t(common.height);
  out.init.frameRateNum = uint32_t(common.fps_num);
  out.init.frameRateDen = uint32_t(common.fps_den);
  out.init.enableEncodeAsync = 0;  // sync mode: the reap thread blocks in nvEncLockBitstream
  out.init.enablePTD = 1;          // the encoder decides picture types (GOP, B-frames)
  out.init.maxEncodeWidth = uint32_t(std::max(max_size.width, common.width));
  out.init.maxEncodeHeight = uint32_t(std::max(max_size.height, common.height));
  out.init.bufferFormat = input_format;
  out.config = preset_config;
  apply_common(common, tuning == NV_ENC_TUNING_INFO_LOSSLESS, out.config);
  out.params();
}

bool can_reconfigure(const CommonEncodeConfig& from, const CommonEncodeConfig& to,
                     EncodeSize max_size, const ReconfigureAbility& ability) {
  if (from.codec != to.codec || from.gop_length != to.gop_length || from.b_frames != to.b_frames ||
      from.frame_interval_p != to.frame_interval_p || from.low_latency != to.low_latency)
    return false;
  const RateControl& a = from.rate_control;
  const RateControl& b = to.rate_control;
  if (a.mode != b.mode && !ability.dynamic_rc_mode) return false;
  const bool rates_differ = a.bitrate_bps != b.bitrate_bps ||
                            a.max_bitrate_bps != b.max_bitrate_bps ||
                            a.vbv_buffer_bits != b.vbv_buffer_bits || a.qp_intra != b.qp_intra ||
                            a.qp_inter_p != b.qp_inter_p || a.qp_inter_b != b.qp_inter_b;
  if ((rates_differ || a.mode != b.mode) && !ability.dynamic_bitrate) return false;
  if (from.width != to.width || from.height != to.height) {
    if (!ability.dynamic_resolution) return false;
    if (to.width > max_size.width || to.height > max_size.height) return false;
  }
  return true;
}

}  // namespace videohw::nv_session
