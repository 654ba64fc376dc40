// Parsing of parameter-set NAL units, as far as a container or a decoder needs them: ids,
// picture size with cropping, chroma format, bit depth, profile/tier/level.
//
// Input is one whole NAL unit (header included, no start code), emulation-prevention
// bytes and all. Malformed or out-of-range syntax throws Error(Decode) naming the field.
#pragma once

#include <cstddef>
#include <cstdint>

#include "contract/types.hpp"

namespace videohw::bitstream {

// HEVC general_profile_tier_level (7.3.3), the part hvcC repeats.
struct HevcProfileTierLevel {
  int profile_space = 0;
  bool tier = false;
  int profile_idc = 0;
  uint32_t compatibility_flags = 0;
  uint64_t constraint_flags = 0;  // 48 bits: progressive_source_flag onwards
  int level_idc = 0;
};

struct SpsInfo {
  Codec codec = Codec::H264;
  int id = 0;
  int vps_id = 0;                         // HEVC only
  int width = 0, height = 0;              // displayed size: cropping applied
  int coded_width = 0, coded_height = 0;  // before cropping
  int chroma_format_idc = 1;              // 0 monochrome, 1 4:2:0, 2 4:2:2, 3 4:4:4
  int bit_depth_luma = 8, bit_depth_chroma = 8;
  // H.264: profile_idc, constraint_set flags byte, level_idc.
  int profile_idc = 0;
  int constraint_flags = 0;
  int level_idc = 0;
  // HEVC only.
  HevcProfileTierLevel ptl;
  int max_sub_layers = 1;
  bool temporal_id_nesting = false;
};

struct PpsIds {
  int pps_id = 0;
  int sps_id = 0;
};

SpsInfo parse_sps(Codec codec, const uint8_t* nal, size_t size);
PpsIds parse_pps_ids(Codec codec, const uint8_t* nal, size_t size);
int parse_hevc_vps_id(const uint8_t* nal, size_t size);

}  // namespace videohw::bitstream
