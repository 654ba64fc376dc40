// nv_session/nvdec_access_units: low-latency NVDEC tells the parser "end of picture" only
// for a push that is exactly one access unit. Checked on CPU against real encoder packets
// (each packet is one access unit), their concatenations and cut chunks.
#include <gtest/gtest.h>

#include <tuple>

#include "contract/frame_layout.hpp"
#include "media/ffmpeg_log.hpp"
#include "nv_session/nvdec/nvdec_access_units.hpp"
#include "software/software_encoder.hpp"
#include "support/frames.hpp"

using namespace videohw;
using nv_session::is_single_access_unit;

namespace {

std::vector<EncodedPacket> encode(Codec codec, int b_frames) {
  media::install_ffmpeg_log();
  CommonEncodeConfig c = vhtest::small_config(codec, 160, 96);
  c.gop_length = 6;
  c.b_frames = b_frames;
  c.frame_interval_p = b_frames + 1;
  software::SoftwareEncoder encoder(c, SoftwareEncodeConfig{});
  std::vector<EncodedPacket> packets;
  for (int i = 0; i < 14; ++i) {
    const vhtest::TestFrame f = vhtest::pattern_frame(PixelFormat::I420, 160, 96, i);
    FrameOptions o;
    o.pts = i;
    encoder.encode(describe_frame(f.format, f.width, f.height, f.data(), f.size(), f.pitch), o,
                   packets);
  }
  encoder.finish(packets);
  return packets;
}

class AccessUnits : public ::testing::TestWithParam<std::tuple<Codec, int>> {
 protected:
  const std::vector<EncodedPacket>& packets() {
    if (packets_.empty()) packets_ = encode(std::get<0>(GetParam()), std::get<1>(GetParam()));
    return packets_;
  }
  Codec codec() const { return std::get<0>(GetParam()); }

 private:
  std::vector<EncodedPacket> packets_;
};

}  // namespace

TEST_P(AccessUnits, EveryEncoderPacketIsOneAccessUnit) {
  ASSERT_EQ(packets().size(), 14u);
  for (const auto& p : packets())
    EXPECT_TRUE(is_single_access_unit(p.data.data(), p.data.size(), codec())) << "pts " << p.pts;
}

TEST_P(AccessUnits, TwoPacketsTogetherAreNot) {
  for (size_t i = 0; i + 1 < packets().size(); ++i) {
    std::vector<uint8_t> two = packets()[i].data;
    two.insert(two.end(), packets()[i + 1].data.begin(), packets()[i + 1].data.end());
    EXPECT_FALSE(is_single_access_unit(two.data(), two.size(), codec())) << "packets " << i;
  }
}

TEST_P(AccessUnits, AChunkStartingInsideAPictureIsNot) {
  for (const auto& p : packets()) {
    const size_t half = p.data.size() / 2;
    EXPECT_FALSE(is_single_access_unit(p.data.data() + half, p.data.size() - half, codec()))
        << "second half of pts " << p.pts;
  }
}

TEST_P(AccessUnits, GarbageAndTinyInputsAreNot) {
  const uint8_t zeros[16] = {};
  EXPECT_FALSE(is_single_access_unit(zeros, sizeof zeros, codec()));
  const uint8_t start_only[4] = {0, 0, 0, 1};
  EXPECT_FALSE(is_single_access_unit(start_only, sizeof start_only, codec()));
  EXPECT_FALSE(is_single_access_unit(nullptr, 0, codec()));
}

INSTANTIATE_TEST_SUITE_P(Streams, AccessUnits,
                         ::testing::Combine(::testing::Values(Codec::H264, Codec::HEVC),
                                            ::testing::Values(0, 2)),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param) == Codec::H264 ? "h264"
                                                                                     : "hevc") +
                                  "_b" + std::to_string(std::get<1>(info.param));
                         });
