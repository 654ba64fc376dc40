// session/: the switch state machine across the pipeline's stage threads (also run under
// ThreadSanitizer): activation in each mode, in place and with a new encoder, superseding,
// and rollback when activation fails. Outputs are decoded with libavcodec.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "contract/errors.hpp"
#include "hooks/fault_injection.hpp"
#include "session/encode_session.hpp"
#include "software/software_encode_provider.hpp"
#include "support/decoder.hpp"
#include "support/frames.hpp"
#include "support/session_support.hpp"

using namespace videohw;

namespace {

std::shared_ptr<const EncoderProvider> software_provider() {
  return std::make_shared<software::SoftwareEncoderProvider>(SoftwareEncodeConfig{});
}

CommonEncodeConfig base() {
  auto c = vhtest::small_config(Codec::H264, 64, 48);
  c.low_latency = true;
  c.gop_length = 10;
  return c;
}

CommonEncodeConfig resized() {
  auto c = base();
  c.width = 48;
  c.height = 32;
  return c;
}

CommonEncodeConfig lower_rate() {
  auto c = base();
  c.rate_control.bitrate_bps /= 2;
  return c;
}

void submit(EncodeSession& s, uint32_t generation, const CommonEncodeConfig& c, int index) {
  const auto f = vhtest::pattern_frame(PixelFormat::I420, c.width, c.height, index);
  s.submit(generation, f.format, f.data(), f.size(), f.pitch, FrameOptions{});
}

std::vector<uint32_t> generations(const std::vector<EncodedPacket>& packets) {
  std::vector<uint32_t> out;
  for (const auto& p : packets) out.push_back(p.generation);
  return out;
}

std::vector<uint32_t> repeat(uint32_t g, size_t n) {
  return std::vector<uint32_t>(n, g);
}

std::vector<uint32_t> concat(std::vector<uint32_t> a, const std::vector<uint32_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace

TEST(Switching, ImmediateNewEncoderStartsAtTheNextFrameWithAnIdrOfTheNewSize) {
  EncodeSession s(1, base(), software_provider());
  for (int i = 0; i < 5; ++i) submit(s, 1, base(), i);
  const uint32_t g = s.switch_to(1, resized(), software_provider(), SwitchMode::Immediate, true);
  EXPECT_EQ(g, 2u);
  EXPECT_THROW(submit(s, 1, base(), 5), Error);  // stale
  for (int i = 5; i < 12; ++i) submit(s, g, resized(), i);
  const auto out = s.close(g);
  EXPECT_EQ(generations(out), concat(repeat(1, 5), repeat(2, 7)));
  const auto frames = vhtest::decode_packets(Codec::H264, out);
  ASSERT_EQ(frames.size(), 12u);
  EXPECT_EQ(frames[4].width, 64);
  EXPECT_EQ(frames[5].width, 48);
  EXPECT_TRUE(frames[5].key_frame);
}

TEST(Switching, OnNextKeyframeInPlaceWaitsForTheGopBoundary) {
  EncodeSession s(1, base(), software_provider());
  for (int i = 0; i < 3; ++i) submit(s, 1, base(), i);
  const uint32_t g =
      s.switch_to(1, lower_rate(), software_provider(), SwitchMode::OnNextKeyframe, false);
  EXPECT_EQ(s.state().state, SessionState::SwitchPending);
  for (int i = 3; i < 15; ++i) submit(s, i < 10 ? 1 : g, base(), i);  // pending handle works too
  const auto out = s.close(g);
  EXPECT_EQ(generations(out), concat(repeat(1, 10), repeat(2, 5)));  // frame 10 = boundary
}

TEST(Switching, DrainThenSwapHasEveryOldPacketReadyWhenItReturns) {
  EncodeSession s(1, base(), software_provider());
  for (int i = 0; i < 4; ++i) submit(s, 1, base(), i);
  const uint32_t g =
      s.switch_to(1, resized(), software_provider(), SwitchMode::DrainThenSwap, true);
  EXPECT_EQ(s.reap(g).size(), 4u);
  submit(s, g, resized(), 4);
  EXPECT_EQ(generations(s.close(g)), repeat(2, 1));
}

TEST(Switching, ASwitchWhilePendingSupersedesIt) {
  EncodeSession s(1, base(), software_provider());
  submit(s, 1, base(), 0);
  s.switch_to(1, resized(), software_provider(), SwitchMode::OnNextKeyframe, true);
  const uint32_t g = s.switch_to(1, lower_rate(), software_provider(), SwitchMode::Immediate, true);
  EXPECT_EQ(g, 3u);
  submit(s, g, base(), 1);
  EXPECT_EQ(generations(s.close(g)), (std::vector<uint32_t>{1, 3}));
}

TEST(Switching, ActivationFailureRollsBackAndLosesNoFrame) {
  auto plan = std::make_shared<FaultPlan>();
  plan->fail_activation_at = 1;
  auto faulty = std::make_shared<FaultInjectingProvider>(software_provider(), plan);
  EncodeSession s(1, base(), faulty);
  for (int i = 0; i < 3; ++i) submit(s, 1, base(), i);
  const uint32_t g = s.switch_to(1, resized(), faulty, SwitchMode::Immediate, true);
  submit(s, g, resized(), 3);  // fails inside the new encoder: encoded by the old one
  std::vector<EncodedPacket> out;
  try {
    out = s.reap(g, 4);       // waits for all four frames ...
  } catch (const Error& e) {  // ... unless the rollback is already known: old handle then
    EXPECT_EQ(e.kind(), ErrorKind::Switch);
    out = s.reap(1, 4);
  }
  // The failed frame's packet is out, so the rollback (recorded first) is known by now.
  EXPECT_THROW(s.reap(g), Error);
  const auto rest = s.close(1);
  out.insert(out.end(), rest.begin(), rest.end());
  EXPECT_EQ(generations(out), repeat(1, 4));
  const auto frames = vhtest::decode_packets(Codec::H264, out);
  ASSERT_EQ(frames.size(), 4u);
  EXPECT_EQ(frames[3].width, 64) << "scaled back to the kept generation's size";
}

TEST(Switching, CreationFailureKeepsTheCurrentGeneration) {
  auto plan = std::make_shared<FaultPlan>();
  plan->fail_create_at = 1;
  auto faulty = std::make_shared<FaultInjectingProvider>(software_provider(), plan);
  EncodeSession s(1, base(), faulty);
  submit(s, 1, base(), 0);
  try {
    s.switch_to(1, resized(), faulty, SwitchMode::Immediate, true);
    FAIL() << "creation failure not reported";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Switch);
  }
  submit(s, 1, base(), 1);
  EXPECT_EQ(generations(s.close(1)), repeat(1, 2));
}

// ==== the switch state machine, case by case ================================================
//
// Recorded providers (support/session_support.hpp): each test knows which encoders were
// created, reconfigured, drained and destroyed, and in which order; a Gate holds the
// encode thread where a test needs a call to land before the pipeline moves on.

namespace {

using vhtest::TestProvider;

constexpr int kGop = 10;  // base(): keyframes at 0, 10, 20, ...

struct Decoded {
  std::map<int64_t, vhtest::DecodedFrame> by_pts;
};

Decoded decode(const std::vector<EncodedPacket>& packets) {
  Decoded d;
  for (const auto& f : vhtest::decode_packets(Codec::H264, packets)) d.by_pts[f.pts] = f;
  return d;
}

// pts of the first packet of generation g (-1 when none).
int64_t first_pts_of(const std::vector<EncodedPacket>& packets, uint32_t g) {
  for (const auto& p : packets)
    if (p.generation == g) return p.pts;
  return -1;
}

size_t count_of(const std::vector<EncodedPacket>& packets, uint32_t g) {
  return size_t(std::count_if(packets.begin(), packets.end(),
                              [&](const EncodedPacket& p) { return p.generation == g; }));
}

bool monotonic(const std::vector<uint32_t>& gens) {
  return std::is_sorted(gens.begin(), gens.end());
}

// Every packet's frame decodes with the size of the generation that carried it.
void expect_sizes(const std::vector<EncodedPacket>& packets,
                  const std::map<uint32_t, CommonEncodeConfig>& configs) {
  const Decoded d = decode(packets);
  ASSERT_EQ(d.by_pts.size(), packets.size()) << "every packet decodes to one frame";
  for (const auto& p : packets) {
    const auto& f = d.by_pts.at(p.pts);
    const auto& c = configs.at(p.generation);
    EXPECT_EQ(f.width, c.width) << "pts " << p.pts << " generation " << p.generation;
    EXPECT_EQ(f.height, c.height) << "pts " << p.pts << " generation " << p.generation;
  }
}

const char* mode_name(SwitchMode m) {
  return to_string(m);
}

// Waits until the encode thread's rollback of a failed activation is visible.
bool rolled_back_to(EncodeSession& s, uint32_t kept) {
  return vhtest::wait_until([&] { return s.state().active_generation == kept; });
}

}  // namespace

// ---- every mode x in place / new encoder ----------------------------------------------------

class SwitchMatrix : public ::testing::TestWithParam<std::tuple<SwitchMode, bool>> {};

TEST_P(SwitchMatrix, ActivatesWhereTheModeSaysAndAccountsForEveryFrame) {
  const SwitchMode mode = std::get<0>(GetParam());
  const bool in_place = std::get<1>(GetParam());
  auto provider = TestProvider::software();
  const CommonEncodeConfig c1 = base();
  const CommonEncodeConfig c2 = in_place ? lower_rate() : resized();
  EncodeSession s(1, c1, provider);
  std::vector<EncodedPacket> out;
  for (int i = 0; i < 4; ++i) vhtest::submit_frame(s, 1, c1, i);

  const uint32_t g = s.switch_to(1, c2, provider, mode, /*force_idr_on_activate=*/true);
  ASSERT_EQ(g, 2u);
  EXPECT_EQ(provider->log->creates, in_place ? 1 : 2) << "prepared inside switch_to";
  auto st = s.state();
  EXPECT_EQ(st.config_generation, 2u);
  EXPECT_EQ(st.next_generation, 3u);
  int frame = 4;
  int first_new = 4;  // pts of the new generation's first frame
  if (mode == SwitchMode::OnNextKeyframe) {
    EXPECT_EQ(st.state, SessionState::SwitchPending);
    EXPECT_EQ(st.active_generation, 1u);
    EXPECT_EQ(st.pending_generation, 2u);
    EXPECT_EQ(st.pending_mode, "on_next_keyframe");
    EXPECT_EQ(st.pending_width, c2.width);
    // Until the GOP boundary: the old size, with either handle (the pending one too).
    for (; frame < kGop; ++frame) {
      st = s.state();
      EXPECT_FALSE(st.next_frame_activates) << "frame " << frame;
      EXPECT_EQ(st.width, c1.width) << "frame " << frame;
      vhtest::submit_frame(s, frame % 2 ? g : 1, c1, frame);
    }
    st = s.state();
    EXPECT_TRUE(st.next_frame_activates) << "frame 10 is the GOP boundary";
    EXPECT_EQ(st.width, c2.width);
    EXPECT_EQ(st.height, c2.height);
    first_new = kGop;
  } else {
    EXPECT_EQ(st.state, SessionState::Running);
    EXPECT_EQ(st.active_generation, 2u);
    EXPECT_EQ(st.pending_generation, 0u);
    EXPECT_EQ(st.width, c2.width);
    vhtest::expect_error(
        ErrorKind::StaleSession, [&] { s.reap(1); }, "old handle after switch");
    if (mode == SwitchMode::DrainThenSwap) {
      const auto drained = s.reap(g);
      EXPECT_EQ(vhtest::pts_of(drained), vhtest::range(0, 4))
          << "every packet of the old generation is ready when DRAIN_THEN_SWAP returns";
      vhtest::append(out, drained);
    }
  }
  for (int end = frame + 6; frame < end; ++frame) vhtest::submit_frame(s, g, c2, frame);
  vhtest::expect_error(
      ErrorKind::StaleSession, [&] { vhtest::submit_frame(s, 1, c1, 99); },
      "old handle after activation");
  EXPECT_EQ(s.state().state, SessionState::Running);
  EXPECT_EQ(s.state().active_generation, 2u);
  vhtest::append(out, s.close(g));

  // Every frame exactly once, in order; generation 1 up to the activation, 2 after.
  EXPECT_EQ(vhtest::pts_of(out), vhtest::range(0, frame));
  std::vector<uint32_t> expected(size_t(first_new), 1u);
  expected.resize(size_t(frame), 2u);
  EXPECT_EQ(vhtest::generations_of(out), expected);
  expect_sizes(out, {{1, c1}, {2, c2}});
  const Decoded d = decode(out);
  EXPECT_TRUE(d.by_pts.at(first_new).key_frame) << "force_idr_on_activate";
  EXPECT_TRUE(vhtest::holds_idr(Codec::H264, out[size_t(first_new)]));

  const auto t = s.telemetry();
  EXPECT_EQ(vhtest::tel_int(t, "switches"), 1);
  EXPECT_EQ(vhtest::tel_int(t, std::string("switches_") + mode_name(mode)), 1);
  EXPECT_EQ(vhtest::tel_int(t, "switches_in_place"), in_place ? 1 : 0);
  EXPECT_EQ(vhtest::tel_int(t, "switches_new_session"), in_place ? 0 : 1);
  EXPECT_EQ(vhtest::tel_int(t, "switch_failures"), 0);
  EXPECT_EQ(vhtest::tel_str(t, "switch_fail_reason"), "");
  EXPECT_EQ(vhtest::tel_int(t, "generation"), 2);
  EXPECT_EQ(vhtest::tel_int(t, "frames_submitted"), frame);
  EXPECT_EQ(vhtest::tel_int(t, "packets_out"), frame);
  EXPECT_GT(vhtest::tel_int(t, "last_switch_activation_ns"), 0);
  EXPECT_GE(vhtest::tel_int(t, "last_switch_first_packet_ns"), 0);

  const auto& log = *provider->log;
  if (in_place) {
    EXPECT_EQ(log.creates, 1);
    EXPECT_EQ(log.reconfigures, 1);
    EXPECT_EQ(log.index_of("reconfigure#0") + 1,
              log.index_of("encode#0:" + std::to_string(first_new)))
        << "reconfigured right before the new generation's first frame";
  } else {
    EXPECT_EQ(log.creates, 2);
    // The old encoder is drained and destroyed only after the new one took its first frame.
    const int first = log.index_of("encode#1:" + std::to_string(first_new));
    ASSERT_GE(first, 0);
    EXPECT_LT(first, log.index_of("finish#0"));
    EXPECT_LT(log.index_of("finish#0"), log.index_of("destroy#0"));
  }
  EXPECT_EQ(log.destroyed, log.creates.load()) << "close released every encoder";
  EXPECT_EQ(log.destroyed_unfinished, 0) << "every encoder that ran was drained first";
}

INSTANTIATE_TEST_SUITE_P(ModesAndPaths, SwitchMatrix,
                         ::testing::Combine(::testing::Values(SwitchMode::Immediate,
                                                              SwitchMode::OnNextKeyframe,
                                                              SwitchMode::DrainThenSwap),
                                            ::testing::Bool()),
                         [](const auto& info) {
                           return std::string(mode_name(std::get<0>(info.param))) +
                                  (std::get<1>(info.param) ? "_in_place" : "_new_session");
                         });

// ON_NEXT_KEYFRAME: a forced keyframe activates at once, and must have the new size.
TEST(SwitchOnNextKeyframe, AForcedKeyframeActivatesAtOnce) {
  auto provider = TestProvider::software();
  EncodeSession s(1, base(), provider);
  for (int i = 0; i < 3; ++i) vhtest::submit_frame(s, 1, base(), i);
  const uint32_t g = s.switch_to(1, resized(), provider, SwitchMode::OnNextKeyframe, false);
  // Not forced: the old size.
  vhtest::submit_frame(s, g, base(), 3);
  // Forced: the new size; a frame of the old size is refused and nothing changes.
  vhtest::expect_error(
      ErrorKind::InvalidFrame, [&] { vhtest::submit_frame(s, g, base(), 4, std::nullopt, true); },
      "forced keyframe of the old size");
  EXPECT_EQ(s.state().state, SessionState::SwitchPending);
  vhtest::submit_frame(s, g, resized(), 4, std::nullopt, /*force_keyframe=*/true);
  EXPECT_EQ(s.state().state, SessionState::Running);
  vhtest::submit_frame(s, g, resized(), 5);
  const auto out = s.close(g);
  EXPECT_EQ(vhtest::generations_of(out), (std::vector<uint32_t>{1, 1, 1, 1, 2, 2}));
  expect_sizes(out, {{1, base()}, {2, resized()}});
  EXPECT_TRUE(out[4].is_keyframe);
}

// force_idr_on_activate=false in place: the stream goes on without an IDR (the GOP count
// carries over); a new encoder always starts with one.
TEST(SwitchForceIdr, InPlaceWithoutForcedIdrKeepsTheGop) {
  auto provider = TestProvider::software();
  EncodeSession s(1, base(), provider);
  for (int i = 0; i < 5; ++i) vhtest::submit_frame(s, 1, base(), i);
  const uint32_t g = s.switch_to(1, lower_rate(), provider, SwitchMode::Immediate, false);
  for (int i = 5; i < 15; ++i) vhtest::submit_frame(s, g, lower_rate(), i);
  const auto out = s.close(g);
  EXPECT_EQ(first_pts_of(out, g), 5);
  EXPECT_EQ(vhtest::keyframe_pts(vhtest::decode_packets(Codec::H264, out)),
            (std::vector<int64_t>{0, 10}));
}

TEST(SwitchForceIdr, NewEncoderWithoutForcedIdrStillStartsWithAnIdr) {
  auto provider = TestProvider::software();
  EncodeSession s(1, base(), provider);
  for (int i = 0; i < 5; ++i) vhtest::submit_frame(s, 1, base(), i);
  const uint32_t g = s.switch_to(1, resized(), provider, SwitchMode::Immediate, false);
  for (int i = 5; i < 15; ++i) vhtest::submit_frame(s, g, resized(), i);
  const auto out = s.close(g);
  EXPECT_EQ(vhtest::keyframe_pts(vhtest::decode_packets(Codec::H264, out)),
            (std::vector<int64_t>{0, 5}));
  expect_sizes(out, {{1, base()}, {2, resized()}});
}

// DRAIN_THEN_SWAP with an encoder that holds frames back (B-frames): the held frames are
// drained and ready when the call returns.
TEST(SwitchDrainThenSwap, DrainsHeldBackFramesBeforeReturning) {
  auto provider = TestProvider::software();
  const auto c1 = vhtest::b_frame_config();
  auto c2 = vhtest::b_frame_config(96, 64);
  EncodeSession s(1, c1, provider);
  for (int i = 0; i < 9; ++i) vhtest::submit_frame(s, 1, c1, i);
  const uint32_t g = s.switch_to(1, c2, provider, SwitchMode::DrainThenSwap, true);
  auto out = s.reap(g);
  auto pts = vhtest::pts_of(out);
  std::sort(pts.begin(), pts.end());
  EXPECT_EQ(pts, vhtest::range(0, 9));
  for (int i = 9; i < 15; ++i) vhtest::submit_frame(s, g, c2, i);
  vhtest::append(out, s.close(g));
  EXPECT_EQ(out.size(), 15u);
  EXPECT_TRUE(monotonic(vhtest::generations_of(out)));
  EXPECT_EQ(count_of(out, 1), 9u);
  EXPECT_EQ(count_of(out, 2), 6u);
  expect_sizes(out, {{1, c1}, {2, c2}});
}

// ---- handles ------------------------------------------------------------------------------

// After activation every call with the old handle is StaleSession and takes nothing.
TEST(SwitchHandles, StaleHandleAfterActivationTakesNothing) {
  auto provider = TestProvider::software();
  EncodeSession s(1, base(), provider);
  vhtest::submit_frame(s, 1, base(), 0);
  const uint32_t g = s.switch_to(1, resized(), provider, SwitchMode::Immediate, true);
  vhtest::submit_frame(s, g, resized(), 1);
  using vhtest::expect_error;
  expect_error(
      ErrorKind::StaleSession, [&] { vhtest::submit_frame(s, 1, base(), 2); }, "submit");
  expect_error(
      ErrorKind::StaleSession, [&] { vhtest::submit_frame(s, 1, resized(), 2); },
      "submit of the new size");
  expect_error(
      ErrorKind::StaleSession, [&] { s.reap(1); }, "reap");
  expect_error(
      ErrorKind::StaleSession, [&] { s.reap(1, 1); }, "reap(min_packets)");
  expect_error(
      ErrorKind::StaleSession, [&] { s.flush(1); }, "flush");
  expect_error(
      ErrorKind::StaleSession,
      [&] { s.switch_to(1, base(), provider, SwitchMode::Immediate, true); }, "switch");
  expect_error(
      ErrorKind::StaleSession, [&] { s.close(1); }, "close");
  EXPECT_EQ(provider->log->creates, 2) << "the stale switch created nothing";
  const auto t = s.telemetry();
  EXPECT_EQ(vhtest::tel_int(t, "frames_submitted"), 2);
  EXPECT_EQ(vhtest::tel_int(t, "switches"), 1);
  EXPECT_EQ(s.state().state, SessionState::Running);
  const auto out = s.close(g);
  EXPECT_EQ(vhtest::pts_of(out), vhtest::range(0, 2));
}

// A pending (ON_NEXT_KEYFRAME) handle is accepted by every call before activation; its
// frames before the keyframe belong to the current generation.
TEST(SwitchHandles, PendingHandleIsAcceptedBeforeActivation) {
  auto provider = TestProvider::software();
  EncodeSession s(1, base(), provider);
  vhtest::submit_frame(s, 1, base(), 0);
  const uint32_t g = s.switch_to(1, resized(), provider, SwitchMode::OnNextKeyframe, true);
  vhtest::submit_frame(s, g, base(), 1);
  auto out = s.reap(g, 2);
  EXPECT_EQ(vhtest::generations_of(out), (std::vector<uint32_t>{1, 1}));
  vhtest::submit_frame(s, 1, base(), 2);
  vhtest::append(out, s.flush(g));
  vhtest::append(out, s.flush(1));
  EXPECT_EQ(s.state().state, SessionState::SwitchPending);
  EXPECT_EQ(s.state().pending_generation, g);
  vhtest::submit_frame(s, g, resized(), 3, std::nullopt, true);
  vhtest::expect_error(
      ErrorKind::StaleSession, [&] { s.reap(1); }, "old handle after activation");
  vhtest::append(out, s.close(g));
  EXPECT_EQ(vhtest::generations_of(out), (std::vector<uint32_t>{1, 1, 1, 2}));
}

// ---- superseding --------------------------------------------------------------------------

// A pending switch superseded by another: its generation number is skipped, its prepared
// encoder is destroyed at once (never encodes), its handle goes stale.
TEST(SwitchSupersede, GenerationsSkipAndTheSupersededEncoderIsDestroyed) {
  auto provider = TestProvider::software();
  EncodeSession s(1, base(), provider);
  vhtest::submit_frame(s, 1, base(), 0);
  const uint32_t g2 = s.switch_to(1, resized(), provider, SwitchMode::OnNextKeyframe, true);
  EXPECT_EQ(provider->log->creates, 2);
  auto bigger = base();
  bigger.width = 96;
  bigger.height = 64;
  const uint32_t g3 = s.switch_to(g2, bigger, provider, SwitchMode::OnNextKeyframe, true);
  EXPECT_EQ(g2, 2u);
  EXPECT_EQ(g3, 3u);
  EXPECT_EQ(provider->log->creates, 3);
  EXPECT_EQ(provider->log->destroyed, 1) << "the superseded encoder is released by the switch";
  EXPECT_GE(provider->log->index_of("destroy#1"), 0);
  auto st = s.state();
  EXPECT_EQ(st.active_generation, 1u);
  EXPECT_EQ(st.pending_generation, 3u);
  EXPECT_EQ(st.config_generation, 3u);
  EXPECT_EQ(st.next_generation, 4u);
  EXPECT_EQ(st.pending_width, 96);
  vhtest::expect_error(
      ErrorKind::StaleSession, [&] { s.reap(g2); }, "superseded handle");
  vhtest::submit_frame(s, 1, base(), 1);
  vhtest::submit_frame(s, g3, bigger, 2, std::nullopt, true);
  vhtest::submit_frame(s, g3, bigger, 3);
  const auto out = s.close(g3);
  EXPECT_EQ(vhtest::generations_of(out), (std::vector<uint32_t>{1, 1, 3, 3}));
  expect_sizes(out, {{1, base()}, {3, bigger}});
  EXPECT_EQ(provider->log->count_prefix("encode#1"), 0) << "the superseded encoder never ran";
  const auto t = s.telemetry();
  EXPECT_EQ(vhtest::tel_int(t, "switches"), 2);
  EXPECT_EQ(vhtest::tel_int(t, "switches_superseded"), 1);
  EXPECT_EQ(vhtest::tel_int(t, "generation"), 3);
  EXPECT_EQ(provider->log->destroyed, 3);
}

// Superseding an IMMEDIATE switch before any frame reached it, by an ON_NEXT_KEYFRAME one:
// generation 2 never runs, generation 1's encoder goes on until the keyframe. Whatever the
// session reports as active must be the generation its packets carry.
TEST(SwitchSupersede, SupersededImmediateSwitchLeavesStateAndPacketsConsistent) {
  auto provider = TestProvider::software();
  EncodeSession s(1, base(), provider);
  vhtest::submit_frame(s, 1, base(), 0);
  const uint32_t g2 = s.switch_to(1, resized(), provider, SwitchMode::Immediate, true);
  const uint32_t g3 = s.switch_to(g2, lower_rate(), provider, SwitchMode::OnNextKeyframe, true);
  EXPECT_EQ(s.state().pending_generation, g3);
  std::vector<uint32_t> reported;  // active generation when each frame was submitted
  std::vector<EncodedPacket> out;
  for (int i = 1; i < 4; ++i) {
    const auto st = s.state();
    reported.push_back(st.active_generation);
    vhtest::submit_frame(s, st.active_generation, st.width == base().width ? base() : resized(), i);
  }
  out = s.reap(g3, 4);
  ASSERT_EQ(out.size(), 4u);
  for (int i = 1; i < 4; ++i)
    EXPECT_EQ(out[size_t(i)].generation, reported[size_t(i - 1)])
        << "frame " << i << ": state() said generation " << reported[size_t(i - 1)]
        << " was active, its packet carries " << out[size_t(i)].generation;
  vhtest::append(out, s.close(g3));
}

// ---- failures -----------------------------------------------------------------------------

// Creation of the new encoder fails (every mode): SwitchError from switch_to, the current
// generation keeps going, a pending switch stays pending, nothing is lost.
class SwitchCreationFailure : public ::testing::TestWithParam<SwitchMode> {};

TEST_P(SwitchCreationFailure, CurrentGenerationKeepsGoing) {
  auto plan = std::make_shared<FaultPlan>();
  plan->fail_create_at = 1;
  auto provider = vhtest::faulty_software(plan);
  EncodeSession s(1, base(), provider);
  for (int i = 0; i < 3; ++i) vhtest::submit_frame(s, 1, base(), i);
  vhtest::expect_error(
      ErrorKind::Switch, [&] { s.switch_to(1, resized(), provider, GetParam(), true); },
      "failed creation");
  auto st = s.state();
  EXPECT_EQ(st.state, SessionState::Running);
  EXPECT_EQ(st.active_generation, 1u);
  EXPECT_EQ(st.pending_generation, 0u);
  EXPECT_EQ(st.width, base().width);
  auto t = s.telemetry();
  EXPECT_EQ(vhtest::tel_int(t, "switch_failures"), 1);
  EXPECT_NE(vhtest::tel_str(t, "switch_fail_reason"), "");
  for (int i = 3; i < 6; ++i) vhtest::submit_frame(s, 1, base(), i);
  // A later switch works (creation #2), and a pending one survives a failed request.
  plan->fail_create_at = 3;
  const uint32_t g = s.switch_to(1, resized(), provider, SwitchMode::OnNextKeyframe, true);
  auto bigger = base();  // a new encoder (creation #3, which fails)
  bigger.width = 96;
  bigger.height = 64;
  vhtest::expect_error(
      ErrorKind::Switch, [&] { s.switch_to(g, bigger, provider, GetParam(), true); },
      "second failed creation");
  EXPECT_EQ(s.state().pending_generation, g) << "the failed request did not supersede";
  vhtest::submit_frame(s, 1, base(), 6);
  vhtest::submit_frame(s, g, resized(), 7, std::nullopt, true);
  const auto out = s.close(g);
  EXPECT_EQ(vhtest::pts_of(out), vhtest::range(0, 8));
  EXPECT_EQ(count_of(out, 1), 7u);
  EXPECT_EQ(count_of(out, g), 1u);
  expect_sizes(out, {{1, base()}, {g, resized()}});
  EXPECT_EQ(vhtest::tel_int(s.telemetry(), "switch_failures"), 2);
}

INSTANTIATE_TEST_SUITE_P(Modes, SwitchCreationFailure,
                         ::testing::Values(SwitchMode::Immediate, SwitchMode::OnNextKeyframe,
                                           SwitchMode::DrainThenSwap),
                         [](const auto& info) { return std::string(mode_name(info.param)); });

// Activation fails (the new encoder on its first frame, or the in-place reconfiguration):
// rollback. Frames meant for the new generation are encoded by the old encoder (scaled to
// its size), SwitchError on the failed handle, the old handle valid again, nothing lost.
class SwitchActivationFailure : public ::testing::TestWithParam<std::tuple<SwitchMode, bool>> {};

TEST_P(SwitchActivationFailure, RollsBackAndLosesNothing) {
  const SwitchMode mode = std::get<0>(GetParam());
  const bool in_place = std::get<1>(GetParam());
  auto plan = std::make_shared<FaultPlan>();
  if (in_place)
    plan->fail_reconfigure = true;
  else
    plan->fail_activation_at = 1;
  SoftwareEncodeConfig roomy;
  roomy.max_in_flight = 16;  // the frames held below never hit backpressure
  auto provider = vhtest::faulty_software(plan, roomy);
  const CommonEncodeConfig c1 = base();
  const CommonEncodeConfig c2 = in_place ? lower_rate() : resized();
  EncodeSession s(1, c1, provider);
  vhtest::OpenOnExit open_on_exit(*provider->gate);
  for (int i = 0; i < 3; ++i) vhtest::submit_frame(s, 1, c1, i);
  const uint32_t g = s.switch_to(1, c2, provider, mode, true);
  int frame = 3;
  if (mode == SwitchMode::OnNextKeyframe) {
    for (; frame < 5; ++frame) vhtest::submit_frame(s, 1, c1, frame);
  }
  // Held: these frames reach the encode thread only once the gate opens, so all of them
  // are accepted with the new handle before the activation fails.
  provider->gate->shut();
  const int first_new = frame;
  for (int end = frame + 4; frame < end; ++frame)
    vhtest::submit_frame(s, g, c2, frame, std::nullopt,
                         mode == SwitchMode::OnNextKeyframe && frame == first_new);
  provider->gate->open();
  ASSERT_TRUE(rolled_back_to(s, 1)) << "no rollback";
  vhtest::expect_error(
      ErrorKind::Switch, [&] { s.reap(g); }, "reap with the failed handle");
  vhtest::expect_error(
      ErrorKind::Switch, [&] { vhtest::submit_frame(s, g, c2, frame); },
      "submit with the failed handle");
  vhtest::expect_error(
      ErrorKind::Switch, [&] { s.flush(g); }, "flush with the failed handle");
  try {
    s.reap(g);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("generation 1"), std::string::npos) << e.what();
  }
  // The old handle goes on, with the old size.
  for (int end = frame + 3; frame < end; ++frame) vhtest::submit_frame(s, 1, c1, frame);
  const auto out = s.close(1);
  EXPECT_EQ(vhtest::pts_of(out), vhtest::range(0, frame)) << "every frame exactly once";
  EXPECT_EQ(vhtest::generations_of(out), std::vector<uint32_t>(size_t(frame), 1u));
  expect_sizes(out, {{1, c1}});  // the new-size frames were scaled to the old size
  const auto t = s.telemetry();
  EXPECT_EQ(vhtest::tel_int(t, "switch_failures"), 1);
  EXPECT_NE(vhtest::tel_str(t, "switch_fail_reason").find("injected fault"), std::string::npos)
      << vhtest::tel_str(t, "switch_fail_reason");
  EXPECT_EQ(vhtest::tel_int(t, "frames_submitted"), frame);
  EXPECT_EQ(vhtest::tel_int(t, "packets_out"), frame);
  EXPECT_EQ(vhtest::tel_int(t, "generation"), 1);
  EXPECT_EQ(vhtest::tel_int(t, "frames_failed"), 0);
  const auto& log = *provider->log;
  EXPECT_EQ(log.creates, in_place ? 1 : 2);
  EXPECT_EQ(log.destroyed, log.creates.load());
}

