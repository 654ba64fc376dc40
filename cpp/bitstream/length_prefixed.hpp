// Length-prefixed NAL units (the AVCC/HVCC layout of MP4/Matroska samples) <-> Annex-B.
//
// A length-prefixed buffer is a sequence of big-endian lengths of `length_size` bytes
// (1, 2 or 4, what avcC/hvcC's lengthSizeMinusOne allows), each followed by that many
// bytes of one NAL unit. Annex-B output uses 4-byte start codes. Malformed input throws
// Error(Decode) saying where and what was expected; nothing is read out of bounds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "bitstream/annexb.hpp"
#include "contract/types.hpp"

namespace videohw::bitstream {

// Throws Error(Config) for a length size other than 1, 2 or 4.
void check_length_size(int length_size);

// Units of a length-prefixed buffer (offset of each unit's header, its size, its type).
std::vector<NalUnit> split_length_prefixed(const uint8_t* data, size_t size, int length_size,
                                           Codec codec);

std::vector<uint8_t> length_prefixed_to_annexb(const uint8_t* data, size_t size,
                                               int length_size = 4);

// Appends the units of a length-prefixed buffer to `out` as Annex-B (4-byte start codes),
// without throwing: a damaged buffer gives the units before the damage and false, so a
// reader can hand a decoder what survived and flag the picture.
bool append_length_prefixed_as_annexb(const uint8_t* data, size_t size, int length_size,
                                      std::vector<uint8_t>& out);

// Trailing zero bytes of each unit are dropped (they belong to the byte stream, not to the
// unit); bytes before the first start code must be zero.
std::vector<uint8_t> annexb_to_length_prefixed(const uint8_t* data, size_t size,
                                               int length_size = 4);

}  // namespace videohw::bitstream
