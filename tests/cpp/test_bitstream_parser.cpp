// bitstream/: the incremental access-unit assembler, NAL header parsing, the parameter-set
// cache, AVCC/HVCC conversion and avcC/hvcC records, checked on real libx264/libx265
// streams against libavcodec's own decoders (support/decoder.hpp) and on crafted bytes.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "bitstream/access_unit_assembler.hpp"
#include "bitstream/avcc.hpp"
#include "bitstream/hvcc.hpp"
#include "bitstream/length_prefixed.hpp"
#include "bitstream/nal.hpp"
#include "bitstream/parameter_set_cache.hpp"
#include "bitstream/parameter_set_syntax.hpp"
#include "bitstream/rbsp_reader.hpp"
#include "contract/errors.hpp"
#include "contract/frame_layout.hpp"
#include "software/software_encoder.hpp"
#include "support/decoder.hpp"
#include "support/frames.hpp"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/log.h>
}

using namespace videohw;
using namespace videohw::bitstream;
using Bytes = std::vector<uint8_t>;

namespace {

// Odd multiples of 2 on purpose: neither side is a multiple of 16 (H.264 macroblocks) nor
// of 8 (HEVC minimum coding block), so both codecs must crop.
constexpr int kWidth = 198, kHeight = 118;
constexpr int kFrames = 48, kGop = 12, kBFrames = 2;

struct Stream {
  std::vector<EncodedPacket> packets;  // one per frame, decode order
  Bytes bytes;                         // the packets back to back
};

Stream encode(Codec codec, int b_frames) {
  av_log_set_level(AV_LOG_ERROR);
  CommonEncodeConfig c = vhtest::small_config(codec, kWidth, kHeight);
  c.gop_length = kGop;
  c.b_frames = b_frames;
  c.frame_interval_p = b_frames + 1;
  software::SoftwareEncoder encoder(c, SoftwareEncodeConfig{});
  Stream s;
  for (int i = 0; i < kFrames; ++i) {
    const vhtest::TestFrame f = vhtest::pattern_frame(PixelFormat::I420, kWidth, kHeight, i);
    FrameOptions o;
    o.pts = i;
    encoder.encode(describe_frame(f.format, f.width, f.height, f.data(), f.size(), f.pitch), o,
                   s.packets);
  }
  encoder.finish(s.packets);
  s.bytes = vhtest::concatenate(s.packets);
  return s;
}

// Encoding is the slow part: each stream is made once per test binary.
const Stream& stream(Codec codec, int b_frames = kBFrames) {
  static std::map<std::pair<Codec, int>, Stream> cache;
  auto key = std::make_pair(codec, b_frames);
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, encode(codec, b_frames)).first;
  return it->second;
}

std::vector<AccessUnit> drain(AccessUnitAssembler& a) {
  std::vector<AccessUnit> out;
  while (auto au = a.next()) out.push_back(std::move(*au));
  return out;
}

// Pushes `bytes` in chunks whose sizes `next_size` picks, then finishes.
template <typename NextSize>
std::vector<AccessUnit> assemble(Codec codec, const Bytes& bytes, NextSize next_size) {
  AccessUnitAssembler a(codec);
  std::vector<AccessUnit> out;
  size_t pos = 0;
  while (pos < bytes.size()) {
    const size_t n = std::min(next_size(), bytes.size() - pos);
    a.push(bytes.data() + pos, n);
    pos += n;
    for (auto& au : drain(a)) out.push_back(std::move(au));
  }
  a.finish();
  for (auto& au : drain(a)) out.push_back(std::move(au));
  return out;
}

std::vector<AccessUnit> assemble_fixed(Codec codec, const Bytes& bytes, size_t chunk) {
  return assemble(codec, bytes, [chunk] { return chunk; });
}

std::vector<int> types_of(const AccessUnit& au) {
  std::vector<int> t;
  for (const auto& n : au.nals) t.push_back(n.type);
  return t;
}

void expect_same(const std::vector<AccessUnit>& a, const std::vector<AccessUnit>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].data, b[i].data) << "access unit " << i;
    EXPECT_EQ(types_of(a[i]), types_of(b[i])) << "access unit " << i;
    EXPECT_EQ(a[i].is_keyframe, b[i].is_keyframe) << "access unit " << i;
    for (size_t n = 0; n < std::min(a[i].nals.size(), b[i].nals.size()); ++n) {
      EXPECT_EQ(a[i].nals[n].offset, b[i].nals[n].offset);
      EXPECT_EQ(a[i].nals[n].size, b[i].nals[n].size);
    }
  }
}

Bytes nal_bytes(const AccessUnit& au, const NalUnit& n) {
  return Bytes(au.data.begin() + ptrdiff_t(n.offset),
               au.data.begin() + ptrdiff_t(n.offset + n.size));
}

