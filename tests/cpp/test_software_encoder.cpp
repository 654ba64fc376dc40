// software/: the libx264 / libx265 adapter, driven through the EncoderBackend interface and
// checked with libavcodec's own decoders (support/decoder.hpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "contract/errors.hpp"
#include "contract/frame_layout.hpp"
#include "software/software_encode_provider.hpp"
#include "software/software_encoder.hpp"
#include "support/decoder.hpp"
#include "support/frames.hpp"
#include "transform/frame_preparer.hpp"

extern "C" {
#include <libavutil/log.h>
}

using namespace videohw;
using vhtest::DecodedFrame;
using vhtest::TestFrame;

namespace {

std::string codec_name(const ::testing::TestParamInfo<Codec>& info) {
  return to_string(info.param);
}

std::unique_ptr<EncoderBackend> make_encoder(const CommonEncodeConfig& c,
                                             SoftwareEncodeConfig s = {}) {
  av_log_set_level(AV_LOG_ERROR);  // x264/x265 banners; the encoder captures av_log itself
  return std::make_unique<software::SoftwareEncoder>(c, s);
}

FrameView view_of(const TestFrame& f) {
  return describe_frame(f.format, f.width, f.height, f.data(), f.size(), f.pitch);
}

// The encoder takes only prepared frames: this prepares `f` as the pipeline does for the
// software provider, reading the caller's buffer in place (no slack after it), and encodes
// it. Returns whether the frame was converted.
bool encode_prepared(EncoderBackend& enc, const CommonEncodeConfig& c, const TestFrame& f,
                     const FrameOptions& o, std::vector<EncodedPacket>& out) {
  static const software::SoftwareEncoderProvider provider{SoftwareEncodeConfig{}};
  transform::FramePreparer preparer(
      transform::FrameTarget{c.width, c.height, provider.native_input_formats()});
  std::vector<uint8_t> prepared;
  const FrameView view = preparer.prepare(
      view_of(f),
      [&](size_t bytes) {
        prepared.resize(bytes + 64);
        return prepared.data();
      },
      /*src_has_slack=*/false);
  enc.encode(view, o, out);
  return !prepared.empty();
}

// Encodes frames with pts first..first+count-1; `forced` pts are submitted as keyframes.
void encode_frames(EncoderBackend& enc, const CommonEncodeConfig& c, int first, int count,
                   std::vector<EncodedPacket>& out, const std::set<int>& forced = {},
                   PixelFormat format = PixelFormat::I420) {
  for (int i = first; i < first + count; ++i) {
    const TestFrame f = vhtest::pattern_frame(format, c.width, c.height, i);
    FrameOptions o;
    o.pts = i;
    o.force_keyframe = forced.count(i) > 0;
    enc.encode(view_of(f), o, out);
  }
}

std::vector<int64_t> range(int64_t first, int64_t count) {
  std::vector<int64_t> v;
  for (int64_t i = 0; i < count; ++i) v.push_back(first + i);
  return v;
}

std::vector<int64_t> sorted(std::vector<int64_t> v) {
  std::sort(v.begin(), v.end());
  return v;
}

std::vector<int64_t> packet_pts(const std::vector<EncodedPacket>& packets) {
  std::vector<int64_t> v;
  for (const auto& p : packets) v.push_back(p.pts);
  return v;
}

const EncodedPacket* packet_with_pts(const std::vector<EncodedPacket>& packets, int64_t pts) {
  for (const auto& p : packets)
    if (p.pts == pts) return &p;
  return nullptr;
}

CommonEncodeConfig gop_config(Codec codec, int gop) {
  auto c = vhtest::small_config(codec, 64, 48);
  c.gop_length = gop;
  return c;
}

CommonEncodeConfig low_latency_config(Codec codec) {
  auto c = vhtest::small_config(codec, 64, 48);
  c.low_latency = true;
  return c;
}

CommonEncodeConfig b_frame_config(Codec codec, int b_frames) {
  auto c = vhtest::small_config(codec, 64, 48);
  c.b_frames = b_frames;
  c.frame_interval_p = b_frames + 1;
  c.gop_length = 30;
  return c;
}

}  // namespace

