// media/ demuxer and frame table, pipeline/frame_reader: files made here (software encoder +
// Muxer) read back frame-exactly, and damaged or hostile copies of them read without a crash,
// a hang or unbounded memory (the point of running this suite under ASan/UBSan).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "contract/errors.hpp"
#include "contract/frame_layout.hpp"
#include "media/demuxer.hpp"
#include "media/frame_table.hpp"
#include "media/muxer.hpp"
#include "media/probe.hpp"
#include "pipeline/frame_reader.hpp"
#include "session/decode_session.hpp"
#include "software/software_decode_provider.hpp"
#include "software/software_encoder.hpp"
#include "support/decoded_pixels.hpp"
#include "support/frames.hpp"
#include "support/session_support.hpp"

extern "C" {
#include <libavutil/log.h>
}

using namespace videohw;
namespace fs = std::filesystem;

namespace {

constexpr int kFrames = 40;

// 40 frames, GOP 10, two B-frames, muxed into `path` (container by extension).
void make_file(const std::string& path, Codec codec = Codec::H264) {
  av_log_set_level(AV_LOG_ERROR);
  auto c = vhtest::small_config(codec, 96, 64);
  c.gop_length = 10;
  c.b_frames = 2;
  c.frame_interval_p = 3;
  software::SoftwareEncoder encoder(c, SoftwareEncodeConfig{});
  std::vector<EncodedPacket> packets;
  for (int i = 0; i < kFrames; ++i) {
    const auto f = vhtest::pattern_frame(PixelFormat::I420, c.width, c.height, i);
    FrameOptions o;
    o.pts = i;
    encoder.encode(describe_frame(f.format, f.width, f.height, f.data(), f.size(), f.pitch), o,
                   packets);
  }
  encoder.finish(packets);
  media::MuxerConfig m;
  m.codec = codec;
  m.width = c.width;
  m.height = c.height;
  media::Muxer muxer(path, m);
  for (auto& p : packets) {
    p.generation = 1;
    muxer.write(p);
  }
  muxer.close();
}

std::string temp_dir() {
  static const std::string dir = [] {
    const fs::path d = fs::temp_directory_path() / ("videohw-reader-" + std::to_string(::getpid()));
    fs::create_directories(d);
    return d.string();
  }();
  return dir;
}

std::shared_ptr<DecodeSession> session(Codec codec = Codec::H264) {
  CommonDecodeConfig c;
  c.codec = codec;
  c.output = DecodeOutputMode::NativeSurface;
  return std::make_shared<DecodeSession>(
      1, c, std::make_shared<software::SoftwareDecoderProvider>(SoftwareDecodeConfig{}));
}

std::vector<uint8_t> pixels(const DecodedFrame& f) {
  return vhtest::plane_bytes(f);
}

std::vector<std::vector<uint8_t>> stream_all(const std::string& path) {
  pipeline::FrameReader reader(media::Demuxer::open_path(path), 0, session(), 1);
  std::vector<std::vector<uint8_t>> out;
  for (;;) {
    auto batch = reader.next(7);
    if (batch.empty()) break;
    for (const auto& f : batch) {
      EXPECT_EQ(*f.index, int64_t(out.size()));
      out.push_back(pixels(f));
    }
  }
  return out;
}

class Containers : public ::testing::TestWithParam<std::string> {};

TEST_P(Containers, RandomAccessEqualsTheStreamedFrames) {
  const std::string path = temp_dir() + "/clip" + GetParam();
  make_file(path);
  const auto expected = stream_all(path);
  ASSERT_EQ(expected.size(), size_t(kFrames));
  auto s = session();
  pipeline::FrameReader reader(media::Demuxer::open_path(path), 0, s, 1);
  EXPECT_EQ(reader.frame_count(), kFrames);
  std::mt19937 rng(5);
  for (int round = 0; round < 6; ++round) {
    std::vector<int64_t> wanted;
    for (int k = 0; k < 5; ++k) wanted.push_back(int64_t(rng() % kFrames));
    wanted.push_back(wanted.front());  // a repeat
    const auto frames = reader.frames_at(wanted);
    ASSERT_EQ(frames.size(), wanted.size());
    for (size_t k = 0; k < wanted.size(); ++k) {
      EXPECT_EQ(*frames[k].index, wanted[k]);
      EXPECT_EQ(pixels(frames[k]), expected[size_t(wanted[k])]) << "frame " << wanted[k];
    }
  }
  for (int64_t i = 0; i < kFrames; ++i)  // one at a time, in order: read on, no re-seeks
    EXPECT_EQ(pixels(reader.frames_at({i}).front()), expected[size_t(i)]) << i;
  EXPECT_EQ(vhtest::tel_int(s->telemetry(), "session_inits"), 1);
  // Timed streams leave unwanted pictures unconverted or undecoded; a raw stream numbers
  // pictures as they come out, so it decodes and converts all of them.
  if (GetParam() == ".h264")
    EXPECT_EQ(reader.stats().units_dropped + reader.stats().units_skipped, 0);
  else
    EXPECT_GT(reader.stats().units_dropped + reader.stats().units_skipped, 0);
}

INSTANTIATE_TEST_SUITE_P(Media, Containers, ::testing::Values(".mp4", ".mkv", ".ts", ".h264"),
                         [](const auto& info) { return info.param.substr(1); });

TEST(FrameTable, CountsFramesAndKeyframesOfEveryContainer) {
  for (const std::string ext : {".mp4", ".mkv", ".ts", ".h264"}) {
    const std::string path = temp_dir() + "/table" + ext;
    make_file(path);
    auto demuxer = media::Demuxer::open_path(path);
    const media::ContainerInfo info = media::probe(*demuxer);
    ASSERT_EQ(info.video_streams.size(), 1u) << ext;
    EXPECT_EQ(info.video_streams[0].frame_count, kFrames) << ext;
    EXPECT_EQ(info.video_streams[0].keyframe_count, 4) << ext;
    EXPECT_TRUE(info.video_streams[0].frame_count_exact) << ext;
    EXPECT_EQ(info.video_streams[0].timed, ext != ".h264");
  }
}

TEST(FrameReader, IndexOutOfRangeIsAConfigErrorNamingTheCount) {
  const std::string path = temp_dir() + "/range.mp4";
  make_file(path);
  pipeline::FrameReader reader(media::Demuxer::open_path(path), 0, session(), 1);
  try {
    reader.frames_at({kFrames});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Config);
    EXPECT_NE(std::string(e.what()).find("40 frames"), std::string::npos) << e.what();
  }
}