ParameterSetCache cache_of(Codec codec, const std::vector<AccessUnit>& aus) {
  ParameterSetCache cache(codec);
  for (const auto& au : aus) cache.add_access_unit(au);
  return cache;
}

// libavcodec decoding length-prefixed packets with our extradata: an independent reader
// of both the avcC/hvcC record and the conversion. Returns the number of frames.
int decode_with_extradata(Codec codec, const Bytes& extradata, const std::vector<Bytes>& packets) {
  const AVCodec* dec =
      avcodec_find_decoder(codec == Codec::HEVC ? AV_CODEC_ID_HEVC : AV_CODEC_ID_H264);
  std::unique_ptr<AVCodecContext, void (*)(AVCodecContext*)> ctx(
      avcodec_alloc_context3(dec), [](AVCodecContext* c) { avcodec_free_context(&c); });
  ctx->extradata =
      static_cast<uint8_t*>(av_mallocz(extradata.size() + AV_INPUT_BUFFER_PADDING_SIZE));
  std::copy(extradata.begin(), extradata.end(), ctx->extradata);
  ctx->extradata_size = int(extradata.size());
  ctx->thread_count = 1;
  if (avcodec_open2(ctx.get(), dec, nullptr) < 0) return -1;
  std::unique_ptr<AVPacket, void (*)(AVPacket*)> pkt(av_packet_alloc(),
                                                     [](AVPacket* p) { av_packet_free(&p); });
  std::unique_ptr<AVFrame, void (*)(AVFrame*)> frame(av_frame_alloc(),
                                                     [](AVFrame* f) { av_frame_free(&f); });
  int frames = 0;
  auto receive = [&] {
    while (avcodec_receive_frame(ctx.get(), frame.get()) == 0) {
      ++frames;
      av_frame_unref(frame.get());
    }
  };
  for (const Bytes& p : packets) {
    if (av_new_packet(pkt.get(), int(p.size())) < 0) return -1;
    std::copy(p.begin(), p.end(), pkt->data);
    if (avcodec_send_packet(ctx.get(), pkt.get()) < 0) return -1;
    av_packet_unref(pkt.get());
    receive();
  }
  avcodec_send_packet(ctx.get(), nullptr);
  receive();
  return frames;
}

Bytes extradata_of(Codec codec, const ParameterSetCache& cache, int length_size = 4) {
  if (codec == Codec::HEVC)
    return build_hvcc(cache.vps_units(), cache.sps_units(), cache.pps_units(), length_size);
  return build_avcc(cache.sps_units(), cache.pps_units(), length_size);
}

template <typename F>
void expect_decode_error(F f, const std::string& context) {
  try {
    f();
    ADD_FAILURE() << context << ": no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Decode) << context << ": " << e.what();
  }
}

class RealStream : public ::testing::TestWithParam<Codec> {};

std::string codec_name(const ::testing::TestParamInfo<Codec>& info) {
  return to_string(info.param);
}

}  // namespace

INSTANTIATE_TEST_SUITE_P(Codecs, RealStream, ::testing::Values(Codec::H264, Codec::HEVC),
                         codec_name);

// ---- access-unit assembly on real streams ------------------------------------------

TEST_P(RealStream, AccessUnitCountEqualsFrameCount) {
  for (int b : {0, kBFrames}) {
    const auto aus = assemble_fixed(GetParam(), stream(GetParam(), b).bytes, 4096);
    EXPECT_EQ(aus.size(), size_t(kFrames)) << "b_frames=" << b;
    for (const auto& au : aus) EXPECT_TRUE(au.has_picture);
  }
}

TEST_P(RealStream, AccessUnitsAreExactlyTheEncoderPackets) {
  const Stream& s = stream(GetParam());
  const auto aus = assemble_fixed(GetParam(), s.bytes, s.bytes.size());
  ASSERT_EQ(aus.size(), s.packets.size());
  for (size_t i = 0; i < aus.size(); ++i) EXPECT_EQ(aus[i].data, s.packets[i].data) << i;
}

TEST_P(RealStream, SmallFixedChunkSizesGiveIdenticalAccessUnits) {
  const Bytes& bytes = stream(GetParam()).bytes;
  const auto whole = assemble_fixed(GetParam(), bytes, bytes.size());
  for (size_t chunk : {1, 2, 3, 7, 4096}) {
    SCOPED_TRACE("chunk " + std::to_string(chunk));
    expect_same(assemble_fixed(GetParam(), bytes, chunk), whole);
  }
}