class SoftwareEncoderCodec : public ::testing::TestWithParam<Codec> {};
INSTANTIATE_TEST_SUITE_P(Codecs, SoftwareEncoderCodec, ::testing::Values(Codec::H264, Codec::HEVC),
                         codec_name);

// ---- output shape ------------------------------------------------------------------------

TEST_P(SoftwareEncoderCodec, DecodesToTheFrameCountAndSize) {
  auto c = vhtest::small_config(GetParam(), 100, 60);  // not a multiple of 16: cropping
  auto enc = make_encoder(c);
  std::vector<EncodedPacket> out;
  encode_frames(*enc, c, 0, 12, out);
  enc->finish(out);
  ASSERT_EQ(out.size(), 12u);
  const auto frames = vhtest::decode_packets(GetParam(), out);
  ASSERT_EQ(frames.size(), 12u);
  for (const auto& f : frames) {
    EXPECT_EQ(f.width, 100);
    EXPECT_EQ(f.height, 60);
  }
  EXPECT_EQ(vhtest::all_pts(frames), range(0, 12));
  // The bare elementary stream decodes the same (what a user writes to a .h264/.hevc file).
  EXPECT_EQ(vhtest::decode_annexb(GetParam(), vhtest::concatenate(out)).size(), 12u);
}

TEST_P(SoftwareEncoderCodec, PacketsAreAnnexBAndKeyframeFlagMatchesTheIdrNal) {
  auto c = gop_config(GetParam(), 5);
  auto enc = make_encoder(c);
  std::vector<EncodedPacket> out;
  encode_frames(*enc, c, 0, 12, out);
  enc->finish(out);
  for (const auto& p : out) {
    SCOPED_TRACE("pts " + std::to_string(p.pts));
    EXPECT_EQ(p.layout, EncodedLayout::AnnexB);
    ASSERT_GE(p.data.size(), 4u);
    EXPECT_TRUE((p.data[0] == 0 && p.data[1] == 0 && p.data[2] == 1) ||
                (p.data[0] == 0 && p.data[1] == 0 && p.data[2] == 0 && p.data[3] == 1));
    EXPECT_EQ(p.is_keyframe, vhtest::holds_idr(GetParam(), p));
  }
}

TEST_P(SoftwareEncoderCodec, EveryKeyframeCarriesInBandParameterSets) {
  auto c = gop_config(GetParam(), 4);
  auto enc = make_encoder(c);
  std::vector<EncodedPacket> out;
  encode_frames(*enc, c, 0, 10, out);
  enc->finish(out);
  const std::vector<int> needed =
      GetParam() == Codec::HEVC ? std::vector<int>{32, 33, 34} : std::vector<int>{7, 8};
  int keyframes = 0;
  for (const auto& p : out) {
    if (!p.is_keyframe) continue;
    ++keyframes;
    const auto types = vhtest::nal_types(GetParam(), p.data.data(), p.data.size());
    for (int t : needed)
      EXPECT_NE(std::find(types.begin(), types.end(), t), types.end())
          << "keyframe pts " << p.pts << " lacks NAL type " << t;
  }
  EXPECT_EQ(keyframes, 3);  // 0, 4, 8
}

// ---- keyframe placement ------------------------------------------------------------------

TEST_P(SoftwareEncoderCodec, KeyframesExactlyAtZeroAndGopMultiples) {
  auto c = gop_config(GetParam(), 10);
  auto enc = make_encoder(c);
  std::vector<EncodedPacket> out;
  encode_frames(*enc, c, 0, 35, out);
  enc->finish(out);
  const auto frames = vhtest::decode_packets(GetParam(), out);
  ASSERT_EQ(frames.size(), 35u);
  EXPECT_EQ(vhtest::keyframe_pts(frames), (std::vector<int64_t>{0, 10, 20, 30}));
  for (const auto& f : frames)
    if (f.key_frame) {
      EXPECT_EQ(f.pict_type, 'I') << "pts " << f.pts;
    }
  for (int64_t pts : {0, 10, 20, 30}) {
    const EncodedPacket* p = packet_with_pts(out, pts);
    ASSERT_NE(p, nullptr);
    EXPECT_TRUE(vhtest::holds_idr(GetParam(), *p)) << "keyframe at " << pts << " is not an IDR";
  }
}

