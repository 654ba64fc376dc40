// Whole-access-unit decoding (DecoderBackend::decode_unit / reset, DecodeSession::push_unit)
// on the software decoder, and bitstream/sample_converter: the pieces the file reader
// builds frame-exact random access on.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "bitstream/annexb.hpp"
#include "bitstream/avcc.hpp"
#include "bitstream/hvcc.hpp"
#include "bitstream/length_prefixed.hpp"
#include "bitstream/nal.hpp"
#include "bitstream/parameter_set_cache.hpp"
#include "bitstream/sample_converter.hpp"
#include "contract/errors.hpp"
#include "contract/frame_layout.hpp"
#include "session/decode_session.hpp"
#include "software/software_decode_provider.hpp"
#include "software/software_encoder.hpp"
#include "support/decoded_pixels.hpp"
#include "support/frames.hpp"
#include "support/session_support.hpp"

extern "C" {
#include <libavutil/log.h>
}

using namespace videohw;

namespace {

std::string codec_name(const ::testing::TestParamInfo<Codec>& info) {
  return to_string(info.param);
}

// 24 frames, GOP 8, two B-frames: decode order differs from display order.
std::vector<EncodedPacket> encode(Codec codec, int frames = 24, int gop = 8, int b_frames = 2) {
  av_log_set_level(AV_LOG_ERROR);
  auto c = vhtest::small_config(codec, 64, 48);
  c.gop_length = gop;
  c.b_frames = b_frames;
  c.frame_interval_p = b_frames + 1;
  software::SoftwareEncoder encoder(c, SoftwareEncodeConfig{});
  std::vector<EncodedPacket> out;
  for (int i = 0; i < frames; ++i) {
    const auto f = vhtest::pattern_frame(PixelFormat::I420, 64, 48, i);
    FrameOptions o;
    o.pts = i;
    encoder.encode(describe_frame(f.format, f.width, f.height, f.data(), f.size(), f.pitch), o,
                   out);
  }
  encoder.finish(out);
  return out;
}

std::unique_ptr<DecoderBackend> make_decoder(Codec codec) {
  CommonDecodeConfig c;
  c.codec = codec;
  c.output = DecodeOutputMode::NativeSurface;
  return software::SoftwareDecoderProvider(SoftwareDecodeConfig{}).create(c);
}

std::vector<uint8_t> pixels(const DecodedFrame& f) {
  return vhtest::plane_bytes(f);
}

// tag -> pixels of every picture of the whole stream, decoded one unit at a time.
std::map<int64_t, std::vector<uint8_t>> reference(Codec codec,
                                                  const std::vector<EncodedPacket>& packets) {
  auto decoder = make_decoder(codec);
  std::vector<DecodedFrame> out;
  for (size_t i = 0; i < packets.size(); ++i)
    decoder->decode_unit({packets[i].data.data(), packets[i].data.size(), int64_t(i), false}, out);
  decoder->flush(out);
  std::map<int64_t, std::vector<uint8_t>> by_tag;
  for (const auto& f : out) by_tag[*f.pts] = pixels(f);
  return by_tag;
}

class DecodeUnits : public ::testing::TestWithParam<Codec> {};

TEST_P(DecodeUnits, EveryTagComesBackOnItsOwnPictureInDisplayOrder) {
  const auto packets = encode(GetParam());
  auto decoder = make_decoder(GetParam());
  std::vector<DecodedFrame> out;
  for (size_t i = 0; i < packets.size(); ++i)
    decoder->decode_unit({packets[i].data.data(), packets[i].data.size(), int64_t(i), false}, out);
  decoder->flush(out);
  ASSERT_EQ(out.size(), packets.size());
  // The encoder's pts are display positions: tag i must come back where packet i shows.
  for (size_t k = 0; k < out.size(); ++k)
    EXPECT_EQ(packets[size_t(*out[k].pts)].pts, int64_t(k)) << "output " << k;
}

TEST_P(DecodeUnits, SkippedUnitsAreDecodedButNeverHandedOut) {
  const auto packets = encode(GetParam());
  const auto expected = reference(GetParam(), packets);
  auto decoder = make_decoder(GetParam());
  std::vector<DecodedFrame> out;
  std::set<int64_t> skipped;
  for (size_t i = 0; i < packets.size(); ++i) {
    const bool skip = i % 3 == 1;
    if (skip) skipped.insert(int64_t(i));
    decoder->decode_unit({packets[i].data.data(), packets[i].data.size(), int64_t(i), skip}, out);
  }
  decoder->flush(out);
  EXPECT_EQ(out.size() + skipped.size(), packets.size());
  for (const auto& f : out) {
    EXPECT_FALSE(skipped.count(*f.pts)) << *f.pts;
    EXPECT_EQ(pixels(f), expected.at(*f.pts)) << *f.pts;  // references were still decoded
  }
  EXPECT_EQ(decoder->stats().frames_skipped, int64_t(skipped.size()));
}

TEST_P(DecodeUnits, DroppingNonReferencePicturesChangesNoOtherPicture) {
  const Codec codec = GetParam();
  const auto packets = encode(codec);
  const auto expected = reference(codec, packets);
  const bitstream::SampleConverter converter(codec, nullptr, 0);
  auto decoder = make_decoder(codec);
  std::vector<DecodedFrame> out;
  size_t dropped = 0;
  for (size_t i = 0; i < packets.size(); ++i) {
    const auto nal = converter.first_picture_nal(packets[i].data.data(), packets[i].data.size());
    ASSERT_TRUE(nal.found);
    if (bitstream::is_droppable_picture(codec, nal, 0)) {
      ++dropped;
      continue;
    }
    decoder->decode_unit({packets[i].data.data(), packets[i].data.size(), int64_t(i), false}, out);
  }
  decoder->flush(out);
  EXPECT_GT(dropped, 0u) << "the stream has non-reference B-frames";
  EXPECT_EQ(out.size() + dropped, packets.size());
  for (const auto& f : out) EXPECT_EQ(pixels(f), expected.at(*f.pts)) << *f.pts;
}

TEST_P(DecodeUnits, ResetForgetsEverythingPushedAndResumesAtAKeyframe) {
  const auto packets = encode(GetParam());
  const auto expected = reference(GetParam(), packets);
  auto decoder = make_decoder(GetParam());
  std::vector<DecodedFrame> out;
  for (size_t i = 0; i < 10; ++i)
    decoder->decode_unit({packets[i].data.data(), packets[i].data.size(), int64_t(i), false}, out);
  out.clear();
  decoder->reset(false);
  // Decode order: the second GOP starts at the packet with pts 8.
  size_t start = 0;
  while (packets[start].pts != 8) ++start;
  ASSERT_TRUE(packets[start].is_keyframe);
  for (size_t i = start; i < packets.size(); ++i)
    decoder->decode_unit({packets[i].data.data(), packets[i].data.size(), int64_t(i), false}, out);
  decoder->flush(out);
  ASSERT_EQ(out.size(), packets.size() - start);
  for (const auto& f : out) {
    EXPECT_GE(*f.pts, int64_t(start));
    EXPECT_EQ(pixels(f), expected.at(*f.pts));
  }
  EXPECT_EQ(decoder->stats().resets, 1);
}

TEST_P(DecodeUnits, SessionPushUnitAndResetKeepOneDecoder) {
  const auto packets = encode(GetParam());
  CommonDecodeConfig c;
  c.codec = GetParam();
  DecodeSession session(
      1, c, std::make_shared<software::SoftwareDecoderProvider>(SoftwareDecodeConfig{}));
  for (int round = 0; round < 3; ++round) {
    session.reset(1);
    for (size_t i = 0; i < packets.size(); ++i)
      session.push_unit(1,
                        {packets[i].data.data(), packets[i].data.size(), int64_t(i), i % 2 == 1});
    auto frames = session.drain(1);
    EXPECT_EQ(frames.size(), (packets.size() + 1) / 2);
  }
  const auto t = session.telemetry();
  EXPECT_EQ(vhtest::tel_int(t, "session_inits"), 1);
  EXPECT_EQ(vhtest::tel_int(t, "resets"), 3);
}

INSTANTIATE_TEST_SUITE_P(Codecs, DecodeUnits, ::testing::Values(Codec::H264, Codec::HEVC),
                         codec_name);

// ---- SampleConverter ------------------------------------------------------------------------

struct Record {
  std::vector<uint8_t> extradata;
  std::vector<std::vector<uint8_t>> samples;  // length-prefixed, decode order
};

// The encoder's Annex-B packets as an MP4 muxer stores them: parameter sets in the record,
// samples length-prefixed without them.
Record as_mp4(Codec codec, const std::vector<EncodedPacket>& packets) {
  bitstream::ParameterSetCache cache(codec);
  Record r;
  for (const auto& p : packets) {
    std::vector<uint8_t> kept;
    for (const auto& unit : bitstream::split_annexb(p.data.data(), p.data.size(), codec)) {
      const uint8_t* nal = p.data.data() + unit.offset;
      if (bitstream::is_parameter_set(codec, unit.type)) {
        cache.add(nal, unit.size);
        continue;
      }
      static const uint8_t start[] = {0, 0, 0, 1};
      kept.insert(kept.end(), start, start + 4);
      kept.insert(kept.end(), nal, nal + unit.size);
    }
    r.samples.push_back(bitstream::annexb_to_length_prefixed(kept.data(), kept.size(), 4));
  }
  r.extradata = codec == Codec::H264 ? bitstream::build_avcc(cache.sps_units(), cache.pps_units())
                                     : bitstream::build_hvcc(cache.vps_units(), cache.sps_units(),
                                                             cache.pps_units());
  return r;
}

TEST_P(DecodeUnits, ConvertedMp4SamplesDecodeToTheSamePictures) {
  const Codec codec = GetParam();
  const auto packets = encode(codec);
  const auto expected = reference(codec, packets);
  const Record mp4 = as_mp4(codec, packets);
  bitstream::SampleConverter converter(codec, mp4.extradata.data(), mp4.extradata.size());
  EXPECT_TRUE(converter.length_prefixed());
  auto decoder = make_decoder(codec);
  std::vector<DecodedFrame> out;
  std::vector<uint8_t> unit;
  // Start in the middle, at the second keyframe, as a seek does: the record's parameter
  // sets must be put in front of it.
  size_t start = 0;
  while (packets[start].pts != 8) ++start;
  for (size_t i = start; i < mp4.samples.size(); ++i) {
    ASSERT_TRUE(converter.convert(mp4.samples[i].data(), mp4.samples[i].size(),
                                  packets[i].is_keyframe, unit));
    decoder->decode_unit({unit.data(), unit.size(), int64_t(i), false}, out);
  }
  decoder->flush(out);
  ASSERT_EQ(out.size(), packets.size() - start);
  for (const auto& f : out) EXPECT_EQ(pixels(f), expected.at(*f.pts));
}

TEST(SampleConverter, DamagedSampleGivesTheUnitsBeforeTheDamageAndFalse) {
  const auto packets = encode(Codec::H264, 4, 4, 0);
  const Record mp4 = as_mp4(Codec::H264, packets);
  bitstream::SampleConverter converter(Codec::H264, mp4.extradata.data(), mp4.extradata.size());
  std::vector<uint8_t> sample = mp4.samples[1];
  sample[0] = 0x7f;  // the first length now runs far past the end
  std::vector<uint8_t> out;
  EXPECT_FALSE(converter.convert(sample.data(), sample.size(), false, out));
  EXPECT_TRUE(out.empty());
}

TEST(SampleConverter, ParameterSetsGoBeforeTheFirstKeyframeAndAgainAfterReset) {
  const auto packets = encode(Codec::H264, 8, 4, 0);
  const Record mp4 = as_mp4(Codec::H264, packets);
  bitstream::SampleConverter converter(Codec::H264, mp4.extradata.data(), mp4.extradata.size());
  auto types = [](const std::vector<uint8_t>& annexb) {
    std::vector<int> t;
    for (const auto& u : bitstream::split_annexb(annexb.data(), annexb.size(), Codec::H264))
      t.push_back(u.type);
    return t;
  };
  std::vector<uint8_t> out;
  converter.convert(mp4.samples[0].data(), mp4.samples[0].size(), true, out);
  EXPECT_EQ(types(out).front(), bitstream::h264::kSps);
  converter.convert(mp4.samples[4].data(), mp4.samples[4].size(), true, out);
  EXPECT_NE(types(out).front(), bitstream::h264::kSps);
  converter.reset();
  converter.convert(mp4.samples[4].data(), mp4.samples[4].size(), true, out);
  EXPECT_EQ(types(out).front(), bitstream::h264::kSps);
}

TEST(SampleConverter, AnnexBExtradataAndSamplesPassThrough) {
  const auto packets = encode(Codec::HEVC, 4, 4, 0);
  bitstream::SampleConverter converter(Codec::HEVC, packets[0].data.data(), 40);
  EXPECT_FALSE(converter.length_prefixed());
  EXPECT_EQ(converter.layout(), EncodedLayout::AnnexB);
}

TEST(SampleConverter, ARecordThatDoesNotParseThrows) {
  const std::vector<uint8_t> bogus = {1, 0x64, 0, 0x1f, 0xff, 0xe1, 0, 40};
  EXPECT_THROW(bitstream::SampleConverter(Codec::H264, bogus.data(), bogus.size()), Error);
}

}  // namespace
