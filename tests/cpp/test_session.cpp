// session/: EncodeSession and SessionManager over the software backend, with a test
// EncoderProvider (the injectable seam) that counts and wraps what it creates.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "contract/errors.hpp"
#include "contract/frame_layout.hpp"
#include "session/session_manager.hpp"
#include "software/software_encode_provider.hpp"
#include "support/decoder.hpp"
#include "support/frames.hpp"
#include "support/session_support.hpp"

using namespace videohw;
using namespace std::chrono_literals;
using vhtest::TestFrame;

namespace {

// What the wrapped backends saw; shared so it outlives the sessions.
struct BackendRecord {
  std::atomic<int> finish_calls{0};
  std::atomic<int> packets_from_finish{0};
  std::atomic<int> destroyed{0};
};

// Passes every call through, recording end of stream and destruction. Optionally blocks
// inside encode() until released, so a test can hold an encode "in progress".
class RecordingBackend final : public EncoderBackend {
 public:
  struct Gate {
    std::mutex mu;
    std::condition_variable cv;
    bool armed = false, entered = false, released = false;
  };

  RecordingBackend(std::unique_ptr<EncoderBackend> inner, std::shared_ptr<BackendRecord> record,
                   std::shared_ptr<Gate> gate)
      : inner_(std::move(inner)), record_(std::move(record)), gate_(std::move(gate)) {}
  ~RecordingBackend() override { record_->destroyed++; }

  const char* name() const override { return inner_->name(); }
  void encode(const FrameView& frame, const FrameOptions& options,
              std::vector<EncodedPacket>& out) override {
    if (gate_) {
      std::unique_lock<std::mutex> lock(gate_->mu);
      if (gate_->armed) {
        gate_->entered = true;
        gate_->cv.notify_all();
        gate_->cv.wait(lock, [&] { return gate_->released; });
      }
    }
    inner_->encode(frame, options, out);
  }
  FlushResult flush(std::vector<EncodedPacket>& out) override { return inner_->flush(out); }
  void finish(std::vector<EncodedPacket>& out) override {
    const size_t before = out.size();
    inner_->finish(out);
    record_->finish_calls++;
    record_->packets_from_finish += int(out.size() - before);
  }
  EncodeStats stats() const override { return inner_->stats(); }
  void reconfigure(const CommonEncodeConfig& to) override { inner_->reconfigure(to); }
  void set_packet_pool(ring::PacketPool* pool) override { inner_->set_packet_pool(pool); }

 private:
  std::unique_ptr<EncoderBackend> inner_;
  std::shared_ptr<BackendRecord> record_;
  std::shared_ptr<Gate> gate_;
};

class TestProvider final : public EncoderProvider {
 public:
  explicit TestProvider(SoftwareEncodeConfig s = {}) : inner_(std::move(s)) {}
  std::string name() const override { return inner_.name(); }
  Capabilities capabilities(Codec codec) const override { return inner_.capabilities(codec); }
  std::vector<std::string> config_problems(const CommonEncodeConfig& c) const override {
    return inner_.config_problems(c);
  }
  std::unique_ptr<EncoderBackend> create(const CommonEncodeConfig& config) const override {
    creates++;
    return std::make_unique<RecordingBackend>(inner_.create(config), record, gate);
  }
  bool can_reconfigure(const CommonEncodeConfig& from,
                       const CommonEncodeConfig& to) const override {
    return inner_.can_reconfigure(from, to);
  }
  std::vector<PixelFormat> native_input_formats() const override {
    return inner_.native_input_formats();
  }
  int max_in_flight() const override { return inner_.max_in_flight(); }

  mutable std::atomic<int> creates{0};
  std::shared_ptr<BackendRecord> record = std::make_shared<BackendRecord>();
  std::shared_ptr<RecordingBackend::Gate> gate;  // set to make encode() blockable

