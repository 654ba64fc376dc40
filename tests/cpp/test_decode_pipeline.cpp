// session/decode_session as a pipeline: push queues bytes, the session's worker thread
// decodes them, reap takes the frames, and the calls that need the decoder pause the worker.
// These tests drive it from several threads at once (run them under ThreadSanitizer too,
// docs/testing.md) on the software provider, and through the NVDEC / CUDA driver doubles.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "backend/rgb_reference.hpp"
#include "contract/errors.hpp"
#include "contract/frame_layout.hpp"
#include "nv_session/nvdec/nvdec_provider.hpp"
#include "nv_session/nvdec/nvdec_rgb_converter.hpp"
#include "session/decode_session.hpp"
#include "software/software_decode_provider.hpp"
#include "support/decoded_pixels.hpp"
#include "support/encoded_streams.hpp"
#include "support/frames.hpp"
#include "support/nvdec_doubles.hpp"

using namespace videohw;
namespace nv = videohw::nv_session;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

constexpr int64_t kMs = 1000 * 1000;  // nanoseconds

using vhtest::StreamSpec;

std::vector<EncodedPacket> encode(Codec codec, const StreamSpec& spec) {
  return vhtest::encode_stream(codec, spec);
}

std::vector<uint8_t> join(const std::vector<EncodedPacket>& packets, size_t copies = 1) {
  std::vector<uint8_t> out;
  for (size_t c = 0; c < copies; ++c)
    for (const auto& p : packets) out.insert(out.end(), p.data.begin(), p.data.end());
  return out;
}

std::shared_ptr<const DecoderProvider> software_provider() {
  return std::make_shared<software::SoftwareDecoderProvider>(SoftwareDecodeConfig{});
}

CommonDecodeConfig session_config(Codec codec = Codec::H264,
                                  DecodeOutputMode mode = DecodeOutputMode::MetadataOnly) {
  CommonDecodeConfig c;
  c.codec = codec;
  c.output = mode;
  return c;
}

TelemetryValue telemetry_value(const DecodeSession& session, const std::string& key) {
  for (const auto& [name, value] : session.telemetry())
    if (name == key) return value;
  throw std::runtime_error("telemetry has no " + key);
}

int64_t counter(const DecodeSession& session, const std::string& key) {
  return std::get<int64_t>(telemetry_value(session, key));
}

std::string stage(const DecodeSession& session) {
  return std::get<std::string>(telemetry_value(session, "decode_stage"));
}

// Polls `condition` every millisecond for up to 20 s.
bool wait_for(const std::function<bool()>& condition) {
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  while (Clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(milliseconds(1));
  }
  return condition();
}

std::vector<int64_t> pts_of(const std::vector<DecodedFrame>& frames) {
  std::vector<int64_t> v;
  for (const auto& f : frames) v.push_back(f.pts.value_or(-1));
  return v;
}

std::vector<int64_t> range(int64_t first, int64_t count) {
  std::vector<int64_t> v;
  for (int64_t i = 0; i < count; ++i) v.push_back(first + i);
  return v;
}

void append(std::vector<DecodedFrame>& to, std::vector<DecodedFrame> from) {
  for (auto& f : from) to.push_back(std::move(f));
}

// Every frame still to come: reaps while the decode stage produces, then flushes.
std::vector<DecodedFrame> reap_all(DecodeSession& session, uint32_t generation) {
  std::vector<DecodedFrame> out;
  for (auto frames = session.reap(generation, 1); !frames.empty();
       frames = session.reap(generation, 1))
    append(out, std::move(frames));
  append(out, session.flush(generation));
  return out;
}

// The pixels of a frame, whatever its layout (pitch padding left out).
std::vector<uint8_t> pixels_of(const DecodedFrame& f) {
  std::vector<uint8_t> out;
  for (const auto& p : f.planes)
    for (int r = 0; r < p.height; ++r)
      out.insert(out.end(), p.data + size_t(r) * p.pitch,
                 p.data + size_t(r) * p.pitch + p.width_bytes);
  return out;
}