TEST_P(SoftwareEncoderCodec, AllIntraWhenGopLengthIsOne) {
  auto c = gop_config(GetParam(), 1);
  auto enc = make_encoder(c);
  std::vector<EncodedPacket> out;
  encode_frames(*enc, c, 0, 6, out);
  enc->finish(out);
  EXPECT_EQ(vhtest::keyframe_pts(vhtest::decode_packets(GetParam(), out)), range(0, 6));
}

TEST_P(SoftwareEncoderCodec, ForcedKeyframeIsAnIdr) {
  auto c = gop_config(GetParam(), 100);
  auto enc = make_encoder(c);
  std::vector<EncodedPacket> out;
  encode_frames(*enc, c, 0, 12, out, {7});
  enc->finish(out);
  const auto frames = vhtest::decode_packets(GetParam(), out);
  EXPECT_EQ(vhtest::keyframe_pts(frames), (std::vector<int64_t>{0, 7}));
  const EncodedPacket* p = packet_with_pts(out, 7);
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(vhtest::holds_idr(GetParam(), *p));
}

// docs/api.md: "every frame gop_length frames after the previous keyframe (a forced
// keyframe restarts the count)".
TEST_P(SoftwareEncoderCodec, ForcedKeyframeRestartsTheGopCount) {
  auto c = gop_config(GetParam(), 10);
  auto enc = make_encoder(c);
  std::vector<EncodedPacket> out;
  encode_frames(*enc, c, 0, 35, out, {13});
  enc->finish(out);
  const auto frames = vhtest::decode_packets(GetParam(), out);
  ASSERT_EQ(frames.size(), 35u);
  EXPECT_EQ(vhtest::keyframe_pts(frames), (std::vector<int64_t>{0, 10, 13, 23, 33}));
}

TEST_P(SoftwareEncoderCodec, ForcedKeyframeRestartsTheGopCountInLowLatency) {
  auto c = low_latency_config(GetParam());
  c.gop_length = 10;
  auto enc = make_encoder(c);
  std::vector<EncodedPacket> out;
  encode_frames(*enc, c, 0, 35, out, {13});
  enc->finish(out);
  EXPECT_EQ(vhtest::keyframe_pts(vhtest::decode_packets(GetParam(), out)),
            (std::vector<int64_t>{0, 10, 13, 23, 33}));
}

// ---- B-frames and low latency ------------------------------------------------------------

TEST_P(SoftwareEncoderCodec, BFramesConfigProducesBPicturesWithDtsNotAfterPts) {
  auto c = b_frame_config(GetParam(), 2);
  auto enc = make_encoder(c);
  std::vector<EncodedPacket> out;
  encode_frames(*enc, c, 0, 24, out);
  enc->finish(out);
  ASSERT_EQ(out.size(), 24u);
  for (size_t i = 0; i < out.size(); ++i) {
    EXPECT_LE(out[i].dts, out[i].pts) << "packet " << i;
    if (i) {
      EXPECT_GT(out[i].dts, out[i - 1].dts) << "dts not increasing at packet " << i;
    }
  }
  EXPECT_NE(packet_pts(out), range(0, 24)) << "B-frames reorder: decode order != display order";
  EXPECT_EQ(sorted(packet_pts(out)), range(0, 24));
  const auto frames = vhtest::decode_packets(GetParam(), out);
  ASSERT_EQ(frames.size(), 24u);
  EXPECT_EQ(vhtest::all_pts(frames), range(0, 24));
  const auto b_count = std::count_if(frames.begin(), frames.end(),
                                     [](const DecodedFrame& f) { return f.pict_type == 'B'; });
  EXPECT_GE(b_count, 8);
}

TEST_P(SoftwareEncoderCodec, NoBFramesWithoutBFramesConfig) {
  auto c = gop_config(GetParam(), 30);
  auto enc = make_encoder(c);
  std::vector<EncodedPacket> out;
  encode_frames(*enc, c, 0, 15, out);
  enc->finish(out);
  for (const auto& f : vhtest::decode_packets(GetParam(), out)) EXPECT_NE(f.pict_type, 'B');
  EXPECT_EQ(packet_pts(out), range(0, 15));
}

