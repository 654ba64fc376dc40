#include "bitstream/picture_pieces.hpp"

#include <cstring>

#include "bitstream/nal.hpp"

namespace videohw::bitstream {

namespace {

bool may_open_access_unit(Codec codec, const uint8_t* nal, size_t size) {
  NalHeader header;
  if (!parse_nal_header(codec, nal, size, header)) return false;
  if (opens_access_unit(codec, header)) return true;
  // A slice whose header is cut off by the end of the chunk is not a cut: the piece then
  // simply runs to the end, which never holds more than the picture that slice begins.
  return is_vcl(codec, header.type) && first_slice_of_picture(codec, nal, size) == FirstSlice::Yes;
}

}  // namespace

size_t first_piece_size(const uint8_t* data, size_t size, Codec codec) {
  if (codec != Codec::H264 && codec != Codec::HEVC) return size;
  // Start codes are 00 00 01: find each 01 and look back. The unit at offset 0 (if any) is
  // the piece's own first unit, so the search starts past it.
  size_t from = 3;
  while (from < size) {
    const void* hit = std::memchr(data + from, 0x01, size - from);
    if (!hit) break;
    const size_t one = size_t(static_cast<const uint8_t*>(hit) - data);
    from = one + 1;
    if (data[one - 1] != 0 || data[one - 2] != 0) continue;
    size_t code_begin = one - 2;
    if (code_begin > 0 && data[code_begin - 1] == 0) code_begin--;  // zero_byte
    if (code_begin == 0) continue;
    if (may_open_access_unit(codec, data + one + 1, size - one - 1)) return code_begin;
  }
  return size;
}

}  // namespace videohw::bitstream
