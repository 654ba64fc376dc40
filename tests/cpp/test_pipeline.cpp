// session/pipeline: the per-session stages (transform, encode, reap) as seen through
// EncodeSession: ordering, backpressure, pools, flush markers, close and drop order, and
// reap(min_packets). Encodes are held on a Gate (support/session_support.hpp) wherever a
// test needs the encode thread to stand still, so nothing here depends on timing except
// the "has not returned yet" checks, which only ever err towards passing.
#include <gtest/gtest.h>

#include <dirent.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "contract/errors.hpp"
#include "session/encode_session.hpp"
#include "session/session_manager.hpp"
#include "support/decoder.hpp"
#include "support/frames.hpp"
#include "support/session_support.hpp"

using namespace videohw;
using namespace vhtest;
using namespace std::chrono_literals;

namespace {

// How long a call that must stay blocked is watched before the test moves on.
constexpr auto kStaysBlocked = 150ms;

// Counted after one thread has come and gone, so a runtime's own helper thread (TSan starts
// one with the first thread) is already in the baseline.
int thread_count();
int baseline_thread_count() {
  std::thread([] {}).join();
  return thread_count();
}

int thread_count() {
  int n = 0;
  if (DIR* dir = opendir("/proc/self/task")) {
    while (dirent* e = readdir(dir))
      if (e->d_name[0] != '.') ++n;
    closedir(dir);
  }
  return n;
}

// A joined thread's /proc entry can outlive pthread_join by a moment: allow it that.
bool threads_back_to(int count) {
  return wait_until([&] { return thread_count() <= count; }, 2000ms) ||
         (ADD_FAILURE() << thread_count() << " threads, " << count << " before", false);
}

SoftwareEncodeConfig in_flight(int n) {
  SoftwareEncodeConfig s;
  s.max_in_flight = n;
  return s;
}

bool non_decreasing(const std::vector<uint32_t>& v) {
  return std::is_sorted(v.begin(), v.end());
}

// Every generation's packets form one run: no generation comes back after another started.
bool grouped(const std::vector<uint32_t>& v) {
  std::set<uint32_t> closed;
  for (size_t i = 0; i < v.size(); ++i) {
    if (closed.count(v[i])) return false;
    if (i + 1 < v.size() && v[i + 1] != v[i]) closed.insert(v[i]);
  }
  return true;
}

}  // namespace

// ---- ordering -----------------------------------------------------------------------------

// Converted (BGRA, RGB24: transform stage) and native (I420) frames interleaved, reaped by
// another thread while they are submitted: one packet per frame, in submission order.
TEST(PipelineOrdering, PacketsComeOutInSubmissionOrder) {
  auto provider = TestProvider::software();
  const auto c = low_latency_config();
  EncodeSession s(1, c, provider);
  constexpr int kFrames = 48;
  std::vector<EncodedPacket> reaped;
  std::atomic<bool> done{false};
  std::thread reaper([&] {
    while (!done.load()) append(reaped, s.reap(1, 1, 20'000'000));
  });
  const PixelFormat formats[] = {PixelFormat::BGRA, PixelFormat::I420, PixelFormat::RGB24,
                                 PixelFormat::NV12};
  for (int i = 0; i < kFrames; ++i) submit_frame(s, 1, c, i, std::nullopt, false, formats[i % 4]);
  done = true;
  reaper.join();
  append(reaped, s.close(1));
  EXPECT_EQ(pts_of(reaped), range(0, kFrames));
  for (size_t i = 1; i < reaped.size(); ++i) EXPECT_LT(reaped[i - 1].dts, reaped[i].dts);
  for (const auto& p : reaped) EXPECT_EQ(p.generation, 1u);
  const auto decoded = decode_packets(Codec::H264, reaped);
  EXPECT_EQ(all_pts(decoded), range(0, kFrames));
  const auto t = s.telemetry();
  EXPECT_EQ(tel_int(t, "packets_out"), kFrames);
  EXPECT_EQ(tel_int(t, "frames_converted"), kFrames / 4 * 3) << "BGRA, RGB24 and NV12";
}

