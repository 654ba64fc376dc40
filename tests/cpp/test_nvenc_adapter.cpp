// nv_session/: the NVENC adapter end to end through the driver double
// (tests/nvenc_double), reached exactly as the real driver would be: VIDEOHW_NVENC_LIBRARY
// and VIDEOHW_CUDA_LIBRARY name the libraries, NVIDIA's entry points do the rest. The
// double's call log and rule checks say what the adapter did; libavcodec's decoders say
// what came out.
#include <dlfcn.h>
#include <ffnvcodec/dynlink_cuda.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "backend/device_memory.hpp"
#include "backend/encoder_registry.hpp"
#include "contract/errors.hpp"
#include "contract/frame_layout.hpp"
#include "nv_session/nvenc/nvenc_probe.hpp"
#include "nv_session/nvenc/nvenc_provider.hpp"
#include "session/encode_session.hpp"
#include "support/decoder.hpp"
#include "support/frames.hpp"
#include "support/session_support.hpp"

using namespace videohw;
namespace nv = videohw::nv_session;

namespace {

// The double's test-only control surface (nvenc_double_control.h), reached through the same
// library the adapter loaded, so the state is shared.
class DoubleControl {
 public:
  static DoubleControl& get() {
    static DoubleControl control;
    return control;
  }

  // Knobs for the next reset: VIDEOHW_NVENC_DOUBLE_<name>=value.
  void reset(const std::map<std::string, std::string>& knobs = {}) {
    for (const char* name : {"NO_ENCODE_DEVICE", "MAX_VERSION", "CAPS", "FAULTS"})
      unsetenv((std::string("VIDEOHW_NVENC_DOUBLE_") + name).c_str());
    for (const auto& [name, value] : knobs)
      setenv(("VIDEOHW_NVENC_DOUBLE_" + name).c_str(), value.c_str(), 1);
    nvenc_reset_();
    cuda_reset_();
  }
  void set_faults(const std::string& faults) {
    ASSERT_EQ(set_faults_(faults.c_str()), 0) << faults;
  }
  std::string log() const { return call_log_(); }
  std::string violations() const { return violations_(); }
  int open_sessions() const { return open_sessions_(); }
  int live_contexts() const { return live_contexts_(); }
  int primary_retains() const { return primary_retains_(0); }
  // Whether this thread has a context current in the double (one the adapter left pushed).
  bool context_current_here() const {
    CUcontext ctx = nullptr;
    if (pop_(&ctx) != CUDA_SUCCESS) return false;
    push_(ctx);
    return true;
  }

 private:
  DoubleControl() {
    setenv("VIDEOHW_NVENC_LIBRARY", VIDEOHW_NVENC_DOUBLE_PATH, 1);
    setenv("VIDEOHW_CUDA_LIBRARY", VIDEOHW_CUDA_DOUBLE_PATH, 1);
    void* nvenc = dlopen(VIDEOHW_NVENC_DOUBLE_PATH, RTLD_NOW | RTLD_LOCAL);
    void* cuda = dlopen(VIDEOHW_CUDA_DOUBLE_PATH, RTLD_NOW | RTLD_LOCAL);
    if (!nvenc || !cuda) throw std::runtime_error(std::string("driver double: ") + dlerror());
    bind(nvenc, nvenc_reset_, "videohw_nvenc_double_reset");
    bind(nvenc, set_faults_, "videohw_nvenc_double_set_faults");
    bind(nvenc, call_log_, "videohw_nvenc_double_call_log");
    bind(nvenc, violations_, "videohw_nvenc_double_violations");
    bind(nvenc, open_sessions_, "videohw_nvenc_double_open_sessions");
    bind(cuda, cuda_reset_, "videohw_cuda_double_reset");
    bind(cuda, live_contexts_, "videohw_cuda_double_live_contexts");
    bind(cuda, primary_retains_, "videohw_cuda_double_primary_retains");
    bind(cuda, pop_, "cuCtxPopCurrent_v2");
    bind(cuda, push_, "cuCtxPushCurrent_v2");
  }
  template <typename Fn>
  static void bind(void* lib, Fn*& fn, const char* name) {
    fn = reinterpret_cast<Fn*>(dlsym(lib, name));
    if (!fn) throw std::runtime_error(std::string("driver double lacks ") + name);
  }