INSTANTIATE_TEST_SUITE_P(ModesAndPaths, SwitchActivationFailure,
                         ::testing::Combine(::testing::Values(SwitchMode::Immediate,
                                                              SwitchMode::OnNextKeyframe,
                                                              SwitchMode::DrainThenSwap),
                                            ::testing::Bool()),
                         [](const auto& info) {
                           return std::string(mode_name(std::get<0>(info.param))) +
                                  (std::get<1>(info.param) ? "_reconfigure_fails"
                                                           : "_new_encoder_fails");
                         });

// Once the rollback is visible (active_generation back to 1), state() must describe the
// kept generation: its size is what the next submit with the old handle has to have.
TEST(SwitchRollback, StateReportsTheKeptSizeOnceRolledBack) {
  auto plan = std::make_shared<FaultPlan>();
  plan->fail_activation_at = 1;
  auto provider = vhtest::faulty_software(plan);
  EncodeSession s(1, base(), provider);
  vhtest::submit_frame(s, 1, base(), 0);
  const uint32_t g = s.switch_to(1, resized(), provider, SwitchMode::Immediate, true);
  vhtest::submit_frame(s, g, resized(), 1);
  ASSERT_TRUE(rolled_back_to(s, 1));
  const auto st = s.state();
  EXPECT_EQ(st.active_generation, 1u);
  EXPECT_EQ(st.width, base().width) << "state() still describes the failed generation's size";
  EXPECT_EQ(st.height, base().height);
  EXPECT_EQ(st.state, SessionState::Running);
  // What a caller does with that answer:
  const CommonEncodeConfig as_reported = st.width == base().width ? base() : resized();
  EXPECT_FALSE(vhtest::error_of([&] { vhtest::submit_frame(s, 1, as_reported, 2); }))
      << "a frame of the size state() reported was refused";
  s.close(1);
}