// With B-frames the packets are in decode order: dts grows, each pts exactly once.
TEST(PipelineOrdering, BFramePacketsComeOutInDecodeOrder) {
  auto provider = TestProvider::software();
  const auto c = b_frame_config();
  EncodeSession s(1, c, provider);
  std::vector<EncodedPacket> out;
  for (int i = 0; i < 30; ++i) {
    submit_frame(s, 1, c, i);
    if (i % 5 == 4) append(out, s.reap(1));
  }
  append(out, s.close(1));
  auto pts = pts_of(out);
  for (size_t i = 1; i < out.size(); ++i) EXPECT_LT(out[i - 1].dts, out[i].dts) << i;
  std::sort(pts.begin(), pts.end());
  EXPECT_EQ(pts, range(0, 30));
  EXPECT_EQ(all_pts(decode_packets(Codec::H264, out)), range(0, 30));
}

// Switches of every kind while another thread reaps: the packet stream keeps submission
// order, and its generations never go backwards and never interleave.
TEST(PipelineOrdering, GenerationsAreGroupedAndMonotonic) {
  auto provider = TestProvider::software();
  auto c1 = low_latency_config(64, 48);
  auto c_rate = c1;  // in place (bitrate only)
  c_rate.rate_control.bitrate_bps = 700'000;
  const auto c_size = low_latency_config(96, 64);  // new encoder
  auto c_size_rate = c_size;
  c_size_rate.rate_control.bitrate_bps = 300'000;
  const auto c_back = low_latency_config(64, 48);

  EncodeSession s(1, c1, provider);
  std::vector<EncodedPacket> reaped;
  std::atomic<bool> done{false};
  std::thread reaper([&] {
    while (!done.load()) {
      // Any generation the reaper sees is fine; a stale one is retried with the newer.
      const uint32_t g = s.state().active_generation;
      try {
        append(reaped, s.reap(g, 1, 10'000'000));
      } catch (const Error& e) {
        if (e.kind() != ErrorKind::StaleSession) throw;
      }
    }
  });

  int frame = 0;
  std::map<uint32_t, std::vector<int64_t>> expected;  // generation -> pts
  auto feed = [&](uint32_t g, const CommonEncodeConfig& size, int n, bool force_first = false) {
    for (int i = 0; i < n; ++i, ++frame) {
      submit_frame(s, g, size, frame, std::nullopt, force_first && i == 0);
      expected[g].push_back(frame);
    }
  };
  feed(1, c1, 6);
  const uint32_t g2 = s.switch_to(1, c_rate, provider, SwitchMode::Immediate, true);
  feed(g2, c_rate, 5);
  const uint32_t g3 = s.switch_to(g2, c_size, provider, SwitchMode::Immediate, true);
  feed(g3, c_size, 5);
  const uint32_t g4 = s.switch_to(g3, c_size_rate, provider, SwitchMode::DrainThenSwap, false);
  feed(g4, c_size_rate, 4);
  const uint32_t g5 = s.switch_to(g4, c_back, provider, SwitchMode::OnNextKeyframe, true);
  feed(g4, c_size_rate, 3);  // the old generation goes on until a keyframe
  feed(g5, c_back, 4, /*force_first=*/true);
  done = true;
  reaper.join();
  append(reaped, s.close(g5));

  EXPECT_EQ(pts_of(reaped), range(0, frame)) << "submission order";
  const auto gens = generations_of(reaped);
  EXPECT_TRUE(non_decreasing(gens)) << ::testing::PrintToString(gens);
  EXPECT_TRUE(grouped(gens)) << ::testing::PrintToString(gens);
  std::map<uint32_t, std::vector<int64_t>> got;
  for (const auto& p : reaped) got[p.generation].push_back(p.pts);
  EXPECT_EQ(got, expected);
  EXPECT_EQ((std::vector<uint32_t>{g2, g3, g4, g5}), (std::vector<uint32_t>{2, 3, 4, 5}));
}

// ---- backpressure -------------------------------------------------------------------------

class PipelineBackpressure : public ::testing::TestWithParam<int> {};

