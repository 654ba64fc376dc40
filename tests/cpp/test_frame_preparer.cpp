// transform/frame_preparer: the one place frames are converted and scaled for an encoder.
// First the preparer on its own (pass-through without a copy, conversion, scaling, the
// format it picks); then the pipeline around strict fake backends that refuse, and record,
// any frame not of their configured size in one of their provider's native formats: for
// non-native input, a switch to a provider with other native formats, and switches that
// change the size and roll back.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "contract/errors.hpp"
#include "contract/frame_layout.hpp"
#include "session/encode_session.hpp"
#include "software/software_encoder.hpp"
#include "support/frames.hpp"
#include "support/session_support.hpp"
#include "transform/frame_preparer.hpp"

using namespace videohw;
using transform::FramePreparer;
using transform::FrameTarget;
using vhtest::TestFrame;

namespace {

FrameView view_of(const TestFrame& f) {
  return describe_frame(f.format, f.width, f.height, f.data(), f.size(), f.pitch);
}

// Memory handed out to the preparer, and how often it asked.
struct Destination {
  std::vector<uint8_t> bytes;
  int requests = 0;
  FramePreparer::Destination fn() {
    return [this](size_t n) {
      ++requests;
      bytes.assign(n + 64, 0);
      return bytes.data();
    };
  }
};

// Mean of one plane's samples (`step`: bytes between samples of the plane's channel).
double plane_mean(const FrameView& v, int plane, int width, int height, int step = 1,
                  int offset = 0) {
  double sum = 0;
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      sum += v.planes[plane][size_t(y) * size_t(v.strides[plane]) + size_t(x * step + offset)];
  return sum / (double(width) * double(height));
}

// Mean Y, U, V of a prepared I420 or NV12 frame.
void expect_yuv(const FrameView& v, double y, double u, double v_, double tolerance = 2.5) {
  ASSERT_TRUE(v.format == PixelFormat::I420 || v.format == PixelFormat::NV12);
  const int cw = v.width / 2, ch = v.height / 2;
  EXPECT_NEAR(plane_mean(v, 0, v.width, v.height), y, tolerance);
  if (v.format == PixelFormat::I420) {
    EXPECT_NEAR(plane_mean(v, 1, cw, ch), u, tolerance);
    EXPECT_NEAR(plane_mean(v, 2, cw, ch), v_, tolerance);
  } else {
    EXPECT_NEAR(plane_mean(v, 1, cw, ch, 2, 0), u, tolerance);
    EXPECT_NEAR(plane_mean(v, 1, cw, ch, 2, 1), v_, tolerance);
  }
}

}  // namespace

// ---- the preparer -------------------------------------------------------------------------

TEST(FramePreparer, AFrameThatFitsPassesThroughWithoutACopy) {
  FramePreparer preparer(FrameTarget{64, 48, {PixelFormat::I420, PixelFormat::NV12}});
  for (PixelFormat format : {PixelFormat::I420, PixelFormat::NV12}) {
    const TestFrame f = vhtest::pattern_frame(format, 64, 48, 0, /*pitch=*/96);
    const FrameView in = view_of(f);
    Destination dst;
    EXPECT_TRUE(preparer.fits(in));
    const FrameView out = preparer.prepare(in, dst.fn(), /*src_has_slack=*/false);
    EXPECT_EQ(dst.requests, 0) << to_string(format);
    EXPECT_EQ(out.format, format);
    EXPECT_EQ(out.plane_count, in.plane_count);
    for (int i = 0; i < in.plane_count; ++i) {
      EXPECT_EQ(out.planes[i], in.planes[i]) << "plane " << i << " was copied";
      EXPECT_EQ(out.strides[i], in.strides[i]);
    }
  }
}

