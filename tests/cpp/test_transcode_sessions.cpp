// Sessions kept from one stream (one file) to the next: EncodeSession::begin_stream on the
// software encoder, pipeline::TranscodeSessions carried through TranscodeGraphs, and the
// pieces videohw.distributed builds on them: SourceRange (a segment of a file from one
// keyframe to another) and media::SegmentJoin (segments' packets back into one file).
//
// Encoded streams are checked with libavcodec's own decoder (support/decoder) and files
// with libavformat (support/media_probe), never with videohw's bitstream or media code.
// The graphs run on stage threads: run this suite under ThreadSanitizer too.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "backend/decoder_registry.hpp"
#include "backend/encoder_registry.hpp"
#include "contract/errors.hpp"
#include "media/demuxer.hpp"
#include "media/muxer.hpp"
#include "media/segment_join.hpp"
#include "pipeline/transcode_graph.hpp"
#include "pipeline/transcode_sessions.hpp"
#include "session/encode_session.hpp"
#include "support/decoder.hpp"
#include "support/encoded_streams.hpp"
#include "support/frames.hpp"
#include "support/media_probe.hpp"
#include "support/session_support.hpp"
#include "support/transcode_files.hpp"

using namespace videohw;
using namespace videohw::pipeline;
using vhtest::count_packets;
using vhtest::make_source;
using vhtest::tel_int;
using vhtest::TempDir;

namespace {

using Packets = std::vector<EncodedPacket>;
using Names = std::vector<std::string>;

std::shared_ptr<const EncoderProvider> software_encoder(int threads = 0) {
  SoftwareEncodeConfig config;
  config.threads = threads;
  return std::shared_ptr<const EncoderProvider>(make_encoder_provider("software", config));
}

std::shared_ptr<const DecoderProvider> software_decoder() {
  return std::shared_ptr<const DecoderProvider>(
      make_decoder_provider("software", DecodeBackendConfigs{}));
}

// ---- EncodeSession::begin_stream --------------------------------------------------------

// `count` pattern frames (patterns first_pattern.., pts 0..) of the config's size.
void submit_frames(EncodeSession& s, uint32_t generation, const CommonEncodeConfig& size_of,
                   int first_pattern, int count) {
  for (int i = 0; i < count; ++i)
    vhtest::submit_frame(s, generation, size_of, first_pattern + i, int64_t(i));
}

// What a new session makes of `count` frames (patterns 0.., pts 0..).
Packets fresh_stream(const CommonEncodeConfig& config, int count, int threads = 0) {
  EncodeSession s(99, config, software_encoder(threads));
  submit_frames(s, 1, config, 0, count);
  Packets out = s.flush(1);
  vhtest::append(out, s.close(1));
  return out;
}

Packets of_generation(const Packets& packets, uint32_t generation) {
  Packets out;
  for (const auto& p : packets)
    if (p.generation == generation) out.push_back(p);
  return out;
}

std::vector<int64_t> sorted_pts(const Packets& packets) {
  std::vector<int64_t> pts = vhtest::pts_of(packets);
  std::sort(pts.begin(), pts.end());
  return pts;
}

// Byte for byte, with the same timestamps and keyframe flags.
void expect_same_packets(const Packets& got, const Packets& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    SCOPED_TRACE("packet " + std::to_string(i));
    EXPECT_EQ(got[i].pts, want[i].pts);
    EXPECT_EQ(got[i].dts, want[i].dts);
    EXPECT_EQ(got[i].is_keyframe, want[i].is_keyframe);
    EXPECT_TRUE(got[i].data == want[i].data)
        << "payloads differ (" << got[i].data.size() << " vs " << want[i].data.size() << " bytes)";
  }
}

constexpr int kStreamFrames = 20;