TEST_P(SoftwareEncoderCodec, LowLatencyGivesOnePacketPerFrameImmediately) {
  auto c = low_latency_config(GetParam());
  auto enc = make_encoder(c);
  std::vector<EncodedPacket> out;
  for (int i = 0; i < 20; ++i) {
    const auto f = vhtest::pattern_frame(PixelFormat::I420, c.width, c.height, i);
    FrameOptions o;
    o.pts = i;
    std::vector<EncodedPacket> fresh;
    enc->encode(view_of(f), o, fresh);
    ASSERT_EQ(fresh.size(), 1u) << "frame " << i;
    EXPECT_EQ(fresh[0].pts, i);
    EXPECT_EQ(fresh[0].dts, i);
    out.push_back(std::move(fresh[0]));
  }
  std::vector<EncodedPacket> rest;
  enc->finish(rest);
  EXPECT_TRUE(rest.empty());
  EXPECT_EQ(vhtest::decode_packets(GetParam(), out).size(), 20u);
}

// ---- input formats -----------------------------------------------------------------------

struct FormatCase {
  PixelFormat format;
  int extra_pitch;  // bytes past the minimum row pitch
};

void PrintTo(const FormatCase& c, std::ostream* os) {
  *os << to_string(c.format) << " pitch +" << c.extra_pitch;
}

std::string format_case_name(const ::testing::TestParamInfo<FormatCase>& info) {
  return std::string(to_string(info.param.format)) + "_pitch_plus_" +
         std::to_string(info.param.extra_pitch);
}

class InputFormat : public ::testing::TestWithParam<FormatCase> {};

// A flat colour decodes back to the BT.601 value of that colour; the padding bytes past
// each row (0xff) never leak into the picture.
TEST_P(InputFormat, FlatColourEncodesAndDecodesToTheExpectedYuv) {
  const auto [format, extra] = GetParam();
  auto c = low_latency_config(Codec::H264);
  c.width = 66;  // not a multiple of 16 or 32: SIMD row tails
  c.height = 50;
  c.rate_control.mode = RateControlMode::ConstQP;
  c.rate_control.qp_intra = c.rate_control.qp_inter_p = c.rate_control.qp_inter_b = 12;
  const int pitch = minimum_pitch(format, c.width) + extra;
  const bool yuv = format == PixelFormat::NV12 || format == PixelFormat::I420;
  const int r = 200, g = 100, b = 50;
  const double want_y = yuv ? 120 : vhtest::bt601_y(r, g, b);
  const double want_u = yuv ? 90 : vhtest::bt601_cb(r, g, b);
  const double want_v = yuv ? 170 : vhtest::bt601_cr(r, g, b);

  auto enc = make_encoder(c);
  std::vector<EncodedPacket> out;
  for (int i = 0; i < 3; ++i) {
    const TestFrame f = yuv ? vhtest::flat_yuv_frame(format, c.width, c.height, pitch, 120, 90, 170,
                                                     0xff, vhtest::kRoomy)
                            : vhtest::flat_rgb_frame(format, c.width, c.height, pitch, r, g, b,
                                                     0xff, vhtest::kRoomy);
    FrameOptions o;
    o.pts = i;
    EXPECT_EQ(encode_prepared(*enc, c, f, o, out), format != PixelFormat::I420);
  }
  enc->finish(out);
  const auto frames = vhtest::decode_packets(Codec::H264, out);
  ASSERT_EQ(frames.size(), 3u);
  for (const auto& f : frames) {
    EXPECT_EQ(f.width, 66);
    EXPECT_EQ(f.height, 50);
    EXPECT_NEAR(f.mean_y, want_y, 2.5) << "pts " << f.pts;
    EXPECT_NEAR(f.mean_u, want_u, 2.5) << "pts " << f.pts;
    EXPECT_NEAR(f.mean_v, want_v, 2.5) << "pts " << f.pts;
  }
  const EncodeStats s = enc->stats();
  EXPECT_EQ(s.borrow_leaks, 0);
}

