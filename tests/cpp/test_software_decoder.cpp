// software/: the libavcodec decode adapter through the DecoderBackend interface, and
// session/decode_session on top of it. Streams come from the software encoder.
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "contract/errors.hpp"
#include "contract/frame_layout.hpp"
#include "session/decode_session.hpp"
#include "software/software_decode_provider.hpp"
#include "software/software_decoder.hpp"
#include "support/decoded_pixels.hpp"
#include "support/encoded_streams.hpp"
#include "support/frames.hpp"

extern "C" {
#include <libavutil/log.h>
#include <libavutil/opt.h>
}

using namespace videohw;

namespace {

std::string codec_name(const ::testing::TestParamInfo<Codec>& info) {
  return to_string(info.param);
}

using vhtest::StreamSpec;

std::vector<EncodedPacket> encode(Codec codec, const StreamSpec& spec) {
  return vhtest::encode_stream(codec, spec);
}

std::vector<uint8_t> join(const std::vector<EncodedPacket>& packets) {
  std::vector<uint8_t> out;
  for (const auto& p : packets) out.insert(out.end(), p.data.begin(), p.data.end());
  return out;
}

std::unique_ptr<DecoderBackend> make_decoder(
    Codec codec, DecodeOutputMode mode = DecodeOutputMode::MetadataOnly) {
  CommonDecodeConfig c;
  c.codec = codec;
  c.output = mode;
  return software::SoftwareDecoderProvider(SoftwareDecodeConfig{}).create(c);
}

// One access unit per push, with its pts.
std::vector<DecodedFrame> decode_packets(DecoderBackend& decoder,
                                         const std::vector<EncodedPacket>& packets) {
  std::vector<DecodedFrame> out;
  for (const auto& p : packets) decoder.decode(p.data.data(), p.data.size(), p.pts, out);
  decoder.flush(out);
  return out;
}

std::vector<DecodedFrame> decode_in_chunks(DecoderBackend& decoder,
                                           const std::vector<uint8_t>& stream, size_t chunk) {
  std::vector<DecodedFrame> out;
  for (size_t at = 0; at < stream.size(); at += chunk)
    decoder.decode(stream.data() + at, std::min(chunk, stream.size() - at), std::nullopt, out);
  decoder.flush(out);
  return out;
}

std::vector<int64_t> pts_of(const std::vector<DecodedFrame>& frames) {
  std::vector<int64_t> v;
  for (const auto& f : frames) v.push_back(f.pts.value_or(-1));
  return v;
}

std::vector<int64_t> keyframe_pts(const std::vector<DecodedFrame>& frames) {
  std::vector<int64_t> v;
  for (const auto& f : frames)
    if (f.is_keyframe) v.push_back(f.pts.value_or(-1));
  return v;
}

using vhtest::plane_bytes;

std::vector<int64_t> range(int64_t first, int64_t count) {
  std::vector<int64_t> v;
  for (int64_t i = 0; i < count; ++i) v.push_back(first + i);
  return v;
}

class SoftwareDecoderTest : public ::testing::TestWithParam<Codec> {};

TEST_P(SoftwareDecoderTest, DecodesEveryFrameInPresentationOrderWithItsPts) {
  const auto packets = encode(GetParam(), {64, 48, 12, 4, 2});
  auto decoder = make_decoder(GetParam());
  const auto frames = decode_packets(*decoder, packets);
  EXPECT_EQ(pts_of(frames), range(0, 12));
  for (const auto& f : frames) {
    EXPECT_EQ(f.width, 64);
    EXPECT_EQ(f.height, 48);
    EXPECT_FALSE(f.damaged);
  }
}

TEST_P(SoftwareDecoderTest, KeyframeFlagsFollowTheGop) {
  const auto packets = encode(GetParam(), {64, 48, 12, 4, 0});
  auto decoder = make_decoder(GetParam());
  EXPECT_EQ(keyframe_pts(decode_packets(*decoder, packets)), (std::vector<int64_t>{0, 4, 8}));
}

TEST_P(SoftwareDecoderTest, OneByteChunksGiveTheSamePicturesAsOnePush) {
  const auto stream = join(encode(GetParam(), {64, 48, 10, 5, 1}));
  auto whole = make_decoder(GetParam(), DecodeOutputMode::NativeSurface);
  auto bytes = make_decoder(GetParam(), DecodeOutputMode::NativeSurface);
  const auto a = decode_in_chunks(*whole, stream, stream.size());
  const auto b = decode_in_chunks(*bytes, stream, 1);
  ASSERT_EQ(a.size(), 10u);
  ASSERT_EQ(b.size(), a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].is_keyframe, b[i].is_keyframe) << "frame " << i;
    EXPECT_EQ(plane_bytes(a[i]), plane_bytes(b[i])) << "frame " << i;
  }
}

