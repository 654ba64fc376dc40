// The contract -> NVENC mapping (cpp/nv_session/nvenc_config.*), read without any driver.
#include <gtest/gtest.h>

#include "contract/errors.hpp"
#include "nv_session/nvenc/nvenc_api.hpp"
#include "nv_session/nvenc/nvenc_config.hpp"

namespace nv = videohw::nv_session;
using videohw::Codec;
using videohw::CommonEncodeConfig;
using videohw::ErrorKind;
using videohw::NvidiaEncodeConfig;
using videohw::RateControlMode;

namespace {

CommonEncodeConfig config(Codec codec = Codec::H264) {
  CommonEncodeConfig c;
  c.codec = codec;
  c.width = 1280;
  c.height = 720;
  c.fps_num = 30000;
  c.fps_den = 1001;
  c.gop_length = 48;
  return c;
}

// Maps with a zeroed preset configuration; returns the settings (not copyable: by pointer).
std::unique_ptr<nv::NvencSettings> mapped(const CommonEncodeConfig& c,
                                          const NvidiaEncodeConfig& nvidia = {}) {
  auto s = std::make_unique<nv::NvencSettings>();
  NV_ENC_CONFIG preset{};
  nv::map_settings(c, nvidia, preset, NV_ENC_BUFFER_FORMAT_IYUV, nv::EncodeSize{2048, 2048}, *s);
  return s;
}

ErrorKind kind_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const videohw::Error& e) {
    return e.kind();
  }
  return ErrorKind::Generic;
}

}  // namespace

TEST(NvencConfig, CodecGuidsFollowTheCodec) {
  EXPECT_TRUE(nv::same_guid(nv::codec_guid(Codec::H264), NV_ENC_CODEC_H264_GUID));
  EXPECT_TRUE(nv::same_guid(nv::codec_guid(Codec::HEVC), NV_ENC_CODEC_HEVC_GUID));
  EXPECT_EQ(kind_of([] { nv::codec_guid(Codec::AV1); }), ErrorKind::UnsupportedConfig);
}

TEST(NvencConfig, PresetsByNameWithP4AsDefault) {
  EXPECT_TRUE(nv::same_guid(nv::preset_guid(""), NV_ENC_PRESET_P4_GUID));
  EXPECT_TRUE(nv::same_guid(nv::preset_guid("p1"), NV_ENC_PRESET_P1_GUID));
  EXPECT_TRUE(nv::same_guid(nv::preset_guid("p7"), NV_ENC_PRESET_P7_GUID));
  EXPECT_FALSE(nv::same_guid(nv::preset_guid("p2"), nv::preset_guid("p3")));
  try {
    nv::preset_guid("slow");
    FAIL() << "an x264 preset name was accepted";
  } catch (const videohw::Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Config);
    EXPECT_NE(std::string(e.what()).find("'slow' is not one of p1"), std::string::npos) << e.what();
  }
}

TEST(NvencConfig, TuningByNameAndLowLatencyDefault) {
  EXPECT_EQ(nv::tuning_info("", false), NV_ENC_TUNING_INFO_HIGH_QUALITY);
  EXPECT_EQ(nv::tuning_info("", true), NV_ENC_TUNING_INFO_LOW_LATENCY);
  EXPECT_EQ(nv::tuning_info("hq", true), NV_ENC_TUNING_INFO_HIGH_QUALITY);
  EXPECT_EQ(nv::tuning_info("ll", false), NV_ENC_TUNING_INFO_LOW_LATENCY);
  EXPECT_EQ(nv::tuning_info("ull", false), NV_ENC_TUNING_INFO_ULTRA_LOW_LATENCY);
  EXPECT_EQ(nv::tuning_info("lossless", false), NV_ENC_TUNING_INFO_LOSSLESS);
  EXPECT_EQ(kind_of([] { nv::tuning_info("zerolatency", false); }), ErrorKind::Config);
}