TEST_P(RealStream, RandomChunkingsGiveIdenticalAccessUnits) {
  const Bytes& bytes = stream(GetParam()).bytes;
  const auto whole = assemble_fixed(GetParam(), bytes, bytes.size());
  for (uint32_t seed = 1; seed <= 8; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    // Mostly tiny chunks (start codes split every way), some large ones.
    std::uniform_int_distribution<size_t> small(1, 9), large(10, 3000), pick(0, 3);
    expect_same(assemble(GetParam(), bytes, [&] { return pick(rng) ? small(rng) : large(rng); }),
                whole);
  }
}

TEST_P(RealStream, KeyframeFlagsEqualLibavcodecKeyFrames) {
  const Stream& s = stream(GetParam());
  const auto aus = assemble_fixed(GetParam(), s.bytes, 7);
  ASSERT_EQ(aus.size(), s.packets.size());
  std::vector<int64_t> ours;
  for (size_t i = 0; i < aus.size(); ++i)
    if (aus[i].is_keyframe) ours.push_back(s.packets[i].pts);
  std::sort(ours.begin(), ours.end());
  const auto decoded = vhtest::decode_packets(GetParam(), s.packets);
  ASSERT_EQ(decoded.size(), size_t(kFrames));
  EXPECT_EQ(ours, vhtest::keyframe_pts(decoded));
  EXPECT_EQ(ours, (std::vector<int64_t>{0, 12, 24, 36}));  // several GOPs
}

TEST_P(RealStream, NalTypesEqualAnIndependentScan) {
  for (const auto& au : assemble_fixed(GetParam(), stream(GetParam()).bytes, 3))
    EXPECT_EQ(types_of(au), vhtest::nal_types(GetParam(), au.data.data(), au.data.size()));
}

TEST_P(RealStream, AccessUnitsConcatenatedGiveBackTheStream) {
  const Bytes& bytes = stream(GetParam()).bytes;
  Bytes joined;
  for (const auto& au : assemble_fixed(GetParam(), bytes, 2))
    joined.insert(joined.end(), au.data.begin(), au.data.end());
  EXPECT_EQ(joined, bytes);
}

TEST_P(RealStream, MemoryStaysBoundedByOneAccessUnit) {
  const Stream& s = stream(GetParam());
  size_t largest_packet = 0;
  for (const auto& p : s.packets) largest_packet = std::max(largest_packet, p.data.size());
  AccessUnitAssembler a(GetParam());
  size_t most_buffered = 0;
  for (uint8_t byte : s.bytes) {
    a.push(&byte, 1);
    most_buffered = std::max(most_buffered, a.buffered_bytes());
    drain(a);
  }
  // The unit in progress plus the first bytes of the next one (its classification window).
  EXPECT_LE(most_buffered, largest_packet + 64);
}

TEST_P(RealStream, TruncatedStreamGivesItsCompleteUnitsAndNoCrash) {
  const Stream& s = stream(GetParam());
  // The third unit's start code, header and a byte or two of slice header: enough to
  // know it opens a picture.
  const size_t cut = s.packets[0].data.size() + s.packets[1].data.size() + 8;
  const Bytes head(s.bytes.begin(), s.bytes.begin() + ptrdiff_t(cut));
  const auto aus = assemble_fixed(GetParam(), head, 1);
  ASSERT_EQ(aus.size(), 3u);
  EXPECT_EQ(aus[0].data, s.packets[0].data);
  EXPECT_EQ(aus[1].data, s.packets[1].data);
  EXPECT_EQ(aus[2].data.size(), 8u);
}

// ---- parameter sets ------------------------------------------------------------------

TEST_P(RealStream, SpsGivesTheConfiguredSizeWithCropping) {
  const auto aus = assemble_fixed(GetParam(), stream(GetParam()).bytes, 4096);
  const ParameterSetCache cache = cache_of(GetParam(), aus);
  ASSERT_EQ(cache.sps_units().size(), 1u);
  ASSERT_EQ(cache.pps_units().size(), 1u);
  EXPECT_EQ(cache.vps_units().size(), GetParam() == Codec::HEVC ? 1u : 0u);
  const SpsInfo* sps = cache.sps_for_pps(0);
  ASSERT_NE(sps, nullptr);
  EXPECT_EQ(sps->width, kWidth);
  EXPECT_EQ(sps->height, kHeight);
  const int align = GetParam() == Codec::HEVC ? 8 : 16;
  EXPECT_EQ(sps->coded_width, (kWidth + align - 1) / align * align);
  EXPECT_EQ(sps->coded_height, (kHeight + align - 1) / align * align);
  EXPECT_EQ(sps->chroma_format_idc, 1);
  EXPECT_EQ(sps->bit_depth_luma, 8);
}

