// nv_session/nvdec: the NVDEC adapter end to end through the NVDEC and CUDA driver doubles
// (tests/nvdec_double, tests/nvenc_double), reached as the real driver would be:
// VIDEOHW_CUDA_LIBRARY and VIDEOHW_NVCUVID_LIBRARY name the libraries. The double decodes
// with libavcodec, so every frame must equal the software decoder's, bit for bit; its rule
// checks say whether the adapter used the API correctly. The last tests misuse the API on
// purpose and check that the double notices.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "backend/rgb_reference.hpp"
#include "contract/errors.hpp"
#include "contract/frame_layout.hpp"
#include "nv_session/nvdec/nvdec_buffer_cache.hpp"
#include "nv_session/nvdec/nvdec_decoder.hpp"
#include "nv_session/nvdec/nvdec_decoder_cache.hpp"
#include "nv_session/nvdec/nvdec_device.hpp"
#include "nv_session/nvdec/nvdec_provider.hpp"
#include "nv_session/nvdec/nvdec_rgb_converter.hpp"
#include "software/software_decode_provider.hpp"
#include "support/decode_helpers.hpp"
#include "support/decoded_pixels.hpp"
#include "support/encoded_streams.hpp"
#include "support/frames.hpp"
#include "support/nvdec_doubles.hpp"

using namespace videohw;
namespace nv = videohw::nv_session;

namespace {

using Doubles = vhtest::NvdecDoubles;

int count_lines(const std::string& text, const std::string& prefix) {
  int n = 0;
  for (size_t at = 0; at < text.size();) {
    const size_t end = text.find('\n', at);
    if (text.compare(at, prefix.size(), prefix) == 0) ++n;
    if (end == std::string::npos) break;
    at = end + 1;
  }
  return n;
}

using Spec = vhtest::StreamSpec;

// HEVC needs 144x144 on NVDEC (cuvidGetDecoderCaps); H.264 starts at 48x16.
Spec small(Codec codec, int frames = 12, int gop = 4, int b_frames = 0) {
  return codec == Codec::HEVC ? Spec{176, 144, frames, gop, b_frames}
                              : Spec{64, 48, frames, gop, b_frames};
}

std::vector<EncodedPacket> encode(Codec codec, const Spec& spec) {
  return vhtest::encode_stream(codec, spec);
}

constexpr auto nvdec = &vhtest::nvdec_session;
using vhtest::decode_all;
using vhtest::decode_config;

std::vector<DecodedFrame> software_decode(Codec codec, DecodeOutputMode mode,
                                          const std::vector<EncodedPacket>& packets) {
  auto d =
      software::SoftwareDecoderProvider(SoftwareDecodeConfig{}).create(decode_config(codec, mode));
  return decode_all(*d, packets);
}

using vhtest::nv12_as_i420;

constexpr auto planes_of = &vhtest::plane_bytes;

void expect_same_frames(const std::vector<DecodedFrame>& got,
                        const std::vector<DecodedFrame>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].width, want[i].width) << "frame " << i;
    EXPECT_EQ(got[i].height, want[i].height) << "frame " << i;
    EXPECT_EQ(got[i].pts, want[i].pts) << "frame " << i;
    EXPECT_EQ(got[i].is_keyframe, want[i].is_keyframe) << "frame " << i;
    EXPECT_FALSE(got[i].damaged) << "frame " << i;
  }
}

void expect_same_pixels(const std::vector<DecodedFrame>& got,
                        const std::vector<DecodedFrame>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(got[i].pixel_format, "nv12") << "frame " << i;
    EXPECT_TRUE(got[i].on_device);
    EXPECT_TRUE(nv12_as_i420(got[i]) == planes_of(want[i])) << "frame " << i << " differs";
  }
}

class NvdecDouble : public ::testing::Test {
 protected:
  void SetUp() override { Doubles::get().reset(); }
  void TearDown() override {
    // Ended sessions park their decoders and buffers for the next; none may be left behind.
    nv::release_nvdec_caches();
    EXPECT_EQ(Doubles::get().violations(), "") << "an NVDEC / CUDA API rule was broken";
    EXPECT_EQ(Doubles::get().open_decoders(), 0);
    EXPECT_EQ(Doubles::get().open_parsers(), 0);
    EXPECT_EQ(Doubles::get().live_events(), 0) << "a session left CUDA events behind";
  }
};

class NvdecDoubleCodec : public NvdecDouble, public ::testing::WithParamInterface<Codec> {};

std::string codec_name(const ::testing::TestParamInfo<Codec>& info) {
  return to_string(info.param);
}

TEST_P(NvdecDoubleCodec, NativeSurfaceEqualsTheSoftwareDecoderBitForBit) {
  const Codec codec = GetParam();
  for (int b_frames : {0, 2}) {
    const auto packets = encode(codec, small(codec, 14, 6, b_frames));
    auto session = nvdec(decode_config(codec, DecodeOutputMode::NativeSurface));
    const auto got = decode_all(*session, packets);
    const auto want = software_decode(codec, DecodeOutputMode::NativeSurface, packets);
    ASSERT_EQ(got.size(), 14u) << "b_frames " << b_frames;
    expect_same_frames(got, want);
    expect_same_pixels(got, want);
    EXPECT_EQ(session->nvdec_stats().frames_mapped, 14);
    EXPECT_EQ(session->nvdec_stats().decoders_created, 1);
  }
}