void expect_same_frames(const std::vector<DecodedFrame>& got, const std::vector<DecodedFrame>& want,
                        const std::string& how) {
  ASSERT_EQ(got.size(), want.size()) << how;
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].width, want[i].width) << how << ", frame " << i;
    EXPECT_EQ(got[i].height, want[i].height) << how << ", frame " << i;
    EXPECT_EQ(got[i].is_keyframe, want[i].is_keyframe) << how << ", frame " << i;
    EXPECT_FALSE(got[i].damaged) << how << ", frame " << i;
    ASSERT_FALSE(got[i].planes.empty()) << how << ", frame " << i;
    EXPECT_TRUE(vhtest::plane_bytes(got[i]) == vhtest::plane_bytes(want[i]))
        << how << ", frame " << i << ": pixels differ";
  }
}

std::string codec_name(const ::testing::TestParamInfo<Codec>& info) {
  return to_string(info.param);
}

std::string mode_name(const ::testing::TestParamInfo<DecodeOutputMode>& info) {
  return info.param == DecodeOutputMode::CpuRgb ? "CpuRgb" : "NativeSurface";
}

// ---- 1. chunking ------------------------------------------------------------------------

std::vector<DecodedFrame> decode_in_chunks(Codec codec, const std::vector<uint8_t>& stream,
                                           size_t chunk) {
  DecodeSession session(1, session_config(codec, DecodeOutputMode::CpuRgb), software_provider());
  for (size_t at = 0; at < stream.size(); at += chunk)
    session.push(1, stream.data() + at, std::min(chunk, stream.size() - at), std::nullopt, -1);
  return reap_all(session, 1);
}

class DecodePipelineChunking : public ::testing::TestWithParam<Codec> {};

TEST_P(DecodePipelineChunking, WholeByteChunksPagesAndUnitsGiveTheSameFrames) {
  const auto packets = encode(GetParam(), {64, 48, 16, 4, 2});
  const auto stream = join(packets);
  const auto whole = decode_in_chunks(GetParam(), stream, stream.size());
  ASSERT_EQ(whole.size(), 16u);
  EXPECT_EQ(pts_of(whole), std::vector<int64_t>(16, -1)) << "no pts was pushed";
  std::vector<int64_t> keyframes;
  for (size_t i = 0; i < whole.size(); ++i) {
    EXPECT_EQ(whole[i].width, 64);
    EXPECT_EQ(whole[i].height, 48);
    if (whole[i].is_keyframe) keyframes.push_back(int64_t(i));
  }
  EXPECT_EQ(keyframes, (std::vector<int64_t>{0, 4, 8, 12}));
  expect_same_frames(decode_in_chunks(GetParam(), stream, 1), whole, "1-byte chunks");
  expect_same_frames(decode_in_chunks(GetParam(), stream, 4096), whole, "4 KiB chunks");

  DecodeSession session(1, session_config(GetParam(), DecodeOutputMode::CpuRgb),
                        software_provider());
  for (size_t i = 0; i < packets.size(); ++i) {
    DecodeUnit unit;
    unit.data = packets[i].data.data();
    unit.size = packets[i].data.size();
    unit.tag = int64_t(packets[i].pts);
    session.push_unit(1, unit);
  }
  const auto units = reap_all(session, 1);
  expect_same_frames(units, whole, "push_unit");
  EXPECT_EQ(pts_of(units), range(0, 16));
}

TEST_P(DecodePipelineChunking, OneAccessUnitPerPushGivesEachPtsOnceInDisplayOrder) {
  const auto packets = encode(GetParam(), {64, 48, 24, 8, 2});
  // The encoder's pts are display indices; pushed in decode order they are out of order.
  std::vector<int64_t> pushed;
  for (const auto& p : packets) pushed.push_back(p.pts);
  ASSERT_NE(pushed, range(0, 24)) << "the stream has no reordering to check";
  DecodeSession session(1, session_config(GetParam()), software_provider());
  std::vector<DecodedFrame> frames;
  for (const auto& p : packets) {
    session.push(1, p.data.data(), p.data.size(), p.pts, -1);
    append(frames, session.reap(1));
  }
  append(frames, reap_all(session, 1));
  EXPECT_EQ(pts_of(frames), range(0, 24));
}

INSTANTIATE_TEST_SUITE_P(Codecs, DecodePipelineChunking,
                         ::testing::Values(Codec::H264, Codec::HEVC), codec_name);