INSTANTIATE_TEST_SUITE_P(
    Formats, InputFormat,
    ::testing::Values(FormatCase{PixelFormat::ARGB8888, 0}, FormatCase{PixelFormat::ARGB8888, 36},
                      FormatCase{PixelFormat::BGRA, 0}, FormatCase{PixelFormat::BGRA, 36},
                      FormatCase{PixelFormat::RGB24, 0}, FormatCase{PixelFormat::RGB24, 10},
                      FormatCase{PixelFormat::NV12, 0}, FormatCase{PixelFormat::NV12, 30},
                      FormatCase{PixelFormat::I420, 0}, FormatCase{PixelFormat::I420, 30}),
    format_case_name);

// ---- caller memory -----------------------------------------------------------------------
// The preparer converts, or the encoder borrows, the caller's buffer, which holds exactly the bytes
// the layout needs. Reading one byte outside it is a bug even when it does not crash: here the
// buffer touches a PROT_NONE page, so any out-of-bounds read faults, inside libswscale and
// x264 SIMD code too (which AddressSanitizer does not instrument). The encode runs in a
// death-test child so a fault fails this test only.

struct MemoryCase {
  PixelFormat format;
  int width, height;
  vhtest::Guard guard;
};

void PrintTo(const MemoryCase& c, std::ostream* os) {
  *os << to_string(c.format) << " " << c.width << "x" << c.height
      << (c.guard == vhtest::Guard::AfterEnd ? ", fault page after" : ", fault page before");
}

std::string memory_case_name(const ::testing::TestParamInfo<MemoryCase>& info) {
  const auto& p = info.param;
  return std::string(to_string(p.format)) + "_" + std::to_string(p.width) + "x" +
         std::to_string(p.height) +
         (p.guard == vhtest::Guard::AfterEnd ? "_fault_page_after" : "_fault_page_before");
}

class CallerMemory : public ::testing::TestWithParam<MemoryCase> {};

TEST_P(CallerMemory, EncodeReadsOnlyTheCallerBuffer) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const auto p = GetParam();
  EXPECT_EXIT(
      {
        auto c = low_latency_config(Codec::H264);
        c.width = p.width;
        c.height = p.height;
        auto enc = make_encoder(c);
        std::vector<EncodedPacket> out;
        for (int i = 0; i < 2; ++i) {
          const TestFrame f =
              vhtest::pattern_frame(p.format, p.width, p.height, i, 0, {p.guard, 0});
          FrameOptions o;
          o.pts = i;
          encode_prepared(*enc, c, f, o, out);
        }
        enc->finish(out);
        std::exit(out.size() == 2 ? 0 : 3);
      },
      ::testing::ExitedWithCode(0), "")
      << "encoding a " << to_string(p.format) << " frame read outside the caller's buffer";
}

INSTANTIATE_TEST_SUITE_P(
    Formats, CallerMemory,
    ::testing::Values(MemoryCase{PixelFormat::ARGB8888, 66, 50, vhtest::Guard::AfterEnd},
                      MemoryCase{PixelFormat::BGRA, 66, 50, vhtest::Guard::AfterEnd},
                      MemoryCase{PixelFormat::RGB24, 66, 50, vhtest::Guard::AfterEnd},
                      MemoryCase{PixelFormat::RGB24, 64, 48, vhtest::Guard::AfterEnd},
                      MemoryCase{PixelFormat::NV12, 66, 50, vhtest::Guard::AfterEnd},
                      MemoryCase{PixelFormat::NV12, 64, 48, vhtest::Guard::AfterEnd},
                      MemoryCase{PixelFormat::I420, 66, 50, vhtest::Guard::AfterEnd},
                      MemoryCase{PixelFormat::ARGB8888, 66, 50, vhtest::Guard::BeforeStart},
                      MemoryCase{PixelFormat::RGB24, 66, 50, vhtest::Guard::BeforeStart},
                      MemoryCase{PixelFormat::NV12, 66, 50, vhtest::Guard::BeforeStart},
                      MemoryCase{PixelFormat::I420, 66, 50, vhtest::Guard::BeforeStart}),
    memory_case_name);