TEST_P(SoftwareDecoderTest, SizeChangeMidStreamKeepsTheSameDecoder) {
  auto stream = join(encode(GetParam(), {64, 48, 6, 6, 0}));
  const auto second = join(encode(GetParam(), {96, 64, 6, 6, 0, 6}));
  stream.insert(stream.end(), second.begin(), second.end());
  auto decoder = make_decoder(GetParam(), DecodeOutputMode::CpuRgb);
  const auto frames = decode_in_chunks(*decoder, stream, 1000);
  ASSERT_EQ(frames.size(), 12u);
  for (size_t i = 0; i < frames.size(); ++i) {
    const int w = i < 6 ? 64 : 96, h = i < 6 ? 48 : 64;
    EXPECT_EQ(frames[i].width, w) << "frame " << i;
    EXPECT_EQ(frames[i].planes.at(0).width_bytes, w * 3) << "frame " << i;
    EXPECT_EQ(frames[i].planes.at(0).height, h) << "frame " << i;
  }
  EXPECT_EQ(decoder->stats().decoder_opens, 1);
  EXPECT_EQ(decoder->stats().size_changes, 1);
}

TEST_P(SoftwareDecoderTest, MetadataOnlyFramesCarryNoPixels) {
  auto decoder = make_decoder(GetParam());
  const auto frames = decode_packets(*decoder, encode(GetParam(), {64, 48, 3, 3, 0}));
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_TRUE(frames[0].planes.empty());
  EXPECT_EQ(frames[0].owner, nullptr);
  EXPECT_EQ(decoder->stats().convert_ns, 0);
}

TEST_P(SoftwareDecoderTest, NativePlanesAreYuv420pAndOutliveTheDecoder) {
  auto decoder = make_decoder(GetParam(), DecodeOutputMode::NativeSurface);
  const auto frames = decode_packets(*decoder, encode(GetParam(), {64, 48, 4, 4, 0}));
  const auto before = plane_bytes(frames.back());
  decoder.reset();  // the frames hold their own references to the decoder's buffers
  ASSERT_EQ(frames.back().planes.size(), 3u);
  EXPECT_EQ(frames.back().pixel_format, "yuv420p");
  EXPECT_EQ(frames.back().planes[1].height, 24);
  EXPECT_EQ(plane_bytes(frames.back()), before);
}

TEST_P(SoftwareDecoderTest, FlushKeepsTheDecoderUsable) {
  const auto packets = encode(GetParam(), {64, 48, 5, 5, 1});
  auto decoder = make_decoder(GetParam());
  EXPECT_EQ(decode_packets(*decoder, packets).size(), 5u);
  EXPECT_EQ(decode_packets(*decoder, packets).size(), 5u);
  EXPECT_EQ(decoder->stats().decoder_opens, 1);
}

TEST_P(SoftwareDecoderTest, FlushWithNothingPushedGivesNothing) {
  auto decoder = make_decoder(GetParam());
  std::vector<DecodedFrame> out;
  decoder->flush(out);
  EXPECT_TRUE(out.empty());
}

TEST_P(SoftwareDecoderTest, GarbageNeverCrashesAndGivesNoPicture) {
  std::mt19937 rng(7);
  std::vector<uint8_t> garbage(64 * 1024);
  for (auto& b : garbage) b = uint8_t(rng());
  auto decoder = make_decoder(GetParam(), DecodeOutputMode::CpuRgb);
  std::vector<DecodedFrame> out;
  for (size_t at = 0; at < garbage.size(); at += 4096) {
    try {
      decoder->decode(garbage.data() + at, 4096, std::nullopt, out);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Decode) << e.what();
    }
  }
  try {
    decoder->flush(out);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Decode) << e.what();
  }
  EXPECT_TRUE(out.empty());
}