// ---- 2. a producer, a consumer and an observer on three threads ---------------------------

// `first` / `second`: the packets pushed before / after the switch (pts of the second get
// 1000 added). Returns every frame the consumer and the producer's flush took, in the order
// they were taken.
std::vector<DecodedFrame> run_three_threads(DecodeSession& session,
                                            const std::vector<EncodedPacket>& first,
                                            const std::vector<EncodedPacket>& second,
                                            const CommonDecodeConfig& target,
                                            std::shared_ptr<const DecoderProvider> provider,
                                            std::atomic<int>& observed, std::string& trouble) {
  const size_t expected = first.size() + second.size();
  std::mutex taken_mu;  // held across taking frames and appending them, so `taken` keeps order
  std::vector<DecodedFrame> taken;
  std::atomic<bool> producer_done{false}, consumer_done{false};
  std::mutex trouble_mu;
  const auto complain = [&](const std::string& what) {
    std::lock_guard<std::mutex> lock(trouble_mu);
    if (trouble.empty()) trouble = what;
  };

  std::thread producer([&] {
    try {
      for (const auto& p : first) session.push(1, p.data.data(), p.data.size(), p.pts, -1);
      const uint32_t next = session.switch_to(1, target, provider);
      if (next != 2) complain("switch_to gave generation " + std::to_string(next));
      for (const auto& p : second)
        session.push(next, p.data.data(), p.data.size(), p.pts + 1000, -1);
      std::lock_guard<std::mutex> lock(taken_mu);
      append(taken, session.flush(next));
    } catch (const std::exception& e) {
      complain(std::string("producer: ") + e.what());
    }
    producer_done = true;
  });
  std::thread consumer([&] {
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    for (;;) {
      {
        std::lock_guard<std::mutex> lock(taken_mu);
        if (taken.size() >= expected) break;
        const uint32_t generation = session.state().active_generation;
        try {
          append(taken, session.reap(generation, 1, 50 * kMs));
        } catch (const Error& e) {
          // The producer switched between state() and reap: ask again.
          if (e.kind() != ErrorKind::StaleSession) {
            complain(std::string("consumer: ") + e.what());
            break;
          }
        }
      }
      if (Clock::now() > deadline) {
        complain("consumer: not every frame came out within 60 s");
        break;
      }
      std::this_thread::yield();
    }
    consumer_done = true;
  });
  std::thread observer([&] {
    static const std::set<std::string> stages{"idle", "decoding", "waiting_for_reap", "stopped"};
    uint32_t last_generation = 1;
    while (!consumer_done.load() || !producer_done.load()) {
      const DecodeStateInfo s = session.state();
      if (s.active_generation < last_generation || s.active_generation > 2)
        complain("state: generation " + std::to_string(s.active_generation) + " after " +
                 std::to_string(last_generation));
      last_generation = s.active_generation;
      if (s.closed) complain("state: closed");
      const std::string st = stage(session);
      if (!stages.count(st)) complain("telemetry: decode_stage " + st);
      if (counter(session, "backlog_bytes") < 0) complain("telemetry: negative backlog");
      observed++;
    }
  });
  producer.join();
  consumer.join();
  observer.join();
  return taken;
}

void expect_in_order_across_the_switch(const std::vector<DecodedFrame>& frames, size_t first,
                                       size_t second, DecodeOutputMode before,
                                       DecodeOutputMode after) {
  std::vector<int64_t> want = range(0, int64_t(first));
  for (int64_t p : range(1000, int64_t(second))) want.push_back(p);
  EXPECT_EQ(pts_of(frames), want) << "every frame exactly once, in display order";
  bool seen_second = false;
  for (size_t i = 0; i < frames.size(); ++i) {
    const auto& f = frames[i];
    const bool is_second = f.pts.value_or(-1) >= 1000;
    EXPECT_EQ(f.generation, is_second ? 2u : 1u) << "frame " << i;
    if (f.generation == 2) seen_second = true;
    if (seen_second) {
      EXPECT_NE(f.generation, 1u) << "frame " << i << " of generation 1 after generation 2";
    }
    EXPECT_EQ(f.output, is_second ? after : before) << "frame " << i;
    EXPECT_FALSE(f.damaged) << "frame " << i;
  }
}