 private:
  software::SoftwareEncoderProvider inner_;
};

// The session API takes shared providers; the tests own theirs on the stack.
std::shared_ptr<const EncoderProvider> share(const EncoderProvider& provider) {
  return std::shared_ptr<const EncoderProvider>(&provider, [](const EncoderProvider*) {});
}

using vhtest::tel_int;  // support/session_support
using vhtest::tel_str;

CommonEncodeConfig low_latency_config() {
  auto c = vhtest::small_config(Codec::H264, 64, 48);
  c.low_latency = true;
  return c;
}

CommonEncodeConfig b_frame_config() {
  auto c = vhtest::small_config(Codec::H264, 64, 48);
  c.b_frames = 2;
  c.frame_interval_p = 3;
  return c;
}

void submit(EncodeSession& s, const CommonEncodeConfig& c, int index,
            std::optional<int64_t> pts = std::nullopt, PixelFormat format = PixelFormat::I420) {
  const TestFrame f = vhtest::pattern_frame(format, c.width, c.height, index);
  FrameOptions o;
  o.pts = pts;
  s.submit(s.state().active_generation, f.format, f.data(), f.size(), f.pitch, o);
}

std::vector<int64_t> pts_of(const std::vector<EncodedPacket>& packets) {
  std::vector<int64_t> v;
  for (const auto& p : packets) v.push_back(p.pts);
  return v;
}

std::vector<int64_t> range(int64_t first, int64_t count) {
  std::vector<int64_t> v;
  for (int64_t i = 0; i < count; ++i) v.push_back(first + i);
  return v;
}

void append(std::vector<EncodedPacket>& to, std::vector<EncodedPacket> from) {
  for (auto& p : from) to.push_back(std::move(p));
}

template <typename Fn>
void expect_error(ErrorKind kind, Fn&& fn, const char* what) {
  try {
    fn();
    ADD_FAILURE() << what << ": no error thrown";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), kind) << what << ": " << e.what();
  }
}

}  // namespace

// ---- persistence across flushes ----------------------------------------------------------

TEST(EncodeSession, SessionInitsStaysOneAcrossFlushes) {
  for (const auto& c : {low_latency_config(), b_frame_config()}) {
    SCOPED_TRACE(c.low_latency ? "low_latency" : "b_frames");
    SessionManager mgr;
    TestProvider provider;
    const auto h = mgr.start_encode(c, share(provider));
    auto s = mgr.encode_session(h.id);
    std::vector<EncodedPacket> out;
    for (int segment = 0; segment < 4; ++segment) {
      for (int i = 0; i < 5; ++i) submit(*s, c, segment * 5 + i);
      append(out, s->flush(1));
      EXPECT_EQ(out.size(), size_t(5 * (segment + 1))) << "flush delivers every frame";
    }
    const auto t = mgr.telemetry(h);
    EXPECT_EQ(tel_int(t, "session_inits"), 1);
    EXPECT_EQ(tel_int(t, "flushes"), 4);
    EXPECT_EQ(provider.creates, 1);
    EXPECT_EQ(tel_str(t, "flush_mode"), c.low_latency ? "in_place" : "reopen");
    mgr.close_encode(h);
  }
}

TEST(EncodeSession, PacketsCarryGenerationOne) {
  SessionManager mgr;
  TestProvider provider;
  const auto c = b_frame_config();
  const auto h = mgr.start_encode(c, share(provider));
  EXPECT_EQ(h.generation, 1u);
  auto s = mgr.encode_session(h.id);
  std::vector<EncodedPacket> out;
  for (int i = 0; i < 8; ++i) submit(*s, c, i);
  append(out, s->reap(1));
  append(out, s->flush(1));
  for (int i = 8; i < 12; ++i) submit(*s, c, i);
  append(out, mgr.close_encode(h));
  ASSERT_EQ(out.size(), 12u);
  for (const auto& p : out) EXPECT_EQ(p.generation, 1u) << "pts " << p.pts;
  EXPECT_EQ(tel_int(mgr.telemetry(h), "generation"), 1);
}

// ---- pts ---------------------------------------------------------------------------------

