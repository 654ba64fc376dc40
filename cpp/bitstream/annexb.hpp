// Minimal Annex-B scanning: where the NAL units of one access unit start and what type
// they are. Packets take `is_keyframe` from here, so the flag describes the bytes the user
// gets rather than an encoder's bookkeeping.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "contract/types.hpp"

namespace videohw::bitstream {

struct NalUnit {
  size_t offset = 0;  // first byte after the start code
  size_t size = 0;    // up to the next start code (trailing zero bytes included)
  int type = -1;      // nal_unit_type for the codec
};

// All NAL units of a buffer; bytes before the first start code are skipped, and a buffer
// without any start code gives none.
std::vector<NalUnit> split_annexb(const uint8_t* data, size_t size, Codec codec);

// H.264: an IDR slice (type 5). HEVC: an IRAP picture (types 16..23).
bool is_random_access_type(Codec codec, int nal_type);

bool contains_random_access_picture(const uint8_t* data, size_t size, Codec codec);

}  // namespace videohw::bitstream