TEST(FramePreparer, ConvertsEveryRgbFormatToTheTargetsFirstFormat) {
  FramePreparer preparer(FrameTarget{66, 50, {PixelFormat::I420}});
  const int r = 200, g = 100, b = 50;
  for (PixelFormat format : {PixelFormat::ARGB8888, PixelFormat::BGRA, PixelFormat::RGB24}) {
    SCOPED_TRACE(to_string(format));
    const TestFrame f = vhtest::flat_rgb_frame(format, 66, 50, 0, r, g, b);
    Destination dst;
    const FrameView out = preparer.prepare(view_of(f), dst.fn(), /*src_has_slack=*/false);
    EXPECT_EQ(dst.requests, 1);
    EXPECT_EQ(out.format, PixelFormat::I420);
    EXPECT_EQ(out.width, 66);
    EXPECT_EQ(out.height, 50);
    EXPECT_TRUE(preparer.fits(out));
    EXPECT_EQ(out.strides[0] % 32, 0) << "aligned rows";
    expect_yuv(out, vhtest::bt601_y(r, g, b), vhtest::bt601_cb(r, g, b), vhtest::bt601_cr(r, g, b));
  }
}

TEST(FramePreparer, ConvertsNv12ToI420AndBack) {
  {
    FramePreparer to_i420(FrameTarget{64, 48, {PixelFormat::I420}});
    const TestFrame f = vhtest::flat_yuv_frame(PixelFormat::NV12, 64, 48, 0, 120, 90, 170);
    Destination dst;
    const FrameView out = to_i420.prepare(view_of(f), dst.fn(), false);
    EXPECT_EQ(out.format, PixelFormat::I420);
    expect_yuv(out, 120, 90, 170, 1.0);
  }
  {
    FramePreparer to_nv12(FrameTarget{64, 48, {PixelFormat::NV12}});
    const TestFrame f = vhtest::flat_yuv_frame(PixelFormat::I420, 64, 48, 0, 120, 90, 170);
    Destination dst;
    const FrameView out = to_nv12.prepare(view_of(f), dst.fn(), false);
    EXPECT_EQ(out.format, PixelFormat::NV12);
    expect_yuv(out, 120, 90, 170, 1.0);
  }
}

// A frame of an accepted format but another size keeps its format (a resize is not a
// format change too); a frame of no accepted format becomes the first accepted one.
TEST(FramePreparer, ScalesToTheTargetSize) {
  FramePreparer preparer(FrameTarget{64, 48, {PixelFormat::I420, PixelFormat::NV12}});
  const struct {
    PixelFormat in;
    int w, h;
    PixelFormat out;
  } cases[] = {{PixelFormat::I420, 128, 96, PixelFormat::I420},
               {PixelFormat::NV12, 96, 64, PixelFormat::NV12},
               {PixelFormat::I420, 32, 24, PixelFormat::I420},
               {PixelFormat::BGRA, 48, 32, PixelFormat::I420}};
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(to_string(c.in)) + " " + std::to_string(c.w) + "x" +
                 std::to_string(c.h));
    const TestFrame f = c.in == PixelFormat::BGRA
                            ? vhtest::flat_rgb_frame(c.in, c.w, c.h, 0, 200, 100, 50)
                            : vhtest::flat_yuv_frame(c.in, c.w, c.h, 0, 120, 90, 170);
    Destination dst;
    const FrameView out = preparer.prepare(view_of(f), dst.fn(), false);
    EXPECT_EQ(dst.requests, 1);
    EXPECT_EQ(out.format, c.out);
    EXPECT_EQ(out.width, 64);
    EXPECT_EQ(out.height, 48);
    if (c.in == PixelFormat::BGRA)
      expect_yuv(out, vhtest::bt601_y(200, 100, 50), vhtest::bt601_cb(200, 100, 50),
                 vhtest::bt601_cr(200, 100, 50));
    else
      expect_yuv(out, 120, 90, 170, 1.5);
  }
}

