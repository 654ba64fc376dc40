// The Muxer decides; media/segment_writer.hpp writes. Every packet is checked in full
// (layout, keyframe and parameter sets, timestamps) before anything is written, so a
// rejected packet leaves the output as it was and the writer usable. A failure while
// writing is different: the file cannot be trusted any more, so the Muxer only lets it be
// aborted.
#include "media/muxer.hpp"

#include <algorithm>
#include <limits>
#include <optional>
#include <string>
#include <utility>

#include "bitstream/length_prefixed.hpp"
#include "contract/errors.hpp"
#include "media/muxer_checks.hpp"
#include "media/pending_file.hpp"
#include "media/segment_clock.hpp"
#include "media/segment_writer.hpp"
#include "media/stream_parameters.hpp"

extern "C" {
#include <libavutil/mathematics.h>
}

namespace videohw::media {

namespace {

bool is_container_of_samples(ContainerFormat f) {
  return f == ContainerFormat::Mp4 || f == ContainerFormat::FragmentedMp4 ||
         f == ContainerFormat::Matroska;
}

// MP4 and Matroska hold one set of parameter sets per file (avcC/hvcC, CodecPrivate);
// MPEG-TS and Annex-B carry them in band and only need a new file for another codec.
bool needs_new_segment(ContainerFormat f, const StreamParameters& from,
                       const StreamParameters& to) {
  return is_container_of_samples(f) ? from != to : from.codec != to.codec;
}

}  // namespace

struct Muxer::Impl {
  std::string path;
  MuxerConfig config;
  ContainerFormat format = ContainerFormat::Mp4;
  int time_base_num = 0, time_base_den = 0;
  int64_t frame_duration = 1;  // one frame in the time base

  std::vector<SegmentInfo> segments;
  std::vector<PendingFile> files;          // one per segment, same order
  std::unique_ptr<SegmentWriter> writer;   // the last segment's, until close()
  std::optional<StreamParameters> stream;  // parameter sets of the latest keyframe
  SegmentClock clock;
  uint32_t last_generation = 0;
  std::string broken;  // why the output can no longer be finished; empty while it can
  std::vector<std::string> final_paths;
  bool closed = false, aborted = false;
  // Copied streams: packets waiting for the first video packet, the segment's offset (video
  // time base), and the last dts each stream got in this segment.
  std::vector<CopiedPacket> waiting_copied;
  int64_t video_offset = 0;
  std::vector<int64_t> copied_last_dts;
  int64_t copied_written = 0, copied_dropped = 0;

  Impl(std::string path_in, const MuxerConfig& config_in);
  void write(const EncodedPacket& packet);
  void write_copied(CopiedPacket packet);
  void put_copied(CopiedPacket& packet);
  std::vector<std::string> close();
  void abort() noexcept;