TEST(DecodePipelineThreads, AConcurrentConsumerGetsEveryFrameOnceInOrderAcrossASwitch) {
  const auto packets = encode(Codec::H264, {64, 48, 60, 10, 2});
  DecodeSession session(1, session_config(Codec::H264), software_provider());
  std::atomic<int> observed{0};
  std::string trouble;
  const auto frames = run_three_threads(session, packets, packets,
                                        session_config(Codec::H264, DecodeOutputMode::CpuRgb),
                                        software_provider(), observed, trouble);
  EXPECT_EQ(trouble, "");
  EXPECT_GT(observed.load(), 0);
  expect_in_order_across_the_switch(frames, 60, 60, DecodeOutputMode::MetadataOnly,
                                    DecodeOutputMode::CpuRgb);
  EXPECT_EQ(counter(session, "switches_in_place"), 1);
  EXPECT_EQ(counter(session, "frames_out"), 120);
}

// ---- 3. backpressure across threads --------------------------------------------------------

TEST(DecodePipelineThreads, ABoundedSessionWithASlowConsumerLosesNothing) {
  const auto packets = encode(Codec::H264, {64, 48, 60, 10, 2});
  CommonDecodeConfig config = session_config(Codec::H264, DecodeOutputMode::CpuRgb);
  config.max_ready_frames = 2;
  DecodeSession session(1, config, software_provider());
  std::atomic<bool> producer_done{false};
  std::vector<DecodedFrame> frames;
  std::thread consumer([&] {
    while (!producer_done.load()) {
      append(frames, session.reap(1, 1, 50 * kMs));
      std::this_thread::sleep_for(milliseconds(3));  // slower than the decode stage
    }
    // Nothing more is pushed: reap until nothing more can come without a flush.
    for (auto f = session.reap(1, 1, -1); !f.empty(); f = session.reap(1, 1, -1))
      append(frames, std::move(f));
  });
  // Round 0 fills the input queue; rounds 1 and 2 are pushed once the decode stage
  // stopped for room, so the pushes wait for the consumer's reaps.
  for (int round = 0; round < 3; ++round) {
    if (round == 1) {
      EXPECT_TRUE(wait_for([&] { return stage(session) == "waiting_for_reap"; }));
    }
    for (const auto& p : packets)
      session.push(1, p.data.data(), p.data.size(), round * 100 + p.pts, -1);
  }
  producer_done = true;
  consumer.join();
  // The bound holds up to here; flush's drain may pass it by the reorder depth.
  const int64_t peak = counter(session, "ready_peak_frames");
  EXPECT_GE(peak, 2) << "the bound was never reached: nothing was tested";
  EXPECT_LE(peak, 3);
  EXPECT_GT(counter(session, "backpressure_waits"), 0);
  EXPECT_EQ(counter(session, "backpressure_refusals"), 0) << "a push with wait_ns=-1 was refused";
  append(frames, session.flush(1));
  std::vector<int64_t> want;
  for (int round = 0; round < 3; ++round)
    for (int64_t p : range(round * 100, 60)) want.push_back(p);
  EXPECT_EQ(pts_of(frames), want) << "every frame exactly once, in order";
}

// ---- 4. lifetime ------------------------------------------------------------------------------

// A backlog that takes the decode stage a while: `copies` times a 320x240 stream.
struct Backlog {
  std::vector<EncodedPacket> packets;
  std::vector<uint8_t> stream;
  size_t frames = 0;
};

Backlog make_backlog(size_t copies) {
  Backlog b;
  b.packets = encode(Codec::H264, {320, 240, 50, 10, 2});
  b.stream = join(b.packets, copies);
  b.frames = b.packets.size() * copies;
  return b;
}