// Picture 5 (a P picture of the second GOP) loses the second half of its slice data, as a
// lost network packet would leave it.
std::vector<EncodedPacket> with_cut_picture(std::vector<EncodedPacket> packets) {
  auto& victim = packets.at(5).data;
  victim.resize(victim.size() / 2);
  return packets;
}

// Decodes one access unit per push; a DecodeError is allowed, anything else fails.
std::vector<DecodedFrame> decode_tolerant(DecoderBackend& decoder,
                                          const std::vector<EncodedPacket>& packets) {
  std::vector<DecodedFrame> frames;
  for (const auto& p : packets) {
    try {
      decoder.decode(p.data.data(), p.data.size(), p.pts, frames);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Decode) << e.what();
    }
  }
  decoder.flush(frames);
  return frames;
}

TEST_P(SoftwareDecoderTest, CorruptPictureRecoversBitExactAtTheNextIdr) {
  const auto packets = encode(GetParam(), {128, 96, 12, 4, 0});
  auto clean_decoder = make_decoder(GetParam(), DecodeOutputMode::NativeSurface);
  const auto clean = decode_packets(*clean_decoder, packets);
  auto decoder = make_decoder(GetParam(), DecodeOutputMode::NativeSurface);
  const auto frames = decode_tolerant(*decoder, with_cut_picture(packets));
  std::vector<int64_t> tail;
  for (const auto& f : frames) {
    const int64_t pts = f.pts.value_or(-1);
    if (pts < 8) continue;
    tail.push_back(pts);
    EXPECT_FALSE(f.damaged) << "pts " << pts;
    EXPECT_EQ(plane_bytes(f), plane_bytes(clean.at(size_t(pts)))) << "pts " << pts;
  }
  EXPECT_EQ(tail, range(8, 4));
}

// libavcodec's H.264 decoder reports concealment; its HEVC decoder (FFmpeg 5.1) conceals
// silently, so this is an H.264 guarantee only (docs/decode.md).
TEST(SoftwareDecoderH264, CorruptPictureAndItsDependentsAreFlaggedDamaged) {
  auto decoder = make_decoder(Codec::H264);
  const auto frames =
      decode_tolerant(*decoder, with_cut_picture(encode(Codec::H264, {128, 96, 12, 4, 0})));
  ASSERT_EQ(frames.size(), 12u);
  for (const auto& f : frames) {
    const int64_t pts = f.pts.value_or(-1);
    EXPECT_EQ(f.damaged, pts >= 5 && pts < 8) << "pts " << pts;
  }
}

TEST_P(SoftwareDecoderTest, TruncatedStreamGivesThePicturesBeforeTheCut) {
  const auto packets = encode(GetParam(), {64, 48, 6, 6, 0});
  std::vector<uint8_t> stream;
  for (size_t i = 0; i < 4; ++i)
    stream.insert(stream.end(), packets[i].data.begin(), packets[i].data.end());
  stream.insert(stream.end(), packets[4].data.begin(),
                packets[4].data.begin() + packets[4].data.size() / 3);
  auto decoder = make_decoder(GetParam());
  std::vector<DecodedFrame> frames;
  try {
    frames = decode_in_chunks(*decoder, stream, 512);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Decode);
  }
  ASSERT_GE(frames.size(), 4u);
  for (size_t i = 0; i < 4; ++i) EXPECT_FALSE(frames[i].damaged) << "frame " << i;
}