TEST_P(NvdecDoubleCodec, CpuRgbEqualsTheSoftwareDecoderBitForBit) {
  if (!nv::nvdec_rgb_unavailable_reason().empty())
    GTEST_SKIP() << nv::nvdec_rgb_unavailable_reason();
  const Codec codec = GetParam();
  const auto packets = encode(codec, small(codec, 8, 4));
  auto session = nvdec(decode_config(codec, DecodeOutputMode::CpuRgb));
  const auto got = decode_all(*session, packets);
  const auto want = software_decode(codec, DecodeOutputMode::CpuRgb, packets);
  expect_same_frames(got, want);
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].pixel_format, "rgb24");
    EXPECT_FALSE(got[i].on_device);
    EXPECT_TRUE(planes_of(got[i]) == planes_of(want[i])) << "frame " << i << " differs";
  }
  EXPECT_EQ(count_lines(Doubles::get().log(), "cuvidMapVideoFrame64"), 8);
}

TEST_P(NvdecDoubleCodec, MetadataOnlyGivesTheSameFramesAndMapsNothing) {
  const Codec codec = GetParam();
  const auto packets = encode(codec, small(codec, 10, 5, 1));
  auto session = nvdec(decode_config(codec, DecodeOutputMode::MetadataOnly));
  const auto got = decode_all(*session, packets);
  expect_same_frames(got, software_decode(codec, DecodeOutputMode::MetadataOnly, packets));
  for (const auto& f : got) EXPECT_TRUE(f.planes.empty());
  EXPECT_EQ(session->nvdec_stats().frames_mapped, 0);
  EXPECT_EQ(count_lines(Doubles::get().log(), "cuvidMapVideoFrame64"), 0);
  EXPECT_EQ(count_lines(Doubles::get().log(), "cuvidDecodePicture"), 10);
}

TEST_P(NvdecDoubleCodec, FlushKeepsTheSessionUsable) {
  const Codec codec = GetParam();
  const auto packets = encode(codec, small(codec, 8, 4));
  auto session = nvdec(decode_config(codec, DecodeOutputMode::NativeSurface));
  const auto first = decode_all(*session, packets);
  const auto second = decode_all(*session, packets);
  const auto want = software_decode(codec, DecodeOutputMode::NativeSurface, packets);
  expect_same_pixels(first, want);
  expect_same_pixels(second, want);
  EXPECT_EQ(session->nvdec_stats().decoders_created, 1);
}

TEST_P(NvdecDoubleCodec, ResetDropsWhatIsInFlightAndDecodesFromTheNextKeyframe) {
  const Codec codec = GetParam();
  const auto packets = encode(codec, small(codec, 12, 4, 2));
  auto session = nvdec(decode_config(codec, DecodeOutputMode::NativeSurface));
  std::vector<DecodedFrame> before;
  for (size_t i = 0; i < 6; ++i)
    session->decode(packets[i].data.data(), packets[i].data.size(), packets[i].pts, before);
  session->reset(false);
  // A seek: from the access unit of the keyframe with pts 8 on.
  size_t from = 0;
  while (from < packets.size() && packets[from].pts != 8) ++from;
  ASSERT_LT(from, packets.size());
  const std::vector<EncodedPacket> tail(packets.begin() + long(from), packets.end());
  const auto got = decode_all(*session, tail);
  const auto want = software_decode(codec, DecodeOutputMode::NativeSurface, tail);
  expect_same_frames(got, want);
  expect_same_pixels(got, want);
  EXPECT_EQ(got.front().pts, 8);
}

TEST_P(NvdecDoubleCodec, SizeChangeMidStreamReconfiguresWithinTheOutputSurfaces) {
  // Smaller pictures: the same decoder, reconfigured. Larger ones than its output surfaces
  // were made for (fixed at creation; the double refuses growing them, as the H200's copies
  // out of such a decoder failed): a new decoder.
  const Codec codec = GetParam();
  for (const bool grow : {false, true}) {
    Doubles::get().reset();
    Spec first = small(codec, 6, 6), second = small(codec, 6, 6);
    (grow ? second : first).width += 32;
    (grow ? second : first).height += 16;
    second.first_pts = 6;
    auto packets = encode(codec, first);
    const auto more = encode(codec, second);
    packets.insert(packets.end(), more.begin(), more.end());
    auto session = nvdec(decode_config(codec, DecodeOutputMode::NativeSurface));
    const auto got = decode_all(*session, packets);
    const auto want = software_decode(codec, DecodeOutputMode::NativeSurface, packets);
    ASSERT_EQ(got.size(), 12u);
    expect_same_frames(got, want);
    expect_same_pixels(got, want);
    EXPECT_EQ(got[5].width, first.width);
    EXPECT_EQ(got[6].width, second.width);
    const auto s = session->nvdec_stats();
    EXPECT_EQ(s.decoders_created + s.decoders_adopted, grow ? 2 : 1) << "grow " << grow;
    EXPECT_EQ(s.reconfigures, grow ? 0 : 1) << "grow " << grow;
    EXPECT_EQ(count_lines(Doubles::get().log(), "cuvidReconfigureDecoder"), grow ? 0 : 1);
    session.reset();
    nv::release_nvdec_caches();
  }
}

TEST_P(NvdecDoubleCodec, LowLatencyGivesEachFrameFromItsOwnPush) {
  const Codec codec = GetParam();
  const auto packets = encode(codec, small(codec, 8, 4));
  auto session = nvdec(decode_config(codec, DecodeOutputMode::MetadataOnly, true));
  for (const auto& p : packets) {
    std::vector<DecodedFrame> out;
    session->decode(p.data.data(), p.data.size(), p.pts, out);
    ASSERT_EQ(out.size(), 1u) << "pts " << p.pts;
    EXPECT_EQ(out[0].pts, p.pts);
  }
}

