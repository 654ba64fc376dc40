// media/: the Muxer, fed with packets of the software encoder and checked by reading the
// files back with libavformat + libavcodec (support/media_probe) and the ffmpeg tool.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "contract/errors.hpp"
#include "contract/frame_layout.hpp"
#include "media/muxer.hpp"
#include "software/software_encoder.hpp"
#include "support/decoder.hpp"
#include "support/frames.hpp"
#include "support/media_probe.hpp"
#include "support/session_support.hpp"

extern "C" {
#include <libavutil/avutil.h>
#include <libavutil/log.h>
#include <libavutil/mathematics.h>
}

using namespace videohw;
using namespace videohw::media;
namespace fs = std::filesystem;
using vhtest::expect_error;
using vhtest::ProbedFile;

namespace {

// ---- making packets ---------------------------------------------------------------------

CommonEncodeConfig config(Codec codec, int width = 160, int height = 96, int b_frames = 0,
                          int gop = 10) {
  auto c = vhtest::small_config(codec, width, height);
  c.gop_length = gop;
  c.b_frames = b_frames;
  c.frame_interval_p = b_frames + 1;
  return c;
}

// Frames first..first+count-1 (pts = index) through a fresh encoder, drained; generation
// stamped as a session would.
std::vector<EncodedPacket> encode(const CommonEncodeConfig& c, int first, int count,
                                  uint32_t generation = 1) {
  av_log_set_level(AV_LOG_ERROR);
  software::SoftwareEncoder encoder(c, SoftwareEncodeConfig{});
  std::vector<EncodedPacket> out;
  for (int i = first; i < first + count; ++i) {
    const auto frame = vhtest::pattern_frame(PixelFormat::I420, c.width, c.height, i);
    FrameOptions options;
    options.pts = i;
    encoder.encode(describe_frame(frame.format, frame.width, frame.height, frame.data(),
                                  frame.size(), frame.pitch),
                   options, out);
  }
  encoder.finish(out);
  for (auto& p : out) p.generation = generation;
  return out;
}

MuxerConfig muxer_config(const CommonEncodeConfig& c) {
  MuxerConfig m;
  m.codec = c.codec;
  m.width = c.width;
  m.height = c.height;
  m.fps_num = c.fps_num;
  m.fps_den = c.fps_den;
  return m;
}

std::vector<std::string> write_all(const std::string& path, const MuxerConfig& m,
                                   const std::vector<EncodedPacket>& packets) {
  Muxer muxer(path, m);
  for (const auto& p : packets) muxer.write(p);
  return muxer.close();
}

// ---- reading them back ------------------------------------------------------------------

// A fresh folder per test, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "vh-mux-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::permissions(path_, fs::perms::owner_all, ignored);
    fs::remove_all(path_, ignored);
  }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }
  // Every entry's name, hidden ones included, sorted.
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(path_)) names.push_back(e.path().filename());
    std::sort(names.begin(), names.end());
    return names;
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

const char* raw_demuxer(Codec codec) {
  return codec == Codec::HEVC ? "hevc" : "h264";
}

ProbedFile probe(const std::string& path, ContainerFormat format, Codec codec) {
  return vhtest::probe_file(path, format == ContainerFormat::AnnexB ? raw_demuxer(codec) : "");
}

std::vector<int> keyframe_indices(const ProbedFile& f) {
  std::vector<int> out;
  for (size_t i = 0; i < f.pictures.size(); ++i)
    if (f.pictures[i].key) out.push_back(int(i));
  return out;
}

std::vector<int64_t> packet_pts(const ProbedFile& f) {
  std::vector<int64_t> out;
  for (const auto& p : f.packets) out.push_back(p.pts);
  return out;
}

std::vector<int64_t> input_pts(const std::vector<EncodedPacket>& packets) {
  std::vector<int64_t> out;
  for (const auto& p : packets) out.push_back(p.pts);
  return out;
}

// The file's pts in frames (1/fps) relative to `origin` (file time base units).
std::vector<int64_t> in_frames(const ProbedFile& f, int fps, int64_t origin = 0) {
  std::vector<int64_t> out;
  for (const auto& p : f.packets)
    out.push_back(av_rescale_q(p.pts - origin, AVRational{f.time_base_num, f.time_base_den},
                               AVRational{1, fps}));
  return out;
}

void expect_dts_increasing(const ProbedFile& f) {
  for (size_t i = 1; i < f.packets.size(); ++i)
    if (f.packets[i].dts != AV_NOPTS_VALUE && f.packets[i - 1].dts != AV_NOPTS_VALUE) {
      EXPECT_GT(f.packets[i].dts, f.packets[i - 1].dts) << "packet " << i;
    }
}

std::string format_name(const ::testing::TestParamInfo<ContainerFormat>& info) {
  return to_string(info.param);
}