TEST(NvencConfig, InitializeParamsCarrySizeRateAndSyncMode) {
  auto s = mapped(config(Codec::HEVC), NvidiaEncodeConfig{4, "p2", "ull", 0});
  const NV_ENC_INITIALIZE_PARAMS& init = s->init;
  EXPECT_EQ(init.version, uint32_t(NV_ENC_INITIALIZE_PARAMS_VER));
  EXPECT_TRUE(nv::same_guid(init.encodeGUID, NV_ENC_CODEC_HEVC_GUID));
  EXPECT_TRUE(nv::same_guid(init.presetGUID, NV_ENC_PRESET_P2_GUID));
  EXPECT_EQ(init.tuningInfo, NV_ENC_TUNING_INFO_ULTRA_LOW_LATENCY);
  EXPECT_EQ(init.encodeWidth, 1280u);
  EXPECT_EQ(init.encodeHeight, 720u);
  EXPECT_EQ(init.frameRateNum, 30000u);
  EXPECT_EQ(init.frameRateDen, 1001u);
  EXPECT_EQ(init.enableEncodeAsync, 0u);
  EXPECT_EQ(init.enablePTD, 1u);
  EXPECT_EQ(init.maxEncodeWidth, 2048u);
  EXPECT_EQ(init.maxEncodeHeight, 2048u);
  EXPECT_EQ(init.bufferFormat, NV_ENC_BUFFER_FORMAT_IYUV);
  EXPECT_EQ(init.encodeConfig, &s->config);
  EXPECT_EQ(s->config.version, uint32_t(NV_ENC_CONFIG_VER));
}

TEST(NvencConfig, GopAndBFramesMapOntoGopLengthIdrPeriodAndFrameIntervalP) {
  CommonEncodeConfig c = config(Codec::H264);
  c.gop_length = 30;
  c.b_frames = 2;
  c.frame_interval_p = 3;
  auto s = mapped(c);
  EXPECT_EQ(s->config.gopLength, 30u);
  EXPECT_EQ(s->config.frameIntervalP, 3);
  EXPECT_EQ(s->config.encodeCodecConfig.h264Config.idrPeriod, 30u);
  EXPECT_EQ(s->config.encodeCodecConfig.h264Config.repeatSPSPPS, 1u);
  EXPECT_EQ(s->config.encodeCodecConfig.h264Config.useBFramesAsRef,
            NV_ENC_BFRAME_REF_MODE_DISABLED);

  c.codec = Codec::HEVC;
  auto h = mapped(c);
  EXPECT_EQ(h->config.encodeCodecConfig.hevcConfig.idrPeriod, 30u);
  EXPECT_EQ(h->config.encodeCodecConfig.hevcConfig.repeatSPSPPS, 1u);
}

TEST(NvencConfig, CbrTargetsOneRateWithOneSecondVbvByDefault) {
  CommonEncodeConfig c = config();
  c.rate_control.mode = RateControlMode::CBR;
  c.rate_control.bitrate_bps = 3'000'000;
  const NV_ENC_RC_PARAMS rc = mapped(c)->config.rcParams;
  EXPECT_EQ(rc.rateControlMode, NV_ENC_PARAMS_RC_CBR);
  EXPECT_EQ(rc.averageBitRate, 3'000'000u);
  EXPECT_EQ(rc.maxBitRate, 3'000'000u);
  EXPECT_EQ(rc.vbvBufferSize, 3'000'000u);
  EXPECT_EQ(rc.vbvInitialDelay, 3'000'000u);
}

TEST(NvencConfig, VbrKeepsAverageAndPeakAndAnExplicitVbv) {
  CommonEncodeConfig c = config();
  c.rate_control.mode = RateControlMode::VBR;
  c.rate_control.bitrate_bps = 2'000'000;
  c.rate_control.max_bitrate_bps = 5'000'000;
  c.rate_control.vbv_buffer_bits = 1'500'000;
  const NV_ENC_RC_PARAMS rc = mapped(c)->config.rcParams;
  EXPECT_EQ(rc.rateControlMode, NV_ENC_PARAMS_RC_VBR);
  EXPECT_EQ(rc.averageBitRate, 2'000'000u);
  EXPECT_EQ(rc.maxBitRate, 5'000'000u);
  EXPECT_EQ(rc.vbvBufferSize, 1'500'000u);
}