  void (*nvenc_reset_)() = nullptr;
  int (*set_faults_)(const char*) = nullptr;
  const char* (*call_log_)() = nullptr;
  const char* (*violations_)() = nullptr;
  int (*open_sessions_)() = nullptr;
  void (*cuda_reset_)() = nullptr;
  int (*live_contexts_)() = nullptr;
  int (*primary_retains_)(int) = nullptr;
  tcuCtxPopCurrent_v2* pop_ = nullptr;
  tcuCtxPushCurrent_v2* push_ = nullptr;
};

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

int count_calls(const std::string& log, const std::string& function) {
  int n = 0;
  for (const auto& line : lines(log))
    if (line.rfind(function + " ", 0) == 0 || line == function) n++;
  return n;
}

// Index of the first / last log line that starts with `function` (and contains `detail`).
int first_call(const std::vector<std::string>& log, const std::string& function,
               const std::string& detail = "") {
  for (size_t i = 0; i < log.size(); ++i)
    if (log[i].rfind(function, 0) == 0 && log[i].find(detail) != std::string::npos) return int(i);
  return -1;
}
int last_call(const std::vector<std::string>& log, const std::string& function,
              const std::string& detail = "") {
  for (size_t i = log.size(); i-- > 0;)
    if (log[i].rfind(function, 0) == 0 && log[i].find(detail) != std::string::npos) return int(i);
  return -1;
}

CommonEncodeConfig base(Codec codec = Codec::H264) {
  auto c = vhtest::small_config(codec, 64, 48);
  c.gop_length = 10;
  c.low_latency = true;
  return c;
}

CommonEncodeConfig with_b_frames(int b) {
  auto c = base();
  c.low_latency = false;
  c.b_frames = b;
  c.frame_interval_p = b + 1;
  return c;
}

class NvencAdapter : public ::testing::Test {
 protected:
  void SetUp() override { DoubleControl::get().reset(); }
  void TearDown() override {
    EXPECT_EQ(control().violations(), "") << "the adapter broke an NVENC API rule";
    EXPECT_EQ(control().open_sessions(), 0) << "an encoder was not destroyed";
    EXPECT_EQ(control().live_contexts(), 0) << "a context other than the primary one was made";
    EXPECT_LE(control().primary_retains(), 1) << "the primary context is retained once";
    EXPECT_FALSE(control().context_current_here()) << "a context was left pushed";
  }
  static DoubleControl& control() { return DoubleControl::get(); }
  static std::shared_ptr<nv::NvencEncoderProvider> provider(NvidiaEncodeConfig config = {}) {
    return std::make_shared<nv::NvencEncoderProvider>(config);
  }
};

std::vector<EncodedPacket> encode_direct(EncoderBackend& encoder, const CommonEncodeConfig& c,
                                         int first, int count, std::vector<int> forced = {}) {
  std::vector<EncodedPacket> out;
  for (int i = first; i < first + count; ++i) {
    const auto f = vhtest::pattern_frame(PixelFormat::I420, c.width, c.height, i);
    const FrameView view = describe_frame(f.format, f.width, f.height, f.data(), f.size(), f.pitch);
    FrameOptions options;
    options.pts = i;
    options.force_keyframe = std::find(forced.begin(), forced.end(), i) != forced.end();
    encoder.encode(view, options, out);
  }
  return out;
}

void submit(EncodeSession& s, uint32_t generation, const CommonEncodeConfig& c, int index,
            bool force = false) {
  vhtest::submit_frame(s, generation, c, index, std::nullopt, force);
}

std::vector<uint32_t> generations(const std::vector<EncodedPacket>& packets) {
  std::vector<uint32_t> out;
  for (const auto& p : packets) out.push_back(p.generation);
  return out;
}

}  // namespace

// ---- opening and the output ------------------------------------------------------------

TEST_F(NvencAdapter, ProviderReportsTheDoublesCapabilities) {
  auto p = provider();
  const Capabilities caps = p->capabilities(Codec::H264);
  EXPECT_EQ(caps.backend, "nvidia");
  EXPECT_GT(caps.max_width, 0);
  EXPECT_GE(caps.max_b_frames, 1);
  EXPECT_EQ(caps.presets.size(), 7u);
  EXPECT_EQ(p->capabilities(Codec::AV1).max_width, 0) << "AV1 is not in NVENC API 11.1";
  EXPECT_EQ(p->probe().nvenc_library, VIDEOHW_NVENC_DOUBLE_PATH);
  EXPECT_EQ(count_calls(control().log(), "nvEncInitializeEncoder"), 0)
      << "probing opens and closes, it never initialises";
}

TEST_F(NvencAdapter, EncodesH264AndHevcThatDecode) {
  for (Codec codec : {Codec::H264, Codec::HEVC}) {
    const auto c = base(codec);
    auto encoder = provider()->create(c);
    auto out = encode_direct(*encoder, c, 0, 12);
    encoder->finish(out);
    ASSERT_EQ(out.size(), 12u) << to_string(codec);
    const auto frames = vhtest::decode_packets(codec, out);
    ASSERT_EQ(frames.size(), 12u);
    EXPECT_EQ(frames[0].width, 64);
    EXPECT_EQ(frames[0].height, 48);
    EXPECT_EQ(vhtest::all_pts(frames), vhtest::range(0, 12));
    EXPECT_TRUE(out[0].is_keyframe);
    EXPECT_TRUE(vhtest::holds_idr(codec, out[0]));
  }
}

