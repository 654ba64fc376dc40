// media/ffmpeg_log: av_log's lines are captured instead of printed, assembled per thread,
// queued within a bound, and counted for the owner whose key the logging context carries as
// its opaque, libavcodec's per-thread copies of a context included.
#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <future>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "contract/frame_layout.hpp"
#include "media/ffmpeg_log.hpp"
#include "media/ffmpeg_log_owner.hpp"
#include "media/ffmpeg_log_queue.hpp"
#include "software/ffmpeg_ptr.hpp"
#include "software/software_decoder.hpp"
#include "software/software_encoder.hpp"
#include "support/frames.hpp"

#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/log.h>
}

using namespace videohw;

namespace {

std::vector<media::FfmpegLogLine> drain() {
  std::vector<media::FfmpegLogLine> out;
  media::ffmpeg_log_queue().take(out, SIZE_MAX);
  return out;
}

software::UniqueAVCodecContext h264_context(void* opaque) {
  software::UniqueAVCodecContext context(
      avcodec_alloc_context3(avcodec_find_decoder(AV_CODEC_ID_H264)));
  context->opaque = opaque;
  return context;
}

// A log context of the kind libav* nests under a codec context: its class names the
// parent's offset, as av_log's own prefix printing reads it.
struct ChildContext {
  const AVClass* cls;
  AVCodecContext* parent;
};
AVClass child_class() {
  AVClass c{};
  c.class_name = "child";
  c.item_name = av_default_item_name;
  c.version = LIBAVUTIL_VERSION_INT;
  c.parent_log_context_offset = int(offsetof(ChildContext, parent));
  return c;
}
const AVClass kChildClass = child_class();

int64_t this_thread_id() {
#if defined(__linux__)
  return int64_t(syscall(SYS_gettid));
#else
  return 0;
#endif
}

class FfmpegLog : public ::testing::Test {
 protected:
  void SetUp() override {
    media::install_ffmpeg_log();
    media::set_ffmpeg_log_level(AV_LOG_WARNING);
    drain();
  }
  void TearDown() override {
    media::set_ffmpeg_log_level(AV_LOG_WARNING);
    drain();
  }
  int key_ = 0;  // any live object's address serves as an owner key
};

TEST_F(FfmpegLog, LineArrivesWithLevelComponentAndFfmpegsOwnPrefix) {
  auto context = h264_context(nullptr);
  av_log(context.get(), AV_LOG_ERROR, "broken slice %d\n", 7);
  const auto lines = drain();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].level, AV_LOG_ERROR);
  EXPECT_EQ(lines[0].component, "h264");
  EXPECT_EQ(lines[0].text.rfind("[h264 @ ", 0), 0u) << lines[0].text;
  EXPECT_NE(lines[0].text.find("] broken slice 7"), std::string::npos) << lines[0].text;
  EXPECT_EQ(lines[0].text.back(), '7');  // the newline is not part of the line
  EXPECT_GT(lines[0].unix_ns, 0);
}

TEST_F(FfmpegLog, LineWithoutAContextHasNoComponent) {
  av_log(nullptr, AV_LOG_WARNING, "loose line\n");
  const auto lines = drain();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].component, "");
  EXPECT_EQ(lines[0].text, "loose line");
}

TEST_F(FfmpegLog, LinesAboveTheLevelAreNotQueued) {
  auto context = h264_context(nullptr);
  const int64_t before = media::ffmpeg_log_queue().stats().lines;
  av_log(context.get(), AV_LOG_INFO, "chatty\n");
  av_log(context.get(), AV_LOG_DEBUG, "chattier\n");
  EXPECT_TRUE(drain().empty());
  EXPECT_EQ(media::ffmpeg_log_queue().stats().lines, before);
  media::set_ffmpeg_log_level(AV_LOG_DEBUG);
  av_log(context.get(), AV_LOG_DEBUG, "now wanted\n");
  EXPECT_EQ(drain().size(), 1u);
}

TEST_F(FfmpegLog, WarningsAndErrorsAreCountedWhateverTheLevel) {
  media::FfmpegLogOwner owner(&key_);
  auto context = h264_context(&key_);
  media::set_ffmpeg_log_level(AV_LOG_QUIET);
  av_log(context.get(), AV_LOG_ERROR, "e\n");
  av_log(context.get(), AV_LOG_FATAL, "f\n");
  av_log(context.get(), AV_LOG_WARNING, "w\n");
  av_log(context.get(), AV_LOG_INFO, "i\n");
  EXPECT_TRUE(drain().empty());
  EXPECT_EQ(owner.errors(), 2);
  EXPECT_EQ(owner.warnings(), 1);
}