TEST(DecodePipelineLifetime, DestroyingASessionWhileItDecodesABacklogReturnsPromptly) {
  const Backlog backlog = make_backlog(40);  // 2000 pictures
  CommonDecodeConfig config = session_config();
  config.max_ready_frames = 1 << 20;  // MetadataOnly: no pixels; the stage never stops for room
  auto session = std::make_unique<DecodeSession>(1, config, software_provider());
  for (size_t at = 0; at < backlog.stream.size(); at += 64 * 1024)
    session->push(1, backlog.stream.data() + at,
                  std::min<size_t>(64 * 1024, backlog.stream.size() - at), std::nullopt);
  ASSERT_TRUE(wait_for([&] { return counter(*session, "frames_out") > 0; }));
  const auto start = Clock::now();
  const int64_t left = counter(*session, "backlog_bytes");
  const int64_t decoded = counter(*session, "frames_out");
  session.reset();
  const auto took = Clock::now() - start;
  EXPECT_GT(left, 0) << "the backlog was gone before the session was destroyed";
  EXPECT_LT(decoded, int64_t(backlog.frames));
  // The worker finishes the piece it decodes (one picture), not the backlog.
  EXPECT_LT(took, milliseconds(1000))
      << std::chrono::duration_cast<milliseconds>(took).count() << " ms";
}

TEST(DecodePipelineLifetime, CloseWakesAReapWaitingWithoutATimeout) {
  const Backlog backlog = make_backlog(12);  // 600 pictures: fewer than the reap waits for
  DecodeSession session(1, session_config(), software_provider());
  session.push(1, backlog.stream.data(), backlog.stream.size(), std::nullopt);
  std::atomic<bool> reaper_returned{false};
  std::atomic<int> reaper_kind{-1};  // -1: returned frames; else the ErrorKind it threw
  std::vector<DecodedFrame> reaped;
  std::thread reaper([&] {
    try {
      reaped = session.reap(1, 1000, -1);
    } catch (const Error& e) {
      reaper_kind = int(e.kind());
    }
    reaper_returned = true;
  });
  ASSERT_TRUE(wait_for([&] { return counter(session, "reap_waits") > 0; }));
  // The backlog is far from decoded, so the reap waits for more frames.
  EXPECT_GT(counter(session, "backlog_bytes"), 0);
  EXPECT_FALSE(reaper_returned.load()) << "reap(1000, -1) returned before 1000 frames or close";
  const auto closed = session.close(1);
  // reap's wait ends at close; it returns (with what was ready, maybe nothing) rather than
  // raising SessionClosed: the session was open when it was called.
  const bool woke = wait_for([&] { return reaper_returned.load(); });
  EXPECT_TRUE(woke) << "close did not wake the reap";
  if (!woke) std::abort();  // the thread would never end
  reaper.join();
  EXPECT_EQ(reaper_kind.load(), -1) << "the waiting reap raised ErrorKind " << reaper_kind.load();
  EXPECT_EQ(reaped.size() + closed.size(), backlog.frames)
      << "between the woken reap and close, every frame exactly once";
  EXPECT_TRUE(session.state().closed);
  EXPECT_EQ(counter(session, "frames_out"), int64_t(backlog.frames));
}

TEST(DecodePipelineLifetime, ResetWhileTheWorkerDecodesDropsEverythingPushedBefore) {
  const auto packets = encode(Codec::H264, {320, 240, 50, 10, 2});
  DecodeSession session(1, session_config(), software_provider());
  // Ten rounds of the stream, pts round*100 + display index; all below 10000.
  for (int round = 0; round < 10; ++round)
    for (const auto& p : packets)
      session.push(1, p.data.data(), p.data.size(), round * 100 + p.pts, -1);
  ASSERT_TRUE(wait_for([&] { return counter(session, "frames_out") > 0; }));
  const int64_t left = counter(session, "backlog_bytes");
  session.reset(1);
  EXPECT_GT(left, 0) << "the worker was done before the reset";
  EXPECT_EQ(counter(session, "backlog_bytes"), 0);
  EXPECT_EQ(counter(session, "frames_ready"), 0);
  EXPECT_TRUE(session.reap(1).empty()) << "a frame of before the reset came out";
  for (const auto& p : packets) session.push(1, p.data.data(), p.data.size(), 10000 + p.pts, -1);
  EXPECT_EQ(pts_of(reap_all(session, 1)), range(10000, 50));
}

// ---- 5. frames a caller holds ---------------------------------------------------------------

