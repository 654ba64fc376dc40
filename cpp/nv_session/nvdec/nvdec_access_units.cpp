#include "nv_session/nvdec/nvdec_access_units.hpp"

#include "bitstream/annexb.hpp"
#include "bitstream/nal.hpp"

namespace videohw::nv_session {

namespace {

struct NalTraits {
  bool vcl = false;
  bool first_slice = false;  // first slice of a picture
  bool starts_au = false;    // may open an access unit
};

// The bitstream layer's NAL classification (cpp/bitstream/nal.hpp), as this test needs it.
NalTraits traits(const uint8_t* nal, size_t size, Codec codec) {
  NalTraits t;
  bitstream::NalHeader header;
  if (!bitstream::parse_nal_header(codec, nal, size, header)) return t;
  t.vcl = bitstream::is_vcl(codec, header.type);
  t.first_slice =
      t.vcl && bitstream::first_slice_of_picture(codec, nal, size) == bitstream::FirstSlice::Yes;
  t.starts_au = t.first_slice || bitstream::opens_access_unit(codec, header);
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
    const NalTraits t = traits(data + n.offset, n.size, codec);
    if (i == 0 && !t.starts_au) return false;
    if (t.first_slice) ++first_slices;
    // Anything but a slice after the picture's slices opens the next access unit.
    if (first_slices > 0 && !t.vcl && t.starts_au) return false;
    last_is_vcl = t.vcl;
  }
  return first_slices == 1 && last_is_vcl;
}

}  // namespace videohw::nv_session