TEST(FramePreparer, ATargetWithoutFormatsIsAnInternalError) {
  FramePreparer preparer(FrameTarget{64, 48, {}});
  const TestFrame f = vhtest::pattern_frame(PixelFormat::I420, 64, 48, 0);
  Destination dst;
  try {
    preparer.prepare(view_of(f), dst.fn(), false);
    ADD_FAILURE() << "prepared for a target that accepts nothing";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Encode);
    EXPECT_NE(std::string(e.what()).find("internal"), std::string::npos) << e.what();
  }
  EXPECT_EQ(dst.requests, 0);
}

// The software encoder's provider names exactly what its encoder is opened with.
TEST(FramePreparer, SoftwareProviderListsTheEncodersPixelFormat) {
  auto provider = vhtest::TestProvider::software();
  const auto formats = provider->native_input_formats();
  ASSERT_EQ(formats.size(), 1u);
  EXPECT_EQ(transform::to_av_pixel_format(formats[0]), software::kEncoderPixelFormat);
}

// ---- the pipeline around strict backends --------------------------------------------------

namespace {

// What every strict backend received, and every frame one of them refused.
struct StrictLog {
  std::mutex mu;
  std::vector<std::string> violations;
  std::vector<std::string> received;  // "name#index:FORMAT WxH pts"
  void add(std::string entry, bool violation) {
    std::lock_guard<std::mutex> lock(mu);
    (violation ? violations : received).push_back(std::move(entry));
  }
  std::vector<std::string> of(const std::string& backend) {
    std::lock_guard<std::mutex> lock(mu);
    std::vector<std::string> out;
    for (const auto& r : received)
      if (r.rfind(backend + ":", 0) == 0) out.push_back(r.substr(backend.size() + 1));
    return out;
  }
};

class StrictProvider;

// Encodes nothing: a frame in, one packet out, after checking that the frame is of its
// configured size in one of its native formats (what an adapter may assume).
class StrictBackend final : public EncoderBackend {
 public:
  StrictBackend(const StrictProvider& provider, const CommonEncodeConfig& config, int index);
  const char* name() const override { return "strict"; }
  void encode(const FrameView& frame, const FrameOptions& options,
              std::vector<EncodedPacket>& out) override;
  FlushResult flush(std::vector<EncodedPacket>&) override { return {}; }
  void finish(std::vector<EncodedPacket>&) override {}
  EncodeStats stats() const override { return stats_; }
  void reconfigure(const CommonEncodeConfig& to) override;

 private:
  const StrictProvider& provider_;
  CommonEncodeConfig config_;
  const std::string id_;
  bool fail_next_ = false;
  EncodeStats stats_;
};

class StrictProvider final : public EncoderProvider {
 public:
  StrictProvider(std::string name, std::vector<PixelFormat> formats, std::shared_ptr<StrictLog> log)
      : name_(std::move(name)), formats_(std::move(formats)), log(std::move(log)) {}
  std::string name() const override { return name_; }
  Capabilities capabilities(Codec codec) const override {
    Capabilities caps = software::software_capabilities(codec);
    caps.backend = name_;
    return caps;
  }
  std::unique_ptr<EncoderBackend> create(const CommonEncodeConfig& config) const override {
    return std::make_unique<StrictBackend>(*this, config, creates++);
  }
  bool can_reconfigure(const CommonEncodeConfig&, const CommonEncodeConfig&) const override {
    return in_place;
  }
  std::vector<PixelFormat> native_input_formats() const override { return formats_; }
  int max_in_flight() const override { return 16; }  // held frames never hit backpressure