TEST_P(RealStream, RepeatedParameterSetsAreUnchanged) {
  const auto aus = assemble_fixed(GetParam(), stream(GetParam()).bytes, 4096);
  ParameterSetCache cache(GetParam());
  int changes = 0;
  for (const auto& au : aus) changes += cache.add_access_unit(au) ? 1 : 0;
  // Every IDR repeats the same SPS/PPS: only the first one is news.
  EXPECT_EQ(changes, 1);
}

TEST(ParameterSetCache, NewSpsContentUnderTheSameIdIsAChange) {
  const auto small = assemble_fixed(Codec::H264, stream(Codec::H264).bytes, 4096);
  ParameterSetCache cache = cache_of(Codec::H264, small);
  const Bytes first = cache.sps_units()[0];
  Bytes other = first;
  other[3] ^= 1;  // level_idc: same id, different content
  EXPECT_EQ(cache.add(other.data(), other.size()), ParameterSetCache::Update::Stored);
  EXPECT_EQ(cache.add(other.data(), other.size()), ParameterSetCache::Update::Unchanged);
  EXPECT_EQ(cache.sps(0)->level_idc, first[3] ^ 1);
  const uint8_t slice[] = {0x65, 0x88, 0x84};
  EXPECT_EQ(cache.add(slice, sizeof slice), ParameterSetCache::Update::NotAParameterSet);
}

TEST(ParameterSetCache, MalformedSpsThrowsDecodeAndLeavesTheCache) {
  const auto aus = assemble_fixed(Codec::HEVC, stream(Codec::HEVC).bytes, 4096);
  ParameterSetCache cache = cache_of(Codec::HEVC, aus);
  const Bytes sps = cache.sps_units()[0];
  for (size_t len = 0; len + 1 < sps.size(); ++len) {
    // Every strict prefix either parses (size fields came first) or throws Decode.
    try {
      cache.add(sps.data(), len);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Decode) << e.what();
    }
  }
  const Bytes header_only(sps.begin(), sps.begin() + 4);
  expect_decode_error([&] { cache.add(header_only.data(), header_only.size()); }, "4-byte SPS");
  EXPECT_EQ(cache.sps(0)->width, kWidth);
}

TEST(SpsSyntax, H264CroppingAndFieldCodingFollowTable61) {
  // Baseline SPS (hand-assembled): 1920x1088 coded, crop bottom 4 units -> 1080 lines.
  // profile 66, level 40, id 0, log2_max_frame_num 4, poc type 2, 1 ref, width 120 MBs,
  // height 68 map units, frame_mbs_only, cropping 0/0/0/4, no VUI.
  const Bytes sps = {0x67, 0x42, 0x00, 0x28, 0xda, 0x01, 0xe0, 0x08, 0x9f, 0x95};
  const SpsInfo s = parse_sps(Codec::H264, sps.data(), sps.size());
  EXPECT_EQ(s.coded_width, 1920);
  EXPECT_EQ(s.coded_height, 1088);
  EXPECT_EQ(s.width, 1920);
  EXPECT_EQ(s.height, 1080);
  EXPECT_EQ(s.profile_idc, 66);
  EXPECT_EQ(s.level_idc, 40);
}

TEST(SpsSyntax, WrongNalTypeIsADecodeError) {
  const uint8_t pps[] = {0x68, 0xce, 0x38, 0x80};
  expect_decode_error([&] { parse_sps(Codec::H264, pps, sizeof pps); }, "PPS as SPS");
  expect_decode_error([&] { parse_sps(Codec::H264, nullptr, 0); }, "empty SPS");
}

// ---- AVCC / HVCC ---------------------------------------------------------------------

TEST_P(RealStream, LengthPrefixedRoundTripIsByteIdentical) {
  for (const auto& au : assemble_fixed(GetParam(), stream(GetParam()).bytes, 4096)) {
    for (int length_size : {2, 4}) {
      const Bytes lp = annexb_to_length_prefixed(au.data.data(), au.data.size(), length_size);
      const Bytes annexb = length_prefixed_to_annexb(lp.data(), lp.size(), length_size);
      EXPECT_EQ(annexb_to_length_prefixed(annexb.data(), annexb.size(), length_size), lp);
      const auto units = split_length_prefixed(lp.data(), lp.size(), length_size, GetParam());
      ASSERT_EQ(units.size(), au.nals.size());
      for (size_t i = 0; i < units.size(); ++i) {
        EXPECT_EQ(units[i].type, au.nals[i].type);
        EXPECT_EQ(Bytes(lp.begin() + ptrdiff_t(units[i].offset),
                        lp.begin() + ptrdiff_t(units[i].offset + units[i].size)),
                  nal_bytes(au, au.nals[i]));
      }
    }
  }
}