// The session's keyframe rule must follow the stream the encoder actually produces. The
// frame meant to start generation 2 (a new encoder) was counted as a keyframe when it was
// submitted; when that activation fails, the kept encoder makes it one (frame 5), so its GOP
// restarts there and the next boundary is frame 15: an ON_NEXT_KEYFRAME switch requested
// after the rollback activates there, on a keyframe.
TEST(SwitchRollback, KeyframeScheduleFollowsTheKeptEncoderAfterRollback) {
  auto plan = std::make_shared<FaultPlan>();
  plan->fail_activation_at = 1;
  auto provider = vhtest::faulty_software(plan);
  EncodeSession s(1, base(), provider);
  for (int i = 0; i < 5; ++i) vhtest::submit_frame(s, 1, base(), i);
  const uint32_t failed = s.switch_to(1, resized(), provider, SwitchMode::Immediate, true);
  vhtest::submit_frame(s, failed, resized(), 5);  // rolled back: encoded by generation 1
  ASSERT_TRUE(rolled_back_to(s, 1));
  for (int i = 6; i < 8; ++i) vhtest::submit_frame(s, 1, base(), i);
  const uint32_t g = s.switch_to(1, lower_rate(), provider, SwitchMode::OnNextKeyframe, false);
  for (int i = 8; i < 14; ++i) vhtest::submit_frame(s, 1, base(), i);
  EXPECT_FALSE(s.state().next_frame_activates) << "frame 14 is not a GOP boundary";
  vhtest::submit_frame(s, 1, base(), 14);
  EXPECT_TRUE(s.state().next_frame_activates) << "frame 15 is the next GOP boundary";
  for (int i = 15; i < 18; ++i) {
    const auto st = s.state();
    vhtest::submit_frame(s, st.active_generation == g || st.next_frame_activates ? g : 1, base(),
                         i);
  }
  const auto out = s.close(g);
  ASSERT_EQ(out.size(), 18u);
  const auto keyframes = vhtest::keyframe_pts(vhtest::decode_packets(Codec::H264, out));
  EXPECT_EQ(keyframes, (std::vector<int64_t>{0, 5, 15}));
  EXPECT_EQ(first_pts_of(out, g), 15) << "ON_NEXT_KEYFRAME activates at the GOP boundary";
  const int64_t first = first_pts_of(out, g);
  if (first >= 0) {
    EXPECT_TRUE(out[size_t(first)].is_keyframe) << "activated on a non-keyframe";
  }
}

