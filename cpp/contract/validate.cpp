#include "contract/validate.hpp"

#include <algorithm>

#include "contract/errors.hpp"

namespace videohw {

namespace {

[[noreturn]] void config_error(const std::string& field, const std::string& what) {
  throw Error(ErrorKind::Config, "CommonEncodeConfig." + field + ": " + what);
}

void check_range(const char* field, int64_t value, int64_t lo, int64_t hi) {
  if (value < lo || value > hi)
    config_error(field, std::to_string(value) + " is outside " + std::to_string(lo) + ".." +
                            std::to_string(hi));
}

void validate_rate_control(const RateControl& rc) {
  constexpr int64_t kMinRate = 1'000, kMaxRate = 800'000'000;
  switch (rc.mode) {
    case RateControlMode::CBR:
      check_range("rate_control.bitrate_bps", rc.bitrate_bps, kMinRate, kMaxRate);
      break;
    case RateControlMode::VBR:
      check_range("rate_control.bitrate_bps", rc.bitrate_bps, kMinRate, kMaxRate);
      check_range("rate_control.max_bitrate_bps", rc.max_bitrate_bps, kMinRate, kMaxRate);
      if (rc.max_bitrate_bps < rc.bitrate_bps)
        config_error("rate_control.max_bitrate_bps",
                     std::to_string(rc.max_bitrate_bps) + " is below the average " +
                         std::to_string(rc.bitrate_bps) + "; expected max >= avg");
      break;
    case RateControlMode::ConstQP:
      check_range("rate_control.qp_intra", rc.qp_intra, 0, 51);
      check_range("rate_control.qp_inter_p", rc.qp_inter_p, 0, 51);
      check_range("rate_control.qp_inter_b", rc.qp_inter_b, 0, 51);
      break;
  }
  if (rc.vbv_buffer_bits != 0)
    check_range("rate_control.vbv_buffer_bits", rc.vbv_buffer_bits, 1'000, 1'600'000'000);
}

template <typename T>
bool contains(const std::vector<T>& items, const T& item) {
  return std::find(items.begin(), items.end(), item) != items.end();
}

std::string list_modes(const std::vector<RateControlMode>& modes) {
  std::string text;
  for (auto m : modes) text += (text.empty() ? "" : ", ") + std::string(to_string(m));
  return text;
}

}  // namespace

void validate(const CommonEncodeConfig& c) {
  check_range("width", c.width, 16, 16384);
  check_range("height", c.height, 16, 16384);
  if (c.width % 2)
    config_error("width", std::to_string(c.width) + " is odd; 4:2:0 needs an even width");
  if (c.height % 2)
    config_error("height", std::to_string(c.height) + " is odd; 4:2:0 needs an even height");
  check_range("fps_num", c.fps_num, 1, 1'000'000);
  check_range("fps_den", c.fps_den, 1, 1'000'000);
  if (c.fps_num > int64_t{1000} * c.fps_den)
    config_error("fps_num", std::to_string(c.fps_num) + "/" + std::to_string(c.fps_den) +
                                " fps is above the maximum of 1000");
  check_range("gop_length", c.gop_length, 1, 100'000);
  check_range("b_frames", c.b_frames, 0, 16);
  if (c.frame_interval_p != c.b_frames + 1)
    config_error("frame_interval_p", std::to_string(c.frame_interval_p) +
                                         " does not match b_frames=" + std::to_string(c.b_frames) +
                                         "; expected b_frames + 1");
  if (c.low_latency && c.b_frames > 0)
    config_error("b_frames", std::to_string(c.b_frames) + " with low_latency=True; expected 0");
  validate_rate_control(c.rate_control);
}

void validate(const SoftwareEncodeConfig& s) {
  if (s.max_in_flight < 1 || s.max_in_flight > 64)
    throw Error(ErrorKind::Config, "SoftwareEncodeConfig.max_in_flight: " +
                                       std::to_string(s.max_in_flight) + " is outside 1..64");
  if (s.threads < 0 || s.threads > 64)
    throw Error(ErrorKind::Config, "SoftwareEncodeConfig.threads: " + std::to_string(s.threads) +
                                       " is outside 0..64 (0 = automatic)");
}

std::vector<std::string> unsupported_fields(const Capabilities& caps, const CommonEncodeConfig& c) {
  std::vector<std::string> problems;
  const std::string who = caps.backend + " " + to_string(caps.codec);
  if (c.codec != caps.codec)
    problems.push_back(std::string("codec: ") + to_string(c.codec) + " is not " + who);
  if (caps.max_width == 0) {
    problems.push_back(std::string("codec: ") + to_string(c.codec) + " cannot be encoded by the " +
                       caps.backend + " backend");
    return problems;
  }
  if (c.width < caps.min_width || c.width > caps.max_width)
    problems.push_back("width: " + std::to_string(c.width) + " is outside " + who + "'s " +
                       std::to_string(caps.min_width) + ".." + std::to_string(caps.max_width));
  if (c.height < caps.min_height || c.height > caps.max_height)
    problems.push_back("height: " + std::to_string(c.height) + " is outside " + who + "'s " +
                       std::to_string(caps.min_height) + ".." + std::to_string(caps.max_height));
  if (c.b_frames > caps.max_b_frames)
    problems.push_back("b_frames: " + std::to_string(c.b_frames) + " exceeds " + who +
                       "'s maximum of " + std::to_string(caps.max_b_frames));
  if (c.gop_length > caps.max_gop_length)
    problems.push_back("gop_length: " + std::to_string(c.gop_length) + " exceeds " + who +
                       "'s maximum of " + std::to_string(caps.max_gop_length));
  if (!contains(caps.rate_control_modes, c.rate_control.mode))
    problems.push_back(std::string("rate_control: ") + to_string(c.rate_control.mode) +
                       " is not supported by " + who +
                       " (supported: " + list_modes(caps.rate_control_modes) + ")");
  if (c.low_latency && !caps.low_latency)
    problems.push_back("low_latency: not supported by " + who);
  return problems;
}

void negotiate(const Capabilities& caps, const CommonEncodeConfig& config,
               const std::vector<std::string>& extra) {
  validate(config);
  auto problems = unsupported_fields(caps, config);
  problems.insert(problems.end(), extra.begin(), extra.end());
  if (!problems.empty()) throw UnsupportedConfig(std::move(problems));
}

}  // namespace videohw