// CPU_RGB frames, however their conversion is scheduled against decoding, come out in order
// with their own pts and the bytes a conversion on the decoding thread (low_latency) gives,
// through flushes and resets; a frame the caller holds is never written again when the
// decoder's RGB buffers are reused.
TEST_P(SoftwareDecoderTest, RgbFramesKeepOrderPtsAndBytesThroughFlushesAndResets) {
  const int frames = 40;
  const auto packets = encode(GetParam(), {160, 96, frames, 8, 2});
  CommonDecodeConfig c;
  c.codec = GetParam();
  c.output = DecodeOutputMode::CpuRgb;
  c.low_latency = true;
  auto inline_decoder = software::SoftwareDecoderProvider(SoftwareDecodeConfig{}).create(c);
  std::map<int64_t, std::vector<uint8_t>> expected;
  for (const auto& f : decode_packets(*inline_decoder, packets))
    expected[f.pts.value_or(-1)] = plane_bytes(f);
  ASSERT_EQ(expected.size(), size_t(frames));

  auto decoder = make_decoder(GetParam(), DecodeOutputMode::CpuRgb);
  const auto push = [&](size_t count, int64_t pts_offset, std::vector<DecodedFrame>& out) {
    for (size_t i = 0; i < count; ++i)
      decoder->decode(packets[i].data.data(), packets[i].data.size(), packets[i].pts + pts_offset,
                      out);
  };
  const auto check = [&](const std::vector<DecodedFrame>& got, int64_t pts_offset,
                         const char* round) {
    ASSERT_EQ(pts_of(got), range(pts_offset, frames)) << round;
    for (const auto& f : got)
      EXPECT_EQ(plane_bytes(f), expected.at(*f.pts - pts_offset)) << round << " pts " << *f.pts;
  };

  // Every frame held by the caller while the decoder goes on converting into new buffers.
  std::vector<DecodedFrame> held;
  push(packets.size(), 0, held);
  decoder->flush(held);
  check(held, 0, "first round");

  // Flushes between passes: each hands out every frame left; the stream then starts over.
  for (int round = 0; round < 3; ++round) {
    std::vector<DecodedFrame> out;
    push(packets.size(), 1000, out);
    decoder->flush(out);
    check(out, 1000, "after a flush");
  }

  // A reset drops what was pushed before it: nothing of it comes out later.
  for (bool new_stream : {false, true}) {
    std::vector<DecodedFrame> dropped;
    push(packets.size() / 2, 5000, dropped);
    decoder->reset(new_stream);
    std::vector<DecodedFrame> out;
    push(packets.size(), 2000, out);
    decoder->flush(out);
    check(out, 2000, new_stream ? "after reset(new_stream)" : "after reset");
  }

  // A decoder destroyed with frames still inside it: they go, held ones stay.
  std::vector<DecodedFrame> queued;
  push(packets.size() / 2, 0, queued);
  decoder.reset();
  check(held, 0, "held frames after the decoder is gone");
}

INSTANTIATE_TEST_SUITE_P(Codecs, SoftwareDecoderTest, ::testing::Values(Codec::H264, Codec::HEVC),
                         codec_name);

// ---- size limits, every codec --------------------------------------------------------------

// Packets (access units; temporal units for AV1) of `frames` yuv420p pictures from
// libavcodec's encoder `name`, Annex-B for H.264 / HEVC. Empty when libavcodec lacks it.
std::vector<std::vector<uint8_t>> encode_with(const char* name, int width, int height, int frames) {
  av_log_set_level(AV_LOG_ERROR);
  const AVCodec* codec = avcodec_find_encoder_by_name(name);
  if (!codec) return {};
  software::UniqueAVCodecContext c(avcodec_alloc_context3(codec));
  c->width = width;
  c->height = height;
  c->pix_fmt = AV_PIX_FMT_YUV420P;
  c->time_base = {1, 10};
  c->framerate = {10, 1};
  c->gop_size = frames;
  c->max_b_frames = 0;
  av_opt_set(c->priv_data, "cpu-used", "8", 0);       // libaom, libvpx: fast
  av_opt_set(c->priv_data, "lag-in-frames", "0", 0);  // libaom, libvpx: no hidden frames
  av_opt_set(c->priv_data, "x265-params", "log-level=error", 0);
  EXPECT_EQ(avcodec_open2(c.get(), codec, nullptr), 0) << name;
  software::UniqueAVFrame picture(av_frame_alloc());
  picture->format = c->pix_fmt;
  picture->width = width;
  picture->height = height;
  EXPECT_EQ(av_frame_get_buffer(picture.get(), 0), 0);
  software::UniqueAVPacket packet(av_packet_alloc());
  std::vector<std::vector<uint8_t>> out;
  auto drain = [&] {
    while (avcodec_receive_packet(c.get(), packet.get()) == 0) {
      out.emplace_back(packet->data, packet->data + packet->size);
      av_packet_unref(packet.get());
    }
  };
  for (int i = 0; i < frames; ++i) {
    EXPECT_EQ(av_frame_make_writable(picture.get()), 0);
    for (int p = 0; p < 3; ++p)
      for (int y = 0; y < (p ? height / 2 : height); ++y)
        for (int x = 0; x < (p ? width / 2 : width); ++x)
          picture->data[p][y * picture->linesize[p] + x] = uint8_t(p ? 128 : x * 2 + y + i * 8);
    picture->pts = i;
    EXPECT_EQ(avcodec_send_frame(c.get(), picture.get()), 0);
    drain();
  }
  avcodec_send_frame(c.get(), nullptr);
  drain();
  return out;
}