std::string extension(ContainerFormat f, Codec codec) {
  switch (f) {
    case ContainerFormat::Mp4:
    case ContainerFormat::FragmentedMp4:
      return ".mp4";
    case ContainerFormat::Matroska:
      return ".mkv";
    case ContainerFormat::MpegTs:
      return ".ts";
    case ContainerFormat::AnnexB:
      return codec == Codec::HEVC ? ".hevc" : ".h264";
  }
  return "";
}

const std::vector<ContainerFormat> kAllFormats = {
    ContainerFormat::Mp4, ContainerFormat::FragmentedMp4, ContainerFormat::Matroska,
    ContainerFormat::MpegTs, ContainerFormat::AnnexB};

class EveryFormat : public ::testing::TestWithParam<ContainerFormat> {
 protected:
  ContainerFormat format() const { return GetParam(); }
  // Explicit, so fmp4 needs no extension of its own.
  MuxerConfig with_format(MuxerConfig m) const {
    m.format = format();
    return m;
  }
  std::string file(const TempDir& dir, Codec codec = Codec::H264) const {
    return dir / ("out" + extension(format(), codec));
  }
};

INSTANTIATE_TEST_SUITE_P(Formats, EveryFormat, ::testing::ValuesIn(kAllFormats), format_name);

}  // namespace

// ---- names -----------------------------------------------------------------------------

TEST(ContainerNames, ExtensionsChooseTheContainerWhateverTheirCase) {
  EXPECT_EQ(container_for_path("a/b/out.mp4"), ContainerFormat::Mp4);
  EXPECT_EQ(container_for_path("OUT.MOV"), ContainerFormat::Mp4);
  EXPECT_EQ(container_for_path("x.m4v"), ContainerFormat::Mp4);
  EXPECT_EQ(container_for_path("x.Mkv"), ContainerFormat::Matroska);
  EXPECT_EQ(container_for_path("x.ts"), ContainerFormat::MpegTs);
  EXPECT_EQ(container_for_path("x.m2ts"), ContainerFormat::MpegTs);
  for (const char* name : {"x.h264", "x.264", "x.avc", "x.h265", "x.265", "x.HEVC"})
    EXPECT_EQ(container_for_path(name), ContainerFormat::AnnexB) << name;
}

TEST(ContainerNames, AnUnknownExtensionIsAConfigErrorListingTheKnownOnes) {
  for (const char* name : {"out.avi", "out", "dir.mp4/out", ".mp4x"}) {
    try {
      container_for_path(name);
      ADD_FAILURE() << name << ": no error";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Config) << name;
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(".mkv"), std::string::npos) << e.what();
    }
  }
}

TEST(ContainerNames, FormatNamesParseBackAndOthersAreRefused) {
  for (ContainerFormat f : kAllFormats) EXPECT_EQ(parse_container_format(to_string(f)), f);
  expect_error(
      ErrorKind::Config, [] { parse_container_format("avi"); }, "avi");
  expect_error(
      ErrorKind::Config, [] { parse_container_format("MP4"); }, "MP4");
}

TEST(ContainerNames, SegmentsAreNamedAfterTheFirstFile) {
  EXPECT_EQ(segment_path("d/out.mp4", 1, ContainerFormat::Mp4, Codec::H264), "d/out.mp4");
  EXPECT_EQ(segment_path("d/out.mp4", 2, ContainerFormat::Mp4, Codec::H264), "d/out.seg2.mp4");
  EXPECT_EQ(segment_path("out.mkv", 3, ContainerFormat::Matroska, Codec::HEVC), "out.seg3.mkv");
  EXPECT_EQ(segment_path("out.ts", 2, ContainerFormat::MpegTs, Codec::HEVC), "out.seg2.ts");
  // Annex-B files are named after their codec, as `videohw encode --switch` names them.
  EXPECT_EQ(segment_path("out.h264", 2, ContainerFormat::AnnexB, Codec::HEVC), "out.seg2.hevc");
  EXPECT_EQ(segment_path("a.b/out", 2, ContainerFormat::Mp4, Codec::H264), "a.b/out.seg2");
}

// ---- every container -------------------------------------------------------------------

TEST_P(EveryFormat, EveryFrameComesBackWithItsSizeAndKeyframes) {
  TempDir dir;
  const auto c = config(Codec::H264);
  const auto packets = encode(c, 0, 25);
  const std::string path = file(dir);
  EXPECT_EQ(write_all(path, with_format(muxer_config(c)), packets), std::vector<std::string>{path});
  EXPECT_EQ(dir.entries(), std::vector<std::string>{fs::path(path).filename()})
      << "only the final file is left";
  const ProbedFile f = probe(path, format(), Codec::H264);
  EXPECT_EQ(f.codec, "h264");
  ASSERT_EQ(f.pictures.size(), 25u);
  EXPECT_EQ(f.decode_errors, 0);
  for (const auto& p : f.pictures) {
    EXPECT_EQ(p.width, 160);
    EXPECT_EQ(p.height, 96);
  }
  EXPECT_EQ(keyframe_indices(f), (std::vector<int>{0, 10, 20}));
  expect_dts_increasing(f);
}