TEST_F(NvencAdapter, DropOrderIsEosThenBuffersThenEncoder) {
  {
    const auto c = base();
    auto encoder = provider()->create(c);
    auto out = encode_direct(*encoder, c, 0, 3);
    encoder->finish(out);
    EXPECT_EQ(control().primary_retains(), 1) << "the encoder runs in the primary context";
  }
  const auto log = lines(control().log());
  const int eos = last_call(log, "nvEncEncodePicture", "EOS");
  const int first_input_destroy = first_call(log, "nvEncDestroyInputBuffer");
  const int first_bitstream_destroy = first_call(log, "nvEncDestroyBitstreamBuffer");
  const int last_input_destroy = last_call(log, "nvEncDestroyInputBuffer");
  const int last_bitstream_destroy = last_call(log, "nvEncDestroyBitstreamBuffer");
  const int destroy = last_call(log, "nvEncDestroyEncoder");
  ASSERT_GE(eos, 0) << control().log();
  ASSERT_GE(destroy, 0);
  EXPECT_LT(eos, first_input_destroy);
  EXPECT_LT(eos, first_bitstream_destroy);
  EXPECT_LT(last_input_destroy, destroy);
  EXPECT_LT(last_bitstream_destroy, destroy);
  EXPECT_EQ(count_calls(control().log(), "nvEncDestroyInputBuffer"), 4);
  EXPECT_EQ(count_calls(control().log(), "nvEncDestroyBitstreamBuffer"), 4);
  EXPECT_EQ(control().primary_retains(), 1) << "the primary context stays for the process";
}

TEST_F(NvencAdapter, EncodersShareTheDevicesPrimaryContext) {
  const auto c = base();
  auto p = provider();
  auto first = p->create(c);
  auto second = p->create(c);
  EXPECT_EQ(control().primary_retains(), 1) << "retained once per process, not per encoder";
  const auto log = lines(control().log());
  std::vector<std::string> devices;
  for (const auto& line : log)
    if (line.rfind("nvEncOpenEncodeSessionEx", 0) == 0)
      devices.push_back(
          line.substr(line.find(" device="), line.find(" apiVersion=") - line.find(" device=")));
  ASSERT_GE(devices.size(), 2u) << control().log();
  for (const auto& device : devices) EXPECT_EQ(device, devices.front());
}

TEST_F(NvencAdapter, OneOpenAndOneSetOfBuffersAcrossManyFlushes) {
  auto p = provider(NvidiaEncodeConfig{3, "", "", 0});
  const int opens_before = count_calls(control().log(), "nvEncOpenEncodeSessionEx");
  const auto c = with_b_frames(2);
  EncodeSession s(1, c, p);
  size_t packets = 0;
  for (int cycle = 0; cycle < 6; ++cycle) {
    for (int i = 0; i < 4; ++i) submit(s, 1, c, cycle * 4 + i);
    packets += s.flush(1).size();
  }
  EXPECT_EQ(packets, 24u) << "flush delivers every frame submitted before it";
  const auto tel = s.telemetry();
  EXPECT_EQ(vhtest::tel_int(tel, "session_inits"), 1);
  EXPECT_EQ(vhtest::tel_int(tel, "encoder_opens"), 1);
  s.close(1);
  const std::string log = control().log();
  EXPECT_EQ(count_calls(log, "nvEncOpenEncodeSessionEx") - opens_before, 1);
  EXPECT_EQ(count_calls(log, "nvEncInitializeEncoder"), 1);
  EXPECT_EQ(count_calls(log, "nvEncCreateInputBuffer"), 3);
  EXPECT_EQ(count_calls(log, "nvEncCreateBitstreamBuffer"), 3);
}

TEST_F(NvencAdapter, ForcedKeyframeIsAnIdrAtThatFrame) {
  auto c = base();
  c.gop_length = 100;
  auto encoder = provider()->create(c);
  auto out = encode_direct(*encoder, c, 0, 12, {7});
  encoder->finish(out);
  ASSERT_EQ(out.size(), 12u);
  const auto frames = vhtest::decode_packets(c.codec, out);
  EXPECT_EQ(vhtest::keyframe_pts(frames), (std::vector<int64_t>{0, 7}));
  for (const auto& p : out) EXPECT_EQ(p.is_keyframe, p.pts == 0 || p.pts == 7) << p.pts;
  EXPECT_TRUE(vhtest::holds_idr(c.codec, out[7]));
  const auto log = control().log();
  EXPECT_NE(log.find("FORCEIDR"), std::string::npos) << "the flag reaches nvEncEncodePicture";
}

TEST_F(NvencAdapter, GopLengthPlacesTheKeyframes) {
  auto c = base(Codec::HEVC);
  c.gop_length = 5;
  auto encoder = provider()->create(c);
  auto out = encode_direct(*encoder, c, 0, 12);
  encoder->finish(out);
  const auto frames = vhtest::decode_packets(c.codec, out);
  EXPECT_EQ(vhtest::keyframe_pts(frames), (std::vector<int64_t>{0, 5, 10}));
}