TEST_P(NvdecDoubleCodec, AFailedDecodeIsADecodeErrorAndTheSessionRecoversAtTheNextKeyframe) {
  const Codec codec = GetParam();
  const auto packets = encode(codec, small(codec, 12, 4));
  auto session = nvdec(decode_config(codec, DecodeOutputMode::NativeSurface));
  ASSERT_TRUE(Doubles::get().set_faults("decode@3")) << "decode@3";
  std::vector<DecodedFrame> out;
  int errors = 0;
  for (const auto& p : packets) {
    try {
      session->decode(p.data.data(), p.data.size(), p.pts, out);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Decode);
      EXPECT_NE(std::string(e.what()).find("cuvidDecodePicture"), std::string::npos) << e.what();
      ++errors;
    }
  }
  session->flush(out);
  EXPECT_EQ(errors, 1);
  std::vector<int64_t> pts;
  for (const auto& f : out) pts.push_back(f.pts.value_or(-1));
  // Picture 2 never decoded; the GOP from pts 4 on is whole.
  for (int64_t p = 4; p < 12; ++p) EXPECT_NE(std::find(pts.begin(), pts.end(), p), pts.end()) << p;
  EXPECT_EQ(std::find(pts.begin(), pts.end(), 2), pts.end());
}

INSTANTIATE_TEST_SUITE_P(Codecs, NvdecDoubleCodec, ::testing::Values(Codec::H264, Codec::HEVC),
                         codec_name);

