// contract/: config validation, capability negotiation, frame layouts.
#include <gtest/gtest.h>

#include <string>

#include "contract/errors.hpp"
#include "contract/frame_layout.hpp"
#include "contract/validate.hpp"
#include "support/frames.hpp"

using namespace videohw;

namespace {

CommonEncodeConfig valid() {
  return vhtest::small_config(Codec::H264, 64, 48);
}

// Runs validate() and returns the Config error's message ("" and a failure if none).
std::string config_error(const CommonEncodeConfig& c) {
  try {
    validate(c);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Config) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "validate() accepted the config";
  return "";
}

std::string frame_error(PixelFormat format, int width, int height, size_t size, int pitch) {
  std::vector<uint8_t> buffer(size + 1);
  try {
    describe_frame(format, width, height, buffer.data(), size, pitch);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidFrame) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "describe_frame() accepted the frame";
  return "";
}

Capabilities software_like_caps() {
  Capabilities caps;
  caps.backend = "test";
  caps.codec = Codec::H264;
  caps.min_width = caps.min_height = 16;
  caps.max_width = caps.max_height = 4096;
  caps.max_b_frames = 2;
  caps.max_gop_length = 1000;
  caps.rate_control_modes = {RateControlMode::CBR};
  caps.low_latency = false;
  return caps;
}

}  // namespace

// ---- validate ---------------------------------------------------------------------------

TEST(Validate, AcceptsTheSmallDefaultConfig) {
  EXPECT_NO_THROW(validate(valid()));
}

TEST(Validate, RejectsOddWidthNamingTheField) {
  auto c = valid();
  c.width = 1279;
  const auto msg = config_error(c);
  EXPECT_NE(msg.find("CommonEncodeConfig.width"), std::string::npos) << msg;
  EXPECT_NE(msg.find("1279"), std::string::npos) << msg;
  EXPECT_NE(msg.find("odd"), std::string::npos) << msg;
}

TEST(Validate, RejectsOddHeightNamingTheField) {
  auto c = valid();
  c.height = 47;
  const auto msg = config_error(c);
  EXPECT_NE(msg.find("CommonEncodeConfig.height"), std::string::npos) << msg;
}

TEST(Validate, RejectsZeroFpsNamingTheField) {
  auto c = valid();
  c.fps_num = 0;
  const auto msg = config_error(c);
  EXPECT_NE(msg.find("fps_num"), std::string::npos) << msg;
  EXPECT_NE(msg.find("0"), std::string::npos) << msg;
}

TEST(Validate, RejectsFrameIntervalPThatIsNotBFramesPlusOne) {
  auto c = valid();
  c.b_frames = 2;
  c.frame_interval_p = 2;
  const auto msg = config_error(c);
  EXPECT_NE(msg.find("frame_interval_p"), std::string::npos) << msg;
  EXPECT_NE(msg.find("b_frames + 1"), std::string::npos) << msg;
}

TEST(Validate, RejectsBFramesWithLowLatency) {
  auto c = valid();
  c.low_latency = true;
  c.b_frames = 1;
  c.frame_interval_p = 2;
  const auto msg = config_error(c);
  EXPECT_NE(msg.find("b_frames"), std::string::npos) << msg;
  EXPECT_NE(msg.find("low_latency"), std::string::npos) << msg;
}

TEST(Validate, RejectsVbrMaxBelowAverageNamingTheField) {
  auto c = valid();
  c.rate_control.mode = RateControlMode::VBR;
  c.rate_control.bitrate_bps = 2'000'000;
  c.rate_control.max_bitrate_bps = 1'000'000;
  const auto msg = config_error(c);
  EXPECT_NE(msg.find("rate_control.max_bitrate_bps"), std::string::npos) << msg;
  EXPECT_NE(msg.find("1000000"), std::string::npos) << msg;
  EXPECT_NE(msg.find("2000000"), std::string::npos) << msg;
}

TEST(Validate, RejectsQp52NamingTheField) {
  auto c = valid();
  c.rate_control.mode = RateControlMode::ConstQP;
  c.rate_control.qp_intra = 52;
  c.rate_control.qp_inter_p = 30;
  c.rate_control.qp_inter_b = 30;
  const auto msg = config_error(c);
  EXPECT_NE(msg.find("rate_control.qp_intra"), std::string::npos) << msg;
  EXPECT_NE(msg.find("52"), std::string::npos) << msg;
  EXPECT_NE(msg.find("0..51"), std::string::npos) << msg;
}

