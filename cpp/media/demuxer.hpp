// Reads packets of one video stream out of a container (libavformat): MP4/MOV,
// Matroska/WebM, MPEG-TS, AVI, FLV, MPEG-PS, IVF and raw H.264/HEVC/AV1 streams, found by
// content (libavformat's probe), never by extension. Other demuxers (playlists, concat
// scripts, image sequences) are refused: a file named .mp4 must not make us open others.
//
// Sources: a path, or a ByteSource (a Python file object in the bindings) behind a custom
// AVIOContext.
//
// Owns, in drop order: the scratch packet, the format context (which closes its own file
// for a path), then the custom AVIOContext and its ByteSource.
//
// Thread-safety: none; one thread drives a Demuxer (the bindings serialise the calls).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <vector>

#include "media/avformat_ptr.hpp"
#include "media/copied_stream.hpp"
#include "media/media_info.hpp"

namespace videohw::media {

constexpr int64_t kNoTimestamp = INT64_MIN;

// Bytes from somewhere other than a path. read: bytes read, 0 at the end, < 0 an AVERROR.
// seek: like lseek (whence SEEK_SET / SEEK_CUR / SEEK_END); size(): total bytes or -1;
// seek/size return < 0 where the source cannot seek.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual int read(uint8_t* buffer, int size) = 0;
  virtual int64_t seek(int64_t offset, int whence) = 0;
  virtual int64_t size() = 0;
  virtual bool seekable() const = 0;
};

// One packet of the selected stream, as stored (AVCC/HVCC samples stay length-prefixed:
// bitstream/sample_converter.hpp makes them Annex-B). `data` is valid until the next read.
struct PacketView {
  const uint8_t* data = nullptr;
  size_t size = 0;
  int64_t pts = kNoTimestamp, dts = kNoTimestamp, duration = 0;  // stream time base
  int64_t pos = -1;  // byte position in the file, -1 when unknown
  bool keyframe = false;
  bool discard = false;  // before the start of an edit list: decode, never show
  bool corrupt = false;
  int stream = -1;  // the container's stream index: the selected one or a copied one
};

// A copied stream's packet owning a copy of `packet`'s bytes (it outlives the next read).
inline CopiedPacket copy_packet(const PacketView& packet) {
  CopiedPacket out;
  out.stream = 0;
  out.data.assign(packet.data, packet.data + packet.size);
  out.pts = packet.pts;
  out.dts = packet.dts;
  out.duration = packet.duration;
  out.keyframe = packet.keyframe;
  return out;
}

class Demuxer {
 public:
  // Throws Error(Media) for data that is not a readable container (naming `name` and
  // libavformat's reason) and Error(MediaIo) for an operating-system failure.
  static std::unique_ptr<Demuxer> open_path(const std::string& path);
  static std::unique_ptr<Demuxer> open_source(std::unique_ptr<ByteSource> source,
                                              const std::string& name);
  ~Demuxer();
  Demuxer(const Demuxer&) = delete;
  Demuxer& operator=(const Demuxer&) = delete;

  const ContainerInfo& info() const { return info_; }
  const std::string& name() const { return info_.name; }
  bool seekable() const;

  // Only this stream's packets are read from now on (others are skipped unparsed).
  // Throws Error(Config) for an index that is not a video stream.
  void select(int stream_index);
  int selected() const { return selected_; }
  const VideoStreamInfo& selected_info() const;

  // The audio stream a player would pick next to the selected video (libavformat's best
  // stream); -1 when there is none.
  int best_audio_stream() const;
  // Reads this stream's packets too (read() returns them with their `stream`), and
  // describes it for a muxer. Throws Error(Config) for an index that is not a stream or is
  // the selected video.
  CopiedStream copy_stream(int stream_index);

  // Next packet of the selected stream or a copied one; false at the end of the file. A read error
  // in the middle of a damaged file ends the stream like the end of the file would, and says so in
  // last_error(); an operating-system error throws Error(MediaIo).
  bool read(PacketView& out);
  const std::string& last_error() const { return last_error_; }

  // Positions the stream so that the next packets read start at or before the packet
  // with this dts / pts / byte position. Tries the container's own seek, then a byte seek.
  // False when the source cannot seek at all. Callers skip forward to the packet they
  // want, and rewind() when the container landed after it.
  bool seek(int64_t dts, int64_t pts, int64_t pos);
  // Positions at the first packet of the file (reopening the container if its own seek
  // cannot get there). False when the source cannot seek.
  bool rewind();

 private:
  Demuxer() = default;
  // Opens (or reopens) ctx_ from path_ or source_.
  void open_context();
  void describe();
  void apply_selection();
  bool seek_bytes(int64_t pos);

  std::string path_;  // empty for a ByteSource
  std::unique_ptr<ByteSource> source_;
  UniqueCustomIo io_;
  UniqueInputContext ctx_;
  UniquePacket packet_;
  ContainerInfo info_;
  int selected_ = -1;
  std::vector<int> copied_;  // streams read besides the selected one
  bool raw_stream_ = false;  // an elementary-stream demuxer (h264, hevc, obu)
  std::string last_error_;
};

}  // namespace videohw::media