TEST_F(NvdecDouble, AFailedDecoderCreationIsADecodeError) {
  Doubles::get().reset("create_decoder");
  const auto packets = encode(Codec::H264, small(Codec::H264, 4));
  auto session = nvdec(decode_config(Codec::H264, DecodeOutputMode::NativeSurface));
  std::vector<DecodedFrame> out;
  try {
    session->decode(packets[0].data.data(), packets[0].data.size(), 0, out);
    session->flush(out);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Decode);
    EXPECT_NE(std::string(e.what()).find("cuvidCreateDecoder"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(out.empty());
}

TEST_F(NvdecDouble, AFailedMapIsADecodeError) {
  const auto packets = encode(Codec::H264, small(Codec::H264, 4));
  auto session = nvdec(decode_config(Codec::H264, DecodeOutputMode::NativeSurface, true));
  ASSERT_TRUE(Doubles::get().set_faults("map@2")) << "map@2";
  std::vector<DecodedFrame> out;
  int errors = 0;
  for (const auto& p : packets) {
    try {
      session->decode(p.data.data(), p.data.size(), p.pts, out);
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("cuvidMapVideoFrame"), std::string::npos) << e.what();
      ++errors;
    }
  }
  EXPECT_EQ(errors, 1);
  EXPECT_EQ(out.size(), 3u);
}

TEST_F(NvdecDouble, ADecodeStatusErrorMarksTheFrameDamaged) {
  const auto packets = encode(Codec::H264, small(Codec::H264, 4));
  auto session = nvdec(decode_config(Codec::H264, DecodeOutputMode::MetadataOnly));
  ASSERT_TRUE(Doubles::get().set_faults("status@2")) << "status@2";
  const auto frames = decode_all(*session, packets);
  ASSERT_EQ(frames.size(), 4u);
  EXPECT_FALSE(frames[0].damaged);
  EXPECT_TRUE(frames[1].damaged);
  EXPECT_FALSE(frames[2].damaged);
}

TEST_F(NvdecDouble, EveryAllocationIsFreedOnceTheSessionAndItsFramesAreGone) {
  const auto packets = encode(Codec::H264, small(Codec::H264, 6, 3));
  for (const auto mode : {DecodeOutputMode::NativeSurface, DecodeOutputMode::CpuRgb}) {
    if (mode == DecodeOutputMode::CpuRgb && !nv::nvdec_rgb_unavailable_reason().empty()) continue;
    // The device keeps what every session shares (the RGB table) for the process: a first
    // session makes it before the count.
    decode_all(*nvdec(decode_config(Codec::H264, mode)), packets);
    nv::release_nvdec_caches();
    const int before = Doubles::get().live_allocations();
    std::vector<DecodedFrame> frames;
    {
      auto session = nvdec(decode_config(Codec::H264, mode));
      frames = decode_all(*session, packets);
    }
    ASSERT_EQ(frames.size(), 6u);
    // The frames keep their buffers (and the pools) after the session is gone.
    EXPECT_GT(Doubles::get().live_allocations(), before);
    frames.clear();
    // What the pools let go waits in the process's cache for the next session, and only there.
    const int64_t cached = nv::NvdecBufferCache::stats_all(nv::PoolMemory::Device).idle +
                           nv::NvdecBufferCache::stats_all(nv::PoolMemory::PinnedHost).idle;
    EXPECT_GT(cached, 0) << "mode " << int(mode);
    EXPECT_EQ(Doubles::get().live_allocations(), before + cached) << "mode " << int(mode);
    nv::release_nvdec_caches();
    EXPECT_EQ(Doubles::get().live_allocations(), before) << "mode " << int(mode);
  }
}

TEST_F(NvdecDouble, ProviderReportsTheDoublesCapabilities) {
  nv::NvdecDecoderProvider provider(NvidiaDecodeConfig{}, reference_rgb_table());
  const auto h264 = provider.capabilities(Codec::H264);
  EXPECT_TRUE(h264.supported);
  EXPECT_EQ(h264.max_width, 4096);
  EXPECT_TRUE(provider.capabilities(Codec::HEVC).supported);
  EXPECT_FALSE(provider.capabilities(Codec::AV1).supported);
  // A GPU's capabilities do not change while a process runs: a provider asks once per
  // codec. A new provider asks again.
  Doubles::get().reset("", "hevc=0");
  EXPECT_TRUE(provider.capabilities(Codec::HEVC).supported);
  const int asked = count_lines(Doubles::get().log(), "cuvidGetDecoderCaps");
  EXPECT_TRUE(provider.config_problems(decode_config(Codec::HEVC, DecodeOutputMode::NativeSurface))
                  .empty());
  EXPECT_EQ(count_lines(Doubles::get().log(), "cuvidGetDecoderCaps"), asked);
  nv::NvdecDecoderProvider fresh(NvidiaDecodeConfig{}, reference_rgb_table());
  EXPECT_FALSE(fresh.capabilities(Codec::HEVC).supported);
  EXPECT_FALSE(
      fresh.config_problems(decode_config(Codec::HEVC, DecodeOutputMode::NativeSurface)).empty());
}

// ---- the output stage: frames in flight, events, pools ------------------------------------

// The packets' bytes in chunks of `per_chunk` access units, as a caller holding a file pushes
// it: 1 MiB of 1080p H.264 at 8 Mb/s is about 30 pictures.
std::vector<std::vector<uint8_t>> chunks_of(const std::vector<EncodedPacket>& packets,
                                            size_t per_chunk) {
  std::vector<std::vector<uint8_t>> chunks;
  for (size_t i = 0; i < packets.size(); ++i) {
    if (i % per_chunk == 0) chunks.emplace_back();
    chunks.back().insert(chunks.back().end(), packets[i].data.begin(), packets[i].data.end());
  }
  return chunks;
}

std::vector<uint8_t> whole_stream(const std::vector<EncodedPacket>& packets) {
  return chunks_of(packets, packets.size()).front();
}

// A frame's pixels in a form the software decoder's frame of the same mode has too.
std::vector<uint8_t> pixels_of(const DecodedFrame& f) {
  return f.pixel_format == "nv12" ? nv12_as_i420(f) : planes_of(f);
}

std::vector<std::vector<uint8_t>> pixels_of(const std::vector<DecodedFrame>& frames) {
  std::vector<std::vector<uint8_t>> out;
  for (const auto& f : frames) out.push_back(pixels_of(f));
  return out;
}

nv::SurfacePoolStats frame_pool(const nv::NvdecDecoder& d, DecodeOutputMode mode) {
  return mode == DecodeOutputMode::CpuRgb ? d.nvdec_stats().rgb_pool : d.nvdec_stats().pool;
}

class NvdecDoubleMode : public NvdecDouble, public ::testing::WithParamInterface<DecodeOutputMode> {
 protected:
  void SetUp() override {
    NvdecDouble::SetUp();
    if (GetParam() == DecodeOutputMode::CpuRgb && !nv::nvdec_rgb_unavailable_reason().empty())
      GTEST_SKIP() << nv::nvdec_rgb_unavailable_reason();
  }
};

std::string mode_name(const ::testing::TestParamInfo<DecodeOutputMode>& info) {
  return info.param == DecodeOutputMode::CpuRgb ? "CpuRgb" : "NativeSurface";
}

TEST_P(NvdecDoubleMode, BigPushesAllocateNothingOnceThePoolHasGrown) {
  const DecodeOutputMode mode = GetParam();
  const auto packets = encode(Codec::H264, small(Codec::H264, 96, 16, 2));
  auto session = nvdec(decode_config(Codec::H264, mode));
  std::vector<std::vector<uint8_t>> got;
  std::vector<int64_t> allocations;  // after each push
  for (const auto& chunk : chunks_of(packets, 16)) {
    std::vector<DecodedFrame> out;
    session->decode(chunk.data(), chunk.size(), std::nullopt, out);
    // More frames per push than the 8 buffers the pools used to keep.
    if (!allocations.empty()) {
      EXPECT_GE(out.size(), 12u);
    }
    for (const auto& f : out) got.push_back(pixels_of(f));
    out.clear();  // reaped and dropped: every buffer goes back
    const nv::SurfacePoolStats pool = frame_pool(*session, mode);
    EXPECT_EQ(pool.outstanding, 0);
    EXPECT_EQ(pool.frees, 0) << "a buffer was freed only to be allocated again";
    allocations.push_back(pool.allocations);
  }
  // The first push yields fewer frames than the others (the parser holds back the display
  // delay and the reorder depth), so the second tops the pool up; nothing after that.
  for (size_t i = 2; i < allocations.size(); ++i)
    EXPECT_EQ(allocations[i], allocations[1]) << "push " << i;
  std::vector<DecodedFrame> rest;
  session->flush(rest);
  for (const auto& f : rest) got.push_back(pixels_of(f));
  EXPECT_TRUE(got == pixels_of(software_decode(Codec::H264, mode, packets)))
      << "frames differ from the software decoder's";
}

TEST_P(NvdecDoubleMode, FramesHeldUntilTheFlushAreAllocatedForOnceNotOncePerFile) {
  // A caller who reaps nothing until flush holds every frame of a file at once: more than
  // any fixed pool size. The second file through the session must reuse them all.
  const DecodeOutputMode mode = GetParam();
  const auto packets = encode(Codec::H264, small(Codec::H264, 90, 30, 0));
  auto session = nvdec(decode_config(Codec::H264, mode));
  std::vector<int64_t> allocations, frees;
  for (int file = 0; file < 3; ++file) {
    std::vector<DecodedFrame> held;
    for (const auto& p : packets) session->decode(p.data.data(), p.data.size(), std::nullopt, held);
    session->flush(held);
    ASSERT_EQ(held.size(), 90u);
    held.clear();
    const nv::SurfacePoolStats pool = frame_pool(*session, mode);
    allocations.push_back(pool.allocations);
    frees.push_back(pool.frees);
  }
  EXPECT_GE(allocations[0], 80) << "the frames were not all held at once";
  EXPECT_EQ(allocations[2], allocations[0]);
  EXPECT_EQ(allocations[1], allocations[0]);
  EXPECT_EQ(frees[2], 0);
}

TEST_P(NvdecDoubleMode, UpToTheOutputSurfacesAreInFlightAndNoneOutlivesACall) {
  const auto packets = encode(Codec::H264, small(Codec::H264, 40, 8, 2));
  auto session = nvdec(decode_config(Codec::H264, GetParam()));
  std::vector<DecodedFrame> out;
  for (const auto& chunk : chunks_of(packets, 20)) {
    session->decode(chunk.data(), chunk.size(), std::nullopt, out);
    EXPECT_EQ(Doubles::get().mapped_frames(), 0) << "a frame is still mapped after its push";
  }
  session->flush(out);
  EXPECT_EQ(Doubles::get().mapped_frames(), 0);
  EXPECT_EQ(out.size(), 40u);
  // Frames overlap up to the decoder's output surfaces, no further.
  EXPECT_EQ(Doubles::get().max_mapped(), nv::NvdecDecoder::kFramesInFlight);
  const std::string log = Doubles::get().cuda_log();
  EXPECT_EQ(count_lines(log, "cuStreamSynchronize"), 0) << "a stream synchronize per frame";
  EXPECT_EQ(count_lines(log, "cuEventRecord"), 40);
  EXPECT_LE(count_lines(log, "cuEventCreate"), nv::NvdecDecoder::kFramesInFlight);
  EXPECT_TRUE(pixels_of(out) == pixels_of(software_decode(Codec::H264, GetParam(), packets)));
}

TEST_P(NvdecDoubleMode, FramesACallerHoldsAreNeverOverwritten) {
  const auto packets = encode(Codec::H264, small(Codec::H264, 48, 8, 2));
  const auto chunks = chunks_of(packets, 12);
  auto session = nvdec(decode_config(Codec::H264, GetParam()));
  std::vector<DecodedFrame> held;
  session->decode(chunks[0].data(), chunks[0].size(), std::nullopt, held);
  ASSERT_GE(held.size(), 6u);
  const auto before = pixels_of(held);
  std::vector<const uint8_t*> held_memory;
  for (const auto& f : held) held_memory.push_back(f.planes.at(0).data);
  for (size_t i = 1; i <= chunks.size(); ++i) {
    std::vector<DecodedFrame> out;
    if (i < chunks.size())
      session->decode(chunks[i].data(), chunks[i].size(), std::nullopt, out);
    else
      session->flush(out);
    for (const auto& f : out)
      EXPECT_EQ(std::count(held_memory.begin(), held_memory.end(), f.planes.at(0).data), 0)
          << "a new frame got the buffer of a frame still held";
  }
  EXPECT_TRUE(pixels_of(held) == before) << "a held frame's pixels changed";
}

TEST_P(NvdecDoubleMode, ADecodeSurfaceIsNotReusedWhileItsFrameIsInFlight) {
  // A parser that hands a just-displayed surface to the next picture at once: the decode
  // callback must wait for that picture's frame, or the double reports a decode into a
  // mapped surface.
  Doubles::get().reset("", "lowest_surface=1");
  const auto packets = encode(Codec::H264, small(Codec::H264, 40, 8, 2));
  auto session = nvdec(decode_config(Codec::H264, GetParam()));
  std::vector<DecodedFrame> out;
  for (const auto& chunk : chunks_of(packets, 20))
    session->decode(chunk.data(), chunk.size(), std::nullopt, out);
  session->flush(out);
  EXPECT_EQ(Doubles::get().mapped_frames(), 0);
  EXPECT_TRUE(pixels_of(out) == pixels_of(software_decode(Codec::H264, GetParam(), packets)));
}

struct OutputFault {
  const char* fault;  // the CUDA double's fault list
  const char* call;   // what the error names
};

// Which pictures of `want` the frames of `got` are, in order; -1 for one that is none.
std::vector<int> picture_numbers(const std::vector<DecodedFrame>& got,
                                 const std::vector<std::vector<uint8_t>>& want) {
  std::vector<int> numbers;
  for (const auto& f : got) {
    const auto found = std::find(want.begin(), want.end(), pixels_of(f));
    numbers.push_back(found == want.end() ? -1 : int(found - want.begin()));
  }
  return numbers;
}

TEST_P(NvdecDoubleMode, AFailedCopyOrEventIsADecodeErrorAndLeavesNothingMapped) {
  const DecodeOutputMode mode = GetParam();
  const auto packets = encode(Codec::H264, small(Codec::H264, 24, 8));
  const auto want = pixels_of(software_decode(Codec::H264, mode, packets));
  const std::vector<uint8_t> stream = whole_stream(packets);
  const OutputFault faults[] = {
      {"event_sync@3", "cuEventSynchronize"},
      {"event_sync", "cuEventSynchronize"},
      {"event_record@3", "cuEventRecord"},
      {"copy_async@3", mode == DecodeOutputMode::CpuRgb ? "cuMemcpyDtoHAsync" : "cuMemcpy2DAsync"}};
  for (const OutputFault& f : faults) {
    SCOPED_TRACE(f.fault);
    auto session = nvdec(decode_config(Codec::H264, mode));
    ASSERT_TRUE(Doubles::get().set_cuda_faults(f.fault)) << f.fault;
    std::vector<DecodedFrame> out;
    try {
      session->decode(stream.data(), stream.size(), std::nullopt, out);
      ADD_FAILURE() << "no error";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Decode);
      EXPECT_NE(std::string(e.what()).find(f.call), std::string::npos) << e.what();
    }
    EXPECT_EQ(Doubles::get().mapped_frames(), 0);
    // What was handed out is whole pictures, in display order, the failed one left out.
    EXPECT_LT(out.size(), want.size());
    const std::vector<int> numbers = picture_numbers(out, want);
    EXPECT_EQ(std::count(numbers.begin(), numbers.end(), -1), 0);
    EXPECT_TRUE(std::is_sorted(numbers.begin(), numbers.end()));
    // And the session decodes the stream again after a reset.
    ASSERT_TRUE(Doubles::get().set_cuda_faults(""));
    session->reset(false);
    EXPECT_TRUE(pixels_of(decode_all(*session, packets)) == want);
  }
}