TEST_P(EveryFormat, TheFfmpegToolDecodesItWithoutAWord) {
  if (!vhtest::have_ffmpeg_tool()) GTEST_SKIP() << "no ffmpeg tool";
  TempDir dir;
  const auto c = config(Codec::H264, 160, 96, 2);
  const std::string path = file(dir);
  write_all(path, with_format(muxer_config(c)), encode(c, 0, 30));
  EXPECT_EQ(vhtest::ffmpeg_complaints(path), "");
}

TEST_P(EveryFormat, HevcComesBackToo) {
  TempDir dir;
  const auto c = config(Codec::HEVC, 160, 96, 2);
  const std::string path = file(dir, Codec::HEVC);
  write_all(path, with_format(muxer_config(c)), encode(c, 0, 20));
  const ProbedFile f = probe(path, format(), Codec::HEVC);
  EXPECT_EQ(f.codec, "hevc");
  EXPECT_EQ(f.pictures.size(), 20u);
  EXPECT_EQ(f.decode_errors, 0);
  EXPECT_EQ(keyframe_indices(f), (std::vector<int>{0, 10}));
  if (vhtest::have_ffmpeg_tool()) {
    EXPECT_EQ(vhtest::ffmpeg_complaints(path), "");
  }
}

TEST_P(EveryFormat, NothingAppearsUnderTheFinalNameBeforeClose) {
  TempDir dir;
  const auto c = config(Codec::H264);
  const std::string path = file(dir);
  Muxer muxer(path, with_format(muxer_config(c)));
  const std::string temp = muxer.segments().at(0).temp_path;
  EXPECT_EQ(fs::path(temp).parent_path(), fs::path(path).parent_path()) << temp;
  EXPECT_EQ(fs::path(temp).filename().string().rfind(".out", 0), 0u) << temp;
  for (const auto& p : encode(c, 0, 12)) muxer.write(p);
  EXPECT_FALSE(fs::exists(path));
  EXPECT_TRUE(fs::exists(temp));
  muxer.close();
  EXPECT_TRUE(fs::exists(path));
  EXPECT_FALSE(fs::exists(temp));
  EXPECT_TRUE(muxer.segments().at(0).finished);
}

TEST_P(EveryFormat, AbortLeavesNothing) {
  TempDir dir;
  const auto c = config(Codec::H264);
  Muxer muxer(file(dir), with_format(muxer_config(c)));
  for (const auto& p : encode(c, 0, 12)) muxer.write(p);
  muxer.abort();
  EXPECT_TRUE(dir.entries().empty());
  expect_error(
      ErrorKind::Config, [&] { muxer.close(); }, "close after abort");
  EXPECT_TRUE(dir.entries().empty());
}

TEST_P(EveryFormat, DestructionWithoutCloseLeavesNothing) {
  TempDir dir;
  const auto c = config(Codec::H264);
  {
    Muxer muxer(file(dir), with_format(muxer_config(c)));
    for (const auto& p : encode(c, 0, 12)) muxer.write(p);
  }
  EXPECT_TRUE(dir.entries().empty());
}

// ---- timestamps ------------------------------------------------------------------------

TEST(MuxerTimestamps, Mp4WithBFramesKeepsPtsAndStartsDtsBelowZeroWithAnEditList) {
  TempDir dir;
  const auto c = config(Codec::H264, 160, 96, 2);
  const auto packets = encode(c, 0, 30);
  ASSERT_LT(packets[0].dts, 0) << "libx264 with B-frames starts dts below 0";
  const std::string path = dir / "out.mp4";
  write_all(path, muxer_config(c), packets);
  const ProbedFile f = vhtest::probe_file(path);
  ASSERT_EQ(f.packets.size(), packets.size());
  EXPECT_EQ(in_frames(f, 30), input_pts(packets)) << "pts as given, in decode order";
  EXPECT_LT(f.packets[0].dts, 0);
  expect_dts_increasing(f);
  EXPECT_EQ(f.start_time, 0.0) << "the edit list hides the reorder delay";
  EXPECT_NEAR(f.duration, 1.0, 1.0 / 30);
  ASSERT_EQ(f.pictures.size(), 30u);
  for (size_t i = 0; i < f.pictures.size(); ++i)
    EXPECT_EQ(av_rescale_q(f.pictures[i].pts, {f.time_base_num, f.time_base_den}, {1, 30}),
              int64_t(i));
}

TEST(MuxerTimestamps, EveryPacketLastsOneFrame) {
  TempDir dir;
  const auto c = config(Codec::H264, 160, 96, 2);
  for (const char* name : {"out.mp4", "out.mkv"}) {
    const std::string path = dir / name;
    write_all(path, muxer_config(c), encode(c, 0, 12));
    const ProbedFile f = vhtest::probe_file(path);
    for (const auto& p : f.packets)
      EXPECT_EQ(av_rescale_q(p.duration, {f.time_base_num, f.time_base_den}, {1, 30}), 1) << name;
  }
}

