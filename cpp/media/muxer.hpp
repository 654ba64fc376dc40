// Writes encoded packets into a container file: MP4 (+faststart), fragmented MP4,
// Matroska, MPEG-TS or a raw Annex-B elementary stream.
//
// Input: Annex-B packets in decode order, as encode sessions produce them (parameter sets
// in band on keyframes), with pts/dts in `time_base` units. The muxer builds avcC/hvcC from
// the first keyframe's parameter sets (cpp/bitstream/avcc, hvcc) for MP4 and Matroska and
// converts every packet to length-prefixed NAL units there; MPEG-TS and Annex-B keep the
// bytes as they are. Negative dts (B-frames) are passed to libavformat unchanged; the MP4
// muxer turns the offset into an edit list, as the ffmpeg tool does.
//
// Segments: a packet whose parameter sets differ from the current segment's (another
// size, another codec, other SPS/PPS bytes) starts a new segment where the container
// cannot carry the change in band: MP4 and Matroska close the current file and continue in
// "<stem>.seg<N><ext>" (N = 2, 3, ...). MPEG-TS and Annex-B continue in the same file
// (parameter sets are in band), except on a codec change, which also starts a segment.
//
// Atomic: every segment is written under a temporary name in the same folder and renamed
// to its final name by close(); abort() -- or destruction without close() -- removes the
// temporary files, so a failed or interrupted run never leaves a partial file under a
// requested name.
//
// Copied streams (audio): see write_copied.
//
// Thread-safety: none; one thread drives a Muxer.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "contract/types.hpp"
#include "media/copied_stream.hpp"

namespace videohw::media {

enum class ContainerFormat { Mp4, FragmentedMp4, Matroska, MpegTs, AnnexB };

const char* to_string(ContainerFormat format);  // "mp4", "fmp4", "mkv", "ts", "annexb"

// By extension, case-insensitive: .mp4 .m4v .mov -> Mp4; .mkv -> Matroska; .ts .m2ts ->
// MpegTs; .h264 .264 .avc .h265 .265 .hevc -> AnnexB. Throws Error(Config) naming the
// extensions it knows for anything else.
ContainerFormat container_for_path(const std::string& path);

// Parses "mp4", "fmp4", "mkv", "ts", "annexb"; throws Error(Config) otherwise.
ContainerFormat parse_container_format(const std::string& name);

// The final name of segment `number` (1, 2, ...): `path` itself for 1, then
// "<stem>.seg<N><ext>" for containers and "<stem>.seg<N>.<codec>" for Annex-B, whose
// extension names the codec (out.mp4 -> out.seg2.mp4; out.h264 -> out.seg2.hevc), as
// `videohw encode --switch` names its codec segments.
std::string segment_path(const std::string& path, int number, ContainerFormat format, Codec codec);

struct MuxerConfig {
  Codec codec = Codec::H264;
  int width = 0, height = 0;  // of the first segment; later ones take theirs from the SPS
  int fps_num = 30, fps_den = 1;
  // Units of packet pts/dts; {0, 0}: one tick per frame, i.e. fps_den / fps_num.
  int time_base_num = 0, time_base_den = 0;
  std::optional<ContainerFormat> format;  // empty: container_for_path(path)
  bool faststart = true;                  // MP4: moov before mdat
  int fragment_ms = 1000;                 // FragmentedMp4: a fragment per keyframe after this
  // Streams copied from an input (audio), in every segment after the video stream. Not
  // for Annex-B; a codec the container cannot carry is refused (Error(Config)).
  std::vector<CopiedStream> copied_streams;
  // The display matrix every segment's video stream carries (degrees counter-clockwise, as
  // VideoStreamInfo::rotation reads it); empty or 0: none.
  std::optional<double> rotation;
};

struct SegmentInfo {
  std::string path;       // final name
  std::string temp_path;  // where it is written until close()
  Codec codec = Codec::H264;
  int width = 0, height = 0;
  uint32_t first_generation = 0;
  int64_t packets = 0;
  int64_t first_pts = 0, last_pts = 0;  // smallest and largest pts given, as given
  bool finished = false;                // trailer written and renamed
};

class Muxer {
 public:
  // Creates the first segment's temporary file at once (so a bad folder fails here, naming
  // the path). Throws Error(Config) for a bad config, Error(MediaIo) for an I/O failure.
  Muxer(const std::string& path, const MuxerConfig& config);
  ~Muxer();  // without close(): abort()
  Muxer(const Muxer&) = delete;
  Muxer& operator=(const Muxer&) = delete;

  // One packet (layout AnnexB). The first packet of a segment must be a keyframe carrying
  // its parameter sets (throws Error(Media) otherwise). pts must not repeat and dts must
  // increase within a segment (Error(Config) naming both values).
  void write(const EncodedPacket& packet);
  // One packet of copied stream `packet.stream`, timestamps in that stream's time base,
  // moved by the segment's offset as the video is. Packets that come before the first
  // video packet wait for it (at most 4096; then Error(Media)); in a later segment, those
  // from before its start are dropped (counted in copied_dropped()). The container
  // interleaves them with the video.
  void write_copied(CopiedPacket packet);
  int64_t copied_written() const;
  int64_t copied_dropped() const;

  // Writes trailers and renames every segment to its final name; returns the final paths.
  // A second close() returns the same list.
  std::vector<std::string> close();
  // Removes every temporary file; nothing appears under a requested name.
  void abort();

  ContainerFormat format() const;
  const std::vector<SegmentInfo>& segments() const;
  bool closed() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace videohw::media