TEST(EncodeSession, PtsAreNumberedFromZeroWhenNotGiven) {
  SessionManager mgr;
  TestProvider provider;
  const auto c = low_latency_config();
  const auto h = mgr.start_encode(c, share(provider));
  auto s = mgr.encode_session(h.id);
  for (int i = 0; i < 4; ++i) submit(*s, c, i);
  EXPECT_EQ(pts_of(s->reap(1, 4)), range(0, 4));
  submit(*s, c, 4, 10);  // an explicit pts, then numbering goes on from it
  submit(*s, c, 5);
  EXPECT_EQ(pts_of(mgr.close_encode(h)), (std::vector<int64_t>{10, 11}));
}

TEST(EncodeSession, NonIncreasingPtsIsRejectedWithoutLosingLaterFrames) {
  SessionManager mgr;
  TestProvider provider;
  const auto c = b_frame_config();
  const auto h = mgr.start_encode(c, share(provider));
  auto s = mgr.encode_session(h.id);
  submit(*s, c, 0, 0);
  submit(*s, c, 1, 5);
  expect_error(
      ErrorKind::InvalidFrame, [&] { submit(*s, c, 2, 5); }, "equal pts");
  expect_error(
      ErrorKind::InvalidFrame, [&] { submit(*s, c, 2, 3); }, "lower pts");
  submit(*s, c, 2, 6);
  submit(*s, c, 3);  // auto: 7
  auto out = mgr.close_encode(h);
  auto pts = pts_of(out);
  std::sort(pts.begin(), pts.end());
  EXPECT_EQ(pts, (std::vector<int64_t>{0, 5, 6, 7}));
  const auto t = mgr.telemetry(h);
  EXPECT_EQ(tel_int(t, "frames_submitted"), 4);
  EXPECT_EQ(tel_int(t, "frames_encoded"), 4);
  EXPECT_EQ(vhtest::decode_packets(Codec::H264, out).size(), 4u);
}

// ---- bad frames --------------------------------------------------------------------------

TEST(EncodeSession, WrongBufferSizeIsInvalidFrameAndTheSessionStillEncodes) {
  SessionManager mgr;
  TestProvider provider;
  const auto c = low_latency_config();
  const auto h = mgr.start_encode(c, share(provider));
  auto s = mgr.encode_session(h.id);
  submit(*s, c, 0);
  const TestFrame f = vhtest::pattern_frame(PixelFormat::BGRA, c.width, c.height, 1);
  try {
    s->submit(1, PixelFormat::BGRA, f.data(), f.size() - 4, 0, FrameOptions{});
    FAIL() << "short buffer accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidFrame);
    EXPECT_NE(std::string(e.what()).find(std::to_string(f.size())), std::string::npos) << e.what();
  }
  expect_error(
      ErrorKind::InvalidFrame,
      [&] { s->submit(1, PixelFormat::I420, f.data(), f.size(), 0, FrameOptions{}); },
      "BGRA bytes as I420");
  submit(*s, c, 2);
  submit(*s, c, 3);
  auto out = mgr.close_encode(h);
  EXPECT_EQ(pts_of(out), range(0, 3));
  EXPECT_EQ(tel_int(mgr.telemetry(h), "frames_submitted"), 3);
}

// Heap buffers of exactly the size the layout needs (the usual numpy case): under
// AddressSanitizer any instrumented read past them is reported. (Reads inside libswscale
// are not instrumented; test_software_encoder's CallerMemory tests cover those.)
TEST(EncodeSession, ExactSizeHeapBuffersOfEveryFormatAreAccepted) {
  SessionManager mgr;
  TestProvider provider;
  const auto c = low_latency_config();
  const auto h = mgr.start_encode(c, share(provider));
  auto s = mgr.encode_session(h.id);
  int64_t pts = 0;
  for (auto format : {PixelFormat::ARGB8888, PixelFormat::BGRA, PixelFormat::RGB24,
                      PixelFormat::NV12, PixelFormat::I420}) {
    SCOPED_TRACE(to_string(format));
    for (int extra : {0, 32}) {
      const int pitch = minimum_pitch(format, c.width) + extra;
      auto heap = std::make_unique<uint8_t[]>(frame_bytes(format, c.height, pitch));
      const size_t size = frame_bytes(format, c.height, pitch);
      std::fill_n(heap.get(), size, uint8_t(pts * 17));
      FrameOptions o;
      o.pts = pts++;
      s->submit(1, format, heap.get(), size, pitch, o);
    }
  }
  auto out = mgr.close_encode(h);
  EXPECT_EQ(pts_of(out), range(0, 10));
  EXPECT_EQ(tel_int(mgr.telemetry(h), "borrow_leaks"), 0);
}