  std::string where() const {
    return "in segment " + std::to_string(segments.size()) + " of '" + path + "'";
  }
  void check_packet(const EncodedPacket& packet) const;
  void check_writable() const;  // not closed, aborted or broken
  void check_first_keyframe(const std::optional<StreamParameters>& found,
                            const EncodedPacket& packet) const;
  std::vector<uint8_t> payload(const EncodedPacket& packet) const;
  int64_t segment_offset(const EncodedPacket& first) const;
  void open_writer(const StreamParameters& parameters);
  void start_segment(const StreamParameters& parameters, uint32_t generation);
};

Muxer::Impl::Impl(std::string path_in, const MuxerConfig& config_in)
    : path(std::move(path_in)), config(config_in) {
  if (path.empty()) throw Error(ErrorKind::Config, "Muxer: the output path is empty");
  const std::string problem = config_problem(config);
  if (!problem.empty()) throw Error(ErrorKind::Config, "Muxer for '" + path + "': " + problem);
  format = config.format ? *config.format : container_for_path(path);
  const bool frames = config.time_base_num == 0;
  time_base_num = frames ? config.fps_den : config.time_base_num;
  time_base_den = frames ? config.fps_num : config.time_base_den;
  frame_duration = av_rescale_q(1, AVRational{config.fps_den, config.fps_num},
                                AVRational{time_base_num, time_base_den});
  if (frame_duration < 1)
    throw Error(ErrorKind::Config,
                "Muxer for '" + path + "': time base " + std::to_string(time_base_num) + "/" +
                    std::to_string(time_base_den) + " is coarser than one frame at " +
                    std::to_string(config.fps_num) + "/" + std::to_string(config.fps_den) + " fps");
  for (const CopiedStream& copied : config.copied_streams) {
    const std::string why = copy_problem(format, copied);
    if (!why.empty()) throw Error(ErrorKind::Config, "Muxer for '" + path + "': " + why);
  }
  files.emplace_back(path);  // now: a folder that cannot be written fails here
  SegmentInfo first;
  first.path = path;
  first.temp_path = files.back().temp_path();
  first.codec = config.codec;
  first.width = config.width;
  first.height = config.height;
  segments.push_back(first);
}

void Muxer::Impl::check_packet(const EncodedPacket& packet) const {
  check_writable();
  check_annexb_packet(packet, where());
}

void Muxer::Impl::check_writable() const {
  if (closed || aborted)
    throw Error(ErrorKind::Config, std::string("a packet written after ") +
                                       (closed ? "close()" : "abort()") + " of '" + path + "'");
  if (!broken.empty())
    throw Error(ErrorKind::MediaIo, "'" + path +
                                        "' cannot take more packets: an earlier write "
                                        "failed (" +
                                        broken + "); abort() removes what was written");
}

void Muxer::Impl::check_first_keyframe(const std::optional<StreamParameters>& found,
                                       const EncodedPacket& packet) const {
  const char* codec = to_string(config.codec);
  if (!found)
    throw Error(ErrorKind::Media,
                "the first packet of '" + path + "' (pts " + std::to_string(packet.pts) +
                    ") is not a " + codec + " keyframe with its parameter sets (" +
                    (config.codec == Codec::HEVC ? "VPS, SPS, PPS" : "SPS, PPS") +
                    " and a random-access picture); a file must start at a keyframe");
  if (found->codec != config.codec)
    throw Error(ErrorKind::Media, "the first keyframe of '" + path + "' is " +
                                      to_string(found->codec) + "; the writer was set up for " +
                                      codec);
  if ((config.width && found->width != config.width) ||
      (config.height && found->height != config.height))
    throw Error(ErrorKind::Media,
                "the first keyframe of '" + path + "' is " + std::to_string(found->width) + "x" +
                    std::to_string(found->height) + " (its SPS); the writer was set up for " +
                    std::to_string(config.width) + "x" + std::to_string(config.height));
}

// Length-prefixed samples for MP4 and Matroska, with every NAL unit kept, parameter sets
// included: `ffmpeg -c copy` of an Annex-B stream with in-band parameter sets (libx264's
// output, ours) writes them that way, so each keyframe stays decodable on its own when a
// tool cuts the file at it. They equal the avcC/hvcC ones within a segment (a change starts
// a segment), which 'avc1' and 'hev1' both allow.
std::vector<uint8_t> Muxer::Impl::payload(const EncodedPacket& packet) const {
  if (!is_container_of_samples(format)) return {};
  std::vector<uint8_t> samples;
  try {
    samples = bitstream::annexb_to_length_prefixed(packet.data.data(), packet.data.size(), 4);
  } catch (const Error& e) {
    throw Error(ErrorKind::Media, "the packet with pts " + std::to_string(packet.pts) + " " +
                                      where() + " is not valid Annex-B: " + e.what());
  }
  if (samples.empty())
    throw Error(ErrorKind::Media, "the packet with pts " + std::to_string(packet.pts) + " " +
                                      where() + " holds no NAL unit");
  return samples;
}

// MP4 and Matroska segments start at 0 (the first keyframe's pts), as the ffmpeg tool
// starts the files it writes; MPEG-TS and Annex-B keep the timeline they are given.
int64_t Muxer::Impl::segment_offset(const EncodedPacket& first) const {
  if (!is_container_of_samples(format)) return 0;
  if (first.pts == std::numeric_limits<int64_t>::min())
    throw Error(ErrorKind::Config, "pts " + std::to_string(first.pts) + " is out of range");
  return -first.pts;
}

void Muxer::Impl::open_writer(const StreamParameters& parameters) {
  const PendingFile& file = files.back();
  if (format == ContainerFormat::AnnexB) {
    writer = open_annexb_file(file.temp_path(), file.final_path());
    return;
  }
  ContainerSetup setup;
  setup.format = format;
  setup.parameters = parameters;
  setup.time_base_num = time_base_num;
  setup.time_base_den = time_base_den;
  setup.frame_duration = frame_duration;
  setup.fps_num = config.fps_num;
  setup.fps_den = config.fps_den;
  setup.faststart = config.faststart;
  setup.fragment_ms = config.fragment_ms;
  setup.copied_streams = config.copied_streams;
  setup.rotation = config.rotation;
  writer = open_container_file(file.temp_path(), file.final_path(), setup);
}

// Segment 1's file exists from the constructor on; later ones are made here, after the
// previous segment's trailer.
void Muxer::Impl::start_segment(const StreamParameters& parameters, uint32_t generation) {
  if (writer) {
    writer->finish();
    writer.reset();
    const int number = int(segments.size()) + 1;
    files.emplace_back(segment_path(path, number, format, parameters.codec));
    SegmentInfo next;
    next.path = files.back().final_path();
    next.temp_path = files.back().temp_path();
    segments.push_back(next);
  }
  SegmentInfo& info = segments.back();
  info.codec = parameters.codec;
  info.width = parameters.width;
  info.height = parameters.height;
  info.first_generation = generation;
  open_writer(parameters);
  copied_last_dts.assign(config.copied_streams.size(), INT64_MIN);
}

void Muxer::Impl::write(const EncodedPacket& packet) {
  check_packet(packet);
  // Parameter sets matter on keyframes only: one in a later picture stays in band.
  std::optional<StreamParameters> found;
  if (packet.is_keyframe || !stream)
    found = keyframe_parameters(packet.data.data(), packet.data.size(),
                                stream ? stream->codec : config.codec);
  if (!stream) check_first_keyframe(found, packet);
  const bool new_segment = !stream || (found && needs_new_segment(format, *stream, *found));
  const std::vector<uint8_t> samples = payload(packet);
  const SegmentClock clock_now = new_segment ? SegmentClock(segment_offset(packet)) : clock;
  const bool new_sequence = packet.is_keyframe && packet.generation != last_generation;
  const std::string place =
      new_segment && stream
          ? "in segment " + std::to_string(segments.size() + 1) + " of '" + path + "'"
          : where();
  const SegmentClock::Stamp stamp = clock_now.plan(packet.pts, packet.dts, new_sequence, place);

  try {
    if (new_segment) start_segment(*found, packet.generation);
    const std::vector<uint8_t>& bytes = samples.empty() ? packet.data : samples;
    writer->write(bytes.data(), bytes.size(), stamp.pts, stamp.dts,
                  packet.is_keyframe || new_segment);
  } catch (const Error& e) {
    broken = e.what();
    throw;
  }

  clock = clock_now;
  clock.commit(stamp);
  if (new_segment) video_offset = stamp.offset;
  if (found) stream = std::move(found);
  last_generation = packet.generation;
  SegmentInfo& info = segments.back();
  info.first_pts = info.packets ? std::min(info.first_pts, packet.pts) : packet.pts;
  info.last_pts = info.packets ? std::max(info.last_pts, packet.pts) : packet.pts;
  info.packets++;
  if (!waiting_copied.empty()) {
    std::vector<CopiedPacket> waiting = std::move(waiting_copied);
    waiting_copied.clear();
    for (CopiedPacket& p : waiting) put_copied(p);
  }
}

void Muxer::Impl::write_copied(CopiedPacket packet) {
  if (packet.stream < 0 || size_t(packet.stream) >= config.copied_streams.size())
    throw Error(ErrorKind::Config,
                "'" + path + "' has " + std::to_string(config.copied_streams.size()) +
                    " copied streams; there is no stream " + std::to_string(packet.stream));
  check_writable();
  if (!stream) {
    if (waiting_copied.size() >= 4096)
      throw Error(ErrorKind::Media, "'" + path +
                                        "': 4096 copied packets came before any video packet; "
                                        "the input's streams are not interleaved");
    waiting_copied.push_back(std::move(packet));
    return;
  }
  put_copied(packet);
}

void Muxer::Impl::put_copied(CopiedPacket& packet) {
  const Rational tb = config.copied_streams[size_t(packet.stream)].time_base;
  const int64_t offset = av_rescale_q(video_offset, AVRational{time_base_num, time_base_den},
                                      AVRational{tb.num, tb.den});
  if (packet.pts != INT64_MIN) packet.pts += offset;
  if (packet.dts != INT64_MIN) packet.dts += offset;
  const int64_t order = packet.dts != INT64_MIN ? packet.dts : packet.pts;
  int64_t& last = copied_last_dts[size_t(packet.stream)];
  // A later segment starts at its first keyframe: what came before it is the last
  // segment's. Out-of-order timestamps would make libavformat refuse the file.
  if ((segments.size() > 1 && order != INT64_MIN && order < 0) ||
      (order != INT64_MIN && last != INT64_MIN && order <= last)) {
    copied_dropped++;
    return;
  }
  try {
    writer->write_copied(packet);
  } catch (const Error& e) {
    broken = e.what();
    throw;
  }
  if (order != INT64_MIN) last = order;
  copied_written++;
}

std::vector<std::string> Muxer::Impl::close() {
  if (closed) return final_paths;
  if (!broken.empty()) {
    const std::string why = broken;
    abort();
    throw Error(ErrorKind::MediaIo, "'" + path + "' was not finished: a write failed (" + why +
                                        "); its temporary files were removed");
  }
  if (aborted) throw Error(ErrorKind::Config, "close() after abort() of '" + path + "'");
  try {
    if (writer) {
      writer->finish();
      writer.reset();
      for (size_t i = 0; i < files.size(); ++i) {
        files[i].commit();
        segments[i].finished = true;
        final_paths.push_back(files[i].final_path());
      }
    } else {
      // No packet came: there is no stream to put in a file, so none is left behind.
      for (PendingFile& file : files) file.discard();
    }
  } catch (const Error& e) {
    broken = e.what();
    abort();
    throw;
  }
  closed = true;
  return final_paths;
}

void Muxer::Impl::abort() noexcept {
  if (closed) return;
  writer.reset();
  for (PendingFile& file : files) file.discard();
  aborted = true;
}

Muxer::Muxer(const std::string& path, const MuxerConfig& config)
    : impl_(std::make_unique<Impl>(path, config)) {}

Muxer::~Muxer() {
  if (impl_) impl_->abort();
}

void Muxer::write(const EncodedPacket& packet) {
  impl_->write(packet);
}
void Muxer::write_copied(CopiedPacket packet) {
  impl_->write_copied(std::move(packet));
}
int64_t Muxer::copied_written() const {
  return impl_->copied_written;
}
int64_t Muxer::copied_dropped() const {
  return impl_->copied_dropped;
}
std::vector<std::string> Muxer::close() {
  return impl_->close();
}
void Muxer::abort() {
  impl_->abort();
}
ContainerFormat Muxer::format() const {
  return impl_->format;
}
const std::vector<SegmentInfo>& Muxer::segments() const {
  return impl_->segments;
}
bool Muxer::closed() const {
  return impl_->closed;
}

}  // namespace videohw::media