// The same config and the very provider that runs: the encoder restarts in place, and the
// new stream is what a new session would have made of the same frames. With and without a
// flush before begin_stream (begin_stream drains by itself).
TEST(BeginStream, InPlaceRestartMakesWhatAFreshSessionMakes) {
  const CommonEncodeConfig c = vhtest::low_latency_config(64, 48);
  const Packets want = fresh_stream(c, kStreamFrames);
  ASSERT_EQ(want.size(), size_t(kStreamFrames));
  for (bool flush_first : {true, false}) {
    SCOPED_TRACE(flush_first ? "flushed first" : "not flushed first");
    const auto provider = software_encoder();
    EncodeSession s(1, c, provider);
    // Other pictures in the first stream, so a rate control or reference carried over
    // shows up in the second stream's bytes.
    submit_frames(s, 1, c, 100, kStreamFrames);
    Packets all;
    if (flush_first) all = s.flush(1);
    const uint32_t g = s.begin_stream(1, c, provider);
    ASSERT_GT(g, 1u);
    EXPECT_EQ(s.state().active_generation, g);
    submit_frames(s, g, c, 0, kStreamFrames);  // pts from 0 again
    vhtest::append(all, s.flush(g));
    ASSERT_EQ(all.size(), size_t(2 * kStreamFrames));
    EXPECT_EQ(of_generation(all, 1).size(), size_t(kStreamFrames));
    const Packets second = of_generation(all, g);
    ASSERT_EQ(second.size(), size_t(kStreamFrames));
    EXPECT_TRUE(second.front().is_keyframe);
    EXPECT_TRUE(vhtest::holds_idr(Codec::H264, second.front()));
    expect_same_packets(second, want);

    const TelemetryMap t = s.telemetry();
    EXPECT_EQ(tel_int(t, "session_inits"), 1);
    EXPECT_EQ(tel_int(t, "switches_in_place"), 1);
    EXPECT_EQ(tel_int(t, "switches_new_session"), 0);
    EXPECT_EQ(tel_int(t, "frames_submitted"), 2 * kStreamFrames);
    EXPECT_EQ(tel_int(t, "packets_out"), 2 * kStreamFrames);
    EXPECT_EQ(tel_int(t, "switch_failures"), 0);
    Packets rest = s.close(g);
    EXPECT_TRUE(rest.empty());
  }
}

// Another provider object (even of the same kind and settings) is never restarted in
// place: the session makes a new encoder, and the new stream is still a fresh one.
TEST(BeginStream, AnotherProviderGetsANewEncoderInTheSession) {
  const CommonEncodeConfig c = vhtest::low_latency_config(64, 48);
  const Packets want = fresh_stream(c, kStreamFrames);
  EncodeSession s(1, c, software_encoder());
  submit_frames(s, 1, c, 100, kStreamFrames);
  Packets all = s.flush(1);
  const uint32_t g = s.begin_stream(1, c, software_encoder());
  submit_frames(s, g, c, 0, kStreamFrames);
  vhtest::append(all, s.flush(g));
  ASSERT_EQ(all.size(), size_t(2 * kStreamFrames));
  expect_same_packets(of_generation(all, g), want);
  const TelemetryMap t = s.telemetry();
  EXPECT_EQ(tel_int(t, "session_inits"), 1);
  EXPECT_EQ(tel_int(t, "switches_in_place"), 0);
  EXPECT_EQ(tel_int(t, "switches_new_session"), 1);
  s.close(g);
}

// A stream of another size: the next frames have the new size, and the packets decode at it.
TEST(BeginStream, AnotherSize) {
  const CommonEncodeConfig big = vhtest::low_latency_config(320, 240);
  const CommonEncodeConfig small = vhtest::low_latency_config(160, 96);
  const auto provider = software_encoder();
  EncodeSession s(1, big, provider);
  submit_frames(s, 1, big, 0, 10);
  Packets all = s.flush(1);
  const uint32_t g = s.begin_stream(1, small, provider);
  EXPECT_EQ(s.state().width, 160);
  EXPECT_EQ(s.state().height, 96);
  // A frame of the old size is refused now.
  vhtest::expect_error(
      ErrorKind::InvalidFrame, [&] { vhtest::submit_frame(s, g, big, 0, 0); },
      "a frame of the old size");
  submit_frames(s, g, small, 0, 10);
  vhtest::append(all, s.flush(g));
  const Packets first = of_generation(all, 1), second = of_generation(all, g);
  ASSERT_EQ(first.size(), 10u);
  ASSERT_EQ(second.size(), 10u);
  EXPECT_TRUE(second.front().is_keyframe);
  EXPECT_TRUE(vhtest::holds_idr(Codec::H264, second.front()));

  const auto old_frames = vhtest::decode_packets(Codec::H264, first);
  ASSERT_EQ(old_frames.size(), 10u);
  EXPECT_EQ(old_frames.front().width, 320);
  EXPECT_EQ(old_frames.front().height, 240);
  // The second stream decodes on its own (its own parameter sets), at the new size.
  const auto new_frames = vhtest::decode_packets(Codec::H264, second);
  ASSERT_EQ(new_frames.size(), 10u);
  for (const auto& f : new_frames) {
    EXPECT_EQ(f.width, 160);
    EXPECT_EQ(f.height, 96);
  }
  EXPECT_EQ(vhtest::all_pts(new_frames), vhtest::range(0, 10));
  EXPECT_TRUE(new_frames.front().key_frame);
  // And after the first stream, as one decoder sees a worker's output.
  const auto both = vhtest::decode_packets(Codec::H264, all);
  ASSERT_EQ(both.size(), 20u);
  EXPECT_EQ(both[9].width, 320);
  EXPECT_EQ(both[10].width, 160);
  EXPECT_EQ(vhtest::tel_int(s.telemetry(), "switches_in_place"), 1);
  s.close(g);
}

