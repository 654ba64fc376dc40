// libFuzzer target: parameter-set parsing (SPS with size and cropping, PPS and VPS ids).
// Byte 0 bit 0 picks the codec; the rest is one NAL unit. Only Error(Decode) may come out,
// and a parsed SPS must describe a picture that exists.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "bitstream/nal.hpp"
#include "bitstream/parameter_set_syntax.hpp"
#include "contract/errors.hpp"

using namespace videohw;
using namespace videohw::bitstream;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const Codec codec = (data[0] & 1) ? Codec::HEVC : Codec::H264;
  const uint8_t* nal = data + 1;
  const size_t nal_size = size - 1;
  try {
    const SpsInfo sps = parse_sps(codec, nal, nal_size);
    if (sps.width <= 0 || sps.height <= 0 || sps.width > sps.coded_width ||
        sps.height > sps.coded_height)
      std::abort();
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::Decode) std::abort();
  }
  try {
    parse_pps_ids(codec, nal, nal_size);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::Decode) std::abort();
  }
  if (codec == Codec::HEVC) {
    try {
      parse_hevc_vps_id(nal, nal_size);
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::Decode) std::abort();
    }
  }
  first_slice_of_picture(codec, nal, nal_size);
  return 0;
}
