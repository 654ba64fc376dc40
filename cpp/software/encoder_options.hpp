// How the common contract maps onto libx264 / libx265 through libavcodec. Kept apart from
// the adapter so tests can read the mapping and the encoder-only benchmark can open an
// encoder with exactly the adapter's settings.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "contract/types.hpp"
#include "software/ffmpeg_ptr.hpp"

namespace videohw::software {

struct EncoderOptions {
  std::string encoder_name;  // libavcodec encoder: "libx264" or "libx265"
  // Set on the encoder's private context: preset, tune, forced-idr, x264-params/x265-params.
  std::vector<std::pair<std::string, std::string>> private_options;
  int thread_count = 0;
  int thread_type = 0;  // 0: libavcodec default
  int gop_size = 0;
  int max_b_frames = 0;
};

// What the mapping cannot express faithfully. Const-QP I and B QPs are derived through
// ipratio/pbratio, which libx264/libx265 clamp to 0.01..10: so qp_P - qp_I and
// qp_B - qp_P must lie in -39..19, or the encoder would silently use other QPs.
std::vector<std::string> software_config_problems(const CommonEncodeConfig& common);

EncoderOptions map_encoder_options(const CommonEncodeConfig& common,
                                   const SoftwareEncodeConfig& software);

// The libavcodec pixel format an encoder context is opened with (4:2:0 planar).
constexpr AVPixelFormat kEncoderPixelFormat = AV_PIX_FMT_YUV420P;

// Opens an encoder context with the mapped options. Throws Error(BackendUnavailable)
// when the encoder is not in this libavcodec, Error(Encode) when opening fails.
// `log_owner` becomes the context's opaque before it opens, so what the encoder logs while
// opening is counted for its owner too (media/ffmpeg_log_owner.hpp).
UniqueAVCodecContext open_encoder(const CommonEncodeConfig& common, const EncoderOptions& options,
                                  const void* log_owner = nullptr);

// Whether a libx264 encoder running `from` can take `to` in place: libavcodec re-applies
// AVCodecContext bit_rate / rc_max_rate / rc_buffer_size to x264 before every frame, so the
// ABR family (CBR, VBR) can change rates and VBV; everything else needs a new encoder.
bool can_reconfigure_in_place(const CommonEncodeConfig& from, const CommonEncodeConfig& to);

// Writes the rate-control fields libavcodec compares against x264's on every frame.
void set_rate_fields(AVCodecContext* ctx, const CommonEncodeConfig& config);

// Value of one private option ("" when absent): for tests and diagnostics.
std::string option_value(const EncoderOptions& options, const std::string& key);

}  // namespace videohw::software