TEST_P(RealStream, ConvertedAnnexBDecodesToEveryFrame) {
  Bytes rebuilt;
  for (const auto& au : assemble_fixed(GetParam(), stream(GetParam()).bytes, 4096)) {
    const Bytes lp = annexb_to_length_prefixed(au.data.data(), au.data.size());
    const Bytes annexb = length_prefixed_to_annexb(lp.data(), lp.size());
    rebuilt.insert(rebuilt.end(), annexb.begin(), annexb.end());
  }
  EXPECT_EQ(vhtest::decode_annexb(GetParam(), rebuilt).size(), size_t(kFrames));
}

TEST_P(RealStream, LibavcodecDecodesLengthPrefixedPacketsWithOurExtradata) {
  const auto aus = assemble_fixed(GetParam(), stream(GetParam()).bytes, 4096);
  const ParameterSetCache cache = cache_of(GetParam(), aus);
  for (int length_size : {2, 4}) {
    std::vector<Bytes> packets;
    for (const auto& au : aus)
      packets.push_back(annexb_to_length_prefixed(au.data.data(), au.data.size(), length_size));
    EXPECT_EQ(
        decode_with_extradata(GetParam(), extradata_of(GetParam(), cache, length_size), packets),
        kFrames)
        << "length size " << length_size;
  }
}

TEST_P(RealStream, ExtradataParsesBackToTheParameterSets) {
  const ParameterSetCache cache =
      cache_of(GetParam(), assemble_fixed(GetParam(), stream(GetParam()).bytes, 4096));
  const Bytes extra = extradata_of(GetParam(), cache, 4);
  const SpsInfo* sps = cache.sps(0);
  ASSERT_NE(sps, nullptr);
  if (GetParam() == Codec::H264) {
    const AvcDecoderConfig c = parse_avcc(extra.data(), extra.size());
    EXPECT_EQ(c.length_size, 4);
    EXPECT_EQ(c.sps, cache.sps_units());
    EXPECT_EQ(c.pps, cache.pps_units());
    EXPECT_EQ(c.profile_idc, sps->profile_idc);
    EXPECT_EQ(c.level_idc, sps->level_idc);
  } else {
    const HevcDecoderConfig c = parse_hvcc(extra.data(), extra.size());
    EXPECT_EQ(c.length_size, 4);
    EXPECT_EQ(units_of_type(c, hevc::kVps), cache.vps_units());
    EXPECT_EQ(units_of_type(c, hevc::kSps), cache.sps_units());
    EXPECT_EQ(units_of_type(c, hevc::kPps), cache.pps_units());
    EXPECT_EQ(c.ptl.profile_idc, sps->ptl.profile_idc);
    EXPECT_EQ(c.ptl.level_idc, sps->ptl.level_idc);
    EXPECT_EQ(c.ptl.constraint_flags, sps->ptl.constraint_flags);
    EXPECT_EQ(c.num_temporal_layers, sps->max_sub_layers);
  }
}

TEST(Hvcc, ArrayCompletenessIsWhatTheCallerSays) {
  const ParameterSetCache cache =
      cache_of(Codec::HEVC, assemble_fixed(Codec::HEVC, stream(Codec::HEVC).bytes, 4096));
  for (bool complete : {true, false}) {
    const Bytes extra =
        build_hvcc(cache.vps_units(), cache.sps_units(), cache.pps_units(), 4, complete);
    const HevcDecoderConfig c = parse_hvcc(extra.data(), extra.size());
    ASSERT_EQ(c.arrays.size(), 3u);
    for (const HvcNalArray& array : c.arrays) EXPECT_EQ(array.complete, complete);
  }
}

TEST_P(RealStream, TruncatedExtradataIsADecodeError) {
  const ParameterSetCache cache =
      cache_of(GetParam(), assemble_fixed(GetParam(), stream(GetParam()).bytes, 4096));
  const Bytes extra = extradata_of(GetParam(), cache);
  // The avcC High-profile extension is optional, so its own 4 bytes may go quietly.
  const bool high = GetParam() == Codec::H264 &&
                    (extra[1] == 100 || extra[1] == 110 || extra[1] == 122 || extra[1] == 144);
  const size_t optional_tail = high ? 4 : 0;
  for (size_t len = 0; len < extra.size() - optional_tail; ++len) {
    // An exact-size copy, so a read past its end is an AddressSanitizer error.
    const Bytes prefix(extra.begin(), extra.begin() + ptrdiff_t(len));
    expect_decode_error(
        [&] {
          if (GetParam() == Codec::H264)
            parse_avcc(prefix.data(), prefix.size());
          else
            parse_hvcc(prefix.data(), prefix.size());
        },
        "extradata cut to " + std::to_string(len) + " bytes");
  }
}