// ---- closing and handles -----------------------------------------------------------------

TEST(EncodeSession, SubmitReapAndFlushAfterCloseThrowSessionClosed) {
  SessionManager mgr;
  TestProvider provider;
  const auto c = low_latency_config();
  const auto h = mgr.start_encode(c, share(provider));
  auto s = mgr.encode_session(h.id);
  submit(*s, c, 0);
  mgr.close_encode(h);
  expect_error(
      ErrorKind::SessionClosed, [&] { submit(*s, c, 1); }, "submit via session");
  expect_error(
      ErrorKind::SessionClosed, [&] { s->reap(1); }, "reap via session");
  expect_error(
      ErrorKind::SessionClosed, [&] { s->flush(1); }, "flush via session");
  expect_error(
      ErrorKind::SessionClosed, [&] { mgr.encode_session(h.id); }, "handle lookup");
}

TEST(EncodeSession, CloseTwiceThrowsSessionClosed) {
  SessionManager mgr;
  TestProvider provider;
  const auto h = mgr.start_encode(low_latency_config(), share(provider));
  mgr.close_encode(h);
  expect_error(
      ErrorKind::SessionClosed, [&] { mgr.close_encode(h); }, "second close");
  EXPECT_EQ(provider.record->finish_calls, 1);
}

TEST(EncodeSession, UnknownHandleThrowsSessionClosed) {
  SessionManager mgr;
  expect_error(
      ErrorKind::SessionClosed, [&] { mgr.encode_session(42); }, "never opened");
}

TEST(EncodeSession, StaleGenerationHandleThrowsStaleSessionAndTakesNothing) {
  SessionManager mgr;
  TestProvider provider;
  const auto c = low_latency_config();
  const auto h = mgr.start_encode(c, share(provider));
  const SessionHandle stale{h.id, h.generation - 1};
  expect_error(
      ErrorKind::StaleSession, [&] { mgr.encode_session(stale.id)->reap(stale.generation); },
      "stale reap");
  expect_error(
      ErrorKind::StaleSession, [&] { mgr.close_encode(stale); }, "stale close");
  EXPECT_EQ(tel_int(mgr.telemetry(h), "frames_submitted"), 0);
  EXPECT_EQ(mgr.state(h).state, SessionState::Running);
  mgr.close_encode(h);
}

TEST(EncodeSession, TelemetryAfterCloseIsStillAvailable) {
  SessionManager mgr;
  TestProvider provider;
  const auto c = b_frame_config();
  const auto h = mgr.start_encode(c, share(provider));
  auto s = mgr.encode_session(h.id);
  for (int i = 0; i < 7; ++i) submit(*s, c, i, std::nullopt, PixelFormat::BGRA);
  const auto packets = mgr.close_encode(h);
  s.reset();
  const auto t = mgr.telemetry(h);
  EXPECT_EQ(tel_str(t, "state"), "closed");
  EXPECT_EQ(tel_str(t, "backend"), "software");
  EXPECT_EQ(tel_str(t, "codec"), "h264");
  EXPECT_EQ(tel_int(t, "frames_submitted"), 7);
  EXPECT_EQ(tel_int(t, "frames_encoded"), 7);
  EXPECT_EQ(tel_int(t, "frames_converted"), 7);
  EXPECT_EQ(tel_int(t, "packets_out"), 7);
  EXPECT_EQ(tel_int(t, "encoder_opens"), 1);
  EXPECT_EQ(tel_int(t, "keyframes_out"), 1);
  int64_t bytes = 0;
  for (const auto& p : packets) bytes += int64_t(p.data.size());
  EXPECT_EQ(tel_int(t, "bytes_out"), bytes);
  EXPECT_EQ(mgr.state(h).state, SessionState::Closed);
  EXPECT_EQ(provider.record->destroyed, 1) << "close releases the backend";
}