TEST(MuxerTimestamps, MatroskaWithBFramesHasThePtsOfAnFfmpegMadeMatroska) {
  if (!vhtest::have_ffmpeg_tool()) GTEST_SKIP() << "no ffmpeg tool";
  TempDir dir;
  const auto c = config(Codec::H264, 160, 96, 2);
  const auto packets = encode(c, 0, 30);
  write_all(dir / "ours.mkv", muxer_config(c), packets);
  write_all(dir / "source.ts", muxer_config(c), packets);
  ASSERT_TRUE(vhtest::run_command("ffmpeg -nostdin -v error -i " +
                                  vhtest::shell_quoted(dir / "source.ts") + " -c copy " +
                                  vhtest::shell_quoted(dir / "ffmpeg.mkv")));
  const ProbedFile ours = vhtest::probe_file(dir / "ours.mkv");
  const ProbedFile theirs = vhtest::probe_file(dir / "ffmpeg.mkv");
  EXPECT_EQ(packet_pts(ours), packet_pts(theirs));
  EXPECT_EQ(ours.pictures.size(), 30u);
  EXPECT_EQ(ours.start_time, theirs.start_time);
}

TEST(MuxerTimestamps, MpegTsWithBFramesKeepsDtsIncreasingAndPtsSpacing) {
  TempDir dir;
  const auto c = config(Codec::H264, 160, 96, 2);
  const auto packets = encode(c, 0, 30);
  write_all(dir / "out.ts", muxer_config(c), packets);
  const ProbedFile f = vhtest::probe_file(dir / "out.ts");
  ASSERT_EQ(f.packets.size(), packets.size());
  expect_dts_increasing(f);
  // MPEG-TS adds its own start offset; the distances between pictures stay.
  EXPECT_EQ(in_frames(f, 30, f.packets[0].pts), input_pts(packets));
  EXPECT_EQ(f.pictures.size(), 30u);
}

TEST(MuxerTimestamps, AnotherTimeBaseIsRescaled) {
  TempDir dir;
  const auto c = config(Codec::H264, 160, 96, 2);
  auto packets = encode(c, 0, 15);
  for (auto& p : packets) {
    p.pts *= 3000;
    p.dts *= 3000;
  }
  auto m = muxer_config(c);
  m.time_base_num = 1;
  m.time_base_den = 90000;
  write_all(dir / "out.mkv", m, packets);
  const ProbedFile f = vhtest::probe_file(dir / "out.mkv");
  std::vector<int64_t> expected;
  for (const auto& p : packets) expected.push_back(p.pts / 3000);
  EXPECT_EQ(in_frames(f, 30), expected);
  EXPECT_EQ(av_rescale_q(f.packets[0].duration, {f.time_base_num, f.time_base_den}, {1, 30}), 1);
}

TEST(MuxerTimestamps, Mp4AndMatroskaStartAtTheirFirstKeyframe) {
  TempDir dir;
  const auto c = config(Codec::H264);
  auto packets = encode(c, 100, 12);  // pts 100..111
  for (const char* name : {"out.mp4", "out.mkv"}) {
    const std::string path = dir / name;
    Muxer muxer(path, muxer_config(c));
    for (const auto& p : packets) muxer.write(p);
    EXPECT_EQ(muxer.segments()[0].first_pts, 100) << "the info keeps the pts as given";
    EXPECT_EQ(muxer.segments()[0].last_pts, 111);
    muxer.close();
    const ProbedFile f = vhtest::probe_file(path);
    EXPECT_EQ(in_frames(f, 30)[0], 0) << name;
    EXPECT_EQ(f.start_time, 0.0) << name;
  }
}

TEST(MuxerTimestamps, ANewEncoderWithDeeperReorderingContinuesInTheSameTsFile) {
  TempDir dir;
  auto packets = encode(config(Codec::H264, 160, 96, 0), 0, 10, 1);
  const auto deeper = encode(config(Codec::H264, 160, 96, 2), 10, 10, 2);
  ASSERT_LE(deeper[0].dts, packets.back().dts) << "the case this test is about";
  packets.insert(packets.end(), deeper.begin(), deeper.end());
  const std::string path = dir / "out.ts";
  EXPECT_EQ(write_all(path, muxer_config(config(Codec::H264)), packets).size(), 1u);
  const ProbedFile f = vhtest::probe_file(path);
  expect_dts_increasing(f);
  EXPECT_EQ(f.pictures.size(), 20u);
  EXPECT_EQ(f.decode_errors, 0);
}

// ---- segments --------------------------------------------------------------------------