TEST(NvencConfig, ConstQpSetsEachPictureTypeAndFillsMissingOnes) {
  CommonEncodeConfig c = config();
  c.rate_control.mode = RateControlMode::ConstQP;
  c.rate_control.qp_intra = 20;
  c.rate_control.qp_inter_p = 24;
  c.rate_control.qp_inter_b = 28;
  const NV_ENC_RC_PARAMS rc = mapped(c)->config.rcParams;
  EXPECT_EQ(rc.rateControlMode, NV_ENC_PARAMS_RC_CONSTQP);
  EXPECT_EQ(rc.constQP.qpIntra, 20u);
  EXPECT_EQ(rc.constQP.qpInterP, 24u);
  EXPECT_EQ(rc.constQP.qpInterB, 28u);
  EXPECT_EQ(rc.averageBitRate, 0u);

  c.rate_control.qp_inter_p = -1;
  c.rate_control.qp_inter_b = -1;
  const NV_ENC_RC_PARAMS derived = mapped(c)->config.rcParams;
  EXPECT_EQ(derived.constQP.qpInterP, 20u);
  EXPECT_EQ(derived.constQP.qpInterB, 20u);
}

TEST(NvencConfig, LowLatencyAsksForZeroReorderDelayWithoutLookahead) {
  CommonEncodeConfig c = config();
  c.low_latency = true;
  NV_ENC_CONFIG preset{};
  preset.rcParams.enableLookahead = 1;
  preset.rcParams.lookaheadDepth = 8;
  nv::NvencSettings s;
  nv::map_settings(c, {}, preset, NV_ENC_BUFFER_FORMAT_NV12, {2048, 2048}, s);
  EXPECT_EQ(s.config.rcParams.zeroReorderDelay, 1u);
  EXPECT_EQ(s.config.rcParams.enableLookahead, 0u);
  EXPECT_EQ(s.init.tuningInfo, NV_ENC_TUNING_INFO_LOW_LATENCY);
}

TEST(NvencConfig, PresetValuesTheContractDoesNotNameSurvive) {
  NV_ENC_CONFIG preset{};
  preset.mvPrecision = NV_ENC_MV_PRECISION_QUARTER_PEL;
  preset.rcParams.enableAQ = 1;
  preset.encodeCodecConfig.h264Config.level = NV_ENC_LEVEL_H264_41;
  nv::NvencSettings s;
  nv::map_settings(config(), {}, preset, NV_ENC_BUFFER_FORMAT_IYUV, {2048, 2048}, s);
  EXPECT_EQ(s.config.mvPrecision, NV_ENC_MV_PRECISION_QUARTER_PEL);
  EXPECT_EQ(s.config.rcParams.enableAQ, 1u);
  EXPECT_EQ(s.config.encodeCodecConfig.h264Config.level, uint32_t(NV_ENC_LEVEL_H264_41));
  EXPECT_TRUE(nv::same_guid(s.config.profileGUID, NV_ENC_CODEC_PROFILE_AUTOSELECT_GUID));
}

TEST(NvencConfig, LosslessTuningKeepsThePresetRateControl) {
  CommonEncodeConfig c = config();
  c.rate_control.mode = RateControlMode::ConstQP;
  c.rate_control.qp_intra = c.rate_control.qp_inter_p = c.rate_control.qp_inter_b = 30;
  NV_ENC_CONFIG preset{};
  preset.rcParams.rateControlMode = NV_ENC_PARAMS_RC_CONSTQP;  // QP 0: what lossless needs
  nv::NvencSettings s;
  nv::map_settings(c, NvidiaEncodeConfig{4, "", "lossless", 0}, preset, NV_ENC_BUFFER_FORMAT_IYUV,
                   {2048, 2048}, s);
  EXPECT_EQ(s.config.rcParams.constQP.qpIntra, 0u);
  EXPECT_EQ(s.init.tuningInfo, NV_ENC_TUNING_INFO_LOSSLESS);
}

TEST(NvencConfig, ProblemsNameLosslessWithABitrateAndATooShallowRing) {
  CommonEncodeConfig c = config();
  c.b_frames = 3;
  c.frame_interval_p = 4;
  const auto problems = nv::nvidia_config_problems(c, NvidiaEncodeConfig{3, "", "lossless", 0});
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_NE(problems[0].find("'lossless' with rate_control cbr"), std::string::npos) << problems[0];
  EXPECT_NE(problems[1].find("max_in_flight_outputs: 3 cannot hold b_frames=3"), std::string::npos)
      << problems[1];
  c.b_frames = 2;
  c.frame_interval_p = 3;
  EXPECT_TRUE(nv::nvidia_config_problems(c, NvidiaEncodeConfig{3, "p5", "hq", 0}).empty());
}