TEST_F(NvencAdapter, BFramesComeOutInDecodeOrderWithMonotonicDts) {
  const auto c = with_b_frames(2);
  auto encoder = provider()->create(c);
  auto out = encode_direct(*encoder, c, 0, 10);
  EXPECT_LT(out.size(), 10u) << "B-frames hold pictures back until the next P";
  encoder->finish(out);
  ASSERT_EQ(out.size(), 10u);
  for (size_t i = 0; i < out.size(); ++i) {
    EXPECT_LE(out[i].dts, out[i].pts) << i;
    if (i) {
      EXPECT_LT(out[i - 1].dts, out[i].dts) << i;
    }
  }
  const auto frames = vhtest::decode_packets(c.codec, out);
  EXPECT_EQ(vhtest::all_pts(frames), vhtest::range(0, 10));
  int b_pictures = 0;
  for (const auto& f : frames) b_pictures += f.pict_type == 'B';
  EXPECT_GT(b_pictures, 0);
}

TEST_F(NvencAdapter, FlushWithHeldBFramesRestartsWithAnIdrAndKeepsTheSession) {
  const auto c = with_b_frames(2);
  auto encoder = provider()->create(c);
  auto out = encode_direct(*encoder, c, 0, 5);
  const size_t before = out.size();
  const FlushResult result = encoder->flush(out);
  EXPECT_EQ(out.size(), 5u);
  EXPECT_TRUE(result.restarted_stream);
  EXPECT_FALSE(result.reopened) << "NVENC keeps its session";
  EXPECT_EQ(result.packets, int64_t(out.size() - before));
  EXPECT_STREQ(flush_mode_name(result), "end_of_stream");
  auto second = encode_direct(*encoder, c, 5, 5);
  encoder->finish(second);
  ASSERT_EQ(second.size(), 5u);
  EXPECT_TRUE(second[0].is_keyframe);
  EXPECT_EQ(second[0].pts, 5);
  EXPECT_EQ(encoder->stats().encoder_opens, 1);
  out.insert(out.end(), second.begin(), second.end());
  EXPECT_EQ(vhtest::all_pts(vhtest::decode_packets(c.codec, out)), vhtest::range(0, 10));
}

// ---- switching through the session -------------------------------------------------------

class NvencSwitch : public NvencAdapter, public ::testing::WithParamInterface<SwitchMode> {};

CommonEncodeConfig lower_rate() {
  auto c = base();
  c.rate_control.bitrate_bps /= 2;
  return c;
}
CommonEncodeConfig smaller() {
  auto c = base();
  c.width = 48;
  c.height = 32;
  return c;
}
CommonEncodeConfig hevc() {
  return base(Codec::HEVC);
}

struct SwitchCase {
  CommonEncodeConfig target;
  bool in_place;
};

TEST_P(NvencSwitch, ReconfiguresInPlaceOrOpensANewSessionAndLosesNothing) {
  const SwitchMode mode = GetParam();
  for (const SwitchCase& sc :
       {SwitchCase{lower_rate(), true}, SwitchCase{smaller(), true}, SwitchCase{hevc(), false}}) {
    SCOPED_TRACE(std::to_string(sc.target.width) + "x" + std::to_string(sc.target.height) + " " +
                 to_string(sc.target.codec));
    auto p = provider();
    EncodeSession s(1, base(), p);
    for (int i = 0; i < 4; ++i) submit(s, 1, base(), i);
    const uint32_t g = s.switch_to(1, sc.target, p, mode, true);
    int frame = 4;
    if (mode == SwitchMode::OnNextKeyframe) {
      for (; frame < 6; ++frame) submit(s, 1, base(), frame);
    }
    for (int end = frame + 6; frame < end; ++frame)
      submit(s, g, sc.target, frame, mode == SwitchMode::OnNextKeyframe && frame == 6);
    auto out = s.close(g);
    ASSERT_EQ(out.size(), size_t(frame)) << "every frame has its packet";
    const auto tel = s.telemetry();
    EXPECT_EQ(vhtest::tel_int(tel, "switches_in_place"), sc.in_place ? 1 : 0);
    EXPECT_EQ(vhtest::tel_int(tel, "switches_new_session"), sc.in_place ? 0 : 1);
    std::vector<EncodedPacket> first, second;
    for (auto& pkt : out) (pkt.generation == 1 ? first : second).push_back(pkt);
    ASSERT_FALSE(second.empty());
    EXPECT_EQ(second.front().generation, g);
    EXPECT_TRUE(second.front().is_keyframe) << "force_idr_on_activate";
    const auto decoded = vhtest::decode_packets(sc.target.codec, second);
    ASSERT_EQ(decoded.size(), second.size());
    EXPECT_EQ(decoded[0].width, sc.target.width);
    EXPECT_EQ(decoded[0].height, sc.target.height);
  }
  const std::string log = control().log();
  EXPECT_EQ(count_calls(log, "nvEncReconfigureEncoder"), 2) << "bitrate and size, in place";
}

