// software/encoder_options: how the common contract maps onto libx264 / libx265 options.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>

#include "contract/errors.hpp"
#include "software/encoder_options.hpp"
#include "support/frames.hpp"

using namespace videohw;
using software::EncoderOptions;
using software::map_encoder_options;
using software::option_value;

namespace {

// "a=1:b=2" -> {a: 1, b: 2}
std::map<std::string, std::string> parse_params(const std::string& text) {
  std::map<std::string, std::string> out;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find(':', pos);
    if (end == std::string::npos) end = text.size();
    const std::string item = text.substr(pos, end - pos);
    const size_t eq = item.find('=');
    if (!item.empty()) out[item.substr(0, eq)] = eq == std::string::npos ? "" : item.substr(eq + 1);
    pos = end + 1;
  }
  return out;
}

std::map<std::string, std::string> params(const EncoderOptions& o, Codec codec) {
  const std::string key = codec == Codec::HEVC ? "x265-params" : "x264-params";
  const std::string text = option_value(o, key);
  EXPECT_FALSE(text.empty()) << key << " missing";
  return parse_params(text);
}

CommonEncodeConfig config(Codec codec = Codec::H264) {
  auto c = vhtest::small_config(codec, 320, 240);
  c.gop_length = 48;
  return c;
}

}  // namespace

class GopParams : public ::testing::TestWithParam<Codec> {};

TEST_P(GopParams, ContainKeyintMinKeyintNoScenecutClosedGopAndBframes) {
  auto c = config(GetParam());
  c.b_frames = 3;
  c.frame_interval_p = 4;
  const auto o = map_encoder_options(c, SoftwareEncodeConfig{});
  auto p = params(o, GetParam());
  EXPECT_EQ(p["keyint"], "48");
  EXPECT_EQ(p["min-keyint"], "48");
  EXPECT_EQ(p["scenecut"], "0");
  EXPECT_EQ(p["open-gop"], "0");
  EXPECT_EQ(p["bframes"], "3");
  EXPECT_EQ(o.gop_size, 48);
  EXPECT_EQ(o.max_b_frames, 3);
}

INSTANTIATE_TEST_SUITE_P(Codecs, GopParams, ::testing::Values(Codec::H264, Codec::HEVC),
                         [](const auto& info) { return std::string(to_string(info.param)); });

TEST(EncoderOptions, EncoderNamePerCodec) {
  EXPECT_EQ(map_encoder_options(config(Codec::H264), {}).encoder_name, "libx264");
  EXPECT_EQ(map_encoder_options(config(Codec::HEVC), {}).encoder_name, "libx265");
}

TEST(EncoderOptions, Av1HasNoSoftwareEncoder) {
  try {
    map_encoder_options(config(Codec::AV1), {});
    FAIL() << "AV1 mapped";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::UnsupportedConfig);
  }
}

TEST(EncoderOptions, CbrSetsBitrateEqualToVbvMaxrate) {
  auto c = config();
  c.rate_control.mode = RateControlMode::CBR;
  c.rate_control.bitrate_bps = 4'000'000;
  auto p = params(map_encoder_options(c, {}), Codec::H264);
  EXPECT_EQ(p["bitrate"], "4000");
  EXPECT_EQ(p["vbv-maxrate"], "4000");
  EXPECT_EQ(p["vbv-bufsize"], "4000");  // one second of the rate by default
}

TEST(EncoderOptions, CbrUsesTheGivenVbvBuffer) {
  auto c = config();
  c.rate_control.bitrate_bps = 4'000'000;
  c.rate_control.vbv_buffer_bits = 2'000'000;
  auto p = params(map_encoder_options(c, {}), Codec::H264);
  EXPECT_EQ(p["vbv-bufsize"], "2000");
}

TEST(EncoderOptions, VbrSetsVbvMaxrateToTheMaximum) {
  auto c = config(Codec::HEVC);
  c.rate_control.mode = RateControlMode::VBR;
  c.rate_control.bitrate_bps = 4'000'000;
  c.rate_control.max_bitrate_bps = 6'000'000;
  auto p = params(map_encoder_options(c, {}), Codec::HEVC);
  EXPECT_EQ(p["bitrate"], "4000");
  EXPECT_EQ(p["vbv-maxrate"], "6000");
  EXPECT_EQ(p["vbv-bufsize"], "6000");  // one second of the peak rate by default
}