TEST(SoftwareEncoderInput, FormatsMayChangeFromFrameToFrame) {
  auto c = low_latency_config(Codec::H264);
  auto enc = make_encoder(c);
  std::vector<EncodedPacket> out;
  const PixelFormat order[] = {PixelFormat::I420,  PixelFormat::BGRA,     PixelFormat::NV12,
                               PixelFormat::RGB24, PixelFormat::ARGB8888, PixelFormat::I420};
  int converted = 0;
  for (int i = 0; i < 6; ++i) {
    const auto f = vhtest::pattern_frame(order[i], c.width, c.height, i);
    FrameOptions o;
    o.pts = i;
    converted += encode_prepared(*enc, c, f, o, out) ? 1 : 0;
  }
  enc->finish(out);
  EXPECT_EQ(vhtest::decode_packets(Codec::H264, out).size(), 6u);
  EXPECT_EQ(converted, 4);
}

// Conversion is the pipeline's: a frame of another format or size is a videohw bug, refused
// before the encoder sees it, and the encoder goes on with the frames that fit.
TEST(SoftwareEncoderInput, UnpreparedFramesAreRefused) {
  auto c = low_latency_config(Codec::H264);
  auto enc = make_encoder(c);
  std::vector<EncodedPacket> out;
  const TestFrame wrong[] = {vhtest::pattern_frame(PixelFormat::BGRA, c.width, c.height, 0),
                             vhtest::pattern_frame(PixelFormat::NV12, c.width, c.height, 0),
                             vhtest::pattern_frame(PixelFormat::I420, c.width / 2, c.height, 0)};
  for (const TestFrame& f : wrong) {
    try {
      enc->encode(view_of(f), FrameOptions{}, out);
      ADD_FAILURE() << to_string(f.format) << " " << f.width << "x" << f.height << " accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Encode);
      EXPECT_NE(std::string(e.what()).find("internal: frame not prepared"), std::string::npos)
          << e.what();
    }
  }
  encode_frames(*enc, c, 0, 3, out);
  enc->finish(out);
  EXPECT_EQ(vhtest::decode_packets(Codec::H264, out).size(), 3u);
  EXPECT_EQ(enc->stats().frames_encoded, 3);
}

// ---- stats -------------------------------------------------------------------------------

TEST_P(SoftwareEncoderCodec, LowLatencyKeepsOneEncoderAcrossFlushes) {
  auto c = low_latency_config(GetParam());
  auto enc = make_encoder(c);
  std::vector<EncodedPacket> out;
  for (int segment = 0; segment < 5; ++segment) {
    encode_frames(*enc, c, segment * 8, 8, out);
    enc->flush(out);
  }
  const EncodeStats s = enc->stats();
  EXPECT_EQ(s.encoder_opens, 1);
  EXPECT_EQ(s.encoder_reopens, 0);
  EXPECT_EQ(s.in_place_flushes, 5);
  EXPECT_EQ(s.frames_encoded, 40);
  EXPECT_EQ(out.size(), 40u);
}

TEST_P(SoftwareEncoderCodec, I420InputIsBorrowedWithoutLeaks) {
  for (bool low_latency : {true, false}) {
    SCOPED_TRACE(low_latency ? "low_latency" : "lookahead");
    auto c = vhtest::small_config(GetParam(), 64, 48);
    c.low_latency = low_latency;
    auto enc = make_encoder(c);
    std::vector<EncodedPacket> out;
    encode_frames(*enc, c, 0, 20, out);
    enc->flush(out);
    encode_frames(*enc, c, 20, 5, out);
    enc->finish(out);
    const EncodeStats s = enc->stats();
    EXPECT_EQ(s.borrow_leaks, 0);
    EXPECT_EQ(out.size(), 25u);
  }
}

// ---- flush -------------------------------------------------------------------------------

TEST_P(SoftwareEncoderCodec, LowLatencyFlushIsInPlace) {
  auto c = low_latency_config(GetParam());
  auto enc = make_encoder(c);
  std::vector<EncodedPacket> out;
  encode_frames(*enc, c, 0, 6, out);
  ASSERT_EQ(out.size(), 6u);
  const FlushResult result = enc->flush(out);
  EXPECT_EQ(out.size(), 6u);
  EXPECT_FALSE(result.restarted_stream);
  EXPECT_FALSE(result.reopened);
  EXPECT_EQ(result.packets, 0);
  EXPECT_STREQ(flush_mode_name(result), "in_place");
  EXPECT_EQ(enc->stats().encoder_opens, 1);
  // The stream simply goes on: no keyframe at the flush without force_idr.
  encode_frames(*enc, c, 6, 6, out);
  enc->finish(out);
  EXPECT_EQ(vhtest::keyframe_pts(vhtest::decode_packets(GetParam(), out)),
            (std::vector<int64_t>{0}));
}

