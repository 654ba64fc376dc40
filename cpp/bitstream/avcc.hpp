// avcC: the AVC decoder configuration record (ISO/IEC 14496-15, 5.3.3.1), the extradata
// of H.264 in MP4/Matroska and of length-prefixed (AVCC) packets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace videohw::bitstream {

struct AvcDecoderConfig {
  int profile_idc = 0;
  int profile_compatibility = 0;
  int level_idc = 0;
  int length_size = 4;                         // bytes of each NAL length in the samples
  std::vector<std::vector<uint8_t>> sps, pps;  // NAL units, header included
  // Present for the High profiles (100, 110, 122, 144) when the record carries them.
  bool has_format_extension = false;
  int chroma_format_idc = 1;
  int bit_depth_luma = 8, bit_depth_chroma = 8;
};

// Profile, level and chroma format come from the first SPS (which is parsed, so a bad one
// throws Error(Decode)). At least one SPS and one PPS are required.
std::vector<uint8_t> build_avcc(const std::vector<std::vector<uint8_t>>& sps,
                                const std::vector<std::vector<uint8_t>>& pps, int length_size = 4);

// Throws Error(Decode) on a truncated record, a wrong version, or units of the wrong type.
AvcDecoderConfig parse_avcc(const uint8_t* data, size_t size);

}  // namespace videohw::bitstream
