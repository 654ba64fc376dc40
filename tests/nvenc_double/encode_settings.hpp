// The part of an NVENC session configuration the double acts on, read out of
// NV_ENC_INITIALIZE_PARAMS / NV_ENC_CONFIG, and the preset defaults it hands out.
#pragma once

#include <ffnvcodec/nvEncodeAPI.h>

#include <string>

namespace nvdouble {

enum class CodecKind { H264, HEVC };

struct EncodeSettings {
  CodecKind codec = CodecKind::H264;
  int preset = 4;  // P1..P7
  NV_ENC_TUNING_INFO tuning = NV_ENC_TUNING_INFO_HIGH_QUALITY;
  int width = 0, height = 0;
  int max_width = 0, max_height = 0;  // = width/height when the client gave 0
  bool dynamic_size = false;          // the client gave maxEncodeWidth/Height
  int fps_num = 30, fps_den = 1;
  uint32_t gop_length = 0;  // 0: infinite (NVENC_INFINITE_GOPLENGTH)
  uint32_t idr_period = 0;  // 0: infinite
  int frame_interval_p = 1;
  NV_ENC_PARAMS_RC_MODE rc_mode = NV_ENC_PARAMS_RC_VBR;
  uint32_t average_bitrate = 0, max_bitrate = 0, vbv_buffer_size = 0;
  int qp_intra = 20, qp_inter_p = 23, qp_inter_b = 25;

  int b_frames() const { return frame_interval_p > 1 ? frame_interval_p - 1 : 0; }
};

bool guid_equal(const GUID& a, const GUID& b);
// Preset GUID -> 1..7, or 0 when it is not one of P1..P7.
int preset_number(const GUID& preset);
// Codec GUID -> kind; false when neither H.264 nor HEVC.
bool codec_kind(const GUID& codec, CodecKind& kind);

// The configuration nvEncGetEncodePresetConfigEx returns (version fields left to the caller).
void fill_preset_config(CodecKind codec, int preset, NV_ENC_TUNING_INFO tuning, int max_b_frames,
                        NV_ENC_CONFIG& config);

// Reads the session settings. Returns NV_ENC_SUCCESS, or the status the driver gives for the
// first bad field with `error` saying which and what was expected.
NVENCSTATUS read_settings(const NV_ENC_INITIALIZE_PARAMS& params, int max_b_frames,
                          EncodeSettings& out, std::string& error);

}  // namespace nvdouble
