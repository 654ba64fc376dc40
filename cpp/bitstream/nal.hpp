// NAL unit headers of H.264 (7.3.1) and HEVC (7.3.1.2), and what each unit means for
// access-unit assembly: type classes and the "first slice of a picture" test.
#pragma once

#include <cstddef>
#include <cstdint>

#include "contract/types.hpp"

namespace videohw::bitstream {

// H.264 types used by name (Table 7-1).
namespace h264 {
constexpr int kSliceNonIdr = 1, kSliceIdr = 5, kSei = 6, kSps = 7, kPps = 8, kAud = 9,
              kEndOfSequence = 10, kEndOfStream = 11, kFiller = 12, kSpsExtension = 13;
}  // namespace h264

// HEVC types used by name (Table 7-1).
namespace hevc {
constexpr int kIrapFirst = 16, kIdrWRadl = 19, kIdrNLp = 20, kIrapLast = 23, kVps = 32, kSps = 33,
              kPps = 34, kAud = 35, kEndOfSequence = 36, kEndOfBitstream = 37, kFiller = 38,
              kPrefixSei = 39, kSuffixSei = 40;
}  // namespace hevc

struct NalHeader {
  int type = -1;
  int layer_id = 0;     // HEVC nuh_layer_id; 0 for H.264
  int temporal_id = 0;  // HEVC TemporalId; 0 for H.264
  int ref_idc = 0;      // H.264 nal_ref_idc; 0 for HEVC
};

// Header length in bytes: 1 for H.264, 2 for HEVC.
size_t nal_header_size(Codec codec);

// False when the unit is shorter than its header or breaks a header rule that every
// conforming stream keeps (forbidden_zero_bit set; HEVC nuh_temporal_id_plus1 == 0).
bool parse_nal_header(Codec codec, const uint8_t* nal, size_t size, NalHeader& out);

bool is_vcl(Codec codec, int type);
bool is_parameter_set(Codec codec, int type);  // H.264 SPS/PPS; HEVC VPS/SPS/PPS
bool is_aud(Codec codec, int type);
bool is_sei(Codec codec, int type);  // HEVC: prefix and suffix SEI

// A non-VCL unit that can only come before the first VCL unit of an access unit
// (H.264 7.4.1.2.3, HEVC 7.4.2.4.4): after a VCL unit it opens the next access unit.
bool opens_access_unit(Codec codec, const NalHeader& header);

enum class FirstSlice { Yes, No, NeedMoreData, Malformed };

// For a VCL unit: is it the first slice of a new picture? H.264: first_mb_in_slice == 0
// (the test for streams without redundant pictures or arbitrary slice order); HEVC:
// first_slice_segment_in_pic_flag. `size` may be a prefix of the unit: NeedMoreData says
// the answer lies beyond it. Non-VCL units give No.
FirstSlice first_slice_of_picture(Codec codec, const uint8_t* nal, size_t size);

}  // namespace videohw::bitstream
