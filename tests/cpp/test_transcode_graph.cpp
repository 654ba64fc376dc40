// pipeline/transcode_graph: demux -> decode -> dispatch -> encode (one or more outputs) ->
// mux on stage threads, with the software decoder and encoder providers, into a fresh
// folder per test. Outputs are read back with libavformat + libavcodec (support/media_probe),
// never with videohw's media code.
//
// The runs are several hundred small frames so every stage thread is busy at once; run
// this suite under ThreadSanitizer too (docs/testing.md).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "backend/decoder_registry.hpp"
#include "backend/encoder_registry.hpp"
#include "contract/errors.hpp"
#include "hooks/fault_injection.hpp"
#include "media/demuxer.hpp"
#include "pipeline/transcode_graph.hpp"
#include "support/frames.hpp"
#include "support/media_probe.hpp"
#include "support/session_support.hpp"
#include "support/transcode_files.hpp"

using namespace videohw;
using namespace videohw::pipeline;
using vhtest::count_packets;
using vhtest::ProbedFile;
using vhtest::tel_int;
using vhtest::TempDir;

namespace {

constexpr int kW = 64, kH = 48;  // source size (vhtest::make_source's)
constexpr int kFrames = 300;     // source frames (10 s at 30 fps)
// A wait for the stages to get somewhere: far longer than they take, even under sanitizers.
constexpr std::chrono::seconds kWaitLimit{20};

using Names = std::vector<std::string>;

// The suite's source, src.mp4: kFrames frames unless a test needs fewer.
std::string make_source(const TempDir& dir, int frames = kFrames) {
  return vhtest::make_source(dir, "src.mp4", frames);
}

std::shared_ptr<const DecoderProvider> software_decoder() {
  return std::shared_ptr<const DecoderProvider>(
      make_decoder_provider("software", DecodeBackendConfigs{}));
}

std::shared_ptr<const EncoderProvider> software_encoder() {
  return std::shared_ptr<const EncoderProvider>(
      make_encoder_provider("software", SoftwareEncodeConfig{}));
}

// A provider whose every frame takes `delay_ms` longer to encode.
std::shared_ptr<const EncoderProvider> slow_encoder(int delay_ms) {
  auto plan = std::make_shared<FaultPlan>();
  plan->encode_delay_ms = delay_ms;
  return std::make_shared<FaultInjectingProvider>(software_encoder(), plan);
}

CommonEncodeConfig config(int width, int height, int64_t bitrate = 300'000) {
  CommonEncodeConfig c = vhtest::small_config(Codec::H264, width, height);
  c.gop_length = 30;
  c.rate_control.bitrate_bps = bitrate;
  return c;
}

TranscodeOutput output(const std::string& path, int width, int height,
                       std::shared_ptr<const EncoderProvider> provider = nullptr) {
  TranscodeOutput o;
  o.path = path;
  o.config = config(width, height);
  o.provider = provider ? std::move(provider) : software_encoder();
  return o;
}

std::unique_ptr<TranscodeGraph> make_graph(const std::string& source,
                                           std::vector<TranscodeOutput> outputs,
                                           std::vector<TranscodeSwitch> switches = {},
                                           TranscodeOptions options = {}) {
  return std::make_unique<TranscodeGraph>(media::Demuxer::open_path(source), software_decoder(),
                                          std::move(outputs), std::move(switches), options);
}

TranscodeReport run(const std::string& source, std::vector<TranscodeOutput> outputs,
                    std::vector<TranscodeSwitch> switches = {}, TranscodeOptions options = {}) {
  auto graph = make_graph(source, std::move(outputs), std::move(switches), options);
  graph->start();
  return graph->finish();
}

double seconds(const ProbedFile& f, int64_t pts) {
  return double(pts) * f.time_base_num / f.time_base_den;
}

// The output shows the source's pictures at the source's times (display order).
void expect_same_times(const ProbedFile& out, const ProbedFile& src, size_t count) {
  ASSERT_EQ(out.pictures.size(), count);
  ASSERT_GE(src.pictures.size(), count);
  for (size_t i = 0; i < count; ++i)
    ASSERT_NEAR(seconds(out, out.pictures[i].pts), seconds(src, src.pictures[i].pts), 1e-3)
        << "picture " << i;
}

// ---- what comes out -------------------------------------------------------------------------

TEST(TranscodeGraph, SourceIsWhatTheTestsAssume) {
  TempDir dir;
  const ProbedFile src = vhtest::probe_file(make_source(dir));
  ASSERT_EQ(src.pictures.size(), size_t(kFrames));
  EXPECT_EQ(src.decode_errors, 0);
  // B-frames: decode order differs from display order.
  bool reordered = false;
  for (size_t i = 1; i < src.packets.size(); ++i)
    reordered |= src.packets[i].pts < src.packets[i - 1].pts;
  EXPECT_TRUE(reordered);
}

TEST(TranscodeGraph, OneOutputHasEveryFrameAtTheSourceTimes) {
  TempDir dir;
  const std::string source = make_source(dir);
  const std::string path = dir / "out.mp4";
  const TranscodeReport report = run(source, {output(path, 32, 24)});

  ASSERT_EQ(report.outputs.size(), 1u);
  const TranscodeOutputReport& o = report.outputs[0];
  EXPECT_EQ(o.path, path);
  EXPECT_EQ(o.files, Names{path});
  EXPECT_EQ(o.frames, kFrames);
  EXPECT_EQ(o.packets, kFrames);
  EXPECT_EQ(o.keyframes, kFrames / 30);
  EXPECT_EQ(o.packets_per_generation, (std::map<uint32_t, int64_t>{{1, kFrames}}));
  EXPECT_EQ(o.switches, 0);
  EXPECT_GT(o.bytes, 0);
  EXPECT_EQ(report.progress.frames_dispatched, kFrames);
  EXPECT_EQ(report.progress.frames_decoded, kFrames);
  EXPECT_EQ(report.progress.frames_discarded, 0);
  EXPECT_TRUE(report.progress.finished);
  EXPECT_EQ(report.decode_errors, 0);
  EXPECT_EQ(report.timestamps_repaired, 0);
  EXPECT_EQ(report.audio, "no audio stream");
  EXPECT_EQ(tel_int(report.decode, "frames_out"), kFrames);

  const ProbedFile out = vhtest::probe_file(path);
  const ProbedFile src = vhtest::probe_file(source);
  EXPECT_EQ(out.decode_errors, 0);
  EXPECT_EQ(out.width, 32);
  EXPECT_EQ(out.height, 24);
  ASSERT_FALSE(out.pictures.empty());
  EXPECT_TRUE(out.pictures.front().key);
  expect_same_times(out, src, kFrames);
  EXPECT_EQ(dir.entries(), (Names{"out.mp4", "src.mp4"}));
}

TEST(TranscodeGraph, TwoOutputsFromOneDecode) {
  TempDir dir;
  const std::string source = make_source(dir);
  const TranscodeReport report =
      run(source, {output(dir / "a.mkv", kW, kH), output(dir / "b.ts", 32, 24)});
  ASSERT_EQ(report.outputs.size(), 2u);
  EXPECT_EQ(tel_int(report.decode, "frames_out"), kFrames);
  EXPECT_EQ(tel_int(report.decode, "session_inits"), 1);
  const ProbedFile src = vhtest::probe_file(source);
  const int sizes[2][2] = {{kW, kH}, {32, 24}};
  for (int i = 0; i < 2; ++i) {
    SCOPED_TRACE(report.outputs[i].path);
    EXPECT_EQ(report.outputs[i].frames, kFrames);
    EXPECT_EQ(report.outputs[i].packets, kFrames);
    const ProbedFile out = vhtest::probe_file(report.outputs[i].path);
    EXPECT_EQ(out.width, sizes[i][0]);
    EXPECT_EQ(out.height, sizes[i][1]);
    EXPECT_EQ(out.decode_errors, 0);
    EXPECT_TRUE(out.pictures.front().key);
    // Matroska: millisecond time base; MPEG-TS: 90 kHz, starting where the muxer puts it.
    ASSERT_EQ(out.pictures.size(), size_t(kFrames));
    const double offset = seconds(out, out.pictures[0].pts) - seconds(src, src.pictures[0].pts);
    for (size_t f = 0; f < out.pictures.size(); ++f)
      ASSERT_NEAR(seconds(out, out.pictures[f].pts) - seconds(src, src.pictures[f].pts), offset,
                  1.5e-3)
          << "picture " << f;
  }
  EXPECT_EQ(dir.entries(), (Names{"a.mkv", "b.ts", "src.mp4"}));
}

TEST(TranscodeGraph, SwitchByFrameMakesTwoGenerations) {
  TempDir dir;
  const std::string source = make_source(dir);
  for (SwitchMode mode :
       {SwitchMode::Immediate, SwitchMode::OnNextKeyframe, SwitchMode::DrainThenSwap}) {
    SCOPED_TRACE("mode " + std::to_string(int(mode)));
    const std::string path = dir / ("out" + std::to_string(int(mode)) + ".mp4");
    TranscodeSwitch s;
    s.output = 0;
    s.at_frame = 100;
    s.config = config(32, 24, 100'000);  // another bitrate: one file
    s.provider = software_encoder();
    s.mode = mode;
    const TranscodeReport report = run(source, {output(path, 32, 24)}, {s});
    const TranscodeOutputReport& o = report.outputs[0];
    EXPECT_EQ(o.switches, 1);
    EXPECT_EQ(o.files, Names{path});
    ASSERT_EQ(o.packets_per_generation.size(), 2u);
    const int64_t first = o.packets_per_generation.at(1);
    EXPECT_EQ(first + o.packets_per_generation.at(2), kFrames);
    // No B-frames in the output: decode order is display order, so generation 2 starts at
    // display index `first`. OnNextKeyframe waits for the old GOP's next keyframe (120).
    EXPECT_EQ(first, mode == SwitchMode::OnNextKeyframe ? 120 : 100);
    const ProbedFile out = vhtest::probe_file(path);
    ASSERT_EQ(out.pictures.size(), size_t(kFrames));
    EXPECT_TRUE(out.pictures[size_t(first)].key) << "generation 2 starts on a keyframe";
    EXPECT_EQ(out.decode_errors, 0);
  }
}

TEST(TranscodeGraph, SwitchByTimeAndSeveralSwitches) {
  TempDir dir;
  const std::string source = make_source(dir);
  const std::string path = dir / "out.mkv";
  std::vector<TranscodeSwitch> switches(2);
  // Given out of order: the graph applies them in order of their points.
  switches[0].at_seconds = 6.0;  // frame 180
  switches[0].config = config(32, 24, 400'000);
  switches[1].at_seconds = 2.0;  // frame 60
  switches[1].config = config(32, 24, 100'000);
  for (auto& s : switches) {
    s.provider = software_encoder();
    s.mode = SwitchMode::Immediate;
  }
  const TranscodeReport report = run(source, {output(path, 32, 24)}, switches);
  const TranscodeOutputReport& o = report.outputs[0];
  EXPECT_EQ(o.switches, 2);
  EXPECT_EQ(o.packets_per_generation,
            (std::map<uint32_t, int64_t>{{1, 60}, {2, 120}, {3, kFrames - 180}}));
  EXPECT_EQ(vhtest::probe_file(path).pictures.size(), size_t(kFrames));
}

// "At 2 s" is two seconds into the source, as progress().seconds_done counts: an MPEG-TS
// made by the ffmpeg tool starts at 1.4 s, and the switch must land on frame 60 there as it
// does in the MP4 it was remuxed from, which starts at 0.
TEST(TranscodeGraph, SwitchByTimeCountsFromTheStartOfTheSource) {
  if (!vhtest::have_ffmpeg_tool()) GTEST_SKIP() << "needs the ffmpeg tool to remux to MPEG-TS";
  TempDir dir;
  const std::string mp4 = make_source(dir);
  const std::string ts = dir / "src.ts";
  ASSERT_TRUE(vhtest::run_command("ffmpeg -nostdin -v error -y -i " + vhtest::shell_quoted(mp4) +
                                  " -c copy -f mpegts " + vhtest::shell_quoted(ts)));
  const ProbedFile src = vhtest::probe_file(ts);
  ASSERT_EQ(src.pictures.size(), size_t(kFrames));
  ASSERT_GT(seconds(src, src.pictures[0].pts), 1.0) << "the premise: a TS starting late";
  for (const std::string& source : {mp4, ts}) {
    SCOPED_TRACE(source);
    TranscodeSwitch s;
    s.at_seconds = 2.0;
    s.config = config(32, 24, 100'000);
    s.provider = software_encoder();
    s.mode = SwitchMode::Immediate;
    const TranscodeReport report = run(source, {output(source + ".out.mkv", 32, 24)}, {s});
    EXPECT_EQ(report.outputs[0].packets_per_generation,
              (std::map<uint32_t, int64_t>{{1, 60}, {2, kFrames - 60}}));
  }
}

TEST(TranscodeGraph, SizeSwitchStartsASegment) {
  TempDir dir;
  const std::string source = make_source(dir);
  const std::string path = dir / "out.mp4";
  TranscodeSwitch s;
  s.at_frame = 150;
  s.config = config(48, 32);
  s.provider = software_encoder();
  s.mode = SwitchMode::DrainThenSwap;
  const TranscodeReport report = run(source, {output(path, 32, 24)}, {s});
  const TranscodeOutputReport& o = report.outputs[0];
  ASSERT_EQ(o.files, (Names{path, dir / "out.seg2.mp4"}));
  EXPECT_EQ(o.packets_per_generation, (std::map<uint32_t, int64_t>{{1, 150}, {2, 150}}));
  const ProbedFile first = vhtest::probe_file(o.files[0]);
  const ProbedFile second = vhtest::probe_file(o.files[1]);
  EXPECT_EQ(first.width, 32);
  EXPECT_EQ(second.width, 48);
  EXPECT_EQ(second.height, 32);
  EXPECT_EQ(first.pictures.size() + second.pictures.size(), size_t(kFrames));
  EXPECT_EQ(second.pictures.size(), 150u);
  EXPECT_TRUE(second.pictures.front().key);
  EXPECT_EQ(dir.entries(), (Names{"out.mp4", "out.seg2.mp4", "src.mp4"}));
}

TEST(TranscodeGraph, MaxFrames) {
  TempDir dir;
  const std::string source = make_source(dir);
  const std::string path = dir / "out.mp4";
  TranscodeOptions options;
  options.max_frames = 77;
  const TranscodeReport report = run(source, {output(path, 32, 24)}, {}, options);
  EXPECT_EQ(report.outputs[0].frames, 77);
  EXPECT_EQ(report.progress.frames_dispatched, 77);
  const ProbedFile out = vhtest::probe_file(path);
  expect_same_times(out, vhtest::probe_file(source), 77);
}

TEST(TranscodeGraph, SmallQueuesStillCarryEveryFrame) {
  TempDir dir;
  const std::string source = make_source(dir);
  TranscodeOptions options;
  options.decoded_frames = 1;
  options.access_unit_bytes = 1;
  const TranscodeReport report =
      run(source, {output(dir / "a.mp4", 32, 24), output(dir / "b.mp4", 16, 16)}, {}, options);
  for (const auto& o : report.outputs) {
    EXPECT_EQ(o.frames, kFrames);
    EXPECT_EQ(vhtest::probe_file(o.path).pictures.size(), size_t(kFrames));
  }
}

TEST(TranscodeGraph, AudioIsCopied) {
  if (!vhtest::have_ffmpeg_tool())
    GTEST_SKIP() << "needs the ffmpeg tool to make a source with audio";
  TempDir dir;
  const std::string source = dir / "src.mkv";
  ASSERT_TRUE(vhtest::run_command(
      "ffmpeg -nostdin -v error -y -f lavfi -i testsrc2=size=64x48:rate=30:duration=10 -f lavfi "
      "-i sine=frequency=440:sample_rate=48000:duration=10 -c:v libx264 -preset ultrafast "
      "-pix_fmt yuv420p -bf 2 -c:a aac " +
      vhtest::shell_quoted(source)));
  const int audio = count_packets(source, AVMEDIA_TYPE_AUDIO);
  ASSERT_GT(audio, 100);
  const std::string path = dir / "out.mp4";
  const TranscodeReport report = run(source, {output(path, 32, 24)});
  EXPECT_EQ(report.audio, "copied: aac");
  EXPECT_EQ(report.outputs[0].copied_packets, audio);
  EXPECT_EQ(report.outputs[0].copied_dropped, 0);
  EXPECT_EQ(count_packets(path, AVMEDIA_TYPE_AUDIO), audio);
  EXPECT_EQ(vhtest::probe_file(path).pictures.size(), size_t(kFrames));
  EXPECT_EQ(vhtest::ffmpeg_complaints(path), "");

  TranscodeOptions none;
  none.audio = AudioMode::None;
  const TranscodeReport silent = run(source, {output(dir / "silent.mkv", 32, 24)}, {}, none);
  EXPECT_EQ(silent.audio, "none");
  EXPECT_EQ(count_packets(dir / "silent.mkv", AVMEDIA_TYPE_AUDIO), -1);
}

// ---- backpressure ---------------------------------------------------------------------------

TEST(TranscodeGraph, SlowOutputHoldsTheDispatchAndNothingIsDropped) {
  TempDir dir;
  const std::string source = make_source(dir, 200);
  const TranscodeReport report = run(source, {output(dir / "slow.mp4", 32, 24, slow_encoder(2)),
                                              output(dir / "fast.mp4", 32, 24)});
  const TranscodeOutputReport& slow = report.outputs[0];
  const TranscodeOutputReport& fast = report.outputs[1];
  for (const auto* o : {&slow, &fast}) {
    SCOPED_TRACE(o->path);
    EXPECT_EQ(o->frames, 200);
    EXPECT_EQ(o->packets, 200);
    EXPECT_EQ(vhtest::probe_file(o->path).pictures.size(), 200u);
  }
  // 200 frames at 2 ms more each: the dispatch waited for the slow output for most of it.
  EXPECT_GT(slow.submit_wait_ns, 100'000'000);
  EXPECT_GT(slow.submit_wait_ns, fast.submit_wait_ns);
}

TEST(TranscodeGraph, ProgressAndWaitFromOtherThreads) {
  TempDir dir;
  const std::string source = make_source(dir);
  auto graph = make_graph(
      source, {output(dir / "a.mp4", 32, 24, slow_encoder(1)), output(dir / "b.mkv", 16, 16)});
  graph->start();
  EXPECT_FALSE(graph->wait(1'000'000));
  std::atomic<bool> done{false};
  std::atomic<int64_t> last{0};
  std::atomic<bool> went_back{false};
  std::vector<std::thread> readers;
  for (int i = 0; i < 3; ++i)
    readers.emplace_back([&] {
      while (!done.load()) {
        const TranscodeProgress p = graph->progress();
        if (p.frames_dispatched < last.load()) went_back = true;
        last = std::max<int64_t>(last.load(), p.frames_dispatched);
        EXPECT_EQ(p.packets_out.size(), 2u);
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
    });
  std::thread waiter([&] { EXPECT_TRUE(graph->wait(-1)); });
  waiter.join();
  done = true;
  for (auto& t : readers) t.join();
  EXPECT_FALSE(went_back);
  const TranscodeProgress p = graph->progress();
  EXPECT_TRUE(p.finished);
  EXPECT_EQ(p.frames_dispatched, kFrames);
  EXPECT_NEAR(p.duration_seconds, 10.0, 0.1);
  const TranscodeReport report = graph->finish();
  EXPECT_EQ(report.outputs[0].frames, kFrames);
  EXPECT_EQ(report.outputs[1].frames, kFrames);
}

// ---- cancel, failure, destruction: no file under a requested name ---------------------------

TEST(TranscodeGraph, CancelMidRunRemovesEveryOutput) {
  TempDir dir;
  const std::string source = make_source(dir);
  auto gated = vhtest::TestProvider::software();
  gated->gate->shut();
  vhtest::OpenOnExit open(*gated->gate);
  auto graph =
      make_graph(source, {output(dir / "a.mp4", 32, 24, gated), output(dir / "b.mkv", 16, 16)});
  graph->start();
  ASSERT_TRUE(gated->gate->wait_held(1));
  // Mid-run: an encode call is held, the temporary files exist, nothing is final yet.
  EXPECT_FALSE(graph->progress().finished);
  for (const auto& name : dir.entries())
    EXPECT_TRUE(name == "src.mp4" || name.rfind(".", 0) == 0) << name;
  graph->cancel();
  gated->gate->open();
  EXPECT_TRUE(graph->wait(-1));
  try {
    graph->finish();
    ADD_FAILURE() << "finish() after cancel() did not throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Generic) << e.what();
    EXPECT_NE(std::string(e.what()).find("cancelled"), std::string::npos) << e.what();
  }
  EXPECT_EQ(dir.entries(), Names{"src.mp4"});
  vhtest::expect_error(
      ErrorKind::Config, [&] { graph->finish(); }, "a second finish()");
}

TEST(TranscodeGraph, CancelFromAnotherThreadWhileEverythingRuns) {
  TempDir dir;
  const std::string source = make_source(dir);
  auto graph = make_graph(source, {output(dir / "a.mp4", 32, 24, slow_encoder(1)),
                                   output(dir / "b.ts", 16, 16), output(dir / "c.mkv", 48, 32)});
  graph->start();
  std::thread canceller([&] {
    vhtest::wait_until([&] { return graph->progress().frames_dispatched >= 40; }, kWaitLimit);
    graph->cancel();
  });
  canceller.join();
  EXPECT_LT(graph->progress().frames_dispatched, kFrames);
  vhtest::expect_error(
      ErrorKind::Generic, [&] { graph->finish(); }, "finish after cancel");
  EXPECT_EQ(dir.entries(), Names{"src.mp4"});
}

TEST(TranscodeGraph, CancelAfterTheEndStillKeepsNothing) {
  TempDir dir;
  const std::string source = make_source(dir, 60);
  auto graph = make_graph(source, {output(dir / "a.mp4", 32, 24)});
  graph->start();
  ASSERT_TRUE(graph->wait(-1));
  graph->cancel();
  vhtest::expect_error(
      ErrorKind::Generic, [&] { graph->finish(); }, "finish after cancel");
  EXPECT_EQ(dir.entries(), Names{"src.mp4"});
}

TEST(TranscodeGraph, EncoderFailureRemovesEveryOutput) {
  TempDir dir;
  const std::string source = make_source(dir);
  auto plan = std::make_shared<FaultPlan>();
  plan->fail_activation_at = 0;  // the output's first encoder fails on its first frame
  auto failing = std::make_shared<FaultInjectingProvider>(software_encoder(), plan);
  auto graph =
      make_graph(source, {output(dir / "a.mp4", 32, 24), output(dir / "b.mp4", 32, 24, failing),
                          output(dir / "c.mkv", 16, 16)});
  graph->start();
  EXPECT_TRUE(graph->wait(-1));
  EXPECT_THROW(graph->finish(), Error);
  EXPECT_EQ(dir.entries(), Names{"src.mp4"});
}

TEST(TranscodeGraph, DestroyingAStartedGraphLeavesNoFile) {
  TempDir dir;
  const std::string source = make_source(dir);
  {
    auto graph = make_graph(
        source, {output(dir / "a.mp4", 32, 24, slow_encoder(2)), output(dir / "b.mkv", 16, 16)});
    graph->start();
    ASSERT_TRUE(
        vhtest::wait_until([&] { return graph->progress().frames_dispatched >= 10; }, kWaitLimit));
    EXPECT_FALSE(graph->progress().finished);
  }  // destroyed without finish(): cancels, joins, removes
  EXPECT_EQ(dir.entries(), Names{"src.mp4"});
}

TEST(TranscodeGraph, DestroyingAFinishedButUnreportedGraphLeavesNoFile) {
  TempDir dir;
  const std::string source = make_source(dir, 60);
  {
    auto graph = make_graph(source, {output(dir / "a.mp4", 32, 24)});
    graph->start();
    ASSERT_TRUE(graph->wait(-1));
  }
  EXPECT_EQ(dir.entries(), Names{"src.mp4"});
}

TEST(TranscodeGraph, DestroyingANeverStartedGraphLeavesNoFile) {
  TempDir dir;
  const std::string source = make_source(dir, 30);
  {
    auto graph = make_graph(source, {output(dir / "a.mp4", 32, 24), output(dir / "b.mkv", 16, 16)});
  }
  EXPECT_EQ(dir.entries(), Names{"src.mp4"});
}

// ---- refused before anything runs -----------------------------------------------------------

TEST(TranscodeGraph, RefusesBadOutputsAndSwitches) {
  TempDir dir;
  const std::string source = make_source(dir, 30);
  using vhtest::expect_error;
  expect_error(
      ErrorKind::Config, [&] { make_graph(source, {}); }, "no output");
  expect_error(
      ErrorKind::Config,
      [&] {
        TranscodeGraph graph(std::unique_ptr<media::Demuxer>(), software_decoder(),
                             std::vector<TranscodeOutput>{output(dir / "a.mp4", 32, 24)},
                             std::vector<TranscodeSwitch>{}, TranscodeOptions{});
      },
      "no input");
  expect_error(
      ErrorKind::Config,
      [&] {
        TranscodeGraph graph(media::Demuxer::open_path(source),
                             std::shared_ptr<const DecoderProvider>(),
                             std::vector<TranscodeOutput>{output(dir / "a.mp4", 32, 24)},
                             std::vector<TranscodeSwitch>{}, TranscodeOptions{});
      },
      "no decoder");
  expect_error(
      ErrorKind::Config,
      [&] {
        TranscodeOutput o = output(dir / "a.mp4", 32, 24);
        o.provider = nullptr;
        make_graph(source, {o});
      },
      "an output without an encoder");

  TranscodeSwitch good;
  good.at_frame = 10;
  good.config = config(32, 24, 100'000);
  good.provider = software_encoder();
  TranscodeSwitch bad = good;
  bad.output = 1;
  expect_error(
      ErrorKind::Config, [&] { make_graph(source, {output(dir / "a.mp4", 32, 24)}, {bad}); },
      "a switch naming output 1 of 1");
  bad = good;
  bad.output = -1;
  expect_error(
      ErrorKind::Config, [&] { make_graph(source, {output(dir / "a.mp4", 32, 24)}, {bad}); },
      "a switch naming output -1");
  bad = good;
  bad.at_seconds = 1.0;
  expect_error(
      ErrorKind::Config, [&] { make_graph(source, {output(dir / "a.mp4", 32, 24)}, {bad}); },
      "a switch with a frame and a time");
  bad = good;
  bad.at_frame = -1;
  expect_error(
      ErrorKind::Config, [&] { make_graph(source, {output(dir / "a.mp4", 32, 24)}, {bad}); },
      "a switch with neither");
  bad = good;
  bad.provider = nullptr;
  expect_error(
      ErrorKind::Config, [&] { make_graph(source, {output(dir / "a.mp4", 32, 24)}, {bad}); },
      "a switch without an encoder");
  // A folder that does not exist: refused when the graph is made, and the first output's
  // temporary file goes too.
  expect_error(
      ErrorKind::MediaIo,
      [&] {
        make_graph(source, {output(dir / "a.mp4", 32, 24), output(dir / "no/b.mp4", 32, 24)});
      },
      "an output in a missing folder");
  EXPECT_EQ(dir.entries(), Names{"src.mp4"});
}

TEST(TranscodeGraph, LifecycleMisuse) {
  TempDir dir;
  const std::string source = make_source(dir, 30);
  auto graph = make_graph(source, {output(dir / "a.mp4", 32, 24)});
  vhtest::expect_error(
      ErrorKind::Config, [&] { graph->finish(); }, "finish before start");
  vhtest::expect_error(
      ErrorKind::Config, [&] { graph->wait(0); }, "wait before start");
  graph->start();
  vhtest::expect_error(
      ErrorKind::Config, [&] { graph->start(); }, "a second start");
  const TranscodeReport report = graph->finish();
  EXPECT_EQ(report.outputs[0].frames, 30);
  vhtest::expect_error(
      ErrorKind::Config, [&] { graph->finish(); }, "a second finish");
  EXPECT_EQ(dir.entries(), (Names{"a.mp4", "src.mp4"}));
}

}  // namespace