// A switch requested while an earlier activation is still queued (its failure not yet
// known) must be prepared against the encoder that will actually be running. Here
// generation 2 (new size, new encoder) fails on its first frame, and generation 3 asks for
// a rate change at generation 2's size: against generation 1's running encoder that needs a
// new encoder, and the switch must succeed.
TEST(SwitchRollback, SwitchRequestedBeforeAnUnnoticedRollbackStillActivates) {
  auto plan = std::make_shared<FaultPlan>();
  plan->fail_activation_at = 1;
  SoftwareEncodeConfig roomy;
  roomy.max_in_flight = 16;  // the frames held below never hit backpressure
  auto provider = vhtest::faulty_software(plan, roomy);
  EncodeSession s(1, base(), provider);
  vhtest::OpenOnExit open_on_exit(*provider->gate);
  for (int i = 0; i < 3; ++i) vhtest::submit_frame(s, 1, base(), i);
  provider->gate->shut();  // the encode thread stops at frame 3 at the latest
  vhtest::submit_frame(s, 1, base(), 3);
  ASSERT_TRUE(provider->gate->wait_held(1));
  const uint32_t g2 = s.switch_to(1, resized(), provider, SwitchMode::Immediate, true);
  vhtest::submit_frame(s, g2, resized(), 4);  // will fail to activate
  auto resized_lower = resized();
  resized_lower.rate_control.bitrate_bps /= 2;
  const uint32_t g3 = s.switch_to(g2, resized_lower, provider, SwitchMode::Immediate, true);
  vhtest::submit_frame(s, g3, resized_lower, 5);
  provider->gate->open();
  // Everything queued so far has gone through the encode thread (frames 0..5 on encoder #0,
  // whichever generation they were meant for), so what follows does not depend on timing.
  ASSERT_TRUE(vhtest::wait_until([&] {
    const auto t = s.telemetry();
    return vhtest::tel_int(t, "frames_encoded") + vhtest::tel_int(t, "frames_failed") >= 6;
  }));
  size_t submitted = 6;
  for (int i = 6; i < 9; ++i, ++submitted) {
    if (vhtest::error_of([&] { vhtest::submit_frame(s, g3, resized_lower, i); })) {
      ADD_FAILURE() << "generation " << g3 << " was refused at frame " << i << ": "
                    << vhtest::tel_str(s.telemetry(), "switch_fail_reason");
      break;
    }
  }
  const uint32_t active = s.state().active_generation;
  const auto out = s.close(active);
  const auto t = s.telemetry();
  EXPECT_EQ(vhtest::tel_int(t, "switch_failures"), 1)
      << "only generation 2 should fail; last reason: " << vhtest::tel_str(t, "switch_fail_reason");
  EXPECT_EQ(active, g3);
  EXPECT_EQ(count_of(out, g3), submitted - 5) << "frames 5.. belong to generation 3";
  EXPECT_EQ(out.size(), submitted) << "every accepted frame accounted for";
  expect_sizes(out, {{1, base()}, {g3, resized_lower}});
}

