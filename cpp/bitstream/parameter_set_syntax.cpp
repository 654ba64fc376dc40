#include "bitstream/parameter_set_syntax.hpp"

#include <string>

#include "bitstream/nal.hpp"
#include "bitstream/rbsp_reader.hpp"
#include "contract/errors.hpp"

namespace videohw::bitstream {

namespace {

// Largest picture side accepted, in luma samples: far above any level's limit, small
// enough that sizes multiply without overflow.
constexpr uint32_t kMaxSide = 16384;

[[noreturn]] void fail(const std::string& what) {
  throw Error(ErrorKind::Decode, what);
}

uint32_t checked(uint32_t value, uint32_t max, const char* field) {
  if (value > max)
    fail(std::string("parameter set field ") + field + " = " + std::to_string(value) +
         " is out of range (expected at most " + std::to_string(max) + ")");
  return value;
}

RbspReader payload_reader(Codec codec, const uint8_t* nal, size_t size, int expected_type,
                          const char* what) {
  NalHeader header;
  if (nal == nullptr || !parse_nal_header(codec, nal, size, header))
    fail(std::string(what) + ": the NAL unit header is missing or invalid (" +
         std::to_string(size) + " bytes)");
  if (header.type != expected_type)
    fail(std::string(what) + ": NAL unit type is " + std::to_string(header.type) + ", expected " +
         std::to_string(expected_type));
  const size_t skip = nal_header_size(codec);
  return RbspReader(nal + skip, size - skip);
}

void skip_scaling_list(RbspReader& r, int size) {
  int last = 8, next = 8;
  for (int j = 0; j < size && !r.overrun(); ++j) {
    if (next != 0) {
      const int32_t delta = r.se();
      if (delta < -128 || delta > 127) fail("H.264 SPS delta_scale is out of range -128..127");
      next = (last + delta + 256) % 256;
    }
    last = next == 0 ? last : next;
  }
}

bool h264_has_chroma_info(int profile_idc) {
  switch (profile_idc) {
    case 100:
    case 110:
    case 122:
    case 244:
    case 44:
    case 83:
    case 86:
    case 118:
    case 128:
    case 138:
    case 139:
    case 134:
    case 135:
      return true;
    default:
      return false;
  }
}

// Applies a cropping window given in units of (unit_x, unit_y) samples.
void crop(SpsInfo& s, uint32_t left, uint32_t right, uint32_t top, uint32_t bottom, uint32_t unit_x,
          uint32_t unit_y) {
  const uint64_t crop_x = (uint64_t(left) + right) * unit_x;
  const uint64_t crop_y = (uint64_t(top) + bottom) * unit_y;
  if (crop_x >= uint64_t(s.coded_width) || crop_y >= uint64_t(s.coded_height))
    fail("SPS cropping window (" + std::to_string(crop_x) + "x" + std::to_string(crop_y) +
         " samples) leaves no picture of the coded " + std::to_string(s.coded_width) + "x" +
         std::to_string(s.coded_height));
  s.width = s.coded_width - int(crop_x);
  s.height = s.coded_height - int(crop_y);
}

SpsInfo parse_h264_sps(const uint8_t* nal, size_t size) {
  RbspReader r = payload_reader(Codec::H264, nal, size, h264::kSps, "H.264 SPS");
  SpsInfo s;
  s.codec = Codec::H264;
  s.profile_idc = int(r.bits(8));
  s.constraint_flags = int(r.bits(8));
  s.level_idc = int(r.bits(8));
  s.id = int(checked(r.ue(), 31, "seq_parameter_set_id"));
  bool separate_colour_planes = false;
  if (h264_has_chroma_info(s.profile_idc)) {
    s.chroma_format_idc = int(checked(r.ue(), 3, "chroma_format_idc"));
    if (s.chroma_format_idc == 3) separate_colour_planes = r.bit() != 0;
    s.bit_depth_luma = 8 + int(checked(r.ue(), 6, "bit_depth_luma_minus8"));
    s.bit_depth_chroma = 8 + int(checked(r.ue(), 6, "bit_depth_chroma_minus8"));
    r.skip(1);      // qpprime_y_zero_transform_bypass_flag
    if (r.bit()) {  // seq_scaling_matrix_present_flag
      const int lists = s.chroma_format_idc != 3 ? 8 : 12;
      for (int i = 0; i < lists && !r.overrun(); ++i)
        if (r.bit()) skip_scaling_list(r, i < 6 ? 16 : 64);
    }
  }
  checked(r.ue(), 12, "log2_max_frame_num_minus4");
  const uint32_t poc_type = checked(r.ue(), 2, "pic_order_cnt_type");
  if (poc_type == 0) {
    checked(r.ue(), 12, "log2_max_pic_order_cnt_lsb_minus4");
  } else if (poc_type == 1) {
    r.skip(1);  // delta_pic_order_always_zero_flag
    r.se();     // offset_for_non_ref_pic
    r.se();     // offset_for_top_to_bottom_field
    const uint32_t cycle = checked(r.ue(), 255, "num_ref_frames_in_pic_order_cnt_cycle");
    for (uint32_t i = 0; i < cycle && !r.overrun(); ++i) r.se();
  }
  r.ue();     // max_num_ref_frames
  r.skip(1);  // gaps_in_frame_num_value_allowed_flag
  const uint32_t width_mbs = checked(r.ue(), kMaxSide / 16 - 1, "pic_width_in_mbs_minus1") + 1;
  const uint32_t height_units =
      checked(r.ue(), kMaxSide / 16 - 1, "pic_height_in_map_units_minus1") + 1;
  const bool frame_mbs_only = r.bit() != 0;
  if (!frame_mbs_only) r.skip(1);  // mb_adaptive_frame_field_flag
  r.skip(1);                       // direct_8x8_inference_flag
  uint32_t crop_left = 0, crop_right = 0, crop_top = 0, crop_bottom = 0;
  if (r.bit()) {  // frame_cropping_flag
    crop_left = checked(r.ue(), kMaxSide, "frame_crop_left_offset");
    crop_right = checked(r.ue(), kMaxSide, "frame_crop_right_offset");
    crop_top = checked(r.ue(), kMaxSide, "frame_crop_top_offset");
    crop_bottom = checked(r.ue(), kMaxSide, "frame_crop_bottom_offset");
  }
  r.require("H.264 SPS");

  const int field_factor = frame_mbs_only ? 1 : 2;
  s.coded_width = int(width_mbs * 16);
  s.coded_height = int(height_units * 16) * field_factor;
  // Table 6-1 and equations 7-19..7-22: crop units follow the chroma subsampling.
  const int chroma_array_type = separate_colour_planes ? 0 : s.chroma_format_idc;
  const uint32_t sub_width = chroma_array_type == 1 || chroma_array_type == 2 ? 2 : 1;
  const uint32_t sub_height = chroma_array_type == 1 ? 2 : 1;
  const uint32_t unit_x = chroma_array_type == 0 ? 1 : sub_width;
  const uint32_t unit_y = (chroma_array_type == 0 ? 1 : sub_height) * uint32_t(field_factor);
  crop(s, crop_left, crop_right, crop_top, crop_bottom, unit_x, unit_y);
  return s;
}

void parse_profile_tier_level(RbspReader& r, int max_sub_layers_minus1, HevcProfileTierLevel& ptl) {
  ptl.profile_space = int(r.bits(2));
  ptl.tier = r.bit() != 0;
  ptl.profile_idc = int(r.bits(5));
  ptl.compatibility_flags = r.bits(32);
  ptl.constraint_flags = r.bits64(48);
  ptl.level_idc = int(r.bits(8));
  bool profile_present[8] = {}, level_present[8] = {};
  for (int i = 0; i < max_sub_layers_minus1; ++i) {
    profile_present[i] = r.bit() != 0;
    level_present[i] = r.bit() != 0;
  }
  if (max_sub_layers_minus1 > 0)
    for (int i = max_sub_layers_minus1; i < 8; ++i) r.skip(2);  // reserved_zero_2bits
  for (int i = 0; i < max_sub_layers_minus1; ++i) {
    if (profile_present[i]) r.skip(88);
    if (level_present[i]) r.skip(8);
  }
}

SpsInfo parse_hevc_sps(const uint8_t* nal, size_t size) {
  RbspReader r = payload_reader(Codec::HEVC, nal, size, hevc::kSps, "HEVC SPS");
  SpsInfo s;
  s.codec = Codec::HEVC;
  s.vps_id = int(r.bits(4));
  const int max_sub_layers_minus1 = int(checked(r.bits(3), 6, "sps_max_sub_layers_minus1"));
  s.max_sub_layers = max_sub_layers_minus1 + 1;
  s.temporal_id_nesting = r.bit() != 0;
  parse_profile_tier_level(r, max_sub_layers_minus1, s.ptl);
  s.profile_idc = s.ptl.profile_idc;
  s.level_idc = s.ptl.level_idc;
  s.id = int(checked(r.ue(), 15, "sps_seq_parameter_set_id"));
  s.chroma_format_idc = int(checked(r.ue(), 3, "chroma_format_idc"));
  bool separate_colour_planes = false;
  if (s.chroma_format_idc == 3) separate_colour_planes = r.bit() != 0;
  s.coded_width = int(checked(r.ue(), kMaxSide, "pic_width_in_luma_samples"));
  s.coded_height = int(checked(r.ue(), kMaxSide, "pic_height_in_luma_samples"));
  uint32_t left = 0, right = 0, top = 0, bottom = 0;
  if (r.bit()) {  // conformance_window_flag
    left = checked(r.ue(), kMaxSide, "conf_win_left_offset");
    right = checked(r.ue(), kMaxSide, "conf_win_right_offset");
    top = checked(r.ue(), kMaxSide, "conf_win_top_offset");
    bottom = checked(r.ue(), kMaxSide, "conf_win_bottom_offset");
  }
  s.bit_depth_luma = 8 + int(checked(r.ue(), 8, "bit_depth_luma_minus8"));
  s.bit_depth_chroma = 8 + int(checked(r.ue(), 8, "bit_depth_chroma_minus8"));
  r.require("HEVC SPS");
  if (s.coded_width == 0 || s.coded_height == 0)
    fail("HEVC SPS picture size is " + std::to_string(s.coded_width) + "x" +
         std::to_string(s.coded_height) + ", expected both sides > 0");
  // Table 6-1: the window is in chroma sample units.
  const int chroma_array_type = separate_colour_planes ? 0 : s.chroma_format_idc;
  const uint32_t sub_width = chroma_array_type == 1 || chroma_array_type == 2 ? 2 : 1;
  const uint32_t sub_height = chroma_array_type == 1 ? 2 : 1;
  crop(s, left, right, top, bottom, sub_width, sub_height);
  return s;
}

}  // namespace

SpsInfo parse_sps(Codec codec, const uint8_t* nal, size_t size) {
  if (codec == Codec::HEVC) return parse_hevc_sps(nal, size);
  if (codec == Codec::H264) return parse_h264_sps(nal, size);
  throw Error(ErrorKind::Config,
              std::string("SPS parsing supports H.264 and HEVC, not ") + to_string(codec));
}

PpsIds parse_pps_ids(Codec codec, const uint8_t* nal, size_t size) {
  const bool hevc = codec == Codec::HEVC;
  RbspReader r = payload_reader(codec, nal, size, hevc ? hevc::kPps : h264::kPps,
                                hevc ? "HEVC PPS" : "H.264 PPS");
  PpsIds ids;
  ids.pps_id = int(checked(r.ue(), hevc ? 63 : 255, "pic_parameter_set_id"));
  ids.sps_id = int(checked(r.ue(), hevc ? 15 : 31, "seq_parameter_set_id"));
  r.require(hevc ? "HEVC PPS" : "H.264 PPS");
  return ids;
}

int parse_hevc_vps_id(const uint8_t* nal, size_t size) {
  RbspReader r = payload_reader(Codec::HEVC, nal, size, hevc::kVps, "HEVC VPS");
  const int id = int(r.bits(4));
  r.require("HEVC VPS");
  return id;
}

}  // namespace videohw::bitstream