  const std::string name_;
  const std::vector<PixelFormat> formats_;
  std::shared_ptr<StrictLog> log;
  std::shared_ptr<vhtest::Gate> gate = std::make_shared<vhtest::Gate>();
  mutable std::atomic<int> creates{0};
  bool in_place = false;          // can_reconfigure's answer
  int fail_first_encode_of = -1;  // creation index whose first encode throws
  std::atomic<bool> fail_reconfigure{false};
};

StrictBackend::StrictBackend(const StrictProvider& provider, const CommonEncodeConfig& config,
                             int index)
    : provider_(provider), config_(config), id_(provider.name_ + "#" + std::to_string(index)) {
  stats_.encoder_opens = 1;
  fail_next_ = index == provider.fail_first_encode_of;
}

void StrictBackend::encode(const FrameView& frame, const FrameOptions& options,
                           std::vector<EncodedPacket>& out) {
  provider_.gate->pass();
  const auto& formats = provider_.formats_;
  const bool fits = frame.width == config_.width && frame.height == config_.height &&
                    std::find(formats.begin(), formats.end(), frame.format) != formats.end();
  const std::string entry = id_ + ":" + to_string(frame.format) + " " +
                            std::to_string(frame.width) + "x" + std::to_string(frame.height) +
                            " pts " + std::to_string(options.pts.value_or(-1));
  provider_.log->add(entry, !fits);
  if (!fits) throw Error(ErrorKind::Encode, "internal: frame not prepared: " + entry);
  if (fail_next_) {
    fail_next_ = false;
    throw Error(ErrorKind::Encode, "injected activation failure");
  }
  EncodedPacket p;
  p.data = {0, 0, 0, 1, 0x65};
  p.pts = p.dts = options.pts.value_or(0);
  p.is_keyframe = options.force_keyframe;
  out.push_back(std::move(p));
  stats_.frames_encoded++;
}

void StrictBackend::reconfigure(const CommonEncodeConfig& to) {
  provider_.gate->pass();
  if (provider_.fail_reconfigure) throw Error(ErrorKind::Switch, "injected reconfigure failure");
  config_ = to;
}

CommonEncodeConfig sized(int width, int height) {
  return vhtest::low_latency_config(width, height);
}

void submit(EncodeSession& s, uint32_t generation, PixelFormat format, int width, int height,
            int index) {
  const TestFrame f = vhtest::pattern_frame(format, width, height, index);
  FrameOptions o;
  o.pts = index;
  s.submit(generation, f.format, f.data(), f.size(), f.pitch, o);
}

bool rolled_back_to(EncodeSession& s, uint32_t kept) {
  return vhtest::wait_until([&] { return s.state().active_generation == kept; });
}

// A switch from whatever is active now; a rollback noticed in between makes the handle
// just read a failed one, so it is read again.
uint32_t switch_from_active(EncodeSession& s, const CommonEncodeConfig& to,
                            std::shared_ptr<const EncoderProvider> provider) {
  for (int attempt = 0;; ++attempt) {
    try {
      return s.switch_to(s.state().active_generation, to, provider, SwitchMode::Immediate, true);
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::Switch || attempt == 10) throw;
    }
  }
}

const PixelFormat kAll[] = {PixelFormat::ARGB8888, PixelFormat::BGRA, PixelFormat::RGB24,
                            PixelFormat::NV12, PixelFormat::I420};

std::vector<std::string> expected(const std::string& what, int first, int count) {
  std::vector<std::string> v;
  for (int i = first; i < first + count; ++i) v.push_back(what + " pts " + std::to_string(i));
  return v;
}

void append(std::vector<std::string>& to, const std::vector<std::string>& from) {
  to.insert(to.end(), from.begin(), from.end());
}

}  // namespace

TEST(PreparedPipeline, NonNativeInputReachesTheBackendInItsFormat) {
  auto log = std::make_shared<StrictLog>();
  auto provider = std::make_shared<StrictProvider>("strict", std::vector{PixelFormat::I420}, log);
  EncodeSession s(1, sized(64, 48), provider);
  for (int i = 0; i < 10; ++i) submit(s, 1, kAll[i % 5], 64, 48, i);
  EXPECT_EQ(s.close(1).size(), 10u);
  EXPECT_TRUE(log->violations.empty()) << log->violations.front();
  EXPECT_EQ(log->of("strict#0"), expected("i420 64x48", 0, 10));
  const auto t = s.telemetry();
  EXPECT_EQ(vhtest::tel_int(t, "frames_converted"), 8);
  EXPECT_EQ(vhtest::tel_int(t, "frames_reprepared"), 0);
  EXPECT_GT(vhtest::tel_int(t, "convert_ns"), 0);
  EXPECT_GE(vhtest::tel_int(t, "frame_buffer_allocations"), 1);
}