INSTANTIATE_TEST_SUITE_P(EveryMode, NvencSwitch,
                         ::testing::Values(SwitchMode::Immediate, SwitchMode::OnNextKeyframe,
                                           SwitchMode::DrainThenSwap),
                         [](const auto& info) { return std::string(to_string(info.param)); });

TEST_F(NvencAdapter, SizeBeyondTheSessionMaximumTakesANewSession) {
  auto p = provider();
  auto big = base();
  big.width = 2560;
  big.height = 1440;
  EXPECT_FALSE(p->can_reconfigure(base(), big)) << "64x48 initialises a 2048x2048 maximum";
  EXPECT_TRUE(p->can_reconfigure(base(), smaller()));
  EXPECT_FALSE(p->can_reconfigure(base(), hevc()));
}

// ---- faults ------------------------------------------------------------------------------

TEST_F(NvencAdapter, ReconfigureFaultRollsBackAndLosesNoFrame) {
  auto p = provider();
  EncodeSession s(1, base(), p);
  for (int i = 0; i < 3; ++i) submit(s, 1, base(), i);
  control().set_faults("reconfigure");
  uint32_t g = s.switch_to(1, lower_rate(), p, SwitchMode::Immediate, true);
  int accepted = 3;
  for (int i = 3; i < 8; ++i) {
    try {
      submit(s, g, lower_rate(), i);
    } catch (const Error& e) {
      ASSERT_EQ(e.kind(), ErrorKind::Switch) << e.what();
      g = 1;  // rolled back: the old handle is valid again
      submit(s, g, base(), i);
    }
    accepted++;
  }
  std::vector<EncodedPacket> out;
  for (;;) {
    try {
      out = s.close(g);
      break;
    } catch (const Error& e) {
      ASSERT_EQ(e.kind(), ErrorKind::Switch) << e.what();
      g = 1;
    }
  }
  EXPECT_EQ(out.size(), size_t(accepted));
  EXPECT_EQ(vhtest::tel_int(s.telemetry(), "switch_failures"), 1);
  EXPECT_NE(vhtest::tel_str(s.telemetry(), "switch_fail_reason").find("nvEncReconfigureEncoder"),
            std::string::npos);
  EXPECT_EQ(vhtest::decode_packets(Codec::H264, out).size(), out.size());
}

TEST_F(NvencAdapter, OpenFaultOnANewSessionLeavesTheCurrentOneRunning) {
  auto p = provider();
  EncodeSession s(1, base(), p);
  for (int i = 0; i < 3; ++i) submit(s, 1, base(), i);
  control().set_faults("open@1");
  vhtest::expect_error(
      ErrorKind::Switch, [&] { s.switch_to(1, hevc(), p, SwitchMode::Immediate, true); },
      "switch whose new session cannot open");
  for (int i = 3; i < 6; ++i) submit(s, 1, base(), i);
  const auto out = s.close(1);
  EXPECT_EQ(out.size(), 6u);
  EXPECT_EQ(generations(out), std::vector<uint32_t>(6, 1));
}

TEST_F(NvencAdapter, BufferAllocationFaultFailsCreationAndReleasesWhatWasMade) {
  control().set_faults("create_bitstream@2");
  auto p = provider();
  vhtest::expect_error(
      ErrorKind::Encode, [&] { p->create(base()); }, "create with a failing buffer");
  // TearDown checks: no encoder, no context left, no rule broken on the way out.
}

TEST_F(NvencAdapter, EncodeFaultBreaksTheSessionWithTheDriversReason) {
  const auto c = base();
  auto encoder = provider()->create(c);
  auto out = encode_direct(*encoder, c, 0, 2);
  control().set_faults("encode@1");
  try {
    encode_direct(*encoder, c, 2, 1);
    FAIL() << "the injected encode failure was not reported";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Encode);
    EXPECT_NE(std::string(e.what()).find("nvEncEncodePicture"), std::string::npos) << e.what();
  }
  auto rest = encode_direct(*encoder, c, 3, 2);  // the encoder itself is still usable
  encoder->finish(rest);
  EXPECT_EQ(out.size() + rest.size(), 4u);
}

// ---- the machine cannot encode ------------------------------------------------------------

