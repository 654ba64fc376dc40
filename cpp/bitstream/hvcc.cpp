#include "bitstream/hvcc.hpp"

#include <string>

#include "bitstream/byte_reader.hpp"
#include "bitstream/length_prefixed.hpp"
#include "bitstream/nal.hpp"
#include "contract/errors.hpp"

namespace videohw::bitstream {

namespace {

[[noreturn]] void fail(const std::string& what) {
  throw Error(ErrorKind::Decode, what);
}

void put_array(std::vector<uint8_t>& out, int type, const std::vector<std::vector<uint8_t>>& units,
               const char* what, bool complete) {
  if (units.empty()) fail(std::string("hvcC needs at least one ") + what);
  if (units.size() > 0xffff) fail(std::string("hvcC: too many ") + what + " units");
  out.push_back(uint8_t((complete ? 0x80 : 0) | type));  // array_completeness, NAL_unit_type
  put_be(out, units.size(), 2);
  for (const auto& unit : units) {
    NalHeader header;
    if (!parse_nal_header(Codec::HEVC, unit.data(), unit.size(), header) || header.type != type)
      fail(std::string("hvcC ") + what + " entry is not a " + what + " NAL unit (expected type " +
           std::to_string(type) + ")");
    if (unit.size() > 0xffff)
      fail(std::string("hvcC ") + what + " of " + std::to_string(unit.size()) +
           " bytes exceeds the 16-bit length field");
    put_be(out, unit.size(), 2);
    out.insert(out.end(), unit.begin(), unit.end());
  }
}

}  // namespace

std::vector<uint8_t> build_hvcc(const std::vector<std::vector<uint8_t>>& vps,
                                const std::vector<std::vector<uint8_t>>& sps,
                                const std::vector<std::vector<uint8_t>>& pps, int length_size,
                                bool arrays_complete) {
  check_length_size(length_size);
  if (sps.empty()) fail("hvcC needs at least one SPS");
  const SpsInfo info = parse_sps(Codec::HEVC, sps[0].data(), sps[0].size());
  std::vector<uint8_t> out;
  out.push_back(1);  // configurationVersion
  out.push_back(
      uint8_t((info.ptl.profile_space << 6) | (info.ptl.tier ? 0x20 : 0) | info.ptl.profile_idc));
  put_be(out, info.ptl.compatibility_flags, 4);
  put_be(out, info.ptl.constraint_flags, 6);
  out.push_back(uint8_t(info.ptl.level_idc));
  put_be(out, 0xf000, 2);  // min_spatial_segmentation_idc 0: unknown
  out.push_back(0xfc);     // parallelismType 0: unknown
  out.push_back(uint8_t(0xfc | info.chroma_format_idc));
  out.push_back(uint8_t(0xf8 | (info.bit_depth_luma - 8)));
  out.push_back(uint8_t(0xf8 | (info.bit_depth_chroma - 8)));
  put_be(out, 0, 2);  // avgFrameRate 0: unspecified
  out.push_back(uint8_t((info.max_sub_layers << 3) | (info.temporal_id_nesting ? 4 : 0) |
                        (length_size - 1)));  // constantFrameRate 0
  out.push_back(3);                           // numOfArrays
  put_array(out, hevc::kVps, vps, "VPS", arrays_complete);
  put_array(out, hevc::kSps, sps, "SPS", arrays_complete);
  put_array(out, hevc::kPps, pps, "PPS", arrays_complete);
  return out;
}

HevcDecoderConfig parse_hvcc(const uint8_t* data, size_t size) {
  ByteReader r(data, size, "hvcC");
  HevcDecoderConfig c;
  const int version = int(r.read(1, "configurationVersion"));
  if (version != 1)
    fail("hvcC configurationVersion is " + std::to_string(version) + ", expected 1");
  const int profile = int(r.read(1, "general_profile_idc"));
  c.ptl.profile_space = profile >> 6;
  c.ptl.tier = (profile & 0x20) != 0;
  c.ptl.profile_idc = profile & 0x1f;
  c.ptl.compatibility_flags = uint32_t(r.read(4, "general_profile_compatibility_flags"));
  c.ptl.constraint_flags = r.read(6, "general_constraint_indicator_flags");
  c.ptl.level_idc = int(r.read(1, "general_level_idc"));
  c.min_spatial_segmentation = int(r.read(2, "min_spatial_segmentation_idc") & 0x0fff);
  c.parallelism_type = int(r.read(1, "parallelismType") & 3);
  c.chroma_format_idc = int(r.read(1, "chromaFormat") & 3);
  c.bit_depth_luma = 8 + int(r.read(1, "bitDepthLumaMinus8") & 7);
  c.bit_depth_chroma = 8 + int(r.read(1, "bitDepthChromaMinus8") & 7);
  c.avg_frame_rate = int(r.read(2, "avgFrameRate"));
  const int flags = int(r.read(1, "lengthSizeMinusOne"));
  c.constant_frame_rate = flags >> 6;
  c.num_temporal_layers = (flags >> 3) & 7;
  c.temporal_id_nested = (flags & 4) != 0;
  if ((flags & 3) == 2) fail("hvcC lengthSizeMinusOne is 2, expected 0, 1 or 3");
  c.length_size = (flags & 3) + 1;
  const size_t arrays = size_t(r.read(1, "numOfArrays"));
  for (size_t a = 0; a < arrays; ++a) {
    HvcNalArray array;
    const int head = int(r.read(1, "NAL_unit_type"));
    array.complete = (head & 0x80) != 0;
    array.type = head & 0x3f;
    const size_t count = size_t(r.read(2, "numNalus"));
    for (size_t i = 0; i < count; ++i) {
      const size_t length = size_t(r.read(2, "nalUnitLength"));
      const uint8_t* unit = r.take(length, "a NAL unit");
      NalHeader header;
      if (!parse_nal_header(Codec::HEVC, unit, length, header) || header.type != array.type)
        fail("hvcC array " + std::to_string(a) + " (type " + std::to_string(array.type) +
             ") holds a NAL unit whose header is " +
             (length < 2 ? std::string("missing") : "of type " + std::to_string(header.type)));
      array.units.emplace_back(unit, unit + length);
    }
    c.arrays.push_back(std::move(array));
  }
  return c;
}

std::vector<std::vector<uint8_t>> units_of_type(const HevcDecoderConfig& config, int type) {
  std::vector<std::vector<uint8_t>> out;
  for (const auto& array : config.arrays)
    if (array.type == type) out.insert(out.end(), array.units.begin(), array.units.end());
  return out;
}

}  // namespace videohw::bitstream