TEST(NvencConfig, ValidateNamesTheBadField) {
  EXPECT_EQ(kind_of([] { nv::validate(NvidiaEncodeConfig{0, "", "", 0}); }), ErrorKind::Config);
  EXPECT_EQ(kind_of([] { nv::validate(NvidiaEncodeConfig{65, "", "", 0}); }), ErrorKind::Config);
  EXPECT_EQ(kind_of([] { nv::validate(NvidiaEncodeConfig{4, "p8", "", 0}); }), ErrorKind::Config);
  EXPECT_EQ(kind_of([] { nv::validate(NvidiaEncodeConfig{4, "", "fast", 0}); }), ErrorKind::Config);
  EXPECT_EQ(kind_of([] { nv::validate(NvidiaEncodeConfig{4, "", "", -1}); }), ErrorKind::Config);
  EXPECT_EQ(kind_of([] { nv::validate(NvidiaEncodeConfig{}); }), ErrorKind::Generic);
}

TEST(NvencConfig, MaxEncodeSizeIsTheSmallestTierCappedByTheGpu) {
  const nv::EncodeSize gpu{4096, 4096};
  const auto small = nv::max_encode_size(64, 48, gpu);
  EXPECT_EQ(small.width, 2048);
  EXPECT_EQ(small.height, 2048);
  const auto uhd = nv::max_encode_size(3840, 2160, gpu);
  EXPECT_EQ(uhd.width, 4096);
  EXPECT_EQ(uhd.height, 4096);
  const auto capped = nv::max_encode_size(1280, 720, nv::EncodeSize{1920, 1080});
  EXPECT_EQ(capped.width, 1920);
  EXPECT_EQ(capped.height, 1080);
}

TEST(NvencConfig, ReconfigureTakesRatesFpsAndSizeWithinTheMaximum) {
  const nv::ReconfigureAbility all{true, true, true};
  const nv::EncodeSize max{2048, 2048};
  CommonEncodeConfig from = config();
  CommonEncodeConfig to = from;
  to.rate_control.bitrate_bps *= 2;
  to.fps_num = 60;
  to.fps_den = 1;
  EXPECT_TRUE(nv::can_reconfigure(from, to, max, all));
  EXPECT_FALSE(nv::can_reconfigure(from, to, max, nv::ReconfigureAbility{false, true, true}));

  to = from;
  to.width = 1920;
  to.height = 1080;
  EXPECT_TRUE(nv::can_reconfigure(from, to, max, all));
  EXPECT_FALSE(nv::can_reconfigure(from, to, max, nv::ReconfigureAbility{true, true, false}));
  to.width = 2560;
  to.height = 1440;
  EXPECT_FALSE(nv::can_reconfigure(from, to, max, all)) << "beyond maxEncodeWidth";

  to = from;
  to.rate_control.mode = RateControlMode::VBR;
  to.rate_control.max_bitrate_bps = to.rate_control.bitrate_bps * 2;
  EXPECT_TRUE(nv::can_reconfigure(from, to, max, all));
  EXPECT_FALSE(nv::can_reconfigure(from, to, max, nv::ReconfigureAbility{true, false, true}));
}

TEST(NvencConfig, ReconfigureNeverChangesCodecOrGopStructure) {
  const nv::ReconfigureAbility all{true, true, true};
  const CommonEncodeConfig from = config();
  CommonEncodeConfig to = from;
  to.codec = Codec::HEVC;
  EXPECT_FALSE(nv::can_reconfigure(from, to, {2048, 2048}, all));
  to = from;
  to.gop_length = 10;
  EXPECT_FALSE(nv::can_reconfigure(from, to, {2048, 2048}, all));
  to = from;
  to.b_frames = 1;
  to.frame_interval_p = 2;
  EXPECT_FALSE(nv::can_reconfigure(from, to, {2048, 2048}, all));
}

TEST(NvencApiVersion, NegotiationComparesMajorThenMinor) {
  EXPECT_EQ(nv::nvenc_version_text(nv::kHeaderNvencVersion),
            std::to_string(NVENCAPI_MAJOR_VERSION) + "." + std::to_string(NVENCAPI_MINOR_VERSION));
  EXPECT_TRUE(nv::driver_supports_header(nv::kHeaderNvencVersion));
  EXPECT_TRUE(nv::driver_supports_header((12u << 4) | 0u));
  EXPECT_FALSE(nv::driver_supports_header((11u << 4) | 0u));
  EXPECT_FALSE(nv::driver_supports_header((10u << 4) | 9u));
  EXPECT_EQ(nv::nvenc_version_text((12u << 4) | 2u), "12.2");
}