TEST(EncodeSession, CloseReturnsTheDrainedPackets) {
  SessionManager mgr;
  TestProvider provider;
  const auto c = b_frame_config();
  const auto h = mgr.start_encode(c, share(provider));
  auto s = mgr.encode_session(h.id);
  for (int i = 0; i < 10; ++i) submit(*s, c, i);
  auto out = s->reap(1);
  EXPECT_LT(out.size(), 10u);
  append(out, mgr.close_encode(h));
  auto pts = pts_of(out);
  std::sort(pts.begin(), pts.end());
  EXPECT_EQ(pts, range(0, 10));
  EXPECT_EQ(provider.record->finish_calls, 1);
}

// ---- negotiation through the provider seam -----------------------------------------------

TEST(EncodeSession, NegotiationFailureThrowsBeforeAnyEncoderExists) {
  SessionManager mgr;
  TestProvider provider;
  auto c = low_latency_config();
  c.width = 9000;  // valid for the contract (<= 16384), above the software maximum of 8192
  try {
    mgr.start_encode(c, share(provider));
    FAIL() << "unsupported config accepted";
  } catch (const UnsupportedConfig& e) {
    ASSERT_EQ(e.problems().size(), 1u);
    EXPECT_EQ(e.problems()[0].rfind("width:", 0), 0u) << e.problems()[0];
    EXPECT_NE(e.problems()[0].find("8192"), std::string::npos) << e.problems()[0];
  }
  EXPECT_EQ(provider.creates, 0);
}

TEST(EncodeSession, InvalidConfigThrowsConfigErrorBeforeAnyEncoderExists) {
  SessionManager mgr;
  TestProvider provider;
  auto c = low_latency_config();
  c.b_frames = 2;  // with low_latency
  c.frame_interval_p = 3;
  expect_error(
      ErrorKind::Config, [&] { mgr.start_encode(c, share(provider)); }, "invalid config");
  EXPECT_EQ(provider.creates, 0);
}

// ---- drop without close ------------------------------------------------------------------

TEST(EncodeSession, SessionDroppedWithoutCloseDrainsAndDoesNotCrash) {
  TestProvider provider;
  int held = 0;
  {
    SessionManager mgr;
    const auto c = b_frame_config();
    const auto h = mgr.start_encode(c, share(provider));
    auto s = mgr.encode_session(h.id);
    for (int i = 0; i < 10; ++i) submit(*s, c, i);
    const auto early = s->reap(1, 10);  // waits until every frame went through the encoder
    EXPECT_LT(early.size(), 10u) << "frames are held back (B-frames)";
    held = int(10 - early.size());
  }  // manager and session dropped here
  EXPECT_EQ(provider.record->finish_calls, 1) << "end of stream was sent";
  EXPECT_EQ(provider.record->packets_from_finish, held) << "every held frame was drained";
  EXPECT_EQ(provider.record->destroyed, 1);
}

TEST(EncodeSession, EncodeSessionDestroyedDirectlyDrains) {
  TestProvider provider;
  const auto c = b_frame_config();
  {
    EncodeSession s(7, c, share(provider));
    for (int i = 0; i < 6; ++i) submit(s, c, i);
  }
  EXPECT_EQ(provider.record->finish_calls, 1);
  EXPECT_EQ(provider.record->destroyed, 1);
}

// ---- locking -----------------------------------------------------------------------------