// `provider` decodes `packets` in `mode`: the frames of the first pushes are kept (their
// bytes copied aside), many more are decoded and dropped; the kept ones must not change.
void expect_held_frames_unchanged(std::shared_ptr<const DecoderProvider> provider, Codec codec,
                                  DecodeOutputMode mode,
                                  const std::vector<EncodedPacket>& packets) {
  DecodeSession session(1, session_config(codec, mode), provider);
  std::vector<DecodedFrame> held;
  size_t next = 0;
  while (held.size() < 4 && next < packets.size()) {
    const auto& p = packets[next++];
    session.push(1, p.data.data(), p.data.size(), p.pts, -1);
    append(held, session.reap(1, 1, 20 * kMs));
  }
  ASSERT_GE(held.size(), 4u);
  std::vector<std::vector<uint8_t>> before;
  std::set<const uint8_t*> held_memory;
  for (const auto& f : held) {
    ASSERT_FALSE(f.planes.empty());
    before.push_back(pixels_of(f));
    for (const auto& plane : f.planes) held_memory.insert(plane.data);
  }
  size_t later = 0;
  const auto check = [&](const std::vector<DecodedFrame>& frames) {
    for (const auto& f : frames) {
      later++;
      for (const auto& plane : f.planes)
        EXPECT_EQ(held_memory.count(plane.data), 0u)
            << "frame pts " << f.pts.value_or(-1) << " got the memory of a frame still held";
    }
  };
  for (int round = 0; round < 4; ++round) {
    for (; next < packets.size(); ++next) {
      const auto& p = packets[next];
      session.push(1, p.data.data(), p.data.size(), p.pts, -1);
      check(session.reap(1));  // dropped at once: their buffers go back to the pools
    }
    check(reap_all(session, 1));
    next = 0;
  }
  EXPECT_GT(later, 3 * packets.size());
  for (size_t i = 0; i < held.size(); ++i)
    EXPECT_TRUE(pixels_of(held[i]) == before[i]) << "held frame " << i << " changed";
  session.close(1);
  for (size_t i = 0; i < held.size(); ++i)
    EXPECT_TRUE(pixels_of(held[i]) == before[i]) << "held frame " << i << " changed at close";
}

class DecodePipelineHeld : public ::testing::TestWithParam<DecodeOutputMode> {};

TEST_P(DecodePipelineHeld, FramesACallerHoldsAreNeverOverwritten) {
  const auto packets = encode(Codec::H264, {128, 96, 40, 8, 2});
  expect_held_frames_unchanged(software_provider(), Codec::H264, GetParam(), packets);
}

INSTANTIATE_TEST_SUITE_P(Modes, DecodePipelineHeld,
                         ::testing::Values(DecodeOutputMode::NativeSurface,
                                           DecodeOutputMode::CpuRgb),
                         mode_name);

// ---- 7. errors --------------------------------------------------------------------------------

// NAL units that look like slices (start code, slice header byte) with random payloads.
std::vector<uint8_t> garbage_slices() {
  std::mt19937 rng(11);
  std::vector<uint8_t> out;
  for (int n = 0; n < 16; ++n) {
    out.insert(out.end(), {0, 0, 0, 1, uint8_t(n % 2 ? 0x65 : 0x41)});
    for (int i = 0; i < 300; ++i) out.push_back(uint8_t(rng() % 255 + 1));
  }
  return out;
}

TEST(DecodePipelineErrors, GarbageBetweenGoodStreamsRaisesLaterAndTheNextIdrDecodes) {
  const auto packets = encode(Codec::H264, {64, 48, 12, 4, 2});
  const auto garbage = garbage_slices();
  DecodeSession session(1, session_config(Codec::H264, DecodeOutputMode::CpuRgb),
                        software_provider());
  std::vector<DecodedFrame> frames;
  int errors = 0;
  const auto tolerant = [&](const std::function<void()>& call) {
    try {
      call();
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Decode) << e.what();
      errors++;
    }
  };
  for (const auto& p : packets) session.push(1, p.data.data(), p.data.size(), p.pts, -1);
  // The garbage is only queued here; its error comes with a later call.
  session.push(1, garbage.data(), garbage.size(), std::nullopt, -1);
  for (const auto& p : packets)
    tolerant([&] { session.push(1, p.data.data(), p.data.size(), 100 + p.pts, -1); });
  tolerant([&] { append(frames, session.flush(1)); });
  append(frames, session.reap(1));  // what a throwing flush left ready
  EXPECT_GE(errors, 1) << "the garbage's DecodeError was lost";
  EXPECT_GE(counter(session, "decode_errors"), 1);
  std::vector<int64_t> after;
  for (const auto& f : frames)
    if (f.pts.value_or(-1) >= 100) {
      after.push_back(f.pts.value_or(-1));
      EXPECT_FALSE(f.damaged) << "pts " << f.pts.value_or(-1);
    }
  EXPECT_EQ(after, range(100, 12)) << "good frames after the next IDR were lost";
  // The session is still usable and raises nothing more.
  for (const auto& p : packets) session.push(1, p.data.data(), p.data.size(), 200 + p.pts, -1);
  std::vector<int64_t> third;
  for (const auto& f : reap_all(session, 1)) third.push_back(f.pts.value_or(-1));
  EXPECT_EQ(third, range(200, 12));
}