TEST_P(SoftwareEncoderCodec, BFramesFlushReopensAndLosesNoFrame) {
  auto c = b_frame_config(GetParam(), 2);
  auto enc = make_encoder(c);
  std::vector<EncodedPacket> out;
  encode_frames(*enc, c, 0, 10, out);
  EXPECT_LT(out.size(), 10u) << "B-frames should hold frames back before the flush";
  const size_t before = out.size();
  const FlushResult result = enc->flush(out);
  EXPECT_EQ(sorted(packet_pts(out)), range(0, 10)) << "flush must deliver every frame";
  EXPECT_TRUE(result.restarted_stream);
  EXPECT_TRUE(result.reopened);
  EXPECT_EQ(result.packets, int64_t(out.size() - before));
  EXPECT_STREQ(flush_mode_name(result), "reopen");
  EXPECT_EQ(enc->stats().encoder_reopens, 1);
  encode_frames(*enc, c, 10, 10, out);
  enc->flush(out);
  encode_frames(*enc, c, 20, 3, out);
  enc->finish(out);
  EXPECT_EQ(enc->stats().encoder_reopens, 2);
  EXPECT_EQ(sorted(packet_pts(out)), range(0, 23));
  const auto frames = vhtest::decode_annexb(GetParam(), vhtest::concatenate(out));
  EXPECT_EQ(frames.size(), 23u);
}

// "One packet per frame, in decode order": dts must keep increasing across a flush,
// otherwise the concatenated stream cannot be muxed (a muxer refuses non-monotonic dts).
TEST_P(SoftwareEncoderCodec, DtsKeepsIncreasingAcrossAReopenFlush) {
  auto c = b_frame_config(GetParam(), 2);
  auto enc = make_encoder(c);
  std::vector<EncodedPacket> out;
  encode_frames(*enc, c, 0, 10, out);
  enc->flush(out);
  const size_t first_after_flush = out.size();
  encode_frames(*enc, c, 10, 10, out);
  enc->finish(out);
  ASSERT_EQ(out.size(), 20u);
  for (size_t i = 1; i < out.size(); ++i)
    EXPECT_GT(out[i].dts, out[i - 1].dts)
        << "packet " << i << (i == first_after_flush ? " (first after the flush)" : "") << ": dts "
        << out[i].dts << " after " << out[i - 1].dts;
}

TEST_P(SoftwareEncoderCodec, ForceIdrMakesTheFirstFrameAfterEachFlushAnIdr) {
  for (bool low_latency : {true, false}) {  // in-place flush, and reopen flush (B-frames)
    SCOPED_TRACE(low_latency ? "low_latency (in place)" : "b_frames (reopen)");
    auto c = low_latency ? low_latency_config(GetParam()) : b_frame_config(GetParam(), 2);
    c.gop_length = 100;
    c.force_idr = true;
    auto enc = make_encoder(c);
    std::vector<EncodedPacket> out;
    FlushResult last;
    for (int segment = 0; segment < 3; ++segment) {
      encode_frames(*enc, c, segment * 4, 4, out);
      last = enc->flush(out);
    }
    enc->finish(out);
    for (int64_t pts : {0, 4, 8}) {
      const EncodedPacket* p = packet_with_pts(out, pts);
      ASSERT_NE(p, nullptr);
      EXPECT_TRUE(vhtest::holds_idr(GetParam(), *p)) << "pts " << pts;
      EXPECT_TRUE(p->is_keyframe) << "pts " << pts;
    }
    EXPECT_EQ(vhtest::keyframe_pts(vhtest::decode_packets(GetParam(), out)),
              (std::vector<int64_t>{0, 4, 8}));
    EXPECT_STREQ(flush_mode_name(last), low_latency ? "in_place" : "reopen");
  }
}