TEST_F(FfmpegLog, PiecesOfOneLineBecomeOneLineCountedOnce) {
  media::FfmpegLogOwner owner(&key_);
  auto context = h264_context(&key_);
  av_log(context.get(), AV_LOG_ERROR, "first half, ");
  av_log(context.get(), AV_LOG_ERROR, "second half\n");
  const auto lines = drain();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].text.find("] first half, second half"), std::string::npos) << lines[0].text;
  EXPECT_EQ(owner.errors(), 1);
}

TEST_F(FfmpegLog, PiecesFromTwoThreadsDoNotMix) {
  auto context = h264_context(nullptr);
  std::promise<void> first_piece, main_line;
  std::thread other([&] {
    av_log(context.get(), AV_LOG_ERROR, "other begins, ");
    first_piece.set_value();
    main_line.get_future().wait();
    av_log(context.get(), AV_LOG_ERROR, "other ends\n");
  });
  first_piece.get_future().wait();
  av_log(context.get(), AV_LOG_ERROR, "main line\n");
  main_line.set_value();
  other.join();
  const auto lines = drain();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].text.find("] main line"), std::string::npos) << lines[0].text;
  EXPECT_NE(lines[1].text.find("] other begins, other ends"), std::string::npos) << lines[1].text;
  EXPECT_NE(lines[0].thread_id, lines[1].thread_id);
}

TEST_F(FfmpegLog, ContextsSharingAnOpaqueCountForOneOwner) {
  // libavcodec's frame threads log through copies of the context; the opaque is copied.
  media::FfmpegLogOwner owner(&key_);
  auto original = h264_context(&key_);
  auto copy = h264_context(&key_);
  int other_key = 0;
  auto unrelated = h264_context(&other_key);
  av_log(original.get(), AV_LOG_ERROR, "from the context\n");
  av_log(copy.get(), AV_LOG_ERROR, "from a thread's copy\n");
  av_log(copy.get(), AV_LOG_WARNING, "a warning from the copy\n");
  av_log(unrelated.get(), AV_LOG_ERROR, "someone else's\n");
  EXPECT_EQ(owner.errors(), 2);
  EXPECT_EQ(owner.warnings(), 1);
  EXPECT_EQ(drain().size(), 4u);
}

TEST_F(FfmpegLog, ChildOfACodecContextCountsForItsOwner) {
  media::FfmpegLogOwner owner(&key_);
  auto parent = h264_context(&key_);
  ChildContext child{&kChildClass, parent.get()};
  av_log(&child, AV_LOG_ERROR, "from a child context\n");
  EXPECT_EQ(owner.errors(), 1);
  const auto lines = drain();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].component, "child");
}

TEST_F(FfmpegLog, OpaqueNobodyRegisteredIsComparedNeverFollowed) {
  // Not an address anything lives at: following it would crash.
  auto context = h264_context(reinterpret_cast<void*>(uintptr_t(0x10)));
  av_log(context.get(), AV_LOG_ERROR, "opaque is garbage\n");
  EXPECT_EQ(drain().size(), 1u);
}

TEST_F(FfmpegLog, OwnerGoneStopsCountingAndANewOneStartsAtZero) {
  auto context = h264_context(&key_);
  {
    media::FfmpegLogOwner owner(&key_);
    av_log(context.get(), AV_LOG_ERROR, "counted\n");
    EXPECT_EQ(owner.errors(), 1);
  }
  av_log(context.get(), AV_LOG_ERROR, "nobody to count it\n");
  media::FfmpegLogOwner next(&key_);
  EXPECT_EQ(next.errors(), 0);
}

TEST_F(FfmpegLog, FloodIsBoundedAndTheDropsAreCounted) {
  auto context = h264_context(nullptr);
  const auto before = media::ffmpeg_log_queue().stats();
  const int flood = int(media::kFfmpegLogQueueLines) * 3;
  for (int i = 0; i < flood; ++i) av_log(context.get(), AV_LOG_ERROR, "line %d\n", i);
  const auto after = media::ffmpeg_log_queue().stats();
  EXPECT_EQ(after.queued, media::kFfmpegLogQueueLines);
  EXPECT_EQ(after.dropped - before.dropped, flood - int64_t(media::kFfmpegLogQueueLines));
  const auto lines = drain();
  ASSERT_EQ(lines.size(), media::kFfmpegLogQueueLines);
  EXPECT_NE(lines.front().text.find("] line 0"), std::string::npos);  // the oldest are kept
}

