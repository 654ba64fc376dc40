// hvcC: the HEVC decoder configuration record (ISO/IEC 14496-15, 8.3.3.1), the extradata
// of HEVC in MP4/Matroska and of length-prefixed (HVCC) packets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "bitstream/parameter_set_syntax.hpp"

namespace videohw::bitstream {

struct HvcNalArray {
  bool complete = true;  // array_completeness: every unit of this type is in the record
  int type = 0;
  std::vector<std::vector<uint8_t>> units;  // NAL units, header included
};

struct HevcDecoderConfig {
  HevcProfileTierLevel ptl;
  int min_spatial_segmentation = 0;
  int parallelism_type = 0;
  int chroma_format_idc = 1;
  int bit_depth_luma = 8, bit_depth_chroma = 8;
  int avg_frame_rate = 0;
  int constant_frame_rate = 0;
  int num_temporal_layers = 1;
  bool temporal_id_nested = false;
  int length_size = 4;
  std::vector<HvcNalArray> arrays;
};

// Profile, tier, level, chroma format, bit depth and temporal layers come from the first
// SPS (parsed, so a bad one throws Error(Decode)). One VPS, SPS and PPS at least.
// `arrays_complete` is array_completeness: true says no parameter set of these types is in
// the samples ('hvc1'); false allows copies in band ('hev1', what FFmpeg's muxers write).
std::vector<uint8_t> build_hvcc(const std::vector<std::vector<uint8_t>>& vps,
                                const std::vector<std::vector<uint8_t>>& sps,
                                const std::vector<std::vector<uint8_t>>& pps, int length_size = 4,
                                bool arrays_complete = true);

// Throws Error(Decode) on a truncated record, a wrong version or a unit whose header does
// not match its array's type.
HevcDecoderConfig parse_hvcc(const uint8_t* data, size_t size);

// The units of one type (e.g. hevc::kSps) over all arrays, in record order.
std::vector<std::vector<uint8_t>> units_of_type(const HevcDecoderConfig& config, int type);

}  // namespace videohw::bitstream