TEST_P(SoftwareEncoderCodec, EachForceIdrSegmentDecodesOnItsOwn) {
  auto c = low_latency_config(GetParam());
  c.force_idr = true;
  auto enc = make_encoder(c);
  std::vector<EncodedPacket> first, second;
  encode_frames(*enc, c, 0, 5, first);
  enc->flush(first);
  encode_frames(*enc, c, 5, 5, second);
  enc->flush(second);
  EXPECT_EQ(vhtest::decode_packets(GetParam(), second).size(), 5u);
}

// ---- end of stream -----------------------------------------------------------------------

TEST_P(SoftwareEncoderCodec, EncodeAfterFinishThrowsSessionClosed) {
  auto c = low_latency_config(GetParam());
  auto enc = make_encoder(c);
  std::vector<EncodedPacket> out;
  encode_frames(*enc, c, 0, 2, out);
  enc->finish(out);
  try {
    encode_frames(*enc, c, 2, 1, out);
    FAIL() << "encode after finish accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::SessionClosed);
  }
  try {
    enc->flush(out);
    FAIL() << "flush after finish accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::SessionClosed);
  }
  EXPECT_NO_THROW(enc->finish(out)) << "finish is idempotent";
  EXPECT_EQ(out.size(), 2u);
}

// ---- rate control ------------------------------------------------------------------------

// The decoder's exported macroblock QPs show what the mapping asked libx264 for.
TEST(SoftwareEncoderRateControl, ConstQpGivesTheConfiguredIntraPAndBQp) {
  auto c = b_frame_config(Codec::H264, 1);  // one B-frame: no B-pyramid
  c.rate_control.mode = RateControlMode::ConstQP;
  c.rate_control.qp_intra = 20;
  c.rate_control.qp_inter_p = 26;
  c.rate_control.qp_inter_b = 31;
  c.gop_length = 6;
  auto enc = make_encoder(c);
  std::vector<EncodedPacket> out;
  encode_frames(*enc, c, 0, 13, out);
  enc->finish(out);
  const auto frames = vhtest::decode_packets(Codec::H264, out);
  ASSERT_EQ(frames.size(), 13u);
  std::set<char> seen;
  for (const auto& f : frames) {
    SCOPED_TRACE(std::string("pts ") + std::to_string(f.pts) + " type " + f.pict_type);
    const int want = f.pict_type == 'I' ? 20 : f.pict_type == 'P' ? 26 : 31;
    EXPECT_EQ(f.qp_min, want);
    EXPECT_EQ(f.qp_max, want);
    seen.insert(f.pict_type);
  }
  EXPECT_EQ(seen, (std::set<char>{'I', 'P', 'B'}));
}

// The contract allows any QPs in 0..51; x264 clips ipratio/pbratio to 0.01..10, i.e. a
// P-I or B-P spread above 6*log2(10) ~ 19.9. A spread the backend cannot give must either
// be given exactly or refused with an error, never silently changed.
TEST(SoftwareEncoderRateControl, ConstQpSpreadAboveTwentyIsHonouredOrRefused) {
  struct Qps {
    int intra, p, b;
  };
  for (const Qps q : {Qps{10, 40, 40}, Qps{20, 20, 45}}) {
    SCOPED_TRACE("qp " + std::to_string(q.intra) + "/" + std::to_string(q.p) + "/" +
                 std::to_string(q.b));
    auto c = b_frame_config(Codec::H264, 1);
    c.gop_length = 4;
    c.rate_control.mode = RateControlMode::ConstQP;
    c.rate_control.qp_intra = q.intra;
    c.rate_control.qp_inter_p = q.p;
    c.rate_control.qp_inter_b = q.b;
    std::unique_ptr<EncoderBackend> enc;
    try {
      enc = make_encoder(c);
    } catch (const Error& e) {
      EXPECT_TRUE(e.kind() == ErrorKind::Config || e.kind() == ErrorKind::UnsupportedConfig)
          << e.what();
      continue;  // refused explicitly: fine
    }
    std::vector<EncodedPacket> out;
    encode_frames(*enc, c, 0, 6, out);
    enc->finish(out);
    for (const auto& f : vhtest::decode_packets(Codec::H264, out)) {
      SCOPED_TRACE(std::string("pts ") + std::to_string(f.pts) + " type " + f.pict_type);
      EXPECT_EQ(f.qp_max, f.pict_type == 'I' ? q.intra : f.pict_type == 'P' ? q.p : q.b);
    }
  }
}