// B-frames: the encoder holds frames at the boundary; none is lost, each stream's pts are
// its own 0..N-1 (the restart from 0 is accepted), and the second stream is a fresh one.
// One encoder thread: libx264's frame threads with B-frames do not give the same bytes
// on every run (two new sessions differ now and then), its single thread does.
TEST(BeginStream, BFramesLoseNothingAtTheBoundary) {
  const CommonEncodeConfig c = vhtest::b_frame_config(64, 48);
  const Packets want = fresh_stream(c, kStreamFrames, /*threads=*/1);
  ASSERT_EQ(want.size(), size_t(kStreamFrames));
  const auto provider = software_encoder(/*threads=*/1);
  EncodeSession s(1, c, provider);
  submit_frames(s, 1, c, 100, kStreamFrames);
  // Without begin_stream the pts may not go back.
  EXPECT_TRUE(vhtest::error_of([&] { vhtest::submit_frame(s, 1, c, 0, 0); }).has_value());
  const uint32_t g = s.begin_stream(1, c, provider);
  submit_frames(s, g, c, 0, kStreamFrames);
  Packets all = s.flush(g);
  vhtest::append(all, s.close(g));
  ASSERT_EQ(all.size(), size_t(2 * kStreamFrames)) << "every frame submitted has its packet";
  const Packets first = of_generation(all, 1), second = of_generation(all, g);
  EXPECT_EQ(sorted_pts(first), vhtest::range(0, kStreamFrames));
  EXPECT_EQ(sorted_pts(second), vhtest::range(0, kStreamFrames));
  // Every packet of the first stream comes before the second stream's first.
  for (size_t i = 0; i < first.size(); ++i) EXPECT_EQ(all[i].generation, 1u) << "packet " << i;
  ASSERT_FALSE(second.empty());
  EXPECT_TRUE(second.front().is_keyframe);
  EXPECT_TRUE(vhtest::holds_idr(Codec::H264, second.front()));
  const auto frames = vhtest::decode_packets(Codec::H264, second);
  EXPECT_EQ(vhtest::all_pts(frames), vhtest::range(0, kStreamFrames));
  expect_same_packets(second, want);
  EXPECT_EQ(tel_int(s.telemetry(), "session_inits"), 1);
}

// ---- transcode graphs over kept sessions ------------------------------------------------

CommonEncodeConfig out_config(int b_frames = 0, int width = 32, int height = 24) {
  CommonEncodeConfig c =
      b_frames ? vhtest::b_frame_config(width, height) : vhtest::low_latency_config(width, height);
  c.gop_length = 30;
  c.rate_control.bitrate_bps = 200'000;
  return c;
}

TranscodeOutput output(const std::string& path, std::shared_ptr<const EncoderProvider> provider,
                       const CommonEncodeConfig& config = out_config()) {
  TranscodeOutput o;
  o.path = path;
  o.config = config;
  o.provider = std::move(provider);
  return o;
}

TranscodeOptions with_sessions(std::shared_ptr<TranscodeSessions> sessions) {
  TranscodeOptions o;
  o.sessions = std::move(sessions);
  return o;
}

std::unique_ptr<TranscodeGraph> make_graph(const std::string& source,
                                           std::vector<TranscodeOutput> outputs,
                                           TranscodeOptions options = {}) {
  return std::make_unique<TranscodeGraph>(media::Demuxer::open_path(source), software_decoder(),
                                          std::move(outputs), std::vector<TranscodeSwitch>{},
                                          std::move(options));
}

struct PulledRun {
  TranscodeReport report;
  std::vector<Packets> packets;  // per output, decode order
};

