#include "encode_settings.hpp"

#include <cstring>

namespace nvdouble {

bool guid_equal(const GUID& a, const GUID& b) {
  return std::memcmp(&a, &b, sizeof(GUID)) == 0;
}

int preset_number(const GUID& preset) {
  const GUID* presets[] = {&NV_ENC_PRESET_P1_GUID, &NV_ENC_PRESET_P2_GUID, &NV_ENC_PRESET_P3_GUID,
                           &NV_ENC_PRESET_P4_GUID, &NV_ENC_PRESET_P5_GUID, &NV_ENC_PRESET_P6_GUID,
                           &NV_ENC_PRESET_P7_GUID};
  for (int i = 0; i < 7; ++i)
    if (guid_equal(preset, *presets[i])) return i + 1;
  return 0;
}

bool codec_kind(const GUID& codec, CodecKind& kind) {
  if (guid_equal(codec, NV_ENC_CODEC_H264_GUID))
    kind = CodecKind::H264;
  else if (guid_equal(codec, NV_ENC_CODEC_HEVC_GUID))
    kind = CodecKind::HEVC;
  else
    return false;
  return true;
}

void fill_preset_config(CodecKind codec, int preset, NV_ENC_TUNING_INFO tuning, int max_b_frames,
                        NV_ENC_CONFIG& config) {
  const uint32_t version = config.version;
  std::memset(&config, 0, sizeof(config));
  config.version = version;
  config.profileGUID = NV_ENC_CODEC_PROFILE_AUTOSELECT_GUID;
  const bool latency =
      tuning == NV_ENC_TUNING_INFO_LOW_LATENCY || tuning == NV_ENC_TUNING_INFO_ULTRA_LOW_LATENCY;
  // As the driver does: latency tunings use an infinite GOP without B-frames; the quality
  // tunings use B-frames from P3 up.
  config.gopLength = latency ? NVENC_INFINITE_GOPLENGTH : 250;
  config.frameIntervalP = !latency && preset >= 3 && max_b_frames >= 2 ? 3 : 1;
  config.rcParams.version = NV_ENC_RC_PARAMS_VER;
  if (tuning == NV_ENC_TUNING_INFO_LOSSLESS) {
    config.rcParams.rateControlMode = NV_ENC_PARAMS_RC_CONSTQP;
  } else {
    config.rcParams.rateControlMode = latency ? NV_ENC_PARAMS_RC_CBR : NV_ENC_PARAMS_RC_VBR;
    config.rcParams.constQP = {28, 31, 25};
  }
  if (codec == CodecKind::H264)
    config.encodeCodecConfig.h264Config.idrPeriod = config.gopLength;
  else
    config.encodeCodecConfig.hevcConfig.idrPeriod = config.gopLength;
}

namespace {

uint32_t finite(uint32_t frames) {
  return frames == NVENC_INFINITE_GOPLENGTH ? 0 : frames;
}

}  // namespace

NVENCSTATUS read_settings(const NV_ENC_INITIALIZE_PARAMS& p, int max_b_frames, EncodeSettings& s,
                          std::string& error) {
  if (!codec_kind(p.encodeGUID, s.codec)) {
    error = "encodeGUID is neither NV_ENC_CODEC_H264_GUID nor NV_ENC_CODEC_HEVC_GUID";
    return NV_ENC_ERR_INVALID_PARAM;
  }
  s.preset = preset_number(p.presetGUID);
  if (s.preset == 0) {
    error = "presetGUID is not one of NV_ENC_PRESET_P1_GUID..NV_ENC_PRESET_P7_GUID";
    return NV_ENC_ERR_INVALID_PARAM;
  }
  s.tuning = p.tuningInfo;
  if (s.tuning == NV_ENC_TUNING_INFO_UNDEFINED || s.tuning >= NV_ENC_TUNING_INFO_COUNT) {
    error = "tuningInfo " + std::to_string(int(s.tuning)) + " is not a valid NV_ENC_TUNING_INFO";
    return NV_ENC_ERR_INVALID_PARAM;
  }
  if (p.encodeWidth == 0 || p.encodeHeight == 0) {
    error = "encodeWidth/encodeHeight must be set";
    return NV_ENC_ERR_INVALID_PARAM;
  }
  s.width = int(p.encodeWidth);
  s.height = int(p.encodeHeight);
  s.dynamic_size = p.maxEncodeWidth != 0 || p.maxEncodeHeight != 0;
  s.max_width = p.maxEncodeWidth ? int(p.maxEncodeWidth) : s.width;
  s.max_height = p.maxEncodeHeight ? int(p.maxEncodeHeight) : s.height;
  if (s.width > s.max_width || s.height > s.max_height) {
    error = "encode size " + std::to_string(s.width) + "x" + std::to_string(s.height) +
            " exceeds maxEncodeWidth/Height " + std::to_string(s.max_width) + "x" +
            std::to_string(s.max_height);
    return NV_ENC_ERR_INVALID_PARAM;
  }
  if (p.frameRateNum == 0 || p.frameRateDen == 0) {
    error = "frameRateNum/frameRateDen must both be non-zero";
    return NV_ENC_ERR_INVALID_PARAM;
  }
  s.fps_num = int(p.frameRateNum);
  s.fps_den = int(p.frameRateDen);

  NV_ENC_CONFIG defaults{};
  const NV_ENC_CONFIG* config = p.encodeConfig;
  if (!config) {
    fill_preset_config(s.codec, s.preset, s.tuning, max_b_frames, defaults);
    config = &defaults;
  }
  s.gop_length = finite(config->gopLength);
  if (config->frameIntervalP < 1) {
    error = "frameIntervalP " + std::to_string(config->frameIntervalP) +
            ": the double emulates frameIntervalP >= 1 (0 = intra-only is not emulated)";
    return NV_ENC_ERR_UNSUPPORTED_PARAM;
  }
  s.frame_interval_p = config->frameIntervalP;
  const uint32_t idr = s.codec == CodecKind::H264 ? config->encodeCodecConfig.h264Config.idrPeriod
                                                  : config->encodeCodecConfig.hevcConfig.idrPeriod;
  s.idr_period = idr == 0 ? s.gop_length : finite(idr);
  const NV_ENC_RC_PARAMS& rc = config->rcParams;
  if (rc.rateControlMode != NV_ENC_PARAMS_RC_CONSTQP &&
      rc.rateControlMode != NV_ENC_PARAMS_RC_VBR && rc.rateControlMode != NV_ENC_PARAMS_RC_CBR) {
    error =
        "rateControlMode " + std::to_string(int(rc.rateControlMode)) +
        ": expected NV_ENC_PARAMS_RC_CONSTQP, _VBR or _CBR (the deprecated modes are not emulated)";
    return NV_ENC_ERR_UNSUPPORTED_PARAM;
  }
  s.rc_mode = rc.rateControlMode;
  s.average_bitrate = rc.averageBitRate;
  s.max_bitrate = rc.maxBitRate;
  s.vbv_buffer_size = rc.vbvBufferSize;
  s.qp_intra = int(rc.constQP.qpIntra);
  s.qp_inter_p = int(rc.constQP.qpInterP);
  s.qp_inter_b = int(rc.constQP.qpInterB);
  if (s.rc_mode == NV_ENC_PARAMS_RC_CONSTQP &&
      (s.qp_inter_p < 0 || s.qp_inter_p > 51 || s.qp_intra < 0 || s.qp_intra > 51 ||
       s.qp_inter_b < 0 || s.qp_inter_b > 51)) {
    error = "constQP values must lie in 0..51";
    return NV_ENC_ERR_INVALID_PARAM;
  }
  return NV_ENC_SUCCESS;
}

}  // namespace nvdouble