struct LimitCase {
  Codec codec;
  const char* encoder;
};

class SoftwareDecoderLimitTest : public ::testing::TestWithParam<LimitCase> {};

// Pushes each packet into a session, as an application would, and collects every frame;
// `errors` gets every DecodeError's message, one a line.
std::vector<DecodedFrame> decode_session_packets(const CommonDecodeConfig& config,
                                                 const std::vector<std::vector<uint8_t>>& packets,
                                                 std::string& errors) {
  DecodeSession session(
      1, config, std::make_shared<software::SoftwareDecoderProvider>(SoftwareDecodeConfig{1}));
  std::vector<DecodedFrame> frames;
  auto add = [&](const std::vector<DecodedFrame>& more) {
    frames.insert(frames.end(), more.begin(), more.end());
  };
  auto tolerate = [&](auto call) {
    try {
      call();
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Decode) << e.what();
      errors += std::string(e.what()) + "\n";
    }
  };
  for (const auto& p : packets) {
    tolerate([&] { session.push(1, p.data(), p.size(), std::nullopt); });
    add(session.reap(1));
  }
  tolerate([&] { add(session.flush(1)); });
  add(session.reap(1));
  return frames;
}

// 96x32 under a 64x512 limit: fewer pixels than the limit's area, so libavcodec's
// max_pixels lets it through; libavcodec's HEVC decoder decoded the pictures after the first
// at the refused size, and libdav1d (AV1) never asks. Found by fuzz_decode_session.
TEST_P(SoftwareDecoderLimitTest, APictureWiderThanTheLimitNeverComesOut) {
  const auto packets = encode_with(GetParam().encoder, 96, 32, 4);
  if (packets.empty()) GTEST_SKIP() << "libavcodec has no " << GetParam().encoder;
  CommonDecodeConfig config;
  config.codec = GetParam().codec;
  config.output = DecodeOutputMode::NativeSurface;
  config.max_width = 64;
  config.max_height = 512;
  std::string error;
  EXPECT_TRUE(decode_session_packets(config, packets, error).empty());
  EXPECT_NE(error.find("96x32, over the session's limit of 64x512"), std::string::npos) << error;

  config.max_width = 96;  // the same stream within the limit decodes in full
  error.clear();
  const auto frames = decode_session_packets(config, packets, error);
  EXPECT_EQ(frames.size(), 4u) << error;
  for (const auto& f : frames) EXPECT_EQ(f.width, 96);
}

INSTANTIATE_TEST_SUITE_P(Codecs, SoftwareDecoderLimitTest,
                         ::testing::Values(LimitCase{Codec::H264, "libx264"},
                                           LimitCase{Codec::HEVC, "libx265"},
                                           LimitCase{Codec::VP9, "libvpx-vp9"},
                                           LimitCase{Codec::AV1, "libaom-av1"}),
                         [](const ::testing::TestParamInfo<LimitCase>& info) {
                           return std::string(to_string(info.param.codec));
                         });

// libavcodec counts bytes in int, so 2 GiB in one call must never reach it as one size (it
// aborts the process on the negative size). Zero pages cost no memory; VP9's parser passes
// each slice through unscanned, so the test takes seconds.
TEST(SoftwareDecoderLimits, TwoGiBInOneCallIsADecodeErrorAndTheSessionGoesOn) {
  const size_t size = (size_t(1) << 31) + 4096;
  void* zeros = mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  ASSERT_NE(zeros, MAP_FAILED);
  const auto* bytes = static_cast<const uint8_t*>(zeros);
  CommonDecodeConfig config;
  config.codec = Codec::VP9;
  DecodeSession session(
      1, config, std::make_shared<software::SoftwareDecoderProvider>(SoftwareDecodeConfig{1}));
  auto kind = [](auto call) {
    try {
      call();
    } catch (const Error& e) {
      return e.kind();
    }
    return ErrorKind::Generic;
  };
  EXPECT_EQ(kind([&] { session.push(1, bytes, size, std::nullopt); }), ErrorKind::Decode);
  DecodeUnit unit;
  unit.data = bytes;
  unit.size = size;
  try {
    session.push_unit(1, unit);
    ADD_FAILURE() << "a 2 GiB unit was taken";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Decode);
    EXPECT_NE(std::string(e.what()).find("over libavcodec's packet limit"), std::string::npos)
        << e.what();
  }
  munmap(zeros, size);

  const auto packets = encode_with("libvpx-vp9", 64, 48, 3);
  if (packets.empty()) GTEST_SKIP() << "libavcodec has no libvpx-vp9";
  for (const auto& p : packets) session.push(1, p.data(), p.size(), std::nullopt);
  const size_t ready = session.reap(1).size();
  EXPECT_EQ(ready + session.flush(1).size(), 3u);
}