TEST(FfmpegLogQueue, FullQueueRefusesNewLinesAndCountsThem) {
  media::FfmpegLogQueue queue(3);
  std::vector<bool> queued;
  for (int i = 0; i < 5; ++i) {
    media::FfmpegLogLine line;
    line.text = std::to_string(i);
    queued.push_back(queue.push(std::move(line)));
  }
  EXPECT_EQ(queued, (std::vector<bool>{true, true, true, false, false}));
  const auto stats = queue.stats();
  EXPECT_EQ(stats.queued, 3u);
  EXPECT_EQ(stats.lines, 3);
  EXPECT_EQ(stats.dropped, 2);
  std::vector<media::FfmpegLogLine> out;
  EXPECT_EQ(queue.take(out, 2), 2u);
  EXPECT_EQ(out[0].text, "0");
  EXPECT_EQ(out[1].text, "1");
}

TEST(FfmpegLogQueue, WaitReturnsForALineOrForStop) {
  media::FfmpegLogQueue queue(4);
  std::atomic<bool> stop{false};
  auto waiter = std::async(std::launch::async, [&] { queue.wait(stop); });
  queue.push(media::FfmpegLogLine{});
  waiter.get();
  std::vector<media::FfmpegLogLine> out;
  queue.take(out, 4);
  auto stopped = std::async(std::launch::async, [&] { queue.wait(stop); });
  stop.store(true);
  queue.interrupt();
  stopped.get();
}

TEST(FfmpegLogLevel, ParsesFfmpegsNamesAndNumbers) {
  EXPECT_EQ(media::parse_ffmpeg_log_level("warning"), AV_LOG_WARNING);
  EXPECT_EQ(media::parse_ffmpeg_log_level(" DEBUG "), AV_LOG_DEBUG);
  EXPECT_EQ(media::parse_ffmpeg_log_level("quiet"), AV_LOG_QUIET);
  EXPECT_EQ(media::parse_ffmpeg_log_level("trace"), AV_LOG_TRACE);
  EXPECT_EQ(media::parse_ffmpeg_log_level("16"), AV_LOG_ERROR);
  EXPECT_EQ(media::parse_ffmpeg_log_level("-8"), AV_LOG_QUIET);
  for (const char* bad : {"", "  ", "loud", "24x", "999", "-9"})
    EXPECT_FALSE(media::parse_ffmpeg_log_level(bad).has_value()) << bad;
}

// ---- the software adapters ---------------------------------------------------------------

std::vector<EncodedPacket> encode_h264(int frames) {
  auto c = vhtest::small_config(Codec::H264, 128, 96);
  c.gop_length = 4;
  software::SoftwareEncoder encoder(c, SoftwareEncodeConfig{});
  std::vector<EncodedPacket> out;
  for (int i = 0; i < frames; ++i) {
    const auto f = vhtest::pattern_frame(PixelFormat::I420, 128, 96, i);
    FrameOptions o;
    o.pts = i;
    encoder.encode(describe_frame(f.format, f.width, f.height, f.data(), f.size(), f.pitch), o,
                   out);
  }
  encoder.finish(out);
  EXPECT_EQ(encoder.stats().ffmpeg_errors, 0);
  EXPECT_EQ(encoder.stats().ffmpeg_warnings, 0);
  return out;
}

// Every packet, then a flush; the decode errors damaged input raises are expected.
std::vector<DecodedFrame> decode_through_errors(software::SoftwareDecoder& decoder,
                                                const std::vector<EncodedPacket>& packets) {
  std::vector<DecodedFrame> frames;
  for (const auto& p : packets) {
    try {
      decoder.decode(p.data.data(), p.data.size(), p.pts, frames);
    } catch (const Error&) {
    }
  }
  decoder.flush(frames);
  return frames;
}

TEST_F(FfmpegLog, SoftwareDecoderCountsWhatItsFrameThreadsLog) {
  auto packets = encode_h264(12);
  packets[5].data.resize(packets[5].data.size() / 2);  // a P picture cut in half
  drain();
  CommonDecodeConfig common;
  common.codec = Codec::H264;
  common.low_latency = false;  // frame threads
  SoftwareDecodeConfig config;
  config.threads = 4;
  int64_t errors = 0;
  {
    software::SoftwareDecoder decoder(common, config);
    decode_through_errors(decoder, packets);
    errors = decoder.stats().ffmpeg_errors;
  }
  const auto lines = drain();
  std::set<int64_t> threads;
  int64_t error_lines = 0;
  for (const auto& line : lines) {
    if (line.level <= AV_LOG_ERROR && line.component == "h264") error_lines++;
    threads.insert(line.thread_id);
  }
  EXPECT_GE(errors, 1);
  EXPECT_EQ(errors, error_lines);
  threads.erase(this_thread_id());
  EXPECT_FALSE(threads.empty()) << "expected lines from libavcodec's frame threads";
}