TEST_P(NvdecDoubleMode, AnInterruptedCallThenResetAndDestructionLeaveNothingMapped) {
  const auto packets = encode(Codec::H264, small(Codec::H264, 24, 8, 2));
  const std::vector<uint8_t> stream = whole_stream(packets);
  const int events_before = Doubles::get().live_events();
  auto session = nvdec(decode_config(Codec::H264, GetParam()));
  // The 7th map fails while earlier frames are in flight.
  ASSERT_TRUE(Doubles::get().set_faults("map@7")) << "map@7";
  std::vector<DecodedFrame> out;
  EXPECT_THROW(session->decode(stream.data(), stream.size(), std::nullopt, out), Error);
  EXPECT_EQ(out.size(), 6u) << "the frames in flight before the failure are handed out";
  EXPECT_EQ(Doubles::get().mapped_frames(), 0);
  session->reset(false);
  EXPECT_EQ(Doubles::get().mapped_frames(), 0);
  // Pictures the parser still holds are mapped by the destructor's end of stream.
  session->decode(stream.data(), stream.size() / 2, std::nullopt, out);
  session.reset();
  EXPECT_EQ(Doubles::get().mapped_frames(), 0);
  EXPECT_EQ(Doubles::get().live_events(), events_before);
}

INSTANTIATE_TEST_SUITE_P(Modes, NvdecDoubleMode,
                         ::testing::Values(DecodeOutputMode::NativeSurface,
                                           DecodeOutputMode::CpuRgb),
                         mode_name);