TEST(EncoderOptions, ConstQpRatiosGiveTheConfiguredIntraAndBQp) {
  auto c = config();
  c.rate_control.mode = RateControlMode::ConstQP;
  c.rate_control.qp_intra = 22;
  c.rate_control.qp_inter_p = 25;
  c.rate_control.qp_inter_b = 29;
  auto p = params(map_encoder_options(c, {}), Codec::H264);
  EXPECT_EQ(p["qp"], "25");
  EXPECT_EQ(p.count("bitrate"), 0u);
  // x264/x265: qp_I = qp_P - 6*log2(ipratio), qp_B = qp_P + 6*log2(pbratio).
  const double ip = std::stod(p["ipratio"]), pb = std::stod(p["pbratio"]);
  EXPECT_NEAR(25 - 6 * std::log2(ip), 22.0, 1e-3);
  EXPECT_NEAR(25 + 6 * std::log2(pb), 29.0, 1e-3);
}

TEST(EncoderOptions, ConstQpWithEqualQpsHasUnitRatios) {
  auto c = config(Codec::HEVC);
  c.rate_control.mode = RateControlMode::ConstQP;
  c.rate_control.qp_intra = c.rate_control.qp_inter_p = c.rate_control.qp_inter_b = 30;
  auto p = params(map_encoder_options(c, {}), Codec::HEVC);
  EXPECT_EQ(p["qp"], "30");
  EXPECT_DOUBLE_EQ(std::stod(p["ipratio"]), 1.0);
  EXPECT_DOUBLE_EQ(std::stod(p["pbratio"]), 1.0);
}

TEST(EncoderOptions, LowLatencySetsZerolatencyTuneAndSliceThreads) {
  auto c = config();
  c.low_latency = true;
  const auto o = map_encoder_options(c, {});
  EXPECT_EQ(option_value(o, "tune"), "zerolatency");
  EXPECT_EQ(o.thread_type, FF_THREAD_SLICE);
}

TEST(EncoderOptions, LowLatencyAddsZerolatencyToAnX264Tune) {
  auto c = config();
  c.low_latency = true;
  SoftwareEncodeConfig s;
  s.tune = "film";
  EXPECT_EQ(option_value(map_encoder_options(c, s), "tune"), "film,zerolatency");
}

TEST(EncoderOptions, WithoutLowLatencyTheTuneIsLeftAloneAndThreadTypeDefault) {
  SoftwareEncodeConfig s;
  s.tune = "animation";
  const auto o = map_encoder_options(config(), s);
  EXPECT_EQ(option_value(o, "tune"), "animation");
  EXPECT_EQ(o.thread_type, 0);
  EXPECT_EQ(option_value(map_encoder_options(config(), {}), "tune"), "");
}

TEST(EncoderOptions, ForcedIdrIsAlwaysOn) {
  EXPECT_EQ(option_value(map_encoder_options(config(Codec::H264), {}), "forced-idr"), "1");
  EXPECT_EQ(option_value(map_encoder_options(config(Codec::HEVC), {}), "forced-idr"), "1");
}

TEST(EncoderOptions, PresetAndThreadsArePassedThrough) {
  SoftwareEncodeConfig s;
  s.preset = "ultrafast";
  s.threads = 3;
  const auto o = map_encoder_options(config(), s);
  EXPECT_EQ(option_value(o, "preset"), "ultrafast");
  EXPECT_EQ(o.thread_count, 3);
}

TEST(EncoderOptions, X265WithATuneAndLowLatencyIsAConfigError) {
  auto c = config(Codec::HEVC);
  c.low_latency = true;
  SoftwareEncodeConfig s;
  s.tune = "grain";
  try {
    map_encoder_options(c, s);
    FAIL() << "x265 with two tunes mapped";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Config);
    EXPECT_NE(std::string(e.what()).find("SoftwareEncodeConfig.tune"), std::string::npos);
  }
}

TEST(EncoderOptions, X265RepeatsHeadersForInBandParameterSets) {
  auto p = params(map_encoder_options(config(Codec::HEVC), {}), Codec::HEVC);
  EXPECT_EQ(p["repeat-headers"], "1");
}