TEST_F(NvencAdapter, GpuWithoutEncodeEngineIsBackendUnavailableNamingIt) {
  control().reset({{"NO_ENCODE_DEVICE", "1"}});
  try {
    provider();
    FAIL() << "an H100-like device opened";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::BackendUnavailable);
    EXPECT_NE(std::string(e.what()).find("no encode engine"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("NV_ENC_ERR_NO_ENCODE_DEVICE"), std::string::npos);
  }
  EXPECT_NE(nv::nvidia_encode_unavailable_reason().find("no encode engine"), std::string::npos);
  std::string reason;
  EXPECT_EQ(resolve_encode_backend("auto", &reason), "software");
  EXPECT_NE(reason.find("no encode engine"), std::string::npos) << reason;
  vhtest::expect_error(
      ErrorKind::BackendUnavailable,
      [] { make_encoder_provider("nvidia", SoftwareEncodeConfig{}); },
      "explicit nvidia on an H100");
}

TEST_F(NvencAdapter, DriverOlderThanTheHeaderIsBackendUnavailable) {
  control().reset({{"MAX_VERSION", "11.0"}});
  try {
    provider();
    FAIL() << "a driver older than the header was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::BackendUnavailable);
    EXPECT_NE(std::string(e.what()).find("driver too old"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("11.0"), std::string::npos) << e.what();
  }
}

TEST_F(NvencAdapter, MissingLibraryIsBackendUnavailableWithTheLoadersText) {
  setenv("VIDEOHW_NVENC_LIBRARY", "/nonexistent/libnvidia-encode.so.1", 1);
  std::string message;
  try {
    provider();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::BackendUnavailable);
    message = e.what();
  }
  setenv("VIDEOHW_NVENC_LIBRARY", VIDEOHW_NVENC_DOUBLE_PATH, 1);
  EXPECT_NE(message.find("/nonexistent/libnvidia-encode.so.1"), std::string::npos) << message;
  EXPECT_NE(message.find("VIDEOHW_NVENC_LIBRARY"), std::string::npos) << message;
}

TEST_F(NvencAdapter, DriverInfoReportsTheNegotiatedApiVersion) {
  const auto info = nv::nvenc_driver_info();
  EXPECT_EQ(info.error, "");
  EXPECT_EQ(info.nvenc_library, VIDEOHW_NVENC_DOUBLE_PATH);
  EXPECT_GE(info.driver_api_version, nv::kHeaderNvencVersion);
  EXPECT_FALSE(info.driver_api_text.empty());
}

// ---- bad input -----------------------------------------------------------------------------

TEST_F(NvencAdapter, BadConfigsAreRefusedBeforeTheDriverIsAsked) {
  vhtest::expect_error(
      ErrorKind::Config,
      [] {
        provider(NvidiaEncodeConfig{4, "slow", "", 0});
      },
      "x264 preset name");
  vhtest::expect_error(
      ErrorKind::Config,
      [] {
        provider(NvidiaEncodeConfig{0, "", "", 0});
      },
      "empty ring");
  vhtest::expect_error(
      ErrorKind::Config,
      [] {
        provider(NvidiaEncodeConfig{4, "", "", 7});
      },
      "device beyond those present");
  auto p = provider(NvidiaEncodeConfig{2, "", "", 0});
  vhtest::expect_error(
      ErrorKind::UnsupportedConfig, [&] { EncodeSession s(1, with_b_frames(3), p); },
      "a ring shallower than the B-frames");
}

TEST_F(NvencAdapter, AFrameOfTheWrongSizeIsRefusedAndTheSessionGoesOn) {
  auto p = provider();
  EncodeSession s(1, base(), p);
  submit(s, 1, base(), 0);
  vhtest::expect_error(
      ErrorKind::InvalidFrame, [&] { submit(s, 1, smaller(), 1); }, "frame of another size");
  submit(s, 1, base(), 1);
  EXPECT_EQ(s.close(1).size(), 2u);
}

// The adapter never converts: I420 and NV12 of its size go in, anything else is refused as
// a videohw bug (the pipeline prepares every frame) before any buffer is touched.
TEST_F(NvencAdapter, OnlyPreparedFramesAreAccepted) {
  auto p = provider();
  auto encoder = p->create(base());
  struct Input {
    PixelFormat format;
    int width, height;
    bool prepared;
  };
  const std::vector<Input> inputs = {
      {PixelFormat::I420, 64, 48, true},  {PixelFormat::I420, 48, 32, false},
      {PixelFormat::NV12, 96, 64, false}, {PixelFormat::ARGB8888, 64, 48, false},
      {PixelFormat::NV12, 64, 48, true},  {PixelFormat::I420, 128, 96, false},
      {PixelFormat::I420, 64, 48, true}};
  std::vector<EncodedPacket> out;
  int64_t pts = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const auto f =
        vhtest::pattern_frame(inputs[i].format, inputs[i].width, inputs[i].height, int(i));
    FrameOptions options;
    options.pts = pts;
    const FrameView view = describe_frame(f.format, f.width, f.height, f.data(), f.size(), f.pitch);
    if (inputs[i].prepared) {
      encoder->encode(view, options, out);
      ++pts;
      continue;
    }
    try {
      encoder->encode(view, options, out);
      ADD_FAILURE() << "input " << i << " accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Encode);
      EXPECT_NE(std::string(e.what()).find("internal: frame not prepared"), std::string::npos)
          << e.what();
    }
  }
  encoder->finish(out);
  const auto frames = vhtest::decode_packets(Codec::H264, out);
  ASSERT_EQ(frames.size(), 3u);
  for (const auto& frame : frames) {
    EXPECT_EQ(frame.width, 64);
    EXPECT_EQ(frame.height, 48);
  }
  EXPECT_EQ(encoder->stats().frames_encoded, 3);
  encoder.reset();
  EXPECT_EQ(count_calls(control().log(), "nvEncCreateInputBuffer"), 4) << "no buffer resized";
}