// An in-place switch on an encoder that reorders frames (B-frames) without a forced IDR:
// frames submitted before the switch may leave the encoder after the first frame of the
// new generation; the packet stream must still never go back a generation.
TEST(SwitchOrdering, InPlaceSwitchOnAReorderingEncoderKeepsGenerationsMonotonic) {
  for (int at = 3; at <= 8; ++at) {
    SCOPED_TRACE("switch after " + std::to_string(at) + " frames");
    auto provider = TestProvider::software();
    const auto c1 = vhtest::b_frame_config();
    auto c2 = c1;
    c2.rate_control.bitrate_bps /= 2;
    EncodeSession s(1, c1, provider);
    for (int i = 0; i < at; ++i) vhtest::submit_frame(s, 1, c1, i);
    const uint32_t g = s.switch_to(1, c2, provider, SwitchMode::Immediate, false);
    ASSERT_EQ(vhtest::tel_int(s.telemetry(), "switches_in_place"), 1);
    for (int i = at; i < at + 8; ++i) vhtest::submit_frame(s, g, c2, i);
    const auto out = s.close(g);
    ASSERT_EQ(out.size(), size_t(at + 8));
    const auto gens = vhtest::generations_of(out);
    EXPECT_TRUE(monotonic(gens)) << ::testing::PrintToString(gens) << " pts "
                                 << ::testing::PrintToString(vhtest::pts_of(out));
  }
}
