// session/: the switch state machine across the pipeline's stage threads (also run under
// ThreadSanitizer): activation in each mode, in place and with a new encoder, superseding,
// and rollback when activation fails. Outputs are decoded with libavcodec.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "contract/errors.hpp"
#include "session/encode_session.hpp"
#include "session/fault_injection.hpp"
#include "software/software_provider.hpp"
#include "support/decoder.hpp"
#include "support/frames.hpp"

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

std::vector<uint32_t> repeat(uint32_t g, size_t n) { return std::vector<uint32_t>(n, g); }

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
  const uint32_t g = s.switch_to(1, lower_rate(), software_provider(), SwitchMode::OnNextKeyframe, false);
  EXPECT_EQ(s.state().state, SessionState::SwitchPending);
  for (int i = 3; i < 15; ++i) submit(s, i < 10 ? 1 : g, base(), i);  // pending handle works too
  const auto out = s.close(g);
  EXPECT_EQ(generations(out), concat(repeat(1, 10), repeat(2, 5)));  // frame 10 = boundary
}

TEST(Switching, DrainThenSwapHasEveryOldPacketReadyWhenItReturns) {
  EncodeSession s(1, base(), software_provider());
  for (int i = 0; i < 4; ++i) submit(s, 1, base(), i);
  const uint32_t g = s.switch_to(1, resized(), software_provider(), SwitchMode::DrainThenSwap, true);
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
    out = s.reap(g, 4);  // waits for all four frames ...
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