// Starts the graph, pulls every output (path "") until the stages end, and finishes.
PulledRun run_pulled(TranscodeGraph& graph) {
  PulledRun run;
  graph.start();
  std::vector<PulledSink*> sinks;
  for (int i = 0; graph.pulled(i); ++i) sinks.push_back(graph.pulled(i));
  run.packets.resize(sinks.size());
  for (;;) {
    const bool done = graph.wait(0);  // read before pulling: then this pull sees all
    for (size_t i = 0; i < sinks.size(); ++i) {
      bool ended = false;
      vhtest::append(run.packets[i], sinks[i]->pull(0, done ? 0 : 20'000'000, &ended));  // 20 ms
    }
    if (done) break;
  }
  run.report = graph.finish();
  return run;
}

PulledRun run_pulled(const std::string& source, std::vector<TranscodeOutput> outputs,
                     TranscodeOptions options = {}) {
  options.audio = AudioMode::None;  // pulled outputs carry no copied streams
  auto graph = make_graph(source, std::move(outputs), std::move(options));
  return run_pulled(*graph);
}

// Two files through one worker's sessions: one decode and one encode session for both, and
// the second file's output is what a transcode with its own sessions makes of it.
TEST(TranscodeSessions, TwoFilesShareOneDecodeAndOneEncodeSession) {
  TempDir dir;
  const std::string a = make_source(dir, "a.mp4", 60);
  vhtest::StreamSpec other;  // another size, other pictures, pts from 5
  other.width = 80;
  other.height = 64;
  other.frames = 45;
  other.gop = 15;
  other.b_frames = 2;
  other.first_pts = 5;
  const std::string b = make_source(dir, "b.mp4", other);

  auto sessions = std::make_shared<TranscodeSessions>();
  const auto provider = software_encoder();  // the worker's provider, the same for every file
  const PulledRun first = run_pulled(a, {output("", provider)}, with_sessions(sessions));
  EXPECT_FALSE(sessions->in_use());
  const PulledRun second = run_pulled(b, {output("", provider)}, with_sessions(sessions));
  EXPECT_FALSE(sessions->in_use());
  const PulledRun alone = run_pulled(b, {output("", software_encoder())});

  EXPECT_EQ(first.report.outputs[0].frames, 60);
  EXPECT_EQ(first.report.outputs[0].packets, 60);
  ASSERT_EQ(first.packets[0].size(), 60u);
  EXPECT_EQ(second.report.outputs[0].frames, 45);
  EXPECT_EQ(second.report.outputs[0].packets, 45);
  ASSERT_EQ(second.packets[0].size(), 45u);
  EXPECT_EQ(second.report.progress.frames_decoded, 45);
  EXPECT_EQ(second.report.decode_errors, 0);
  EXPECT_TRUE(second.packets[0].front().is_keyframe);

  const TranscodeSessions::Counts n = sessions->snapshot();
  EXPECT_EQ(n.files, 2);
  EXPECT_EQ(n.decode_inits, 1);
  EXPECT_EQ(n.encode_inits, 1);
  EXPECT_EQ(n.decode_switches, 1);
  EXPECT_EQ(n.encode_restarts, 1);
  EXPECT_EQ(n.discarded, 0);
  EXPECT_EQ(tel_int(second.report.outputs[0].encode, "session_inits"), 1);
  EXPECT_EQ(tel_int(second.report.outputs[0].encode, "switches_in_place"), 1);

  // The same packets as the file's own transcode: nothing of the first file carried over.
  ASSERT_EQ(alone.packets[0].size(), 45u);
  expect_same_packets(second.packets[0], alone.packets[0]);
  // The source's own times (pts 5..49 at 1/30 s in the file's time base).
  EXPECT_EQ(sorted_pts(second.packets[0]), sorted_pts(alone.packets[0]));

  sessions->close();
  EXPECT_EQ(sessions->snapshot().discarded, 0);
}