TEST_P(RealStream, TruncatedLengthPrefixedDataIsADecodeError) {
  const auto aus = assemble_fixed(GetParam(), stream(GetParam()).bytes, 4096);
  const Bytes lp = annexb_to_length_prefixed(aus[0].data.data(), aus[0].data.size());
  const auto units = split_length_prefixed(lp.data(), lp.size(), 4, GetParam());
  std::set<size_t> unit_ends;
  for (const auto& u : units) unit_ends.insert(u.offset + u.size);
  for (size_t len = 1; len < lp.size(); ++len) {
    if (unit_ends.count(len)) continue;  // a whole number of units is valid
    const Bytes prefix(lp.begin(), lp.begin() + ptrdiff_t(len));
    expect_decode_error([&] { length_prefixed_to_annexb(prefix.data(), prefix.size(), 4); },
                        "cut to " + std::to_string(len));
  }
}

TEST(LengthPrefixed, WrongLengthSizeIsADecodeErrorNotAnOverRead) {
  const Bytes lp = {0, 0, 0, 3, 0x65, 0x88, 0x84};
  expect_decode_error([&] { length_prefixed_to_annexb(lp.data(), lp.size(), 2); }, "size 2");
  try {
    length_prefixed_to_annexb(lp.data(), lp.size(), 3);
    ADD_FAILURE() << "length size 3 accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Config);
  }
}

TEST(LengthPrefixed, ZeroLengthUnitIsADecodeError) {
  const Bytes lp = {0, 0, 0, 0, 0, 0, 0, 1, 0x65};
  expect_decode_error([&] { length_prefixed_to_annexb(lp.data(), lp.size(), 4); }, "zero");
}

TEST(LengthPrefixed, AnnexBWithoutStartCodeIsADecodeError) {
  const Bytes garbage = {0x65, 0x88, 0x84, 0x21, 0x00, 0x00, 0x02};
  expect_decode_error([&] { annexb_to_length_prefixed(garbage.data(), garbage.size()); },
                      "no start code");
  const Bytes junk_first = {0x07, 0, 0, 1, 0x65, 0x88};
  expect_decode_error([&] { annexb_to_length_prefixed(junk_first.data(), junk_first.size()); },
                      "junk before the first start code");
  EXPECT_TRUE(annexb_to_length_prefixed(nullptr, 0).empty());
}

TEST(LengthPrefixed, UnitTooLongForOneByteLengthIsADecodeError) {
  Bytes annexb = {0, 0, 0, 1, 0x65};
  annexb.resize(annexb.size() + 300, 0x55);
  expect_decode_error([&] { annexb_to_length_prefixed(annexb.data(), annexb.size(), 1); },
                      "300-byte unit, 1-byte length");
  EXPECT_EQ(annexb_to_length_prefixed(annexb.data(), annexb.size(), 2).size(), 2u + 301u);
}

TEST(DecoderConfig, UnitOfTheWrongTypeIsADecodeError) {
  const Bytes sps = {0x67, 0x42, 0x00, 0x28, 0xda, 0x01, 0xe0, 0x08, 0x9f, 0x95};
  const Bytes pps = {0x68, 0xce, 0x38, 0x80};
  expect_decode_error([&] { build_avcc({pps}, {pps}); }, "PPS in the SPS list");
  expect_decode_error([&] { build_avcc({sps}, {}); }, "no PPS");
  Bytes avcc = build_avcc({sps}, {pps});
  avcc[8] = 0x68;  // first byte of the SPS entry now says PPS
  expect_decode_error([&] { parse_avcc(avcc.data(), avcc.size()); }, "SPS entry typed PPS");
  avcc[0] = 2;
  expect_decode_error([&] { parse_avcc(avcc.data(), avcc.size()); }, "version 2");
}

// ---- assembler on crafted bytes --------------------------------------------------------

TEST(Assembler, ThreeAndFourByteStartCodesBothDelimitUnits) {
  // SPS (4-byte code), PPS (3-byte), IDR slice first_mb 0, then a P slice first_mb 0.
  const Bytes s = {0, 0,    0,    1,    0x67, 0x42, 0, 1, 0x68, 0xce, 0,   0,
                   1, 0x65, 0x88, 0x80, 0,    0,    0, 1, 0x41, 0x9a, 0x80};
  const auto aus = assemble_fixed(Codec::H264, s, 1);
  ASSERT_EQ(aus.size(), 2u);
  // "0x42, 0, 1" is not a start code (needs two zeros): it stays inside the SPS.
  EXPECT_EQ(types_of(aus[0]), (std::vector<int>{7, 5}));
  EXPECT_TRUE(aus[0].is_keyframe);
  EXPECT_EQ(types_of(aus[1]), (std::vector<int>{1}));
  EXPECT_FALSE(aus[1].is_keyframe);
  EXPECT_EQ(aus[1].data, (Bytes{0, 0, 0, 1, 0x41, 0x9a, 0x80}));
  // Trailing zeros are not part of a unit.
  const Bytes with_zeros = {0, 0, 1, 0x65, 0x88, 0, 0, 0, 0, 0, 1, 0x41, 0x9a};
  const auto z = assemble_fixed(Codec::H264, with_zeros, 1);
  ASSERT_EQ(z.size(), 2u);
  EXPECT_EQ(z[0].nals[0].size, 2u);
  EXPECT_EQ(z[0].data.size(), 7u);  // trailing zeros stay in the bytes of the first unit
}