// encode_session.hpp: reap never waits behind an encode in progress (here one blocked
// inside the encoder on the pipeline's encode thread).
TEST(EncodeSession, ReapDoesNotWaitBehindAnEncodeInProgress) {
  SessionManager mgr;
  TestProvider provider;
  provider.gate = std::make_shared<RecordingBackend::Gate>();
  const auto c = low_latency_config();
  const auto h = mgr.start_encode(c, share(provider));
  auto s = mgr.encode_session(h.id);
  submit(*s, c, 0);
  EXPECT_EQ(pts_of(s->reap(1, 1)), (std::vector<int64_t>{0}));
  {
    std::lock_guard<std::mutex> lock(provider.gate->mu);
    provider.gate->armed = true;
  }
  submit(*s, c, 1);  // queued; the encode thread blocks inside the encoder
  {
    std::unique_lock<std::mutex> lock(provider.gate->mu);
    provider.gate->cv.wait(lock, [&] { return provider.gate->entered; });
  }
  auto reaped = std::async(std::launch::async, [&] { return s->reap(1); });
  const bool returned = reaped.wait_for(1s) == std::future_status::ready;
  {
    std::lock_guard<std::mutex> lock(provider.gate->mu);
    provider.gate->released = true;
    provider.gate->cv.notify_all();
  }
  EXPECT_TRUE(returned) << "reap() blocked behind the encode of another thread";
  EXPECT_TRUE(reaped.get().empty()) << "frame 1 cannot be out while its encode is blocked";
  EXPECT_EQ(pts_of(mgr.close_encode(h)), (std::vector<int64_t>{1}));
}

// encode_session.hpp: telemetry and state, like reap, never wait for an encode in
// progress (a stats query from a monitoring thread must not stall behind a slow frame).
TEST(EncodeSession, TelemetryAndStateDoNotWaitBehindAnEncodeInProgress) {
  SessionManager mgr;
  TestProvider provider;
  provider.gate = std::make_shared<RecordingBackend::Gate>();
  const auto c = low_latency_config();
  const auto h = mgr.start_encode(c, share(provider));
  auto s = mgr.encode_session(h.id);
  {
    std::lock_guard<std::mutex> lock(provider.gate->mu);
    provider.gate->armed = true;
  }
  submit(*s, c, 0);  // the encode thread blocks inside the encoder
  {
    std::unique_lock<std::mutex> lock(provider.gate->mu);
    provider.gate->cv.wait(lock, [&] { return provider.gate->entered; });
  }
  auto state = std::async(std::launch::async, [&] { return s->state(); });
  auto telemetry = std::async(std::launch::async, [&] { return s->telemetry(); });
  auto by_manager = std::async(std::launch::async, [&] { return mgr.telemetry(h); });
  const bool state_returned = state.wait_for(1s) == std::future_status::ready;
  const bool telemetry_returned = telemetry.wait_for(1s) == std::future_status::ready;
  const bool manager_returned = by_manager.wait_for(1s) == std::future_status::ready;
  {
    std::lock_guard<std::mutex> lock(provider.gate->mu);
    provider.gate->released = true;
    provider.gate->cv.notify_all();
  }
  EXPECT_TRUE(state_returned) << "state() waited for the encode in progress";
  EXPECT_TRUE(telemetry_returned) << "telemetry() waited for the encode in progress";
  EXPECT_TRUE(manager_returned) << "SessionManager::telemetry waited for the encode in progress";
  EXPECT_EQ(state.get().active_generation, 1u);
  EXPECT_EQ(tel_int(telemetry.get(), "frames_submitted"), 1);
  by_manager.get();
  EXPECT_EQ(pts_of(mgr.close_encode(h)), (std::vector<int64_t>{0}));
}

// ---- encoder failure ---------------------------------------------------------------------

