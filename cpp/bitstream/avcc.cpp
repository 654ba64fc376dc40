#include "bitstream/avcc.hpp"

#include <string>

#include "bitstream/byte_reader.hpp"
#include "bitstream/length_prefixed.hpp"
#include "bitstream/nal.hpp"
#include "bitstream/parameter_set_syntax.hpp"
#include "contract/errors.hpp"

namespace videohw::bitstream {

namespace {

bool has_format_extension(int profile_idc) {
  return profile_idc == 100 || profile_idc == 110 || profile_idc == 122 || profile_idc == 144;
}

void check_units(const std::vector<std::vector<uint8_t>>& units, int type, const char* what,
                 size_t max_count) {
  if (units.size() > max_count)
    throw Error(ErrorKind::Decode, std::string("avcC holds at most ") + std::to_string(max_count) +
                                       " " + what + " units, got " + std::to_string(units.size()));
  for (const auto& unit : units) {
    NalHeader header;
    if (!parse_nal_header(Codec::H264, unit.data(), unit.size(), header) || header.type != type)
      throw Error(ErrorKind::Decode, std::string("avcC ") + what + " entry is not a " + what +
                                         " NAL unit (expected type " + std::to_string(type) + ")");
    if (unit.size() > 0xffff)
      throw Error(ErrorKind::Decode, std::string("avcC ") + what + " of " +
                                         std::to_string(unit.size()) +
                                         " bytes exceeds the 16-bit length field");
  }
}

void put_units(std::vector<uint8_t>& out, const std::vector<std::vector<uint8_t>>& units) {
  for (const auto& unit : units) {
    put_be(out, unit.size(), 2);
    out.insert(out.end(), unit.begin(), unit.end());
  }
}

void read_units(ByteReader& r, size_t count, int type, const char* what,
                std::vector<std::vector<uint8_t>>& out) {
  for (size_t i = 0; i < count; ++i) {
    const size_t length = size_t(r.read(2, "a parameter set length"));
    const uint8_t* unit = r.take(length, "a parameter set");
    NalHeader header;
    if (!parse_nal_header(Codec::H264, unit, length, header) || header.type != type)
      throw Error(ErrorKind::Decode, std::string("avcC ") + what + " entry " + std::to_string(i) +
                                         " is not a " + what + " NAL unit (expected type " +
                                         std::to_string(type) + ")");
    out.emplace_back(unit, unit + length);
  }
}

}  // namespace

std::vector<uint8_t> build_avcc(const std::vector<std::vector<uint8_t>>& sps,
                                const std::vector<std::vector<uint8_t>>& pps, int length_size) {
  check_length_size(length_size);
  if (sps.empty() || pps.empty())
    throw Error(ErrorKind::Decode, "avcC needs at least one SPS and one PPS, got " +
                                       std::to_string(sps.size()) + " SPS and " +
                                       std::to_string(pps.size()) + " PPS");
  check_units(sps, h264::kSps, "SPS", 31);
  check_units(pps, h264::kPps, "PPS", 255);
  const SpsInfo info = parse_sps(Codec::H264, sps[0].data(), sps[0].size());

  std::vector<uint8_t> out;
  out.push_back(1);  // configurationVersion
  out.push_back(uint8_t(info.profile_idc));
  out.push_back(uint8_t(info.constraint_flags));
  out.push_back(uint8_t(info.level_idc));
  out.push_back(uint8_t(0xfc | (length_size - 1)));
  out.push_back(uint8_t(0xe0 | sps.size()));
  put_units(out, sps);
  out.push_back(uint8_t(pps.size()));
  put_units(out, pps);
  if (has_format_extension(info.profile_idc)) {
    out.push_back(uint8_t(0xfc | info.chroma_format_idc));
    out.push_back(uint8_t(0xf8 | (info.bit_depth_luma - 8)));
    out.push_back(uint8_t(0xf8 | (info.bit_depth_chroma - 8)));
    out.push_back(0);  // numOfSequenceParameterSetExt
  }
  return out;
}

AvcDecoderConfig parse_avcc(const uint8_t* data, size_t size) {
  ByteReader r(data, size, "avcC");
  AvcDecoderConfig c;
  const int version = int(r.read(1, "configurationVersion"));
  if (version != 1)
    throw Error(ErrorKind::Decode,
                "avcC configurationVersion is " + std::to_string(version) + ", expected 1");
  c.profile_idc = int(r.read(1, "AVCProfileIndication"));
  c.profile_compatibility = int(r.read(1, "profile_compatibility"));
  c.level_idc = int(r.read(1, "AVCLevelIndication"));
  const int length_size_minus1 = int(r.read(1, "lengthSizeMinusOne") & 3);
  if (length_size_minus1 == 2)
    throw Error(ErrorKind::Decode, "avcC lengthSizeMinusOne is 2, expected 0, 1 or 3");
  c.length_size = length_size_minus1 + 1;
  const size_t sps_count = size_t(r.read(1, "numOfSequenceParameterSets") & 0x1f);
  read_units(r, sps_count, h264::kSps, "SPS", c.sps);
  const size_t pps_count = size_t(r.read(1, "numOfPictureParameterSets"));
  read_units(r, pps_count, h264::kPps, "PPS", c.pps);
  // Many writers leave the High-profile extension out: absent is not an error.
  if (has_format_extension(c.profile_idc) && r.remaining() >= 4) {
    c.has_format_extension = true;
    c.chroma_format_idc = int(r.read(1, "chroma_format") & 3);
    c.bit_depth_luma = 8 + int(r.read(1, "bit_depth_luma_minus8") & 7);
    c.bit_depth_chroma = 8 + int(r.read(1, "bit_depth_chroma_minus8") & 7);
    const size_t ext_count = size_t(r.read(1, "numOfSequenceParameterSetExt"));
    std::vector<std::vector<uint8_t>> ext;
    read_units(r, ext_count, h264::kSpsExtension, "SPS extension", ext);
  }
  return c;
}

}  // namespace videohw::bitstream