// max_in_flight frames waiting (the first held inside the encoder): a non-blocking submit
// raises Backpressure and takes nothing; a blocking one waits until a frame leaves.
TEST_P(PipelineBackpressure, NonBlockingSubmitThrowsWhenMaxInFlightFramesWait) {
  const int max_in_flight = GetParam();
  auto provider = TestProvider::software(in_flight(max_in_flight));
  const auto c = low_latency_config();
  EncodeSession s(1, c, provider);
  vhtest::OpenOnExit open_on_exit(*provider->gate);
  provider->gate->shut();
  for (int i = 0; i < max_in_flight; ++i)
    submit_frame(s, 1, c, i, std::nullopt, false, PixelFormat::I420, /*block=*/false);
  ASSERT_TRUE(provider->gate->wait_held(1));
  for (int attempt = 0; attempt < 3; ++attempt)
    expect_error(
        ErrorKind::Backpressure,
        [&] {
          submit_frame(s, 1, c, 100, std::nullopt, false, PixelFormat::I420,
                       /*block=*/false);
        },
        "non-blocking submit with a full pipeline");
  // A blocking submit waits while the encoder holds the frames...
  auto blocked = std::async(std::launch::async, [&] {
    submit_frame(s, 1, c, max_in_flight, std::nullopt, false, PixelFormat::I420, true);
  });
  EXPECT_EQ(blocked.wait_for(kStaysBlocked), std::future_status::timeout)
      << "a blocking submit returned with max_in_flight frames waiting";
  // ...and reap / state answer meanwhile.
  auto reaped = std::async(std::launch::async, [&] { return s.reap(1); });
  ASSERT_EQ(reaped.wait_for(5s), std::future_status::ready) << "reap waited behind submit";
  EXPECT_TRUE(reaped.get().empty());
  EXPECT_EQ(s.state().active_generation, 1u);
  provider->gate->open();
  ASSERT_EQ(blocked.wait_for(10s), std::future_status::ready);
  blocked.get();
  const auto out = s.flush(1);
  EXPECT_EQ(pts_of(out), range(0, max_in_flight + 1)) << "the refused frames took no pts";
  const auto t = s.telemetry();
  EXPECT_EQ(tel_int(t, "frames_submitted"), max_in_flight + 1);
  EXPECT_EQ(tel_int(t, "in_flight_peak"), max_in_flight);
  s.close(1);
}

INSTANTIATE_TEST_SUITE_P(MaxInFlight, PipelineBackpressure, ::testing::Values(1, 3));

// Many more frames than max_in_flight through a blocking submit: never more than
// max_in_flight in flight, nothing lost.
TEST(PipelineBackpressureSteady, BlockingSubmitKeepsAtMostMaxInFlight) {
  auto provider = TestProvider::software(in_flight(2));
  const auto c = low_latency_config();
  EncodeSession s(1, c, provider);
  std::vector<EncodedPacket> out;
  for (int i = 0; i < 40; ++i) submit_frame(s, 1, c, i, std::nullopt, false, PixelFormat::BGRA);
  append(out, s.close(1));
  EXPECT_EQ(pts_of(out), range(0, 40));
  const auto t = s.telemetry();
  EXPECT_LE(tel_int(t, "in_flight_peak"), 2);
  EXPECT_GE(tel_int(t, "in_flight_peak"), 1);
  // The rings hold at most the frames in flight plus the one control item (close's marker).
  EXPECT_LE(tel_int(t, "queue_depth_peak_transform"), 2 + 1);
  EXPECT_LE(tel_int(t, "queue_depth_peak_encode"), 2 + 1);
}

// ---- pools --------------------------------------------------------------------------------