// Kept sessions and files of another output size each time: every output file is complete,
// at its own size, from a keyframe.
TEST(TranscodeSessions, FileOutputsOfAnotherSizeThroughKeptSessions) {
  TempDir dir;
  const std::string a = make_source(dir, "a.mp4", 60);
  const auto provider = software_encoder();
  auto sessions = std::make_shared<TranscodeSessions>();
  const int sizes[3][2] = {{32, 24}, {48, 32}, {32, 24}};
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE("file " + std::to_string(i));
    const std::string path = dir / ("out" + std::to_string(i) + ".mp4");
    auto graph = make_graph(a, {output(path, provider, out_config(0, sizes[i][0], sizes[i][1]))},
                            with_sessions(sessions));
    graph->start();
    const TranscodeReport report = graph->finish();
    EXPECT_EQ(report.outputs[0].frames, 60);
    EXPECT_EQ(report.outputs[0].files, Names{path});
    const vhtest::ProbedFile out = vhtest::probe_file(path);
    EXPECT_EQ(out.pictures.size(), 60u);
    EXPECT_EQ(out.decode_errors, 0);
    EXPECT_EQ(out.width, sizes[i][0]);
    EXPECT_EQ(out.height, sizes[i][1]);
    ASSERT_FALSE(out.pictures.empty());
    EXPECT_TRUE(out.pictures.front().key);
  }
  const TranscodeSessions::Counts n = sessions->snapshot();
  EXPECT_EQ(n.files, 3);
  EXPECT_EQ(n.encode_inits, 1);
  EXPECT_EQ(n.encode_restarts, 2);
  EXPECT_EQ(n.decode_switches, 2);
}

// One graph at a time: a second one is refused while the first holds the sessions, and
// leaves nothing behind; once the first has finished, the next takes them.
TEST(TranscodeSessions, OneGraphAtATime) {
  TempDir dir;
  const std::string source = make_source(dir, "src.mp4", 30);
  const auto provider = software_encoder();
  auto sessions = std::make_shared<TranscodeSessions>();
  auto first = make_graph(source, {output(dir / "a.mp4", provider)}, with_sessions(sessions));
  EXPECT_TRUE(sessions->in_use());
  vhtest::expect_error(
      ErrorKind::Config,
      [&] { make_graph(source, {output(dir / "b.mp4", provider)}, with_sessions(sessions)); },
      "a second graph on sessions in use");
  vhtest::expect_error(
      ErrorKind::Config, [&] { sessions->close(); }, "close() while a graph holds them");
  EXPECT_TRUE(sessions->in_use());
  first->start();
  EXPECT_EQ(first->finish().outputs[0].frames, 30);
  EXPECT_FALSE(sessions->in_use());
  auto third = make_graph(source, {output(dir / "c.mp4", provider)}, with_sessions(sessions));
  third->start();
  EXPECT_EQ(third->finish().outputs[0].frames, 30);
  const TranscodeSessions::Counts n = sessions->snapshot();
  EXPECT_EQ(n.files, 2);  // the refused graph took nothing
  EXPECT_EQ(n.encode_inits, 1);
  EXPECT_EQ(n.encode_restarts, 1);
  EXPECT_EQ(n.discarded, 0);
  EXPECT_EQ(dir.entries(), (Names{"a.mp4", "c.mp4", "src.mp4"}));
}

// A cancelled transcode leaves its sessions in no known state: they are dropped, and the
// next graph starts new ones (and works).
TEST(TranscodeSessions, CancelledGraphDropsTheSessions) {
  TempDir dir;
  const std::string source = make_source(dir, "src.mp4", 60);
  const auto provider = software_encoder();
  auto sessions = std::make_shared<TranscodeSessions>();
  {
    auto graph = make_graph(source, {output(dir / "a.mp4", provider)}, with_sessions(sessions));
    graph->start();
    graph->finish();
  }
  ASSERT_EQ(sessions->snapshot().encode_inits, 1);
  ASSERT_EQ(sessions->snapshot().decode_inits, 1);
  {
    auto graph = make_graph(source, {output(dir / "b.mp4", provider)}, with_sessions(sessions));
    graph->start();
    graph->cancel();
    vhtest::expect_error(
        ErrorKind::Generic, [&] { graph->finish(); }, "finish after cancel");
  }
  EXPECT_FALSE(sessions->in_use());
  TranscodeSessions::Counts n = sessions->snapshot();
  EXPECT_EQ(n.discarded, 2);  // the decode session and the encode session
  EXPECT_EQ(n.files, 2);

  auto graph = make_graph(source, {output(dir / "c.mp4", provider)}, with_sessions(sessions));
  graph->start();
  const TranscodeReport report = graph->finish();
  EXPECT_EQ(report.outputs[0].frames, 60);
  EXPECT_EQ(vhtest::probe_file(dir / "c.mp4").pictures.size(), 60u);
  n = sessions->snapshot();
  EXPECT_EQ(n.files, 3);
  EXPECT_EQ(n.encode_inits, 2);
  EXPECT_EQ(n.decode_inits, 2);
  EXPECT_EQ(n.encode_restarts, 1);  // only the cancelled graph's
  EXPECT_EQ(n.decode_switches, 1);
  EXPECT_EQ(dir.entries(), (Names{"a.mp4", "c.mp4", "src.mp4"}));
}