TEST(SoftwareDecoderProvider, RefusesAnUnsupportedConfigBeforeCreatingADecoder) {
  CommonDecodeConfig c;
  c.max_display_delay = 17;
  software::SoftwareDecoderProvider provider(SoftwareDecodeConfig{});
  EXPECT_EQ(provider.config_problems(c).size(), 1u);
  EXPECT_THROW(provider.create(c), UnsupportedConfig);
}

TEST(SoftwareDecoderProvider, DecodesEveryCodecThisLibavcodecHas) {
  software::SoftwareDecoderProvider provider(SoftwareDecodeConfig{});
  for (Codec codec : {Codec::H264, Codec::HEVC, Codec::VP9, Codec::AV1}) {
    EXPECT_TRUE(provider.capabilities(codec).supported) << to_string(codec);
    CommonDecodeConfig c;
    c.codec = codec;
    EXPECT_TRUE(provider.config_problems(c).empty()) << to_string(codec);
  }
}

// ---- DecodeSession on the software provider ----------------------------------------------

std::shared_ptr<const DecoderProvider> software_provider(int threads = 0) {
  SoftwareDecodeConfig software;
  software.threads = threads;
  return std::make_shared<software::SoftwareDecoderProvider>(software);
}

CommonDecodeConfig session_config(DecodeOutputMode mode = DecodeOutputMode::MetadataOnly) {
  CommonDecodeConfig c;
  c.output = mode;
  return c;
}

ErrorKind kind_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const Error& e) {
    return e.kind();
  }
  return ErrorKind::Generic;
}

// Waits (up to 10 s) until the decode stage stopped for lack of room: the ready bound is
// reached and pushed bytes still wait.
bool wait_until_stalled(const DecodeSession& session) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    for (const auto& [name, value] : session.telemetry())
      if (name == "decode_stage" && std::get<std::string>(value) == "waiting_for_reap") return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return false;
}

TEST(DecodeSession, SwitchFlushesTheOldGenerationAndStampsTheNewOne) {
  const auto stream = join(encode(Codec::H264, {64, 48, 4, 4, 0}));
  DecodeSession session(1, session_config(), software_provider());
  session.push(1, stream.data(), stream.size(), std::nullopt);
  const uint32_t next =
      session.switch_to(1, session_config(DecodeOutputMode::CpuRgb), software_provider());
  EXPECT_EQ(next, 2u);
  session.push(next, stream.data(), stream.size(), std::nullopt);
  auto frames = session.reap(next);
  const auto rest = session.flush(next);
  frames.insert(frames.end(), rest.begin(), rest.end());
  ASSERT_EQ(frames.size(), 8u);
  for (size_t i = 0; i < 8; ++i) {
    EXPECT_EQ(frames[i].generation, i < 4 ? 1u : 2u) << "frame " << i;
    EXPECT_EQ(frames[i].planes.size(), i < 4 ? 0u : 1u) << "frame " << i;
  }
}

TEST(DecodeSession, StaleHandleIsRefused) {
  DecodeSession session(1, session_config(), software_provider());
  session.switch_to(1, session_config(DecodeOutputMode::CpuRgb), software_provider());
  const uint8_t byte = 0;
  EXPECT_EQ(kind_of([&] { session.push(1, &byte, 1, std::nullopt); }), ErrorKind::StaleSession);
}

TEST(DecodeSession, PushAfterCloseIsRefused) {
  DecodeSession session(1, session_config(), software_provider());
  session.close(1);
  const uint8_t byte = 0;
  EXPECT_EQ(kind_of([&] { session.push(1, &byte, 1, std::nullopt); }), ErrorKind::SessionClosed);
}