// Steady state allocates nothing: frame slots and packet buffers come back to their pools
// once the caller recycles the reaped packets. I420 (no conversion, one slot per frame):
// the counter stops after the first rounds.
TEST(PipelinePools, AllocationsStopGrowingAfterWarmUp) {
  auto provider = TestProvider::software();
  const auto c = low_latency_config();
  EncodeSession s(1, c, provider);
  int64_t warm = -1;
  int frame = 0;
  std::vector<int64_t> per_round;
  for (int round = 0; round < 12; ++round) {
    for (int i = 0; i < 8; ++i, ++frame) submit_frame(s, 1, c, frame);
    auto packets = s.reap(1, 8);
    ASSERT_EQ(packets.size(), 8u);
    s.recycle(std::move(packets));
    per_round.push_back(tel_int(s.telemetry(), "pool_allocations"));
    if (round == 3) warm = per_round.back();
  }
  EXPECT_GT(warm, 0);
  EXPECT_EQ(per_round.back(), warm)
      << "pool_allocations grew after warm-up (" << frame
      << " frames); per round: " << ::testing::PrintToString(per_round);
  s.close(1);
}

// With conversion (BGRA in, I420 slots out of the transform stage) the packet buffers stop
// growing just the same. The frame slots come in two sizes from one pool, and how many of
// each are out at once depends on how the stage threads happen to interleave, so their
// high-water mark can be met late (seen under ThreadSanitizer's scheduling: 13 -> 16 after
// 40 frames, about 1 run in 30); it is bounded by two sizes x (max_in_flight + 1) slots.
TEST(PipelinePools, ConvertedFramesReusePacketBuffersAndBoundTheirSlots) {
  auto provider = TestProvider::software();
  const auto c = low_latency_config();
  EncodeSession s(1, c, provider);
  // Packet buffers the pool has handed out before: a packet in a buffer never seen is one
  // the packet pool had to allocate or grow.
  std::set<const uint8_t*> seen;
  int new_packet_buffers = 0;
  int64_t warm = -1;
  int frame = 0;
  for (int round = 0; round < 12; ++round) {
    for (int i = 0; i < 8; ++i, ++frame)
      submit_frame(s, 1, c, frame, std::nullopt, false, PixelFormat::BGRA);
    auto packets = s.reap(1, 8);
    ASSERT_EQ(packets.size(), 8u);
    for (const auto& p : packets)
      if (seen.insert(p.data.data()).second && round > 3) ++new_packet_buffers;
    s.recycle(std::move(packets));
    if (round == 3) warm = tel_int(s.telemetry(), "pool_allocations");
  }
  EXPECT_EQ(new_packet_buffers, 0) << "packet buffers allocated after warm-up";
  const int64_t grown = tel_int(s.telemetry(), "pool_allocations") - warm;
  EXPECT_LE(grown, 2 * (4 + 1)) << "frame slots beyond two sizes x (max_in_flight + 1)";
  EXPECT_EQ(tel_int(s.telemetry(), "frames_converted"), frame);
  s.close(1);
}

// ---- flush --------------------------------------------------------------------------------

// The flush marker completes only after every packet of every frame before it, held-back
// B-frames included; the session takes frames right after.
TEST(PipelineFlush, MarkerReturnsEveryPacketOfPriorFrames) {
  auto provider = TestProvider::software();
  const auto c = b_frame_config();
  EncodeSession s(1, c, provider);
  int frame = 0;
  for (int segment = 0; segment < 3; ++segment) {
    const int first = frame;
    for (int i = 0; i < 7; ++i, ++frame) submit_frame(s, 1, c, frame);
    auto pts = pts_of(s.flush(1));
    std::sort(pts.begin(), pts.end());
    EXPECT_EQ(pts, range(first, 7)) << "segment " << segment;
    EXPECT_TRUE(s.reap(1).empty()) << "the flush took every packet";
  }
  EXPECT_EQ(tel_int(s.telemetry(), "flushes"), 3);
  s.close(1);
}

// A flush behind an encode in progress waits for it, then returns its packets too.
TEST(PipelineFlush, WaitsForAnEncodeInProgress) {
  auto provider = TestProvider::software();
  const auto c = low_latency_config();
  EncodeSession s(1, c, provider);
  vhtest::OpenOnExit open_on_exit(*provider->gate);
  provider->gate->shut();
  for (int i = 0; i < 3; ++i) submit_frame(s, 1, c, i);
  ASSERT_TRUE(provider->gate->wait_held(1));
  auto flushed = std::async(std::launch::async, [&] { return s.flush(1); });
  EXPECT_EQ(flushed.wait_for(kStaysBlocked), std::future_status::timeout);
  provider->gate->open();
  EXPECT_EQ(pts_of(flushed.get()), range(0, 3));
  s.close(1);
}