// Ten 160x96 frames (generation 1), then ten 128x80 ones (generation 2), pts 0..19.
std::vector<EncodedPacket> size_change(Codec codec = Codec::H264, int b_frames = 0) {
  auto packets = encode(config(codec, 160, 96, b_frames), 0, 10, 1);
  const auto second = encode(config(codec, 128, 80, b_frames), 10, 10, 2);
  packets.insert(packets.end(), second.begin(), second.end());
  return packets;
}

TEST(MuxerSegments, ASizeChangeStartsASegmentInMp4AndMatroska) {
  for (const char* ext : {".mp4", ".mkv"}) {
    SCOPED_TRACE(ext);
    TempDir dir;
    const std::string path = dir / (std::string("out") + ext);
    Muxer muxer(path, muxer_config(config(Codec::H264)));
    for (const auto& p : size_change(Codec::H264, 2)) muxer.write(p);
    ASSERT_EQ(muxer.segments().size(), 2u);
    EXPECT_EQ(muxer.segments()[1].path, dir / (std::string("out.seg2") + ext));
    EXPECT_EQ(muxer.segments()[1].first_generation, 2u);
    EXPECT_EQ(muxer.segments()[1].width, 128);
    EXPECT_EQ(muxer.segments()[1].packets, 10);
    EXPECT_EQ(muxer.close(), (std::vector<std::string>{path, muxer.segments()[1].path}));
    const ProbedFile first = vhtest::probe_file(path);
    const ProbedFile second = vhtest::probe_file(muxer.segments()[1].path);
    EXPECT_EQ(first.pictures.size(), 10u);
    EXPECT_EQ(second.pictures.size(), 10u);
    EXPECT_EQ(first.width, 160);
    EXPECT_EQ(second.width, 128);
    EXPECT_EQ(second.height, 80);
    EXPECT_EQ(in_frames(second, 30)[0], 0) << "each segment starts at 0";
    EXPECT_EQ(second.start_time, 0.0);
    EXPECT_EQ(dir.entries().size(), 2u);
  }
}

TEST(MuxerSegments, ASizeChangeContinuesInTheSameTsAndAnnexBFile) {
  for (ContainerFormat format : {ContainerFormat::MpegTs, ContainerFormat::AnnexB}) {
    SCOPED_TRACE(to_string(format));
    TempDir dir;
    const std::string path = dir / ("out" + extension(format, Codec::H264));
    EXPECT_EQ(write_all(path, muxer_config(config(Codec::H264)), size_change()),
              std::vector<std::string>{path});
    const ProbedFile f = probe(path, format, Codec::H264);
    ASSERT_EQ(f.pictures.size(), 20u);
    EXPECT_EQ(f.pictures[9].width, 160);
    EXPECT_EQ(f.pictures[10].width, 128);
    EXPECT_EQ(f.pictures[19].height, 80);
    EXPECT_EQ(f.decode_errors, 0);
  }
}

TEST(MuxerSegments, ACodecChangeStartsASegmentEverywhere) {
  for (ContainerFormat format : kAllFormats) {
    SCOPED_TRACE(to_string(format));
    TempDir dir;
    auto packets = encode(config(Codec::H264), 0, 10, 1);
    const auto hevc = encode(config(Codec::HEVC), 10, 10, 2);
    packets.insert(packets.end(), hevc.begin(), hevc.end());
    const std::string path = dir / ("out" + extension(format, Codec::H264));
    auto m = muxer_config(config(Codec::H264));
    m.format = format;
    const auto paths = write_all(path, m, packets);
    ASSERT_EQ(paths.size(), 2u);
    EXPECT_EQ(paths[1], segment_path(path, 2, format, Codec::HEVC));
    EXPECT_EQ(probe(paths[0], format, Codec::H264).codec, "h264");
    const ProbedFile second = probe(paths[1], format, Codec::HEVC);
    EXPECT_EQ(second.codec, "hevc");
    EXPECT_EQ(second.pictures.size(), 10u);
  }
}

TEST(MuxerSegments, RepeatedIdenticalParameterSetsStayInOneSegment) {
  TempDir dir;
  // Keyframes every 5 frames repeat the same SPS/PPS; a new generation with the same
  // settings (a flush, a bitrate-only switch) makes the same ones again.
  auto c = config(Codec::H264, 160, 96, 0, 5);
  auto packets = encode(c, 0, 10, 1);
  const auto more = encode(c, 10, 10, 2);
  packets.insert(packets.end(), more.begin(), more.end());
  EXPECT_EQ(write_all(dir / "out.mp4", muxer_config(c), packets).size(), 1u);
  EXPECT_EQ(vhtest::probe_file(dir / "out.mp4").pictures.size(), 20u);
}

// ---- containers in detail --------------------------------------------------------------

