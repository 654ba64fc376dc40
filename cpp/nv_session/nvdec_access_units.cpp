#include "nv_session/nvdec_access_units.hpp"

#include "bitstream/annexb.hpp"

namespace videohw::nv_session {

namespace {

struct NalTraits {
  bool vcl = false;
  bool first_slice = false;  // first slice of a picture
  bool starts_au = false;    // may open an access unit
};

NalTraits traits(const uint8_t* nal, size_t size, Codec codec, int type) {
  NalTraits t;
  if (codec == Codec::H264) {
    t.vcl = type >= 1 && type <= 5;
    // first_mb_in_slice is ue(v) right after the one-byte header; 0 is coded as a 1 bit.
    t.first_slice = t.vcl && size > 1 && (nal[1] & 0x80);
    t.starts_au = t.first_slice || type == 9 || type == 7 || type == 8 || type == 6 ||
                  (type >= 14 && type <= 18);
  } else {
    t.vcl = type >= 0 && type <= 31;
    // first_slice_segment_in_pic_flag is the first bit after the two-byte header.
    t.first_slice = t.vcl && size > 2 && (nal[2] & 0x80);
    t.starts_au = t.first_slice || type == 35 || type == 32 || type == 33 || type == 34 ||
                  type == 39 || (type >= 41 && type <= 44) || (type >= 48 && type <= 55);
  }
  return t;
}

}  // namespace

bool is_single_access_unit(const uint8_t* data, size_t size, Codec codec) {
  if (size < 4 || data[0] != 0 || data[1] != 0) return false;
  const auto nals = bitstream::split_annexb(data, size, codec);
  if (nals.empty() || nals.front().offset > 4) return false;
  int first_slices = 0;
  bool last_is_vcl = false;
  for (size_t i = 0; i < nals.size(); ++i) {
    const auto& n = nals[i];
    const NalTraits t = traits(data + n.offset, n.size, codec, n.type);
    if (i == 0 && !t.starts_au) return false;
    if (t.first_slice) ++first_slices;
    // Anything but a slice after the picture's slices opens the next access unit.
    if (first_slices > 0 && !t.vcl && t.starts_au) return false;
    last_is_vcl = t.vcl;
  }
  return first_slices == 1 && last_is_vcl;
}

}  // namespace videohw::nv_session