TEST_F(NvdecDouble, ACpuRgbSessionReusesTheDevicesKernelsAndTable) {
  if (!nv::nvdec_rgb_unavailable_reason().empty())
    GTEST_SKIP() << nv::nvdec_rgb_unavailable_reason();
  const auto packets = encode(Codec::H264, small(Codec::H264, 4));
  for (int i = 0; i < 3; ++i) {
    auto session = nvdec(decode_config(Codec::H264, DecodeOutputMode::CpuRgb));
    EXPECT_EQ(decode_all(*session, packets).size(), 4u);
  }
  const std::string log = Doubles::get().cuda_log();
  // None when an earlier test of this process loaded them already.
  EXPECT_LE(count_lines(log, "cuModuleLoadData"), 1) << "the PTX is loaded per session";
  EXPECT_EQ(count_lines(log, "cuModuleUnload"), 0);
  const std::string table_upload = "cuMemcpy2D_v2 " + std::to_string(256 * 256 * 256 * 3) + "x1";
  EXPECT_LE(count_lines(log, table_upload), 1) << "the RGB table is uploaded per session";
}

TEST_F(NvdecDouble, ATableCopyIsFreedOnceItsHostTableIsGone) {
  if (!nv::nvdec_rgb_unavailable_reason().empty())
    GTEST_SKIP() << nv::nvdec_rgb_unavailable_reason();
  // A source that makes a new host table every time: each session's device copy outlives
  // the session only until the next one asks for a table.
  const RgbTableSource fresh = [](const ColorInfo& color) {
    return std::make_shared<const std::vector<uint8_t>>(*reference_rgb_table()(color));
  };
  const auto packets = encode(Codec::H264, small(Codec::H264, 4));
  const auto want = pixels_of(software_decode(Codec::H264, DecodeOutputMode::CpuRgb, packets));
  const auto decode_fresh = [&] {
    nv::NvdecDecoder session(decode_config(Codec::H264, DecodeOutputMode::CpuRgb),
                             NvidiaDecodeConfig{}, fresh);
    EXPECT_TRUE(pixels_of(decode_all(session, packets)) == want);
  };
  decode_fresh();
  const int before = Doubles::get().live_allocations();
  for (int i = 0; i < 3; ++i) decode_fresh();
  EXPECT_EQ(Doubles::get().live_allocations(), before) << "dead tables pile up on the device";
}