TEST(DecodeSession, FlushOfBytesWithoutAPictureRaisesDecodeError) {
  const auto hevc = join(encode(Codec::HEVC, {64, 48, 4, 4, 0}));
  DecodeSession session(1, session_config(), software_provider());  // an h264 session
  // The push may already refuse the data; the flush must, since no picture came out.
  const ErrorKind push = kind_of([&] { session.push(1, hevc.data(), hevc.size(), std::nullopt); });
  EXPECT_TRUE(push == ErrorKind::Generic || push == ErrorKind::Decode);
  EXPECT_EQ(kind_of([&] { session.flush(1); }), ErrorKind::Decode);
  // ... and the session goes on decoding the right codec afterwards.
  const auto h264 = join(encode(Codec::H264, {64, 48, 4, 4, 0}));
  session.push(1, h264.data(), h264.size(), std::nullopt);
  EXPECT_EQ(session.flush(1).size(), 4u);
}

TEST(DecodeSession, TelemetryCountsFramesSizesAndBytes) {
  const auto stream = join(encode(Codec::H264, {64, 48, 4, 4, 0}));
  DecodeSession session(1, session_config(), software_provider());
  session.push(1, stream.data(), stream.size(), std::nullopt);
  session.flush(1);
  std::map<std::string, TelemetryValue> t;
  for (const auto& [k, v] : session.telemetry()) t[k] = v;
  EXPECT_EQ(std::get<int64_t>(t.at("frames_decoded")), 4);
  EXPECT_EQ(std::get<int64_t>(t.at("bytes_in")), int64_t(stream.size()));
  EXPECT_EQ(std::get<std::string>(t.at("sizes_seen")), "64x48");
  EXPECT_EQ(std::get<int64_t>(t.at("session_inits")), 1);
}

}  // namespace

// The memory bound, with a consumer thread (TSan: the wait for room against reaps).
TEST(DecodeSession, ABlockingPushWaitsForAnotherThreadsReapsAndNothingIsLost) {
  const auto stream = join(encode(Codec::H264, {64, 48, 40, 10, 0}));
  CommonDecodeConfig config = session_config(DecodeOutputMode::CpuRgb);
  config.max_ready_frames = 2;
  // Two frame threads: a flush's drain may pass the bound by the pictures they hold.
  DecodeSession session(1, config, software_provider(2));
  std::atomic<bool> done{false};
  std::atomic<size_t> reaped{0};
  std::thread consumer([&] {
    while (!done.load()) {
      reaped += session.reap(1).size();
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  const size_t half = stream.size() / 2;
  session.push(1, stream.data(), half, std::nullopt, -1);
  session.push(1, stream.data() + half, stream.size() - half, std::nullopt, -1);
  done = true;
  consumer.join();
  size_t total = reaped.load();
  // Waits for the decode stage: each reap returns once a frame is ready or all is decoded.
  for (auto frames = session.reap(1, 1); !frames.empty(); frames = session.reap(1, 1))
    total += frames.size();
  total += session.flush(1).size();
  EXPECT_EQ(total, 40u);
  int64_t peak = -1;
  for (const auto& [key, value] : session.telemetry())
    if (key == "ready_peak_frames") peak = std::get<int64_t>(value);
  EXPECT_GE(peak, 1);
  EXPECT_LE(peak, 3);
}

TEST(DecodeSession, APushWithoutRoomIsRefusedAndTakesNothing) {
  const auto stream = join(encode(Codec::H264, {64, 48, 20, 10, 0}));
  CommonDecodeConfig config = session_config();
  config.max_ready_frames = 1;
  DecodeSession session(1, config, software_provider());
  session.push(1, stream.data(), stream.size(), std::nullopt);
  // Once the decode stage stopped for room (a reap without taking frames cannot end
  // before), a push cannot be taken.
  ASSERT_TRUE(wait_until_stalled(session));
  EXPECT_EQ(kind_of([&] { session.push(1, stream.data(), 4, std::nullopt); }),
            ErrorKind::Backpressure);
  size_t total = 0;
  for (auto frames = session.reap(1, 1); !frames.empty(); frames = session.reap(1, 1))
    total += frames.size();
  total += session.flush(1).size();
  EXPECT_EQ(total, 20u);
}