TEST(Validate, AcceptsQp51AndQp0) {
  auto c = valid();
  c.rate_control.mode = RateControlMode::ConstQP;
  c.rate_control.qp_intra = 0;
  c.rate_control.qp_inter_p = 51;
  c.rate_control.qp_inter_b = 51;
  EXPECT_NO_THROW(validate(c));
}

TEST(Validate, RejectsSoftwareThreadsAbove64) {
  SoftwareEncodeConfig s;
  s.threads = 65;
  try {
    validate(s);
    FAIL() << "threads=65 accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Config);
    EXPECT_NE(std::string(e.what()).find("SoftwareEncodeConfig.threads"), std::string::npos);
  }
}

// ---- negotiation ------------------------------------------------------------------------

TEST(Negotiate, UnsupportedFieldsIsEmptyForASupportedConfig) {
  EXPECT_TRUE(unsupported_fields(software_like_caps(), valid()).empty());
}

TEST(Negotiate, UnsupportedFieldsListsEveryProblemAtOnce) {
  auto c = valid();
  c.width = 8192;
  c.b_frames = 4;
  c.frame_interval_p = 5;
  c.gop_length = 5000;
  c.rate_control.mode = RateControlMode::VBR;
  c.rate_control.max_bitrate_bps = 8'000'000;
  const auto problems = unsupported_fields(software_like_caps(), c);
  ASSERT_EQ(problems.size(), 4u);
  EXPECT_EQ(problems[0].rfind("width:", 0), 0u) << problems[0];
  EXPECT_EQ(problems[1].rfind("b_frames:", 0), 0u) << problems[1];
  EXPECT_EQ(problems[2].rfind("gop_length:", 0), 0u) << problems[2];
  EXPECT_EQ(problems[3].rfind("rate_control:", 0), 0u) << problems[3];
}

TEST(Negotiate, UnsupportedFieldsNamesCodecHeightAndLowLatency) {
  auto c = valid();
  c.codec = Codec::HEVC;
  c.height = 8;  // below min_height (validate() would refuse it too; this is caps only)
  c.low_latency = true;
  const auto problems = unsupported_fields(software_like_caps(), c);
  ASSERT_EQ(problems.size(), 3u);
  EXPECT_EQ(problems[0].rfind("codec:", 0), 0u) << problems[0];
  EXPECT_EQ(problems[1].rfind("height:", 0), 0u) << problems[1];
  EXPECT_EQ(problems[2].rfind("low_latency:", 0), 0u) << problems[2];
}

TEST(Negotiate, ThrowsUnsupportedConfigCarryingProblems) {
  auto c = valid();
  c.width = 8192;
  c.low_latency = true;
  try {
    negotiate(software_like_caps(), c);
    FAIL() << "negotiate accepted an unsupported config";
  } catch (const UnsupportedConfig& e) {
    EXPECT_EQ(e.kind(), ErrorKind::UnsupportedConfig);
    ASSERT_EQ(e.problems().size(), 2u);
    const std::string msg = e.what();
    EXPECT_NE(msg.find("2 problems"), std::string::npos) << msg;
    EXPECT_NE(msg.find(e.problems()[0]), std::string::npos) << msg;
    EXPECT_NE(msg.find(e.problems()[1]), std::string::npos) << msg;
  }
}

TEST(Negotiate, ThrowsConfigErrorForAnInvalidConfigBeforeCheckingCapabilities) {
  auto c = valid();
  c.width = 63;
  try {
    negotiate(software_like_caps(), c);
    FAIL() << "negotiate accepted an invalid config";
  } catch (const UnsupportedConfig&) {
    FAIL() << "an invalid config is a ConfigError, not UnsupportedConfig";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Config);
  }
}

// ---- describe_frame ---------------------------------------------------------------------

TEST(DescribeFrame, I420PlanesAndStridesWithLargerPitch) {
  const int w = 64, h = 48, pitch = 80;
  std::vector<uint8_t> buf(frame_bytes(PixelFormat::I420, h, pitch));
  ASSERT_EQ(buf.size(), size_t(h * pitch + 2 * (h / 2) * (pitch / 2)));
  const FrameView v = describe_frame(PixelFormat::I420, w, h, buf.data(), buf.size(), pitch);
  EXPECT_EQ(v.plane_count, 3);
  EXPECT_EQ(v.width, w);
  EXPECT_EQ(v.height, h);
  EXPECT_EQ(v.planes[0], buf.data());
  EXPECT_EQ(v.planes[1], buf.data() + h * pitch);
  EXPECT_EQ(v.planes[2], buf.data() + h * pitch + (h / 2) * (pitch / 2));
  EXPECT_EQ(v.strides[0], pitch);
  EXPECT_EQ(v.strides[1], pitch / 2);
  EXPECT_EQ(v.strides[2], pitch / 2);
}