// A provider that takes NV12 only: after the switch every frame is NV12 for it, I420 ones
// included, while the old encoder still got I420 only.
TEST(PreparedPipeline, ASwitchToAProviderWithOtherNativeFormatsPreparesForIt) {
  auto log = std::make_shared<StrictLog>();
  auto i420 = std::make_shared<StrictProvider>("i420", std::vector{PixelFormat::I420}, log);
  auto nv12 = std::make_shared<StrictProvider>("nv12", std::vector{PixelFormat::NV12}, log);
  EncodeSession s(1, sized(64, 48), i420);
  int frame = 0;
  for (; frame < 5; ++frame) submit(s, 1, kAll[frame % 5], 64, 48, frame);
  const uint32_t g = s.switch_to(1, sized(96, 64), nv12, SwitchMode::Immediate, true);
  for (; frame < 15; ++frame) submit(s, g, kAll[frame % 5], 96, 64, frame);
  EXPECT_EQ(s.close(g).size(), 15u);
  EXPECT_TRUE(log->violations.empty()) << log->violations.front();
  EXPECT_EQ(log->of("i420#0"), expected("i420 64x48", 0, 5));
  EXPECT_EQ(log->of("nv12#0"), expected("nv12 96x64", 5, 10));
  EXPECT_EQ(vhtest::tel_int(s.telemetry(), "frames_reprepared"), 0)
      << "the transform stage already prepared for the encoder that ran";
}

// The activation of a new, larger encoder fails on its first frame while frames made for it
// are queued: the kept encoder receives every one of them at its own size.
TEST(PreparedPipeline, ARolledBackResizeReachesTheKeptEncoderAtItsSize) {
  auto log = std::make_shared<StrictLog>();
  auto provider = std::make_shared<StrictProvider>("strict", std::vector{PixelFormat::I420}, log);
  provider->fail_first_encode_of = 1;
  EncodeSession s(1, sized(64, 48), provider);
  vhtest::OpenOnExit open_on_exit(*provider->gate);
  int frame = 0;
  for (; frame < 3; ++frame) submit(s, 1, PixelFormat::I420, 64, 48, frame);
  const uint32_t g = s.switch_to(1, sized(96, 64), provider, SwitchMode::Immediate, true);
  provider->gate->shut();
  for (; frame < 7; ++frame) submit(s, g, kAll[frame % 5], 96, 64, frame);
  provider->gate->open();
  ASSERT_TRUE(rolled_back_to(s, 1)) << "no rollback";
  for (; frame < 10; ++frame) submit(s, 1, PixelFormat::I420, 64, 48, frame);
  EXPECT_EQ(s.close(1).size(), 10u);
  EXPECT_TRUE(log->violations.empty()) << log->violations.front();
  EXPECT_EQ(log->of("strict#0"), expected("i420 64x48", 0, 10));
  EXPECT_EQ(log->of("strict#1"), expected("i420 96x64", 3, 1)) << "its one, failing, frame";
  const auto t = s.telemetry();
  EXPECT_EQ(vhtest::tel_int(t, "switch_failures"), 1);
  // Frame 3 was at the encode stage when the rollback happened; 4..6 may have passed the
  // transform stage before it (prepared twice) or after (once, for the kept encoder).
  const int64_t again = vhtest::tel_int(t, "frames_reprepared");
  EXPECT_GE(again, 1);
  EXPECT_LE(again, 4);
  EXPECT_LE(vhtest::tel_int(t, "frames_converted"), 4 + 3)
      << "frames after the rollback (7..9) are prepared for the kept encoder, not converted";
}