TEST(Assembler, SecondSliceOfAPictureStaysInItsAccessUnit) {
  // H.264: slice with first_mb_in_slice 0 (bit '1'), then first_mb 1 ('010'), then a new
  // picture. The third slice's first_mb ue(v) starts in the payload's 2nd byte.
  const Bytes s = {0, 0, 1, 0x65, 0x88, 0, 0, 1, 0x65, 0x40, 0, 0, 1, 0x41, 0x80};
  const auto aus = assemble_fixed(Codec::H264, s, 1);
  ASSERT_EQ(aus.size(), 2u);
  EXPECT_EQ(types_of(aus[0]), (std::vector<int>{5, 5}));
  EXPECT_EQ(types_of(aus[1]), (std::vector<int>{1}));
}

TEST(Assembler, HevcFirstSliceFlagAndPrefixUnitsOpenAccessUnits) {
  // TRAIL_R first slice, a second segment (flag 0), a suffix SEI (stays), an AUD (opens),
  // then a CRA first slice.
  const Bytes s = {0, 0, 1, 0x02, 0x01, 0x80, 0, 0, 1, 0x02, 0x01, 0x40, 0, 0, 1, 0x50, 0x01, 0x05,
                   0, 0, 1, 0x46, 0x01, 0x50, 0, 0, 1, 0x2a, 0x01, 0x80};
  const auto aus = assemble_fixed(Codec::HEVC, s, 2);
  ASSERT_EQ(aus.size(), 2u);
  EXPECT_EQ(types_of(aus[0]), (std::vector<int>{1, 1, 40}));
  EXPECT_FALSE(aus[0].is_keyframe);
  EXPECT_EQ(types_of(aus[1]), (std::vector<int>{35, 21}));
  EXPECT_TRUE(aus[1].is_keyframe);  // CRA is an IRAP picture
}

TEST(Assembler, EscapedLongFirstMbIsNotAFirstSlice) {
  // first_mb_in_slice = ue(v) with 16 leading zeros, escaped as 00 00 03 80: with one-byte
  // pushes the answer waits for bytes past the emulation-prevention byte.
  const Bytes s = {0, 0, 1, 0x65, 0x88, 0, 0, 1, 0x65, 0x00, 0x00, 0x03, 0x80, 0x00, 0x10};
  const auto aus = assemble_fixed(Codec::H264, s, 1);
  ASSERT_EQ(aus.size(), 1u);  // the second slice is not a first slice
  EXPECT_EQ(types_of(aus[0]), (std::vector<int>{5, 5}));
}

TEST(Assembler, BytesBeforeTheFirstStartCodeAreSkippedAndCounted) {
  const Bytes s = {0x12, 0x34, 0x00, 0x56, 0, 0, 0, 1, 0x65, 0x88};
  AccessUnitAssembler a(Codec::H264);
  for (uint8_t b : s) a.push(&b, 1);
  a.finish();
  const auto aus = drain(a);
  ASSERT_EQ(aus.size(), 1u);
  EXPECT_EQ(aus[0].data, (Bytes{0, 0, 0, 1, 0x65, 0x88}));
  EXPECT_EQ(a.stats().bytes_skipped, 4u);
  EXPECT_EQ(a.stats().bytes_in, s.size());
}

TEST(Assembler, OversizedAccessUnitIsADecodeErrorAndParsingResumes) {
  AccessUnitAssembler a(Codec::H264, 64);
  Bytes big = {0, 0, 1, 0x65, 0x88};
  big.resize(200, 0x55);
  expect_decode_error([&] { a.push(big.data(), big.size()); }, "200-byte unit, limit 64");
  EXPECT_EQ(a.buffered_bytes(), 0u);
  const Bytes next = {0x55, 0x55, 0, 0, 1, 0x65, 0x88, 0x10, 0, 0, 1, 0x41, 0x80};
  a.push(next.data(), next.size());
  a.finish();
  const auto aus = drain(a);
  ASSERT_EQ(aus.size(), 2u);
  EXPECT_TRUE(aus[0].is_keyframe);
}

