#include "media/probe.hpp"

#include "bitstream/sample_converter.hpp"
#include "media/frame_table.hpp"

namespace videohw::media {

namespace {

void count_packets(Demuxer& demuxer, VideoStreamInfo& v) {
  PacketView p;
  int64_t frames = 0, keyframes = 0;
  while (demuxer.read(p)) {
    if (!p.discard) frames++;
    if (p.keyframe) keyframes++;
  }
  v.frame_count = frames;
  v.keyframe_count = keyframes;
  v.frame_count_exact = demuxer.last_error().empty();
}

}  // namespace

ContainerInfo probe(Demuxer& demuxer) {
  ContainerInfo info = demuxer.info();
  bool first = true;
  for (VideoStreamInfo& v : info.video_streams) {
    if (!first && !demuxer.rewind()) break;
    first = false;
    demuxer.select(v.index);
    if (!v.codec) {
      count_packets(demuxer, v);
      continue;
    }
    try {
      const bitstream::SampleConverter converter(*v.codec, v.extradata.data(), v.extradata.size());
      const FrameTable table = FrameTable::scan(demuxer, converter);
      v.frame_count = table.frame_count();
      v.keyframe_count = table.keyframe_count();
      v.frame_count_exact = table.scan_error().empty();
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::Decode) throw;  // a decoder record that does not parse
      if (!demuxer.rewind()) break;
      demuxer.select(v.index);
      count_packets(demuxer, v);
    }
  }
  return info;
}

}  // namespace videohw::media