TEST(DescribeFrame, Nv12PlanesAndStridesWithLargerPitch) {
  const int w = 64, h = 48, pitch = 96;
  std::vector<uint8_t> buf(frame_bytes(PixelFormat::NV12, h, pitch));
  ASSERT_EQ(buf.size(), size_t(h * pitch * 3 / 2));
  const FrameView v = describe_frame(PixelFormat::NV12, w, h, buf.data(), buf.size(), pitch);
  EXPECT_EQ(v.plane_count, 2);
  EXPECT_EQ(v.planes[0], buf.data());
  EXPECT_EQ(v.planes[1], buf.data() + h * pitch);
  EXPECT_EQ(v.planes[2], nullptr);
  EXPECT_EQ(v.strides[0], pitch);
  EXPECT_EQ(v.strides[1], pitch);
}

TEST(DescribeFrame, PackedFormatsAreOnePlaneWithTheGivenPitch) {
  struct Case {
    PixelFormat format;
    int min_pitch;
  };
  for (auto [format, min_pitch] :
       {Case{PixelFormat::ARGB8888, 4 * 64}, Case{PixelFormat::BGRA, 4 * 64},
        Case{PixelFormat::RGB24, 3 * 64}}) {
    SCOPED_TRACE(to_string(format));
    EXPECT_EQ(minimum_pitch(format, 64), min_pitch);
    const int pitch = min_pitch + 20;
    std::vector<uint8_t> buf(size_t(48) * pitch);
    const FrameView v = describe_frame(format, 64, 48, buf.data(), buf.size(), pitch);
    EXPECT_EQ(v.plane_count, 1);
    EXPECT_EQ(v.planes[0], buf.data());
    EXPECT_EQ(v.strides[0], pitch);
    EXPECT_EQ(v.format, format);
  }
}

TEST(DescribeFrame, PitchZeroMeansTheMinimum) {
  std::vector<uint8_t> buf(size_t(48) * 64 * 3);
  const FrameView v = describe_frame(PixelFormat::RGB24, 64, 48, buf.data(), buf.size(), 0);
  EXPECT_EQ(v.strides[0], 64 * 3);
}

TEST(DescribeFrame, WrongByteCountSaysGivenAndNeeded) {
  const size_t needed = frame_bytes(PixelFormat::I420, 48, 64);
  ASSERT_EQ(needed, 4608u);
  const auto msg = frame_error(PixelFormat::I420, 64, 48, needed - 1, 0);
  EXPECT_NE(msg.find("needs 4608 bytes"), std::string::npos) << msg;
  EXPECT_NE(msg.find("4607"), std::string::npos) << msg;
}

TEST(DescribeFrame, TooManyBytesIsAlsoRejected) {
  const size_t needed = frame_bytes(PixelFormat::BGRA, 48, 256);
  const auto msg = frame_error(PixelFormat::BGRA, 64, 48, needed + 1, 0);
  EXPECT_NE(msg.find(std::to_string(needed)), std::string::npos) << msg;
  EXPECT_NE(msg.find(std::to_string(needed + 1)), std::string::npos) << msg;
}

TEST(DescribeFrame, OddPitchRejectedFor420Formats) {
  for (auto format : {PixelFormat::I420, PixelFormat::NV12}) {
    SCOPED_TRACE(to_string(format));
    const int pitch = 65;
    const auto msg = frame_error(format, 64, 48, frame_bytes(format, 48, pitch), pitch);
    EXPECT_NE(msg.find("even pitch"), std::string::npos) << msg;
  }
}

TEST(DescribeFrame, PitchBelowMinimumRejected) {
  const auto msg = frame_error(PixelFormat::ARGB8888, 64, 48, size_t(48) * 255, 255);
  EXPECT_NE(msg.find("below the minimum of 256"), std::string::npos) << msg;
}

TEST(DescribeFrame, NullBufferRejected) {
  try {
    describe_frame(PixelFormat::RGB24, 64, 48, nullptr, size_t(48) * 192, 0);
    FAIL() << "null buffer accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidFrame);
  }
}