// ---- 6. through the NVDEC and CUDA driver doubles ------------------------------------------

using Doubles = vhtest::NvdecDoubles;

std::shared_ptr<const DecoderProvider> nvdec_provider() {
  return std::make_shared<nv::NvdecDecoderProvider>(NvidiaDecodeConfig{}, reference_rgb_table());
}

class DecodePipelineNvdec : public ::testing::TestWithParam<DecodeOutputMode> {
 protected:
  void SetUp() override {
    Doubles::get().reset();
    if (GetParam() == DecodeOutputMode::CpuRgb && !nv::nvdec_rgb_unavailable_reason().empty())
      GTEST_SKIP() << nv::nvdec_rgb_unavailable_reason();
  }
  void TearDown() override {
    // Ended sessions park their decoders and buffers for the next; none may be left behind.
    nv::release_nvdec_caches();
    EXPECT_EQ(Doubles::get().violations(), "") << "an NVDEC / CUDA API rule was broken";
    EXPECT_EQ(Doubles::get().open_decoders(), 0);
    EXPECT_EQ(Doubles::get().mapped_frames(), 0);
    EXPECT_EQ(Doubles::get().live_events(), 0) << "a session left CUDA events behind";
  }
};

TEST_P(DecodePipelineNvdec, AConcurrentConsumerGetsEveryFrameOnceInOrderAcrossASwitch) {
  const auto packets = encode(Codec::H264, {64, 48, 40, 10, 2});
  const DecodeOutputMode other = GetParam() == DecodeOutputMode::CpuRgb
                                     ? DecodeOutputMode::NativeSurface
                                     : DecodeOutputMode::CpuRgb;
  if (other == DecodeOutputMode::CpuRgb && !nv::nvdec_rgb_unavailable_reason().empty())
    GTEST_SKIP() << nv::nvdec_rgb_unavailable_reason();
  const auto provider = nvdec_provider();
  {
    DecodeSession session(1, session_config(Codec::H264, GetParam()), provider);
    std::atomic<int> observed{0};
    std::string trouble;
    const auto frames = run_three_threads(
        session, packets, packets, session_config(Codec::H264, other), provider, observed, trouble);
    EXPECT_EQ(trouble, "");
    EXPECT_GT(observed.load(), 0);
    expect_in_order_across_the_switch(frames, 40, 40, GetParam(), other);
    EXPECT_EQ(counter(session, "switches_in_place"), 1);
    for (const auto& f : frames) {
      EXPECT_EQ(f.on_device, f.output == DecodeOutputMode::NativeSurface);
      EXPECT_EQ(f.pixel_format == "nv12", f.output == DecodeOutputMode::NativeSurface);
    }
  }
}

TEST_P(DecodePipelineNvdec, FramesACallerHoldsAreNeverOverwritten) {
  const auto packets = encode(Codec::H264, {64, 48, 40, 8, 2});
  expect_held_frames_unchanged(nvdec_provider(), Codec::H264, GetParam(), packets);
}

INSTANTIATE_TEST_SUITE_P(Modes, DecodePipelineNvdec,
                         ::testing::Values(DecodeOutputMode::NativeSurface,
                                           DecodeOutputMode::CpuRgb),
                         mode_name);

}  // namespace