TEST(MuxerContainers, Mp4HasItsMoovFirstAndAvc1WithParameterSetsInBand) {
  TempDir dir;
  const auto c = config(Codec::H264);
  write_all(dir / "out.mp4", muxer_config(c), encode(c, 0, 12));
  std::ifstream in(dir / "out.mp4", std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_NE(bytes.find("moov"), std::string::npos);
  EXPECT_LT(bytes.find("moov"), bytes.find("mdat")) << "+faststart";
  const ProbedFile f = vhtest::probe_file(dir / "out.mp4");
  EXPECT_EQ(f.codec_tag, "avc1");
  ASSERT_FALSE(f.extradata.empty());
  EXPECT_EQ(f.extradata[0], 1) << "an avcC record, not Annex-B";
}

TEST(MuxerContainers, HevcInMp4IsHev1WithIncompleteArrays) {
  TempDir dir;
  const auto c = config(Codec::HEVC);
  write_all(dir / "out.mp4", muxer_config(c), encode(c, 0, 5));
  const ProbedFile f = vhtest::probe_file(dir / "out.mp4");
  EXPECT_EQ(f.codec_tag, "hev1");
  ASSERT_GT(f.extradata.size(), 23u);
  EXPECT_EQ(f.extradata[0], 1);
  EXPECT_EQ(f.extradata[22], 3) << "VPS, SPS and PPS arrays";
  EXPECT_EQ(f.extradata[23] & 0x80, 0) << "array_completeness 0: copies in band";
}

TEST(MuxerContainers, WithoutFaststartTheMoovComesLast) {
  TempDir dir;
  const auto c = config(Codec::H264);
  auto m = muxer_config(c);
  m.faststart = false;
  write_all(dir / "out.mp4", m, encode(c, 0, 12));
  std::ifstream in(dir / "out.mp4", std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_GT(bytes.find("moov"), bytes.find("mdat"));
}

TEST(MuxerContainers, FragmentedMp4CanBeReadWhileItIsWritten) {
  TempDir dir;
  const auto c = config(Codec::H264, 160, 96, 0, 5);
  auto m = muxer_config(c);
  m.format = ContainerFormat::FragmentedMp4;
  m.fragment_ms = 100;  // a fragment at every keyframe (5 frames = 167 ms)
  Muxer muxer(dir / "live.mp4", m);
  for (const auto& p : encode(c, 0, 23)) muxer.write(p);
  // Fragments end at keyframes 5, 10, 15, 20: the first 20 frames are in the file already.
  const ProbedFile live = vhtest::probe_file(muxer.segments()[0].temp_path);
  EXPECT_EQ(live.pictures.size(), 20u);
  EXPECT_EQ(live.decode_errors, 0);
  muxer.close();
  EXPECT_EQ(vhtest::probe_file(dir / "live.mp4").pictures.size(), 23u);
}

TEST(MuxerContainers, FragmentsWaitForFragmentMsBeforeTheNextKeyframe) {
  TempDir dir;
  const auto c = config(Codec::H264, 160, 96, 0, 5);
  auto m = muxer_config(c);
  m.format = ContainerFormat::FragmentedMp4;
  m.fragment_ms = 10'000;
  Muxer muxer(dir / "live.mp4", m);
  for (const auto& p : encode(c, 0, 23)) muxer.write(p);
  EXPECT_TRUE(vhtest::probe_file(muxer.segments()[0].temp_path).pictures.empty())
      << "no fragment is complete before 10 s";
  muxer.close();
  EXPECT_EQ(vhtest::probe_file(dir / "live.mp4").pictures.size(), 23u);
}

TEST(MuxerContainers, AnnexBFileIsThePacketsBackToBack) {
  TempDir dir;
  const auto c = config(Codec::H264, 160, 96, 2);
  const auto packets = encode(c, 0, 12);
  write_all(dir / "out.h264", muxer_config(c), packets);
  std::ifstream in(dir / "out.h264", std::ios::binary);
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                   std::istreambuf_iterator<char>());
  EXPECT_EQ(bytes, vhtest::concatenate(packets));
}

TEST(MuxerContainers, WritingThroughASymlinkReplacesItsTarget) {
  TempDir dir;
  fs::create_directory(dir.path() / "real");
  std::ofstream(dir / "real/target.mp4") << "old";
  fs::create_symlink(dir.path() / "real/target.mp4", dir.path() / "link.mp4");
  const auto c = config(Codec::H264);
  write_all(dir / "link.mp4", muxer_config(c), encode(c, 0, 5));
  EXPECT_TRUE(fs::is_symlink(dir.path() / "link.mp4"));
  EXPECT_EQ(vhtest::probe_file(dir / "real/target.mp4").pictures.size(), 5u);
}

// ---- closing -------------------------------------------------------------------------

TEST(MuxerClose, ASecondCloseReturnsTheSamePathsAndLaterWritesAreRefused) {
  TempDir dir;
  const auto c = config(Codec::H264);
  const auto packets = encode(c, 0, 5);
  Muxer muxer(dir / "out.mkv", muxer_config(c));
  for (const auto& p : packets) muxer.write(p);
  const auto paths = muxer.close();
  EXPECT_TRUE(muxer.closed());
  EXPECT_EQ(muxer.close(), paths);
  expect_error(
      ErrorKind::Config, [&] { muxer.write(packets[0]); }, "write after close");
  muxer.abort();  // after close: keeps the files
  EXPECT_TRUE(fs::exists(paths[0]));
}

TEST(MuxerClose, NoPacketsMeansNoFile) {
  TempDir dir;
  Muxer muxer(dir / "out.mp4", muxer_config(config(Codec::H264)));
  EXPECT_TRUE(muxer.close().empty());
  EXPECT_TRUE(dir.entries().empty());
}

// A real write failure half way: the process may not grow a file past a few kilobytes.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    getrlimit(RLIMIT_FSIZE, &saved_);
    old_handler_ = signal(SIGXFSZ, SIG_IGN);  // a failing write() instead of a signal
    rlimit limit = saved_;
    limit.rlim_cur = bytes;
    setrlimit(RLIMIT_FSIZE, &limit);
  }
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &saved_);
    signal(SIGXFSZ, old_handler_);
  }

 private:
  rlimit saved_{};
  sighandler_t old_handler_;
};