// ---- reap(min_packets) --------------------------------------------------------------------

// min_packets waits for packets that are still in the encoder and wakes when they arrive.
TEST(PipelineReap, MinPacketsWaitsAndWakesUp) {
  auto provider = TestProvider::software();
  const auto c = low_latency_config();
  EncodeSession s(1, c, provider);
  vhtest::OpenOnExit open_on_exit(*provider->gate);
  provider->gate->shut();
  for (int i = 0; i < 3; ++i) submit_frame(s, 1, c, i);
  ASSERT_TRUE(provider->gate->wait_held(1));
  auto waiting = std::async(std::launch::async, [&] { return s.reap(1, 3); });
  EXPECT_EQ(waiting.wait_for(kStaysBlocked), std::future_status::timeout)
      << "reap(min_packets=3) returned while every frame was held in the encoder";
  provider->gate->open();
  ASSERT_EQ(waiting.wait_for(10s), std::future_status::ready) << "reap did not wake up";
  EXPECT_EQ(pts_of(waiting.get()), range(0, 3));
  s.close(1);
}

// min_packets larger than what can come: it returns once every queued frame went through
// the encoder (held-back B-frames come out only on flush), without a timeout.
TEST(PipelineReap, MinPacketsReturnsWhenNothingMoreCanCome) {
  auto provider = TestProvider::software();
  const auto c = b_frame_config();
  EncodeSession s(1, c, provider);
  EXPECT_TRUE(s.reap(1, 1).empty()) << "an empty pipeline has nothing to wait for";
  for (int i = 0; i < 6; ++i) submit_frame(s, 1, c, i);
  auto waiting = std::async(std::launch::async, [&] { return s.reap(1, 100); });
  ASSERT_EQ(waiting.wait_for(10s), std::future_status::ready)
      << "reap(min_packets=100) waited for packets that cannot come";
  auto early = waiting.get();
  EXPECT_LT(early.size(), 6u);
  EXPECT_EQ(provider->log->encodes, 6) << "every frame reached the encoder";
  auto rest = s.flush(1);
  EXPECT_EQ(early.size() + rest.size(), 6u);
  s.close(1);
}