// ---- hostile input ------------------------------------------------------------------------

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

// Opens and reads every frame it can; only media/decode errors may come out.
void read_what_it_can(const std::string& path) {
  try {
    auto demuxer = media::Demuxer::open_path(path);
    const int stream = demuxer->info().best_video_stream;
    if (stream < 0) return;
    pipeline::FrameReader reader(std::move(demuxer), stream, session(), 1);
    while (!reader.next(8).empty()) {
    }
    const int64_t n = reader.frame_count();
    for (int64_t i = n - 1; i >= 0; i -= 3) {
      try {
        reader.frames_at({i});
      } catch (const Error& e) {
        EXPECT_TRUE(e.kind() == ErrorKind::Decode || e.kind() == ErrorKind::Media) << e.what();
      }
    }
  } catch (const Error& e) {
    EXPECT_TRUE(e.kind() == ErrorKind::Media || e.kind() == ErrorKind::MediaIo ||
                e.kind() == ErrorKind::Decode)
        << e.what();
  }
}

class Damaged : public ::testing::TestWithParam<std::string> {};

TEST_P(Damaged, TruncatedCopiesNeverCrash) {
  const std::string path = temp_dir() + "/whole" + GetParam();
  make_file(path);
  const auto bytes = read_bytes(path);
  for (int percent : {1, 10, 35, 50, 75, 90, 99}) {
    const std::string cut = temp_dir() + "/cut" + std::to_string(percent) + GetParam();
    write_bytes(cut, std::vector<uint8_t>(bytes.begin(),
                                          bytes.begin() + long(bytes.size() * percent / 100)));
    read_what_it_can(cut);
  }
}

TEST_P(Damaged, BitFlippedCopiesNeverCrash) {
  const std::string path = temp_dir() + "/flip" + GetParam();
  make_file(path);
  const auto bytes = read_bytes(path);
  std::mt19937 rng(11);
  for (int round = 0; round < 12; ++round) {
    auto copy = bytes;
    for (int k = 0; k < 40; ++k) copy[rng() % copy.size()] ^= uint8_t(1u << (rng() % 8));
    const std::string flipped = temp_dir() + "/flipped" + std::to_string(round) + GetParam();
    write_bytes(flipped, copy);
    read_what_it_can(flipped);
  }
}

INSTANTIATE_TEST_SUITE_P(Media, Damaged, ::testing::Values(".mp4", ".mkv", ".ts", ".h264"),
                         [](const auto& info) { return info.param.substr(1); });

TEST(Demuxer, GarbageAndEmptyFilesAreMediaErrors) {
  const std::string empty = temp_dir() + "/empty.mp4";
  write_bytes(empty, {});
  const std::string garbage = temp_dir() + "/garbage.mkv";
  std::vector<uint8_t> noise(50000);
  std::mt19937 rng(3);
  for (auto& b : noise) b = uint8_t(rng());
  write_bytes(garbage, noise);
  for (const auto& path : {empty, garbage}) {
    try {
      media::Demuxer::open_path(path);
      FAIL() << path << " opened";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Media) << e.what();
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
  }
  try {
    media::Demuxer::open_path(temp_dir());
    FAIL() << "a directory opened";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("directory"), std::string::npos) << e.what();
  }
}

}  // namespace