TEST_P(EveryFormat, AWriteFailureHalfWayLeavesNothingUnderTheFinalName) {
  TempDir dir;
  const auto c = config(Codec::H264, 160, 96, 0, 5);
  const auto packets = encode(c, 0, 60);
  const std::string path = file(dir);
  Muxer muxer(path, with_format(muxer_config(c)));
  bool failed = false;
  {
    FileSizeLimit limit(8 * 1024);
    try {
      for (const auto& p : packets) muxer.write(p);
      muxer.close();
    } catch (const Error& e) {
      failed = true;
      EXPECT_TRUE(e.kind() == ErrorKind::MediaIo || e.kind() == ErrorKind::Media) << e.what();
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
  }
  ASSERT_TRUE(failed) << "the size limit did not bite";
  EXPECT_FALSE(fs::exists(path));
  expect_error(
      ErrorKind::MediaIo, [&] { muxer.close(); }, "close after a failed write");
  EXPECT_TRUE(dir.entries().empty());
}

// ---- bad input -------------------------------------------------------------------------

TEST(MuxerBadInput, AFolderThatCannotBeWrittenFailsAtOnceNamingThePath) {
  TempDir dir;
  const std::string missing = dir / "no/such/folder/out.mp4";
  try {
    Muxer muxer(missing, MuxerConfig{});
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::MediaIo);
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("No such file"), std::string::npos) << e.what();
  }
  if (geteuid() != 0) {  // root writes anywhere
    fs::create_directory(dir.path() / "ro");
    fs::permissions(dir.path() / "ro", fs::perms::owner_read | fs::perms::owner_exec);
    expect_error(
        ErrorKind::MediaIo, [&] { Muxer(dir / "ro/out.mp4", MuxerConfig{}); }, "read-only folder");
  }
  MuxerConfig mp4;
  mp4.format = ContainerFormat::Mp4;
  expect_error(
      ErrorKind::MediaIo, [&] { Muxer(dir.path().string() + "/.", mp4); }, "a directory");
}

TEST(MuxerBadInput, BadConfigsAreConfigErrors) {
  TempDir dir;
  const std::string path = dir / "out.mp4";
  auto bad = [&](auto change, const char* what) {
    MuxerConfig m = muxer_config(config(Codec::H264));
    change(m);
    expect_error(
        ErrorKind::Config, [&] { Muxer(path, m); }, what);
  };
  bad([](MuxerConfig& m) { m.codec = Codec::AV1; }, "AV1");
  bad([](MuxerConfig& m) { m.fps_num = 0; }, "fps 0");
  bad([](MuxerConfig& m) { m.fps_den = -1; }, "fps den -1");
  bad([](MuxerConfig& m) { m.time_base_num = 1; }, "half a time base");
  bad([](MuxerConfig& m) { m.time_base_num = 1, m.time_base_den = 10; }, "coarser than a frame");
  bad([](MuxerConfig& m) { m.width = -5; }, "negative width");
  bad([](MuxerConfig& m) { m.fragment_ms = -1; }, "negative fragment_ms");
  expect_error(
      ErrorKind::Config, [&] { Muxer(dir / "out.avi", MuxerConfig{}); }, "extension");
  expect_error(
      ErrorKind::Config, [&] { Muxer("", MuxerConfig{}); }, "empty path");
  EXPECT_TRUE(dir.entries().empty());
}