TEST_F(NvdecDouble, APoolKeepsWhatWasOutAtOnceUpToItsCap) {
  nv::release_nvdec_caches();
  const int live_before = Doubles::get().live_allocations();
  auto pool = nv::NvdecSurfacePool::create(nv::NvdecDevice::open(0), 4, nv::PoolMemory::Device);
  const auto cycle = [&](size_t n, size_t bytes) {
    std::vector<std::shared_ptr<nv::DeviceBuffer>> out;
    for (size_t i = 0; i < n; ++i) out.push_back(pool->acquire(bytes));
  };
  cycle(3, 1000);
  cycle(3, 1000);
  EXPECT_EQ(pool->stats().allocations, 3);
  EXPECT_EQ(pool->stats().idle, 3);
  cycle(6, 1000);  // beyond the cap: two go when they come back
  EXPECT_EQ(pool->stats().allocations, 6);
  EXPECT_EQ(pool->stats().idle, 4);
  EXPECT_EQ(pool->stats().frees, 2);
  cycle(4, 1000);
  EXPECT_EQ(pool->stats().allocations, 6);
  // A larger size: the new buffers stay and the stale ones are freed, so the next round of
  // the new size allocates nothing.
  cycle(4, 4000);
  EXPECT_EQ(pool->stats().allocations, 10);
  cycle(4, 4000);
  EXPECT_EQ(pool->stats().allocations, 10);
  EXPECT_EQ(pool->stats().idle, 4);
  EXPECT_EQ(pool->stats().outstanding, 0);
  EXPECT_EQ(pool->stats().peak_outstanding, 6);
  pool.reset();
  nv::release_nvdec_caches();
  EXPECT_EQ(Doubles::get().live_allocations(), live_before);
}

// ---- misuse: a minimal cuvid client that breaks one rule at a time -------------------------

class Client {
 public:
  // `on_display` runs inside the display callback with the decoder and the picture index.
  explicit Client(std::function<void(Client&, int)> on_display)
      : on_display_(std::move(on_display)) {
    context_ = nv::NvdecDevice::open(0);
    nv::ContextScope scope(context_->context(), ErrorKind::Decode);
    CUVIDPARSERPARAMS p{};
    p.CodecType = cudaVideoCodec_H264;
    p.ulMaxNumDecodeSurfaces = 1;
    p.pUserData = this;
    p.pfnSequenceCallback = [](void* self, CUVIDEOFORMAT* f) {
      return static_cast<Client*>(self)->sequence(*f);
    };
    p.pfnDecodePicture = [](void* self, CUVIDPICPARAMS* pic) {
      auto* c = static_cast<Client*>(self);
      return c->d().cuvidDecodePicture(c->decoder, pic) == CUDA_SUCCESS ? 1 : 0;
    };
    p.pfnDisplayPicture = [](void* self, CUVIDPARSERDISPINFO* info) {
      auto* c = static_cast<Client*>(self);
      if (info) c->on_display_(*c, info->picture_index);
      return 1;
    };
    EXPECT_EQ(d().cuvidCreateVideoParser(&parser_, &p), CUDA_SUCCESS);
  }
  ~Client() {
    nv::ContextScope scope(context_->context(), ErrorKind::Decode);
    if (decoder) d().cuvidDestroyDecoder(decoder);
    d().cuvidDestroyVideoParser(parser_);
  }
  const nv::CuvidApi& d() const { return context_->cuvid(); }
  const nv::CudaDriver& cu() const { return context_->cuda(); }
  void feed(const std::vector<EncodedPacket>& packets) {
    nv::ContextScope scope(context_->context(), ErrorKind::Decode);
    for (const auto& p : packets) {
      CUVIDSOURCEDATAPACKET packet{};
      packet.payload = p.data.data();
      packet.payload_size = p.data.size();
      packet.flags = CUVID_PKT_ENDOFPICTURE;
      d().cuvidParseVideoData(parser_, &packet);
    }
  }
  CUresult map(int index, unsigned long long& ptr, unsigned& pitch) {
    CUVIDPROCPARAMS proc{};
    return d().cuvidMapVideoFrame(decoder, index, &ptr, &pitch, &proc);
  }
  CUvideodecoder decoder = nullptr;
  CUVIDDECODECREATEINFO info{};
  std::shared_ptr<nv::NvdecDevice> context_;

 private:
  int sequence(const CUVIDEOFORMAT& f) {
    info.CodecType = f.codec;
    info.ChromaFormat = f.chroma_format;
    info.OutputFormat = cudaVideoSurfaceFormat_NV12;
    info.ulNumDecodeSurfaces = f.min_num_decode_surfaces;
    info.ulNumOutputSurfaces = 1;
    info.ulWidth = info.ulMaxWidth = f.coded_width;
    info.ulHeight = info.ulMaxHeight = f.coded_height;
    info.display_area.right = short(f.display_area.right);
    info.display_area.bottom = short(f.display_area.bottom);
    info.ulTargetWidth = unsigned(f.display_area.right);
    info.ulTargetHeight = unsigned(f.display_area.bottom);
    if (!decoder && d().cuvidCreateDecoder(&decoder, &info) != CUDA_SUCCESS) return 0;
    return f.min_num_decode_surfaces;
  }
  std::function<void(Client&, int)> on_display_;
  CUvideoparser parser_ = nullptr;
};

// Runs `misuse` on the first displayed picture and returns the violations it caused.
std::string violations_of(std::function<void(Client&, int)> misuse) {
  Doubles::get().reset();
  bool done = false;
  {
    Client client([&](Client& c, int index) {
      if (!done) misuse(c, index);
      done = true;
    });
    client.feed(encode(Codec::H264, small(Codec::H264, 3, 3)));
  }
  EXPECT_TRUE(done);
  const std::string found = Doubles::get().violations();
  Doubles::get().reset();
  return found;
}