// The second file is HEVC: the kept decode session switches codec.
TEST(TranscodeSessions, TheNextFileOfAnotherCodec) {
  TempDir dir;
  const std::string a = make_source(dir, "a.mp4", 30);
  vhtest::StreamSpec spec;
  spec.frames = 40;
  spec.gop = 20;
  const std::string b = make_source(dir, "b.mp4", spec, Codec::HEVC);
  const auto provider = software_encoder();
  auto sessions = std::make_shared<TranscodeSessions>();
  const PulledRun first = run_pulled(a, {output("", provider)}, with_sessions(sessions));
  const PulledRun second = run_pulled(b, {output("", provider)}, with_sessions(sessions));
  EXPECT_EQ(first.packets[0].size(), 30u);
  ASSERT_EQ(second.packets[0].size(), 40u);
  EXPECT_EQ(second.report.decode_errors, 0);
  EXPECT_EQ(vhtest::decode_packets(Codec::H264, second.packets[0]).size(), 40u);
  const TranscodeSessions::Counts n = sessions->snapshot();
  EXPECT_EQ(n.decode_inits, 1);
  EXPECT_EQ(n.decode_switches, 1);
}

// A graph whose kept encode session refuses the new output's config: the constructor
// throws, the sessions are dropped (not left in use), and the next graph starts new ones.
TEST(TranscodeSessions, ARefusedConfigDropsTheSessions) {
  TempDir dir;
  const std::string source = make_source(dir, "src.mp4", 30);
  const auto provider = software_encoder();
  auto sessions = std::make_shared<TranscodeSessions>();
  run_pulled(source, {output("", provider)}, with_sessions(sessions));
  CommonEncodeConfig bad = out_config();
  bad.rate_control.mode = RateControlMode::ConstQP;
  bad.rate_control.qp_intra = 10;  // a step of 30 to qp_inter_p: libx264 takes -39..19
  bad.rate_control.qp_inter_p = 40;
  bad.rate_control.qp_inter_b = 40;
  EXPECT_THROW(make_graph(source, {output("", provider, bad)}, with_sessions(sessions)), Error);
  EXPECT_FALSE(sessions->in_use());
  EXPECT_EQ(sessions->snapshot().discarded, 2);
  const PulledRun next = run_pulled(source, {output("", provider)}, with_sessions(sessions));
  EXPECT_EQ(next.packets[0].size(), 30u);
  const TranscodeSessions::Counts n = sessions->snapshot();
  EXPECT_EQ(n.encode_inits, 2);
  EXPECT_EQ(n.decode_inits, 2);
}

// A graph made and destroyed without running: its sessions are dropped too.
TEST(TranscodeSessions, GraphDestroyedUnstartedDropsTheSessions) {
  TempDir dir;
  const std::string source = make_source(dir, "src.mp4", 30);
  auto sessions = std::make_shared<TranscodeSessions>();
  {
    auto graph =
        make_graph(source, {output(dir / "a.mp4", software_encoder())}, with_sessions(sessions));
  }
  EXPECT_FALSE(sessions->in_use());
  EXPECT_EQ(sessions->snapshot().discarded, 2);
  EXPECT_EQ(dir.entries(), Names{"src.mp4"});
}

// ---- SourceRange and SegmentJoin ------------------------------------------------------------

struct SourcePacket {
  int64_t pts, dts, pos;
  bool keyframe;
};

// The video packets of a file as videohw's Demuxer reads them (decode order).
std::vector<SourcePacket> read_video(const std::string& path, media::Rational* time_base) {
  auto demuxer = media::Demuxer::open_path(path);
  demuxer->select(demuxer->info().best_video_stream);
  if (time_base) *time_base = demuxer->selected_info().time_base;
  std::vector<SourcePacket> out;
  media::PacketView p;
  while (demuxer->read(p)) out.push_back(SourcePacket{p.pts, p.dts, p.pos, p.keyframe});
  return out;
}