// A resize the driver refuses: the session rolls back to the running encoder, and the
// pipeline scales the frames already sent at the new size to the kept encoder's.
TEST_F(NvencAdapter, RefusedInPlaceResizeRollsBackAndScalesTheNewSizeFrames) {
  auto p = provider();
  EncodeSession s(1, base(), p);
  for (int i = 0; i < 3; ++i) submit(s, 1, base(), i);
  ASSERT_TRUE(p->can_reconfigure(base(), smaller()));
  control().set_faults("reconfigure");
  uint32_t g = s.switch_to(1, smaller(), p, SwitchMode::Immediate, true);
  for (int i = 3; i < 8; ++i) {
    try {
      submit(s, g, g == 1 ? base() : smaller(), i);
    } catch (const Error& e) {
      ASSERT_EQ(e.kind(), ErrorKind::Switch) << e.what();
      g = 1;
      submit(s, g, base(), i);
    }
  }
  std::vector<EncodedPacket> out;
  for (;;) {
    try {
      out = s.close(g);
      break;
    } catch (const Error& e) {
      ASSERT_EQ(e.kind(), ErrorKind::Switch) << e.what();
      g = 1;
    }
  }
  const auto frames = vhtest::decode_packets(Codec::H264, out);
  ASSERT_EQ(frames.size(), 8u) << "no frame lost";
  for (const auto& frame : frames) {
    EXPECT_EQ(frame.width, 64);
    EXPECT_EQ(frame.height, 48);
  }
  for (const auto& packet : out) EXPECT_EQ(packet.generation, 1u);
  EXPECT_EQ(vhtest::tel_int(s.telemetry(), "switch_failures"), 1);
  EXPECT_GE(vhtest::tel_int(s.telemetry(), "frames_reprepared"), 1);
  const std::string log = control().log();
  EXPECT_EQ(count_calls(log, "nvEncInitializeEncoder"), 1);
  // One 48x32 ring was made for the reconfigure the driver refused (the double reports any
  // buffer still alive at destroy as a violation, checked in TearDown); nothing else.
  EXPECT_EQ(count_calls(log, "nvEncCreateInputBuffer"), 8);
}

TEST_F(NvencAdapter, EveryInputFormatReachesTheEncoder) {
  for (PixelFormat format : {PixelFormat::ARGB8888, PixelFormat::BGRA, PixelFormat::RGB24,
                             PixelFormat::NV12, PixelFormat::I420}) {
    auto p = provider();
    EncodeSession s(1, base(), p);
    for (int i = 0; i < 3; ++i) {
      const auto f = vhtest::pattern_frame(format, 64, 48, i);
      s.submit(1, f.format, f.data(), f.size(), f.pitch, FrameOptions{});
    }
    EXPECT_EQ(vhtest::decode_packets(Codec::H264, s.close(1)).size(), 3u) << to_string(format);
  }
}

// ---- frames in device memory ------------------------------------------------------------

namespace {

// `f`'s bytes in "device" memory: the CUDA double's device memory is host memory, so the
// test writes it directly.
std::unique_ptr<DeviceBuffer> on_device(const vhtest::TestFrame& f) {
  auto memory = device_memory().allocate(0, f.size());
  std::memcpy(reinterpret_cast<void*>(memory->address()), f.data(), f.size());
  return memory;
}

// The packets of `count` pattern frames of `format`, submitted from device memory or from
// the host.
std::vector<EncodedPacket> encode_session_frames(const std::shared_ptr<nv::NvencEncoderProvider>& p,
                                                 const CommonEncodeConfig& c, PixelFormat format,
                                                 int count, bool from_device, TelemetryMap* tel) {
  EncodeSession s(1, c, p);
  std::vector<EncodedPacket> out;
  for (int i = 0; i < count; ++i) {
    const auto f = vhtest::pattern_frame(format, c.width, c.height, i);
    FrameOptions options;
    options.pts = i;
    if (from_device) {
      // A new allocation per frame, freed right after submit: the session must have copied it.
      auto memory = on_device(f);
      s.submit_device(1, format, memory->address(), 0, f.size(), f.pitch, options);
    } else {
      s.submit(1, format, f.data(), f.size(), f.pitch, options);
    }
    auto ready = s.reap(1);
    out.insert(out.end(), std::make_move_iterator(ready.begin()),
               std::make_move_iterator(ready.end()));
  }
  auto rest = s.flush(1);
  out.insert(out.end(), std::make_move_iterator(rest.begin()), std::make_move_iterator(rest.end()));
  if (tel) *tel = s.telemetry();
  s.close(1);
  return out;
}

}  // namespace