TEST_F(NvdecDouble, AWellBehavedClientBreaksNoRule) {
  EXPECT_EQ(violations_of([](Client& c, int index) {
              unsigned long long ptr = 0;
              unsigned pitch = 0;
              ASSERT_EQ(c.map(index, ptr, pitch), CUDA_SUCCESS);
              EXPECT_GE(pitch, 64u);
              EXPECT_EQ(c.d().cuvidUnmapVideoFrame(c.decoder, ptr), CUDA_SUCCESS);
            }),
            "");
}

TEST_F(NvdecDouble, UnmapOfAFrameNotMappedIsAViolation) {
  EXPECT_NE(violations_of([](Client& c, int index) {
              unsigned long long ptr = 0;
              unsigned pitch = 0;
              ASSERT_EQ(c.map(index, ptr, pitch), CUDA_SUCCESS);
              c.d().cuvidUnmapVideoFrame(c.decoder, ptr);
              EXPECT_NE(c.d().cuvidUnmapVideoFrame(c.decoder, ptr), CUDA_SUCCESS);
            }).find("not a mapped frame"),
            std::string::npos);
}

TEST_F(NvdecDouble, MoreMapsThanOutputSurfacesIsAViolation) {
  EXPECT_NE(violations_of([](Client& c, int index) {
              unsigned long long a = 0, b = 0;
              unsigned pitch = 0;
              ASSERT_EQ(c.map(index, a, pitch), CUDA_SUCCESS);
              EXPECT_NE(c.map(index, b, pitch), CUDA_SUCCESS);
              c.d().cuvidUnmapVideoFrame(c.decoder, a);
            }).find("ulNumOutputSurfaces"),
            std::string::npos);
}

TEST_F(NvdecDouble, DestroyingADecoderWithAFrameMappedIsAViolation) {
  EXPECT_NE(violations_of([](Client& c, int index) {
              unsigned long long ptr = 0;
              unsigned pitch = 0;
              ASSERT_EQ(c.map(index, ptr, pitch), CUDA_SUCCESS);
              c.d().cuvidDestroyDecoder(c.decoder);
              // And every later call on it is one too.
              CUVIDGETDECODESTATUS status{};
              EXPECT_NE(c.d().cuvidGetDecodeStatus(c.decoder, index, &status), CUDA_SUCCESS);
              c.decoder = nullptr;
            }).find("still mapped"),
            std::string::npos);
}

TEST_F(NvdecDouble, DecodeAfterDestroyIsAViolation) {
  const std::string v = violations_of([](Client& c, int) {
    c.d().cuvidDestroyDecoder(c.decoder);
    CUVIDPICPARAMS pic{};
    EXPECT_NE(c.d().cuvidDecodePicture(c.decoder, &pic), CUDA_SUCCESS);
    c.decoder = nullptr;
  });
  EXPECT_NE(v.find("cuvidDecodePicture"), std::string::npos) << v;
  EXPECT_NE(v.find("destroyed"), std::string::npos) << v;
}

TEST_F(NvdecDouble, ReconfigureBeyondTheMaximumSizeIsAViolation) {
  EXPECT_NE(violations_of([](Client& c, int) {
              CUVIDRECONFIGUREDECODERINFO r{};
              r.ulWidth = c.info.ulMaxWidth + 16;
              r.ulHeight = c.info.ulMaxHeight;
              r.ulTargetWidth = r.ulWidth;
              r.ulTargetHeight = r.ulHeight;
              r.display_area.right = short(r.ulWidth);
              r.display_area.bottom = short(r.ulHeight);
              EXPECT_NE(c.d().cuvidReconfigureDecoder(c.decoder, &r), CUDA_SUCCESS);
            }).find("beyond ulMaxWidth"),
            std::string::npos);
}

TEST_F(NvdecDouble, ACallWithoutTheContextCurrentIsAViolation) {
  EXPECT_NE(violations_of([](Client& c, int index) {
              CUcontext popped = nullptr;
              ASSERT_EQ(c.cu().cuCtxPopCurrent(&popped), CUDA_SUCCESS);
              CUVIDGETDECODESTATUS status{};
              EXPECT_NE(c.d().cuvidGetDecodeStatus(c.decoder, index, &status), CUDA_SUCCESS);
              c.cu().cuCtxPushCurrent(popped);
            }).find("without a current CUDA context"),
            std::string::npos);
}

TEST_F(NvdecDouble, ACopyFromAnUnmappedSurfaceIsAViolation) {
  const std::string v = violations_of([](Client& c, int index) {
    unsigned long long ptr = 0;
    unsigned pitch = 0;
    ASSERT_EQ(c.map(index, ptr, pitch), CUDA_SUCCESS);
    CUdeviceptr dst = 0;
    ASSERT_EQ(c.cu().cuMemAlloc(&dst, pitch), CUDA_SUCCESS);
    uint8_t first[4];
    ASSERT_EQ(c.cu().cuMemcpyDtoHAsync(first, ptr, 4, nullptr),
              CUDA_SUCCESS);  // while mapped: fine
    c.d().cuvidUnmapVideoFrame(c.decoder, ptr);
    CUDA_MEMCPY2D copy{};
    copy.srcMemoryType = CU_MEMORYTYPE_DEVICE;
    copy.srcDevice = ptr;
    copy.srcPitch = pitch;
    copy.dstMemoryType = CU_MEMORYTYPE_DEVICE;
    copy.dstDevice = dst;
    copy.dstPitch = pitch;
    copy.WidthInBytes = 16;
    copy.Height = 1;
    EXPECT_NE(c.cu().cuMemcpy2D(&copy), CUDA_SUCCESS);
    c.cu().cuMemFree(dst);
  });
  EXPECT_NE(v.find("outside every allocation and mapped surface"), std::string::npos) << v;
}

}  // namespace