// The same through an in-place resize the encoder refuses, and one it takes: each frame
// reaches the encoder at the size the encoder has when it encodes it.
TEST(PreparedPipeline, InPlaceResizesFollowTheRunningEncoder) {
  auto log = std::make_shared<StrictLog>();
  auto provider = std::make_shared<StrictProvider>(
      "strict", std::vector{PixelFormat::I420, PixelFormat::NV12}, log);
  provider->in_place = true;
  provider->fail_reconfigure = true;
  EncodeSession s(1, sized(64, 48), provider);
  vhtest::OpenOnExit open_on_exit(*provider->gate);
  int frame = 0;
  for (; frame < 2; ++frame) submit(s, 1, PixelFormat::NV12, 64, 48, frame);
  const uint32_t failed = s.switch_to(1, sized(96, 64), provider, SwitchMode::Immediate, true);
  provider->gate->shut();
  for (; frame < 5; ++frame) submit(s, failed, PixelFormat::NV12, 96, 64, frame);
  provider->gate->open();
  ASSERT_TRUE(rolled_back_to(s, 1)) << "no rollback";
  provider->fail_reconfigure = false;
  const uint32_t g = s.switch_to(1, sized(32, 24), provider, SwitchMode::Immediate, true);
  for (; frame < 8; ++frame) submit(s, g, PixelFormat::BGRA, 32, 24, frame);
  EXPECT_EQ(s.close(g).size(), 8u);
  EXPECT_TRUE(log->violations.empty()) << log->violations.front();
  std::vector<std::string> want = expected("nv12 64x48", 0, 5);
  append(want, expected("i420 32x24", 5, 3));
  EXPECT_EQ(log->of("strict#0"), want);
  EXPECT_EQ(provider->creates.load(), 1);
  const int64_t again = vhtest::tel_int(s.telemetry(), "frames_reprepared");
  EXPECT_GE(again, 1) << "frame 2, at the encode stage when the resize was refused";
  EXPECT_LE(again, 3);
}

// Many switches between providers of different formats and sizes with a failed activation
// among them, frames of every format: not one frame reaches a backend unprepared.
TEST(PreparedPipeline, NoUnpreparedFrameThroughSwitchesAndRollbacks) {
  auto log = std::make_shared<StrictLog>();
  auto i420 = std::make_shared<StrictProvider>("i420", std::vector{PixelFormat::I420}, log);
  auto nv12 = std::make_shared<StrictProvider>("nv12", std::vector{PixelFormat::NV12}, log);
  nv12->fail_first_encode_of = 1;
  EncodeSession s(1, sized(64, 48), i420);
  const struct {
    std::shared_ptr<StrictProvider> provider;
    int w, h;
  } steps[] = {{nv12, 96, 64}, {nv12, 48, 32}, {i420, 64, 48}, {nv12, 32, 24}, {i420, 80, 48}};
  uint32_t g = 1;
  int frame = 0, w = 64, h = 48;
  const auto submit_five = [&] {
    for (int end = frame + 5; frame < end; ++frame) {
      try {
        submit(s, g, kAll[frame % 5], w, h, frame);
      } catch (const Error& e) {
        ASSERT_EQ(e.kind(), ErrorKind::Switch) << e.what();  // g rolled back: use the kept one
        const SessionStateInfo now = s.state();
        g = now.active_generation;
        w = now.width;
        h = now.height;
        submit(s, g, kAll[frame % 5], w, h, frame);
      }
    }
  };
  for (const auto& step : steps) {
    submit_five();
    g = switch_from_active(s, sized(step.w, step.h), step.provider);
    w = step.w;
    h = step.h;
  }
  submit_five();
  const uint32_t last = g;
  EXPECT_EQ(s.close(last).size(), size_t(frame));
  EXPECT_TRUE(log->violations.empty()) << log->violations.front();
  EXPECT_EQ(vhtest::tel_int(s.telemetry(), "frames_failed"), 0);
  EXPECT_EQ(vhtest::tel_int(s.telemetry(), "switch_failures"), 1);
}
