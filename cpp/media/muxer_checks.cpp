#include "media/muxer_checks.hpp"

#include "contract/errors.hpp"

namespace videohw::media {

namespace {

// Leading zero bytes, then 00 00 01: the start of an Annex-B access unit.
bool starts_with_start_code(const std::vector<uint8_t>& data) {
  size_t zeros = 0;
  while (zeros < data.size() && data[zeros] == 0) ++zeros;
  return zeros >= 2 && zeros < data.size() && data[zeros] == 1;
}

const char* layout_name(EncodedLayout layout) {
  switch (layout) {
    case EncodedLayout::AnnexB:
      return "ANNEX_B";
    case EncodedLayout::AVCC:
      return "AVCC";
    case EncodedLayout::HVCC:
      return "HVCC";
  }
  return "unknown";
}

}  // namespace

std::string config_problem(const MuxerConfig& c) {
  if (c.codec != Codec::H264 && c.codec != Codec::HEVC)
    return std::string("codec ") + to_string(c.codec) + "; the muxer writes h264 and hevc";
  if (c.width < 0 || c.height < 0)
    return "size " + std::to_string(c.width) + "x" + std::to_string(c.height) +
           "; expected positive (or 0: the first keyframe's)";
  if (c.fps_num <= 0 || c.fps_den <= 0)
    return "frame rate " + std::to_string(c.fps_num) + "/" + std::to_string(c.fps_den) +
           "; expected positive numerator and denominator";
  const bool no_time_base = c.time_base_num == 0 && c.time_base_den == 0;
  if (!no_time_base && (c.time_base_num <= 0 || c.time_base_den <= 0))
    return "time base " + std::to_string(c.time_base_num) + "/" + std::to_string(c.time_base_den) +
           "; expected both positive, or 0/0 for 1/fps";
  if (c.fragment_ms < 0) return "fragment_ms " + std::to_string(c.fragment_ms) + "; expected >= 0";
  return "";
}

void check_annexb_packet(const EncodedPacket& packet, const std::string& where) {
  if (packet.layout != EncodedLayout::AnnexB)
    throw Error(ErrorKind::Config, std::string("a packet in ") + layout_name(packet.layout) +
                                       " layout (pts " + std::to_string(packet.pts) +
                                       "); the muxer takes ANNEX_B packets, as "
                                       "encode sessions produce them");
  if (!starts_with_start_code(packet.data))
    throw Error(
        ErrorKind::Media,
        "the packet with pts " + std::to_string(packet.pts) + " " + where +
            (packet.data.empty() ? " is empty"
                                 : " does not begin with an Annex-B start code (00 00 01)") +
            "; expected one access unit in Annex-B layout");
}

}  // namespace videohw::media
