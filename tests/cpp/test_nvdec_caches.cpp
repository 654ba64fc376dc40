// nv_session/nvdec: what an ended NVDEC session leaves to the next one in the process. Its
// decoder is parked (nvdec_decoder_cache.hpp) and adopted by the next session of the codec,
// resized in place where that session's pictures differ; its output buffers go to the
// process's cache (nvdec_buffer_cache.hpp). Through the NVDEC and CUDA driver doubles,
// whose rule checks and live counts say that nothing leaks and no API rule is broken.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "backend/rgb_reference.hpp"
#include "nv_session/nvdec/nvdec_buffer_cache.hpp"
#include "nv_session/nvdec/nvdec_decoder.hpp"
#include "nv_session/nvdec/nvdec_decoder_cache.hpp"
#include "nv_session/nvdec/nvdec_provider.hpp"
#include "nv_session/nvdec/nvdec_rgb_converter.hpp"
#include "software/software_decode_provider.hpp"
#include "support/decode_helpers.hpp"
#include "support/decoded_pixels.hpp"
#include "support/encoded_streams.hpp"
#include "support/nvdec_doubles.hpp"

using namespace videohw;
namespace nv = videohw::nv_session;
using Doubles = vhtest::NvdecDoubles;

namespace {

constexpr auto nvdec = &vhtest::nvdec_session;
using vhtest::decode_all;
using vhtest::decode_config;

std::vector<std::vector<uint8_t>> pixels(const std::vector<DecodedFrame>& frames) {
  std::vector<std::vector<uint8_t>> out;
  for (const auto& f : frames)
    out.push_back(f.pixel_format == "nv12" ? vhtest::nv12_as_i420(f) : vhtest::plane_bytes(f));
  return out;
}

std::vector<std::vector<uint8_t>> software_pixels(Codec codec, DecodeOutputMode mode,
                                                  const std::vector<EncodedPacket>& packets) {
  auto d =
      software::SoftwareDecoderProvider(SoftwareDecodeConfig{}).create(decode_config(codec, mode));
  return pixels(decode_all(*d, packets));
}

vhtest::StreamSpec spec(Codec codec, int width, int height, int frames = 10) {
  // HEVC needs 144x144 on NVDEC (cuvidGetDecoderCaps); H.264 starts at 48x16.
  return codec == Codec::HEVC
             ? vhtest::StreamSpec{std::max(width, 144), std::max(height, 144), frames, 5, 2}
             : vhtest::StreamSpec{width, height, frames, 5, 2};
}

class NvdecCaches : public ::testing::Test {
 protected:
  void SetUp() override {
    Doubles::get().reset();
    nv::release_nvdec_caches();
  }
  void TearDown() override {
    nv::NvdecDecoderCache::get().set_limit(nv::NvdecDecoderCache::kDefaultLimit);
    nv::NvdecBufferCache::set_limit_all(nv::PoolMemory::Device,
                                        nv::NvdecBufferCache::kDefaultDeviceLimitBytes);
    nv::NvdecBufferCache::set_limit_all(nv::PoolMemory::PinnedHost,
                                        nv::NvdecBufferCache::kDefaultHostLimitBytes);
    nv::release_nvdec_caches();
    EXPECT_EQ(Doubles::get().violations(), "") << "an NVDEC / CUDA API rule was broken";
    EXPECT_EQ(Doubles::get().open_decoders(), 0) << "a decoder outlived the caches' release";
    EXPECT_EQ(Doubles::get().mapped_frames(), 0);
  }
};

TEST_F(NvdecCaches, TheNextSessionOfTheCodecAdoptsTheEndedSessionsDecoder) {
  for (const Codec codec : {Codec::H264, Codec::HEVC}) {
    const auto packets = vhtest::encode_stream(codec, spec(codec, 64, 48));
    const auto want = software_pixels(codec, DecodeOutputMode::NativeSurface, packets);
    {
      auto first = nvdec(decode_config(codec, DecodeOutputMode::NativeSurface));
      EXPECT_TRUE(pixels(decode_all(*first, packets)) == want);
      EXPECT_EQ(first->nvdec_stats().decoders_created, 1);
    }
    EXPECT_EQ(nv::NvdecDecoderCache::get().stats().parked, 1) << to_string(codec);
    EXPECT_EQ(Doubles::get().open_decoders(), 1);
    auto second = nvdec(decode_config(codec, DecodeOutputMode::NativeSurface));
    EXPECT_EQ(nv::NvdecDecoderCache::get().stats().parked, 0);
    EXPECT_TRUE(pixels(decode_all(*second, packets)) == want) << to_string(codec);
    const nv::NvdecSessionStats s = second->nvdec_stats();
    EXPECT_EQ(s.decoders_created, 0) << to_string(codec);
    EXPECT_EQ(s.decoders_adopted, 1);
    EXPECT_EQ(s.reconfigures, 0) << "the same size needs no reconfiguration";
    EXPECT_EQ(second->stats().decoder_opens, 1);
    EXPECT_EQ(second->stats().size_changes, 0);
    second.reset();
    nv::release_nvdec_caches();
  }
}

TEST_F(NvdecCaches, AnAdoptedDecoderIsResizedInPlaceForSmallerPictures) {
  const auto small = vhtest::encode_stream(Codec::H264, spec(Codec::H264, 64, 48));
  const auto large = vhtest::encode_stream(Codec::H264, spec(Codec::H264, 160, 96));
  decode_all(*nvdec(decode_config(Codec::H264, DecodeOutputMode::NativeSurface)), large);
  auto session = nvdec(decode_config(Codec::H264, DecodeOutputMode::NativeSurface));
  const auto got = decode_all(*session, small);
  ASSERT_EQ(got.size(), 10u);
  EXPECT_EQ(got[0].width, 64);
  EXPECT_EQ(got[0].height, 48);
  EXPECT_TRUE(pixels(got) == software_pixels(Codec::H264, DecodeOutputMode::NativeSurface, small));
  const nv::NvdecSessionStats s = session->nvdec_stats();
  EXPECT_EQ(s.decoders_created, 0);
  EXPECT_EQ(s.decoders_adopted, 1);
  EXPECT_EQ(s.reconfigures, 1);
  EXPECT_EQ(session->stats().size_changes, 0) << "the stream itself never changed size";
}

TEST_F(NvdecCaches, LargerPicturesThanTheAdoptedDecodersOutputGetANewDecoder) {
  // NVDEC sizes a decoder's output surfaces at creation; the double refuses a reconfigure
  // past them, as the H200's copies out of such a decoder failed.
  const auto small = vhtest::encode_stream(Codec::H264, spec(Codec::H264, 64, 48));
  const auto large = vhtest::encode_stream(Codec::H264, spec(Codec::H264, 160, 96));
  decode_all(*nvdec(decode_config(Codec::H264, DecodeOutputMode::NativeSurface)), small);
  auto session = nvdec(decode_config(Codec::H264, DecodeOutputMode::NativeSurface));
  const auto got = decode_all(*session, large);
  ASSERT_EQ(got.size(), 10u);
  EXPECT_EQ(got[0].width, 160);
  EXPECT_TRUE(pixels(got) == software_pixels(Codec::H264, DecodeOutputMode::NativeSurface, large));
  const nv::NvdecSessionStats s = session->nvdec_stats();
  EXPECT_EQ(s.decoders_adopted, 1);
  EXPECT_EQ(s.decoders_created, 1);
  EXPECT_EQ(s.reconfigures, 0);
}

TEST_F(NvdecCaches, ADecoderOfAnotherCodecIsNeverAdopted) {
  const auto h264 = vhtest::encode_stream(Codec::H264, spec(Codec::H264, 64, 48));
  const auto hevc = vhtest::encode_stream(Codec::HEVC, spec(Codec::HEVC, 144, 144));
  decode_all(*nvdec(decode_config(Codec::H264, DecodeOutputMode::MetadataOnly)), h264);
  auto session = nvdec(decode_config(Codec::HEVC, DecodeOutputMode::MetadataOnly));
  EXPECT_EQ(decode_all(*session, hevc).size(), 10u);
  EXPECT_EQ(session->nvdec_stats().decoders_created, 1);
  EXPECT_EQ(session->nvdec_stats().decoders_adopted, 0);
  EXPECT_EQ(nv::NvdecDecoderCache::get().stats().parked, 1) << "the H.264 one still waits";
}

TEST_F(NvdecCaches, ASessionThatEndedOnADecodeErrorDestroysItsDecoder) {
  const auto packets = vhtest::encode_stream(Codec::H264, spec(Codec::H264, 64, 48));
  {
    auto session = nvdec(decode_config(Codec::H264, DecodeOutputMode::NativeSurface));
    ASSERT_TRUE(Doubles::get().set_faults("decode@3"));
    EXPECT_THROW(decode_all(*session, packets), Error);
    ASSERT_TRUE(Doubles::get().set_faults(""));
  }
  EXPECT_EQ(nv::NvdecDecoderCache::get().stats().parked, 0);
  EXPECT_EQ(Doubles::get().open_decoders(), 0);
}

TEST_F(NvdecCaches, NoMoreDecodersAreParkedThanTheLimit) {
  const auto packets = vhtest::encode_stream(Codec::H264, spec(Codec::H264, 64, 48, 4));
  nv::NvdecDecoderCache::get().set_limit(2);
  const int64_t destroyed = nv::NvdecDecoderCache::get().stats().destroyed;
  {
    std::vector<std::unique_ptr<nv::NvdecDecoder>> sessions;
    for (int i = 0; i < 4; ++i) {
      sessions.push_back(nvdec(decode_config(Codec::H264, DecodeOutputMode::MetadataOnly)));
      decode_all(*sessions.back(), packets);
    }
    EXPECT_EQ(Doubles::get().open_decoders(), 4);
  }
  const nv::DecoderCacheStats s = nv::NvdecDecoderCache::get().stats();
  EXPECT_EQ(s.parked, 2);
  EXPECT_EQ(s.destroyed - destroyed, 2);
  EXPECT_EQ(Doubles::get().open_decoders(), 2);
  nv::NvdecDecoderCache::get().set_limit(0);
  EXPECT_EQ(Doubles::get().open_decoders(), 0) << "a lower limit destroys what is over it now";
}

TEST_F(NvdecCaches, AFreshSessionTakesItsOutputBuffersFromTheCache) {
  for (const auto mode : {DecodeOutputMode::NativeSurface, DecodeOutputMode::CpuRgb}) {
    if (mode == DecodeOutputMode::CpuRgb && !nv::nvdec_rgb_unavailable_reason().empty()) continue;
    const auto packets = vhtest::encode_stream(Codec::H264, spec(Codec::H264, 64, 48, 30));
    const auto want = software_pixels(Codec::H264, mode, packets);
    // Every frame held until the flush: the pool grows to the whole file.
    EXPECT_TRUE(pixels(decode_all(*nvdec(decode_config(Codec::H264, mode)), packets)) == want);
    const int live = Doubles::get().live_allocations();
    auto session = nvdec(decode_config(Codec::H264, mode));
    EXPECT_TRUE(pixels(decode_all(*session, packets)) == want);
    const nv::NvdecSessionStats s = session->nvdec_stats();
    const nv::SurfacePoolStats pool = mode == DecodeOutputMode::CpuRgb ? s.rgb_pool : s.pool;
    EXPECT_GE(pool.allocations, 30);
    EXPECT_EQ(pool.from_cache, pool.allocations) << "a buffer was allocated again";
    EXPECT_EQ(Doubles::get().live_allocations(), live) << "mode " << int(mode);
    session.reset();
    nv::release_nvdec_caches();
  }
}

TEST_F(NvdecCaches, TheBufferCacheKeepsNoMoreBytesThanItsLimitAndReleaseFreesThem) {
  const int live = Doubles::get().live_allocations();
  const auto packets = vhtest::encode_stream(Codec::H264, spec(Codec::H264, 64, 48, 20));
  const size_t frame_bytes = 64 * 48 * 3 / 2;
  nv::NvdecBufferCache::set_limit_all(nv::PoolMemory::Device, int64_t(frame_bytes) * 5);
  decode_all(*nvdec(decode_config(Codec::H264, DecodeOutputMode::NativeSurface)), packets);
  const nv::BufferCacheStats kept = nv::NvdecBufferCache::stats_all(nv::PoolMemory::Device);
  EXPECT_GT(kept.idle, 0);
  EXPECT_LE(kept.idle_bytes, int64_t(frame_bytes) * 5);
  EXPECT_GT(kept.freed, 0) << "twenty frames held at once fit no five-frame cache";
  EXPECT_EQ(Doubles::get().live_allocations(), live + kept.idle);
  nv::release_nvdec_caches();
  EXPECT_EQ(nv::NvdecBufferCache::stats_all(nv::PoolMemory::Device).idle, 0);
  EXPECT_EQ(Doubles::get().live_allocations(), live);
}

TEST_F(NvdecCaches, FramesOutlivingTheirSessionComeBackToTheCache) {
  const auto packets = vhtest::encode_stream(Codec::H264, spec(Codec::H264, 64, 48, 6));
  std::vector<DecodedFrame> held;
  {
    auto session = nvdec(decode_config(Codec::H264, DecodeOutputMode::NativeSurface));
    held = decode_all(*session, packets);
  }
  const int64_t idle = nv::NvdecBufferCache::stats_all(nv::PoolMemory::Device).idle;
  // The pool lives while a frame does; the last frame hands every buffer over.
  held.clear();
  EXPECT_EQ(nv::NvdecBufferCache::stats_all(nv::PoolMemory::Device).idle, idle + 6);
}

TEST_F(NvdecCaches, SessionsEndingOnManyThreadsShareTheCachesSafely) {
  // TSan: parks, adoptions and buffers coming back from frames dropped on other threads.
  const auto packets = vhtest::encode_stream(Codec::H264, spec(Codec::H264, 64, 48, 8));
  const auto want = software_pixels(Codec::H264, DecodeOutputMode::NativeSurface, packets);
  nv::NvdecDecoderCache::get().set_limit(2);
  std::atomic<int> wrong{0};
  std::vector<std::vector<DecodedFrame>> handed(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int round = 0; round < 5; ++round) {
        auto session = nvdec(decode_config(Codec::H264, DecodeOutputMode::NativeSurface));
        auto frames = decode_all(*session, packets);
        if (pixels(frames) != want) ++wrong;
        session.reset();
        // Frames outlive their session and die on another thread.
        handed[(t + 1) % 4] = std::move(frames);
      }
    });
  for (auto& t : threads) t.join();
  handed.clear();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_LE(nv::NvdecDecoderCache::get().stats().parked, 2);
}

}  // namespace