// An interrupt check (Ctrl-C in the bindings) ends a wait with or without a time limit,
// takes nothing, and the packets are still there for the next call.
TEST(PipelineReap, AnInterruptEndsTheWaitAndLeavesThePackets) {
  auto provider = TestProvider::software();
  const auto c = low_latency_config();
  EncodeSession s(1, c, provider);
  vhtest::OpenOnExit open_on_exit(*provider->gate);
  provider->gate->shut();
  submit_frame(s, 1, c, 0);
  submit_frame(s, 1, c, 1);
  ASSERT_TRUE(provider->gate->wait_held(1));
  for (int64_t timeout : {int64_t(-1), int64_t(60'000'000'000)}) {
    std::atomic<int> checks{0};
    bool interrupted = false;
    const auto start = std::chrono::steady_clock::now();
    auto packets = s.reap(
        1, 2, timeout, [&] { return ++checks >= 3; }, &interrupted);
    EXPECT_TRUE(interrupted);
    EXPECT_TRUE(packets.empty());
    EXPECT_EQ(checks.load(), 3);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s) << "checked about every 100 ms";
  }
  provider->gate->open();
  bool interrupted = false;
  auto packets = s.reap(
      1, 2, -1, [] { return false; }, &interrupted);
  EXPECT_FALSE(interrupted);
  EXPECT_EQ(pts_of(packets), range(0, 2));
  s.close(1);
}

// A timeout bounds the wait.
TEST(PipelineReap, TimeoutBoundsTheWait) {
  auto provider = TestProvider::software();
  const auto c = low_latency_config();
  EncodeSession s(1, c, provider);
  vhtest::OpenOnExit open_on_exit(*provider->gate);
  provider->gate->shut();
  submit_frame(s, 1, c, 0);
  ASSERT_TRUE(provider->gate->wait_held(1));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(s.reap(1, 1, 50'000'000).empty());
  EXPECT_GE(std::chrono::steady_clock::now() - start, 45ms);
  provider->gate->open();
  EXPECT_EQ(pts_of(s.reap(1, 1)), (std::vector<int64_t>{0}));
  s.close(1);
}

// With a time limit, an idle pipeline does not end the wait early (a consumer thread
// reaping in a loop would spin): the reap sleeps until a packet comes or the limit passes.
TEST(PipelineReap, WithATimeoutAnIdlePipelineWaitsInsteadOfReturningAtOnce) {
  auto provider = TestProvider::software();
  const auto c = low_latency_config();
  EncodeSession s(1, c, provider);
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(s.reap(1, 1, 50'000'000).empty()) << "nothing was submitted";
  EXPECT_GE(std::chrono::steady_clock::now() - start, 45ms) << "returned before the limit";
  auto waiting = std::async(std::launch::async, [&] { return s.reap(1, 1, 5'000'000'000); });
  std::this_thread::sleep_for(20ms);
  submit_frame(s, 1, c, 0);
  EXPECT_EQ(pts_of(waiting.get()), (std::vector<int64_t>{0})) << "woken by the packet";
  s.close(1);
}

// A reap waiting for more than will ever come returns when the session is closed.
TEST(PipelineReap, WaitingReapReturnsWhenTheSessionCloses) {
  auto provider = TestProvider::software();
  const auto c = low_latency_config();
  EncodeSession s(1, c, provider);
  vhtest::OpenOnExit open_on_exit(*provider->gate);
  provider->gate->shut();
  for (int i = 0; i < 2; ++i) submit_frame(s, 1, c, i);
  ASSERT_TRUE(provider->gate->wait_held(1));
  auto waiting = std::async(std::launch::async, [&] { return s.reap(1, 10); });
  auto closing = std::async(std::launch::async, [&] { return s.close(1); });
  EXPECT_EQ(closing.wait_for(kStaysBlocked), std::future_status::timeout);
  provider->gate->open();
  ASSERT_EQ(waiting.wait_for(10s), std::future_status::ready);
  ASSERT_EQ(closing.wait_for(10s), std::future_status::ready);
  auto all = waiting.get();
  append(all, closing.get());
  auto pts = pts_of(all);
  std::sort(pts.begin(), pts.end());
  EXPECT_EQ(pts, range(0, 2)) << "each packet exactly once, to one of the two";
}

// ---- close and drop order -----------------------------------------------------------------

// close(): end of stream -> drain -> encoder destroyed -> stage threads joined, all before
// it returns, with every packet in its result.
TEST(PipelineClose, DrainsEverythingThenDestroysTheEncoderAndJoins) {
  const int threads_before = baseline_thread_count();
  auto provider = TestProvider::software();
  const auto c = b_frame_config();
  auto s = std::make_unique<EncodeSession>(1, c, provider);
  EXPECT_GT(thread_count(), threads_before) << "the stages run on their own threads";
  for (int i = 0; i < 10; ++i) submit_frame(*s, 1, c, i);
  auto early = s->reap(1, 10);
  auto out = early;
  append(out, s->close(1));
  auto pts = pts_of(out);
  std::sort(pts.begin(), pts.end());
  EXPECT_EQ(pts, range(0, 10));
  EXPECT_EQ(provider->log->packets_from_finish, int(10 - early.size()));
  EXPECT_EQ(provider->log->finish_calls, 1);
  EXPECT_EQ(provider->log->destroyed, 1) << "close destroys the encoder before returning";
  EXPECT_EQ(provider->log->destroyed_unfinished, 0);
  EXPECT_LT(provider->log->index_of("finish#0"), provider->log->index_of("destroy#0"));
  EXPECT_TRUE(threads_back_to(threads_before)) << "close joins the stage threads";
  EXPECT_EQ(s->state().state, SessionState::Closed);
  expect_error(
      ErrorKind::SessionClosed, [&] { s->close(1); }, "second close");
  s.reset();
  EXPECT_EQ(provider->log->finish_calls, 1) << "destruction after close does nothing more";
  EXPECT_EQ(provider->log->destroyed, 1);
}

// Closing while an encode is held: close waits for it and returns its packet.
TEST(PipelineClose, WaitsForAnEncodeInProgress) {
  auto provider = TestProvider::software();
  const auto c = low_latency_config();
  EncodeSession s(1, c, provider);
  vhtest::OpenOnExit open_on_exit(*provider->gate);
  provider->gate->shut();
  for (int i = 0; i < 3; ++i) submit_frame(s, 1, c, i);
  ASSERT_TRUE(provider->gate->wait_held(1));
  auto closing = std::async(std::launch::async, [&] { return s.close(1); });
  EXPECT_EQ(closing.wait_for(kStaysBlocked), std::future_status::timeout);
  EXPECT_EQ(provider->log->destroyed, 0);
  provider->gate->open();
  EXPECT_EQ(pts_of(closing.get()), range(0, 3));
  EXPECT_EQ(provider->log->index_of("finish#0") + 1, provider->log->index_of("destroy#0"));
}

// Dropped without close (directly, and through a SessionManager): the stream still ends
// with finish() before the encoder is destroyed, and no stage thread is left behind.
TEST(PipelineClose, DestructionWithoutCloseFinishesThenDestroys) {
  const int threads_before = baseline_thread_count();
  auto provider = TestProvider::software();
  const auto c = b_frame_config();
  {
    EncodeSession s(1, c, provider);
    for (int i = 0; i < 8; ++i) submit_frame(s, 1, c, i, std::nullopt, false, PixelFormat::BGRA);
  }
  EXPECT_EQ(provider->log->finish_calls, 1);
  EXPECT_EQ(provider->log->encodes, 8) << "queued frames were encoded before the end of stream";
  EXPECT_GT(provider->log->packets_from_finish, 0);
  EXPECT_EQ(provider->log->destroyed, 1);
  EXPECT_EQ(provider->log->destroyed_unfinished, 0);
  EXPECT_LT(provider->log->index_of("finish#0"), provider->log->index_of("destroy#0"));
  EXPECT_TRUE(threads_back_to(threads_before)) << "stage threads left behind";
  {
    SessionManager mgr;
    const auto h = mgr.start_encode(c, provider);
    auto s = mgr.encode_session(h.id);
    for (int i = 0; i < 5; ++i) submit_frame(*s, 1, c, i);
  }
  EXPECT_EQ(provider->log->finish_calls, 2);
  EXPECT_EQ(provider->log->destroyed, 2);
  EXPECT_EQ(provider->log->destroyed_unfinished, 0);
  EXPECT_LT(provider->log->index_of("finish#1"), provider->log->index_of("destroy#1"));
  EXPECT_TRUE(threads_back_to(threads_before)) << "stage threads left behind";
}

// Dropped while frames are still queued behind a held encode: they are all encoded and
// drained before the encoder goes.
TEST(PipelineClose, DestructionWithQueuedFramesEncodesThemFirst) {
  auto provider = TestProvider::software();
  const auto c = low_latency_config();
  auto s = std::make_unique<EncodeSession>(1, c, provider);
  vhtest::OpenOnExit open_on_exit(*provider->gate);
  provider->gate->shut();
  for (int i = 0; i < 4; ++i) submit_frame(*s, 1, c, i);
  ASSERT_TRUE(provider->gate->wait_held(1));
  auto dropped = std::async(std::launch::async, [&] { s.reset(); });
  EXPECT_EQ(dropped.wait_for(kStaysBlocked), std::future_status::timeout);
  provider->gate->open();
  ASSERT_EQ(dropped.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(provider->log->encodes, 4);
  EXPECT_EQ(provider->log->finish_calls, 1);
  EXPECT_EQ(provider->log->destroyed, 1);
}