class MuxerBadPackets : public ::testing::Test {
 protected:
  void SetUp() override { packets_ = encode(config(Codec::H264, 160, 96, 2), 0, 12); }
  Muxer& muxer() {
    if (!muxer_)
      muxer_ = std::make_unique<Muxer>(dir_ / "out.mp4", muxer_config(config(Codec::H264)));
    return *muxer_;
  }
  // Writes every packet; the file then must hold all twelve frames.
  void expect_usable() {
    for (const auto& p : packets_) muxer().write(p);
    muxer().close();
    EXPECT_EQ(vhtest::probe_file(dir_ / "out.mp4").pictures.size(), 12u);
  }
  std::string message_of(const EncodedPacket& p, ErrorKind kind) {
    try {
      muxer().write(p);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), kind) << e.what();
      return e.what();
    }
    ADD_FAILURE() << "no error";
    return "";
  }

  TempDir dir_;
  std::vector<EncodedPacket> packets_;
  std::unique_ptr<Muxer> muxer_;
};

TEST_F(MuxerBadPackets, TheFirstPacketMustBeAKeyframeWithParameterSets) {
  const std::string m = message_of(packets_[1], ErrorKind::Media);
  EXPECT_NE(m.find("keyframe"), std::string::npos) << m;
  // The keyframe without its SPS/PPS will not do either.
  EncodedPacket bare = packets_[0];
  std::vector<uint8_t> idr_only;
  const auto& d = bare.data;
  for (size_t i = 0; i + 4 < d.size(); ++i)
    if (d[i] == 0 && d[i + 1] == 0 && d[i + 2] == 1 && (d[i + 3] & 0x1f) == 5) {
      idr_only.assign(d.begin() + long(i), d.end());
      break;
    }
  ASSERT_FALSE(idr_only.empty());
  bare.data = idr_only;
  message_of(bare, ErrorKind::Media);
  expect_usable();
}

TEST_F(MuxerBadPackets, LengthPrefixedPacketsAreRefused) {
  EncodedPacket avcc = packets_[0];
  avcc.layout = EncodedLayout::AVCC;
  const std::string m = message_of(avcc, ErrorKind::Config);
  EXPECT_NE(m.find("AVCC"), std::string::npos) << m;
  // Annex-B in name only: AVCC bytes.
  EncodedPacket mislabelled = packets_[0];
  mislabelled.data = {0, 0, 0, 9, 0x65, 1, 2, 3, 4, 5, 6, 7, 8};
  message_of(mislabelled, ErrorKind::Media);
  expect_usable();
}

TEST_F(MuxerBadPackets, EmptyAndGarbagePacketsAreMediaErrors) {
  EncodedPacket p = packets_[0];
  p.data.clear();
  message_of(p, ErrorKind::Media);
  p.data = {1, 2, 3, 4, 5};
  message_of(p, ErrorKind::Media);
  expect_usable();
}

TEST_F(MuxerBadPackets, ADtsThatDoesNotIncreaseIsAConfigErrorNamingBothValues) {
  for (size_t i = 0; i < 4; ++i) muxer().write(packets_[i]);
  EncodedPacket back = packets_[4];
  back.dts = packets_[3].dts;
  back.pts = 1000;
  const std::string m = message_of(back, ErrorKind::Config);
  EXPECT_NE(m.find("dts " + std::to_string(back.dts)), std::string::npos) << m;
  EXPECT_NE(m.find("previous dts " + std::to_string(packets_[3].dts)), std::string::npos) << m;
  for (size_t i = 4; i < packets_.size(); ++i) muxer().write(packets_[i]);
  muxer().close();
  EXPECT_EQ(vhtest::probe_file(dir_ / "out.mp4").pictures.size(), 12u) << "still usable";
}

TEST_F(MuxerBadPackets, ARepeatedPtsAndAPtsBeforeItsDtsAreConfigErrors) {
  int64_t latest = packets_[0].pts;
  for (size_t i = 0; i < 4; ++i) {
    muxer().write(packets_[i]);
    latest = std::max(latest, packets_[i].pts);
  }
  EncodedPacket repeat = packets_[4];
  ASSERT_GE(latest, repeat.dts) << "a pts this packet may repeat";
  repeat.pts = latest;
  std::string m = message_of(repeat, ErrorKind::Config);
  EXPECT_NE(m.find("repeats"), std::string::npos) << m;
  EncodedPacket early = packets_[4];
  early.pts = early.dts - 1;
  m = message_of(early, ErrorKind::Config);
  EXPECT_NE(m.find("before its dts"), std::string::npos) << m;
}

TEST_F(MuxerBadPackets, AFirstKeyframeOfAnotherSizeOrCodecIsAMediaError) {
  const auto other = encode(config(Codec::H264, 128, 80), 0, 1);
  std::string m = message_of(other[0], ErrorKind::Media);
  EXPECT_NE(m.find("128x80"), std::string::npos) << m;
  const auto hevc = encode(config(Codec::HEVC), 0, 1);
  m = message_of(hevc[0], ErrorKind::Media);
  EXPECT_NE(m.find("hevc"), std::string::npos) << m;
  expect_usable();
}