TEST_F(NvencAdapter, DeviceFramesAreEncodedFromRegisteredDeviceInputsWithoutAHostBuffer) {
  for (const PixelFormat format : {PixelFormat::NV12, PixelFormat::I420}) {
    SCOPED_TRACE(to_string(format));
    DoubleControl::get().reset();
    const auto c = with_b_frames(2);
    auto p = provider(NvidiaEncodeConfig{4, "", "", 0});
    TelemetryMap tel;
    const auto device = encode_session_frames(p, c, format, 14, true, &tel);
    const std::string log = control().log();
    ASSERT_EQ(device.size(), 14u);
    EXPECT_EQ(vhtest::tel_int(tel, "frames_from_device"), 14);
    EXPECT_EQ(vhtest::tel_int(tel, "device_input_frames"), 14);
    EXPECT_EQ(vhtest::tel_int(tel, "device_frames_downloaded"), 0);
    EXPECT_EQ(count_calls(log, "nvEncLockInputBuffer"), 0) << "no host input buffer is written";
    EXPECT_EQ(count_calls(log, "nvEncMapInputResource"), 14);
    EXPECT_EQ(count_calls(log, "nvEncUnmapInputResource"), 14);
    const int registered = count_calls(log, "nvEncRegisterResource");
    EXPECT_GE(registered, 1);
    EXPECT_LE(registered, 4) << "one registration per slot, not per frame";
    EXPECT_EQ(count_calls(log, "nvEncUnregisterResource"), registered);
    // Every unmap follows the lock of some bitstream: NVENC reads the input until then.
    const auto all = lines(log);
    EXPECT_LT(first_call(all, "nvEncLockBitstream"), first_call(all, "nvEncUnmapInputResource"));

    DoubleControl::get().reset();
    const auto host = encode_session_frames(p, c, format, 14, false, nullptr);
    ASSERT_EQ(host.size(), device.size());
    for (size_t i = 0; i < host.size(); ++i)
      EXPECT_EQ(host[i].data, device[i].data) << "packet " << i << " differs from the host path";
  }
}

TEST_F(NvencAdapter, DeviceFramesOfAFailedResizeAreDownloadedAndScaledByThePipeline) {
  // A resize that fails in place (reconfigure fault) rolls back: the frames already made for
  // the new size reach the old encoder from device memory, and the pipeline's encode stage
  // copies them down and scales them (the adapter converts nothing).
  const auto c = base();
  auto p = provider();
  EncodeSession s(1, c, p);
  auto bigger = c;
  bigger.width = 96;
  bigger.height = 64;
  control().set_faults("reconfigure");
  uint32_t g = s.switch_to(1, bigger, p, SwitchMode::Immediate, true);
  int accepted = 0;
  for (int i = 0; i < 6; ++i) {
    const auto f = vhtest::pattern_frame(PixelFormat::NV12, bigger.width, bigger.height, i);
    auto memory = on_device(f);
    FrameOptions options;
    options.pts = i;
    try {
      s.submit_device(g, PixelFormat::NV12, memory->address(), 0, f.size(), f.pitch, options);
      accepted++;
    } catch (const Error& e) {
      ASSERT_EQ(e.kind(), ErrorKind::Switch) << e.what();
      break;  // rolled back: this size is no longer the session's
    }
  }
  ASSERT_GE(accepted, 1);
  std::vector<EncodedPacket> out;
  TelemetryMap tel;
  for (g = 1;;) {
    try {
      out = s.close(g);
      tel = s.telemetry();
      break;
    } catch (const Error& e) {
      ASSERT_EQ(e.kind(), ErrorKind::Switch) << e.what();
    }
  }
  EXPECT_EQ(out.size(), size_t(accepted));
  EXPECT_EQ(vhtest::tel_int(tel, "device_frames_downloaded"), accepted);
  // Converted once each: by the encode stage, or by the transform stage once it has seen
  // the rollback.
  EXPECT_EQ(vhtest::tel_int(tel, "frames_converted"), accepted);
  EXPECT_GE(vhtest::tel_int(tel, "frames_reprepared"), 1);
  EXPECT_EQ(vhtest::tel_int(tel, "device_input_frames"), 0);
  const auto frames = vhtest::decode_packets(Codec::H264, out);
  ASSERT_EQ(frames.size(), out.size());
  for (const auto& f : frames) EXPECT_EQ(f.width, c.width);
}
