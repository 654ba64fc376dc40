#include "bitstream/nal.hpp"

#include "bitstream/annexb.hpp"
#include "bitstream/rbsp_reader.hpp"

namespace videohw::bitstream {

size_t nal_header_size(Codec codec) {
  return codec == Codec::HEVC ? 2 : 1;
}

bool parse_nal_header(Codec codec, const uint8_t* nal, size_t size, NalHeader& out) {
  if (size < nal_header_size(codec) || (nal[0] & 0x80) != 0) return false;
  out = NalHeader{};
  if (codec == Codec::HEVC) {
    out.type = (nal[0] >> 1) & 0x3f;
    out.layer_id = ((nal[0] & 1) << 5) | (nal[1] >> 3);
    const int temporal_id_plus1 = nal[1] & 7;
    if (temporal_id_plus1 == 0) return false;
    out.temporal_id = temporal_id_plus1 - 1;
  } else {
    out.type = nal[0] & 0x1f;
    out.ref_idc = (nal[0] >> 5) & 3;
  }
  return true;
}

bool is_vcl(Codec codec, int type) {
  if (codec == Codec::HEVC) return type >= 0 && type <= 31;
  return type >= h264::kSliceNonIdr && type <= h264::kSliceIdr;
}

bool is_parameter_set(Codec codec, int type) {
  if (codec == Codec::HEVC) return type >= hevc::kVps && type <= hevc::kPps;
  return type == h264::kSps || type == h264::kPps;
}

bool is_aud(Codec codec, int type) {
  return type == (codec == Codec::HEVC ? hevc::kAud : h264::kAud);
}

bool is_sei(Codec codec, int type) {
  if (codec == Codec::HEVC) return type == hevc::kPrefixSei || type == hevc::kSuffixSei;
  return type == h264::kSei;
}

bool opens_access_unit(Codec codec, const NalHeader& h) {
  if (codec == Codec::HEVC) {
    // Units of enhancement layers never open a (base-layer) access unit.
    if (h.layer_id != 0) return false;
    return (h.type >= hevc::kVps && h.type <= hevc::kAud) || h.type == hevc::kPrefixSei ||
           (h.type >= 41 && h.type <= 44) || (h.type >= 48 && h.type <= 55);
  }
  return h.type == h264::kSei || h.type == h264::kSps || h.type == h264::kPps ||
         h.type == h264::kAud || (h.type >= 14 && h.type <= 18);
}

FirstSlice first_slice_of_picture(Codec codec, const uint8_t* nal, size_t size) {
  NalHeader header;
  if (size < nal_header_size(codec)) return FirstSlice::NeedMoreData;
  if (!parse_nal_header(codec, nal, size, header)) return FirstSlice::Malformed;
  if (!is_vcl(codec, header.type)) return FirstSlice::No;
  const size_t skip = nal_header_size(codec);
  RbspReader reader(nal + skip, size - skip);
  if (codec == Codec::HEVC) {
    const bool first = reader.bit() != 0;
    if (reader.overrun()) return FirstSlice::NeedMoreData;
    // Slices of other layers belong to the base layer's access unit.
    return first && header.layer_id == 0 ? FirstSlice::Yes : FirstSlice::No;
  }
  const uint32_t first_mb = reader.ue();
  if (reader.malformed()) return FirstSlice::Malformed;
  if (reader.overrun()) return FirstSlice::NeedMoreData;
  return first_mb == 0 ? FirstSlice::Yes : FirstSlice::No;
}

}  // namespace videohw::bitstream