// An encoder that fails mid-stream breaks the session (Encode on the next call), but close
// must still end it: report the failure if it likes, and leave the session closed with its
// encoder released and its threads joined, not open forever.
TEST(EncodeSession, CloseAfterAnEncoderFailureStillReleasesTheSession) {
  auto plan = std::make_shared<FaultPlan>();
  plan->fail_activation_at = 0;  // the session's own encoder fails on its first frame
  auto provider = vhtest::faulty_software(plan);
  SessionManager mgr;
  const auto c = low_latency_config();
  const auto h = mgr.start_encode(c, provider);
  auto s = mgr.encode_session(h.id);
  submit(*s, c, 0);
  ASSERT_TRUE(vhtest::wait_until([&] { return tel_int(s->telemetry(), "frames_failed") == 1; }));
  expect_error(
      ErrorKind::Encode, [&] { submit(*s, c, 1); }, "submit after the failure");
  try {
    mgr.close_encode(h);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Encode) << e.what();
  }
  EXPECT_EQ(mgr.state(h).state, SessionState::Closed) << "close left the failed session open";
  EXPECT_EQ(provider->log->destroyed, 1) << "close did not release the failed encoder";
  expect_error(
      ErrorKind::SessionClosed, [&] { mgr.encode_session(h.id); }, "lookup after close");
}

// ---- threads -----------------------------------------------------------------------------

TEST(SessionThreads, TwoThreadsSubmitToTwoSessionsConcurrently) {
  SessionManager mgr;
  TestProvider provider;
  const auto c = low_latency_config();
  const auto h1 = mgr.start_encode(c, share(provider));
  const auto h2 = mgr.start_encode(c, share(provider));
  ASSERT_NE(h1.id, h2.id);
  constexpr int kFrames = 30;
  auto run = [&](SessionHandle h, PixelFormat format) {
    auto s = mgr.encode_session(h.id);
    std::vector<EncodedPacket> out;
    for (int i = 0; i < kFrames; ++i) {
      submit(*s, c, i, std::nullopt, format);
      if (i % 7 == 0) append(out, s->reap(1));
    }
    append(out, mgr.close_encode(h));
    return out;
  };
  auto f1 = std::async(std::launch::async, run, h1, PixelFormat::BGRA);
  auto f2 = std::async(std::launch::async, run, h2, PixelFormat::I420);
  const auto out1 = f1.get();
  const auto out2 = f2.get();
  EXPECT_EQ(pts_of(out1), range(0, kFrames));
  EXPECT_EQ(pts_of(out2), range(0, kFrames));
  EXPECT_EQ(vhtest::decode_packets(Codec::H264, out1).size(), size_t(kFrames));
  EXPECT_EQ(vhtest::decode_packets(Codec::H264, out2).size(), size_t(kFrames));
  EXPECT_EQ(tel_int(mgr.telemetry(h1), "packets_out"), kFrames);
  EXPECT_EQ(tel_int(mgr.telemetry(h2), "packets_out"), kFrames);
  EXPECT_EQ(tel_int(mgr.telemetry(h2), "borrow_leaks"), 0);
}

TEST(SessionThreads, OneThreadReapsWhileAnotherSubmitsToTheSameSession) {
  SessionManager mgr;
  TestProvider provider;
  const auto c = b_frame_config();
  const auto h = mgr.start_encode(c, share(provider));
  constexpr int kFrames = 60;
  std::atomic<bool> done{false};
  std::vector<EncodedPacket> reaped;
  int reaps = 0;
  std::thread reaper([&] {
    auto s = mgr.encode_session(h.id);
    while (!done.load()) {
      append(reaped, s->reap(1));
      ++reaps;
      std::this_thread::yield();
    }
  });
  {
    auto s = mgr.encode_session(h.id);
    for (int i = 0; i < kFrames; ++i) submit(*s, c, i);
  }
  done = true;
  reaper.join();
  auto rest = mgr.close_encode(h);
  std::vector<EncodedPacket> all = reaped;
  append(all, std::move(rest));
  auto pts = pts_of(all);
  std::sort(pts.begin(), pts.end());
  EXPECT_EQ(pts, range(0, kFrames)) << "each packet exactly once";
  const auto t = mgr.telemetry(h);
  EXPECT_EQ(tel_int(t, "frames_submitted"), kFrames);
  EXPECT_EQ(tel_int(t, "packets_out"), kFrames);
  EXPECT_GT(reaps, 0);
  EXPECT_GT(reaped.size(), 0u);
}