std::vector<int64_t> display_pts(const std::vector<SourcePacket>& packets) {
  std::vector<int64_t> pts;
  for (const auto& p : packets) pts.push_back(p.pts);
  std::sort(pts.begin(), pts.end());
  return pts;
}

// The keyframe shown `frame`-th, as a range start; its pts as a range end.
SourcePacket keyframe_at(const std::vector<SourcePacket>& packets, int frame) {
  const int64_t pts = display_pts(packets).at(size_t(frame));
  for (const auto& p : packets)
    if (p.pts == pts) {
      if (!p.keyframe)
        throw std::runtime_error("frame " + std::to_string(frame) + " is no keyframe");
      return p;
    }
  throw std::runtime_error("no packet shows frame " + std::to_string(frame));
}

SourceRange range_of(const std::vector<SourcePacket>& packets, int from, int to) {
  SourceRange r;
  if (from > 0) {
    const SourcePacket start = keyframe_at(packets, from);
    r.start_pts = start.pts;
    r.start_dts = start.dts;
    r.start_pos = start.pos;
  }
  if (to >= 0) r.end_pts = keyframe_at(packets, to).pts;
  return r;
}

// Frames 30..59 of a 90-frame file with closed GOPs of 30.
TEST(SourceRange, FromOneKeyframeToTheNext) {
  TempDir dir;
  const std::string source = make_source(dir, "src.mp4", 90);
  const std::vector<SourcePacket> packets = read_video(source, nullptr);
  ASSERT_EQ(packets.size(), 90u);
  const std::vector<int64_t> all = display_pts(packets);
  TranscodeOptions options;
  options.range = range_of(packets, 30, 60);
  const PulledRun run = run_pulled(source, {output("", software_encoder())}, options);
  EXPECT_EQ(run.report.outputs[0].frames, 30);
  EXPECT_EQ(run.report.progress.frames_dispatched, 30);
  EXPECT_EQ(run.report.input_warning, "");
  const Packets& out = run.packets[0];
  ASSERT_EQ(out.size(), 30u);
  EXPECT_EQ(sorted_pts(out), std::vector<int64_t>(all.begin() + 30, all.begin() + 60));
  EXPECT_TRUE(out.front().is_keyframe);
  // The segment decodes on its own, to 30 pictures.
  EXPECT_EQ(vhtest::decode_packets(Codec::H264, out).size(), 30u);
}

// The same with the byte position and dts of the start unknown (a seek by time only), and
// open at either end.
TEST(SourceRange, OpenEndsAndNoSeekHint) {
  TempDir dir;
  const std::string source = make_source(dir, "src.mp4", 90);
  const std::vector<SourcePacket> packets = read_video(source, nullptr);
  const std::vector<int64_t> all = display_pts(packets);
  struct Case {
    int from, to;
    bool hint;
  };
  for (const Case& c : {Case{0, 30, true}, Case{60, -1, true}, Case{30, 60, false}}) {
    SCOPED_TRACE(std::to_string(c.from) + ".." + std::to_string(c.to) +
                 (c.hint ? "" : " without dts/pos"));
    TranscodeOptions options;
    options.range = range_of(packets, c.from, c.to);
    if (!c.hint) {
      options.range.start_dts = media::kNoTimestamp;
      options.range.start_pos = -1;
    }
    const PulledRun run = run_pulled(source, {output("", software_encoder())}, options);
    const size_t end = c.to < 0 ? all.size() : size_t(c.to);
    EXPECT_EQ(sorted_pts(run.packets[0]),
              std::vector<int64_t>(all.begin() + c.from, all.begin() + long(end)));
  }
}