TEST(Assembler, GarbageNeverCrashesAndKeepsItsAccounting) {
  std::mt19937 rng(42);
  std::uniform_int_distribution<int> byte(0, 255), zero_bias(0, 3);
  for (int round = 0; round < 20; ++round) {
    Bytes g(5000);
    // Zeros and ones are frequent, so start codes and emulation bytes appear often.
    for (auto& b : g) b = uint8_t(zero_bias(rng) == 0 ? byte(rng) : zero_bias(rng) % 2);
    for (Codec codec : {Codec::H264, Codec::HEVC}) {
      const auto aus = assemble_fixed(codec, g, size_t(1 + round % 5));
      size_t total = 0;
      for (const auto& au : aus) {
        total += au.data.size();
        for (const auto& n : au.nals) EXPECT_LE(n.offset + n.size, au.data.size());
      }
      EXPECT_LE(total, g.size());
      expect_same(aus, assemble_fixed(codec, g, g.size()));
    }
  }
}

TEST(Assembler, MalformedHeadersAreCountedAndKept) {
  // forbidden_zero_bit set (0xe5), then a unit that is only a header of an H.264 slice.
  const Bytes s = {0, 0, 1, 0x65, 0x88, 0, 0, 1, 0xe5, 0x88, 0, 0, 1, 0x41};
  AccessUnitAssembler a(Codec::H264);
  a.push(s.data(), s.size());
  a.finish();
  const auto aus = drain(a);
  ASSERT_EQ(aus.size(), 1u);
  EXPECT_EQ(types_of(aus[0]), (std::vector<int>{5, -1, -1}));
  EXPECT_EQ(a.stats().malformed_nal_units, 2u);
}

TEST(Assembler, FinishStartsANewStream) {
  AccessUnitAssembler a(Codec::H264);
  const Bytes s = {0, 0, 1, 0x65, 0x88};
  a.push(s.data(), s.size());
  EXPECT_FALSE(a.has_access_unit());  // may still continue
  a.finish();
  ASSERT_TRUE(a.has_access_unit());
  a.push(s.data(), s.size());
  a.finish();
  EXPECT_EQ(drain(a).size(), 2u);
}

TEST(Assembler, OnlyH264AndHevcAreAccepted) {
  try {
    AccessUnitAssembler a(Codec::AV1);
    ADD_FAILURE() << "AV1 accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Config);
  }
}

// ---- bit reading ---------------------------------------------------------------------

TEST(RbspReader, SkipsEmulationPreventionBytes) {
  const Bytes nal = {0x00, 0x00, 0x03, 0x01, 0x00, 0x00, 0x03, 0x03};
  RbspReader r(nal.data(), nal.size());
  EXPECT_EQ(r.bits(32), 0x00000100u);  // 00 00 [03] 01 00 | 00 [03] 03
  EXPECT_EQ(r.bits(16), 0x0003u);
  EXPECT_FALSE(r.overrun());
  r.bit();
  EXPECT_TRUE(r.overrun());
}

TEST(RbspReader, ExpGolombCodes) {
  // 1 | 010 | 011 | 00100 | 00101 -> ue 0, 1, 2, 3; then se of 00101 (4) = -2.
  const Bytes nal = {0b10100110, 0b01000010, 0b10000000};
  RbspReader r(nal.data(), nal.size());
  EXPECT_EQ(r.ue(), 0u);
  EXPECT_EQ(r.ue(), 1u);
  EXPECT_EQ(r.ue(), 2u);
  EXPECT_EQ(r.ue(), 3u);
  EXPECT_EQ(r.se(), -2);
  EXPECT_FALSE(r.overrun());
}

TEST(RbspReader, MoreThan31LeadingZerosIsMalformed) {
  const Bytes nal = {0x00, 0x00, 0x03, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03, 0x80};
  RbspReader r(nal.data(), nal.size());
  EXPECT_EQ(r.ue(), 0u);
  EXPECT_TRUE(r.malformed());
}

TEST(NalHeader, HevcLayerAndTemporalIdAreRead) {
  NalHeader h;
  const uint8_t nal[] = {0x41, (9 << 3) | 3};  // VPS, layer 32 + 9, temporal id 2
  ASSERT_TRUE(parse_nal_header(Codec::HEVC, nal, 2, h));
  EXPECT_EQ(h.type, 32);
  EXPECT_EQ(h.layer_id, 41);
  EXPECT_EQ(h.temporal_id, 2);
  const uint8_t zero_tid[] = {0x40, 0x00};
  EXPECT_FALSE(parse_nal_header(Codec::HEVC, zero_tid, 2, h));
  EXPECT_FALSE(parse_nal_header(Codec::HEVC, nal, 1, h));
}