#if LIBAVCODEC_VERSION_MAJOR < 61  // reordered_opaque numbers the packets
// What reordered_opaque numbers: the packet a frame thread is decoding while it logs.
void set_unit(AVCodecContext* context, int64_t unit) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  context->reordered_opaque = unit;
#pragma GCC diagnostic pop
}

TEST_F(FfmpegLog, ErrorsAndConcealmentMarkThePacketBeingDecodedOnce) {
  media::FfmpegLogOwner owner(&key_);
  auto context = h264_context(&key_);
  media::set_ffmpeg_log_level(AV_LOG_QUIET);
  set_unit(context.get(), 7);
  av_log(context.get(), AV_LOG_ERROR, "error while decoding MB %d %d\n", 3, 4);
  set_unit(context.get(), 8);
  av_log(context.get(), AV_LOG_WARNING, "a warning is not damage\n");
  av_log(context.get(), AV_LOG_INFO, "nor is an INFO line\n");
  set_unit(context.get(), 9);
  // Error concealment reports at INFO, below the level: still a mark.
  av_log(context.get(), AV_LOG_INFO, "concealing %d DC, %d AC, %d MV errors in %c frame\n", 1, 1, 1,
         'P');
  EXPECT_TRUE(owner.take_damage(7));
  EXPECT_FALSE(owner.take_damage(7)) << "a mark is taken once";
  EXPECT_FALSE(owner.take_damage(8));
  EXPECT_TRUE(owner.take_damage(9));
  EXPECT_TRUE(drain().empty());
}

TEST_F(FfmpegLog, DamageMarksAreBoundedOldestFirstAndCleared) {
  media::FfmpegLogOwner owner(&key_);
  auto context = h264_context(&key_);
  media::set_ffmpeg_log_level(AV_LOG_QUIET);
  for (int64_t unit = 1; unit <= 1000; ++unit) {
    set_unit(context.get(), unit);
    av_log(context.get(), AV_LOG_ERROR, "no frame!\n");
  }
  EXPECT_FALSE(owner.take_damage(1)) << "the oldest marks went first";
  EXPECT_FALSE(owner.take_damage(744));
  EXPECT_TRUE(owner.take_damage(745));
  EXPECT_TRUE(owner.take_damage(1000));
  owner.clear_damage();
  EXPECT_FALSE(owner.take_damage(999));
}

TEST_F(FfmpegLog, AnotherOwnersLinesMarkNothingHere) {
  int other_key = 0;
  media::FfmpegLogOwner owner(&key_), other(&other_key);
  auto context = h264_context(&other_key);
  media::set_ffmpeg_log_level(AV_LOG_QUIET);
  set_unit(context.get(), 3);
  av_log(context.get(), AV_LOG_ERROR, "e\n");
  EXPECT_FALSE(owner.take_damage(3));
  EXPECT_TRUE(other.take_damage(3));
}

// Frame threads hand a picture's error flags over before its own thread may have set them;
// the marks its thread logs do not race: the same cut stream flags the same pictures at one
// thread and at four.
TEST_F(FfmpegLog, SoftwareDecoderFlagsTheSamePicturesWithFrameThreadsAsWithOne) {
  auto packets = encode_h264(24);
  packets[9].data.resize(packets[9].data.size() / 2);
  auto damaged_pictures = [&](int threads) {
    CommonDecodeConfig common;
    common.codec = Codec::H264;
    SoftwareDecodeConfig config;
    config.threads = threads;
    software::SoftwareDecoder decoder(common, config);
    std::vector<DecodedFrame> frames = decode_through_errors(decoder, packets);
    std::vector<int64_t> damaged;
    for (const auto& f : frames)
      if (f.damaged) damaged.push_back(f.pts.value_or(-1));
    return std::make_pair(damaged, frames.size());
  };
  const auto one = damaged_pictures(1);
  EXPECT_FALSE(one.first.empty());
  for (int run = 0; run < 5; ++run) EXPECT_EQ(damaged_pictures(4), one) << "run " << run;
  drain();
}

#endif

}  // namespace