// The 3 segments of a 90-frame source, each transcoded apart (through one worker's kept
// sessions, as videohw.distributed runs them), joined into one MP4: the whole file's
// frames at the whole-file transcode's times; with `audio`, the source's audio copied.
void join_segments(const TempDir& dir, const std::string& source, int b_frames, bool audio) {
  media::Rational tb;
  const std::vector<SourcePacket> packets = read_video(source, &tb);
  ASSERT_EQ(packets.size(), 90u);
  ASSERT_TRUE(tb.valid());
  const CommonEncodeConfig c = out_config(b_frames);
  const auto provider = software_encoder();
  auto sessions = std::make_shared<TranscodeSessions>();

  media::MuxerConfig m;
  m.codec = Codec::H264;
  m.width = c.width;
  m.height = c.height;
  m.fps_num = c.fps_num;
  m.fps_den = c.fps_den;
  m.time_base_num = tb.num;
  m.time_base_den = tb.den;
  const std::string joined = dir / "joined.mp4";
  media::SegmentJoin join(joined, m, audio ? source : "");
  EXPECT_EQ(join.audio(), audio ? "copied: aac" : "none");
  const int bounds[4] = {0, 30, 60, -1};
  for (int s = 0; s < 3; ++s) {
    SCOPED_TRACE("segment " + std::to_string(s));
    TranscodeOptions options = with_sessions(sessions);
    options.range = range_of(packets, bounds[s], bounds[s + 1]);
    const PulledRun run = run_pulled(source, {output("", provider, c)}, options);
    ASSERT_EQ(run.packets[0].size(), 30u);
    EXPECT_TRUE(run.packets[0].front().is_keyframe);
    for (const EncodedPacket& p : run.packets[0]) join.write(p);
  }
  const std::vector<std::string> files = join.close();
  EXPECT_EQ(files, Names{joined});
  EXPECT_EQ(join.video_packets(), 90);
  const TranscodeSessions::Counts n = sessions->snapshot();
  EXPECT_EQ(n.encode_inits, 1);
  EXPECT_EQ(n.encode_restarts, 2);

  // The whole file in one transcode, into the same kind of file.
  const std::string whole = dir / "whole.mp4";
  TranscodeOptions options;
  options.audio = audio ? AudioMode::Copy : AudioMode::None;
  auto graph = make_graph(source, {output(whole, software_encoder(), c)}, options);
  graph->start();
  graph->finish();

  const vhtest::ProbedFile j = vhtest::probe_file(joined);
  const vhtest::ProbedFile w = vhtest::probe_file(whole);
  EXPECT_EQ(j.decode_errors, 0);
  ASSERT_EQ(j.pictures.size(), 90u);
  ASSERT_EQ(w.pictures.size(), 90u);
  for (size_t i = 0; i < 90; ++i) {
    const double js = double(j.pictures[i].pts) * j.time_base_num / j.time_base_den;
    const double ws = double(w.pictures[i].pts) * w.time_base_num / w.time_base_den;
    ASSERT_NEAR(js, ws, 1e-6) << "picture " << i;
    EXPECT_EQ(j.pictures[i].key, i % 30 == 0) << "picture " << i;
  }
  if (audio) {
    const int source_audio = count_packets(source, AVMEDIA_TYPE_AUDIO);
    ASSERT_GT(source_audio, 50);
    EXPECT_EQ(join.audio_packets(), source_audio);
    EXPECT_EQ(count_packets(joined, AVMEDIA_TYPE_AUDIO), source_audio);
    EXPECT_EQ(count_packets(whole, AVMEDIA_TYPE_AUDIO), source_audio);
  } else {
    EXPECT_EQ(count_packets(joined, AVMEDIA_TYPE_AUDIO), -1);
  }
  EXPECT_EQ(vhtest::ffmpeg_complaints(joined), "");
}

TEST(SegmentJoin, ThreeSegmentsMakeTheWholeFile) {
  TempDir dir;
  join_segments(dir, make_source(dir, "src.mp4", 90), /*b_frames=*/0, /*audio=*/false);
}

// Segments of an encoder with B-frames: each starts its dts below its first pts, still
// after the previous segment's last dts.
TEST(SegmentJoin, ThreeSegmentsWithBFrames) {
  TempDir dir;
  join_segments(dir, make_source(dir, "src.mp4", 90), /*b_frames=*/2, /*audio=*/false);
}

TEST(SegmentJoin, AudioIsCopiedBesideTheSegments) {
  if (!vhtest::have_ffmpeg_tool())
    GTEST_SKIP() << "needs the ffmpeg tool to make a source with audio";
  TempDir dir;
  const std::string source = dir / "src.mkv";
  ASSERT_TRUE(vhtest::run_command(
      "ffmpeg -nostdin -v error -y -f lavfi -i testsrc2=size=64x48:rate=30:duration=3 -f lavfi "
      "-i sine=frequency=440:sample_rate=48000:duration=3 -c:v libx264 -preset ultrafast "
      "-pix_fmt yuv420p -bf 2 -g 30 -keyint_min 30 -sc_threshold 0 -x264-params open-gop=0 "
      "-c:a aac " +
      vhtest::shell_quoted(source)));
  join_segments(dir, source, /*b_frames=*/0, /*audio=*/true);
}

}  // namespace
