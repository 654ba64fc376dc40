// One output file of a Muxer, written under its temporary name: a raw Annex-B stream, or a
// container through libavformat. The Muxer decides what goes into which file and checks
// every packet first; a writer only writes, and any error it throws is an I/O or
// libavformat failure that leaves its file unusable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "media/muxer.hpp"
#include "media/stream_parameters.hpp"

namespace videohw::media {

class SegmentWriter {
 public:
  virtual ~SegmentWriter() = default;  // without finish(): stops; the file is left unfinished
  // One access unit in decode order: Annex-B for AnnexB and MpegTs, length-prefixed
  // (4-byte lengths) for Mp4, FragmentedMp4 and Matroska. Timestamps in the writer's
  // input time base.
  virtual void write(const uint8_t* data, size_t size, int64_t pts, int64_t dts, bool keyframe) = 0;
  // A packet of copied stream `packet.stream`, its timestamps in that stream's time base,
  // as the file gets them. Only containers opened with copied streams take these.
  virtual void write_copied(const CopiedPacket& packet);
  // Trailer written and file closed: complete under its temporary name.
  virtual void finish() = 0;
};

// `final_path` only names the file in error messages.
std::unique_ptr<SegmentWriter> open_annexb_file(const std::string& temp_path,
                                                const std::string& final_path);

struct ContainerSetup {
  ContainerFormat format = ContainerFormat::Mp4;  // not AnnexB
  StreamParameters parameters;                    // the segment's first keyframe's
  int time_base_num = 1, time_base_den = 30;      // of the timestamps given to write()
  int64_t frame_duration = 1;                     // one frame, in that time base
  int fps_num = 30, fps_den = 1;
  bool faststart = true;
  int fragment_ms = 1000;
  std::vector<CopiedStream> copied_streams;
  std::optional<double> rotation;  // display matrix: degrees counter-clockwise
};

// "" when `format` can carry `stream` as it is, else why not (for an Error(Config)).
std::string copy_problem(ContainerFormat format, const CopiedStream& stream);

std::unique_ptr<SegmentWriter> open_container_file(const std::string& temp_path,
                                                   const std::string& final_path,
                                                   const ContainerSetup& setup);

}  // namespace videohw::media
