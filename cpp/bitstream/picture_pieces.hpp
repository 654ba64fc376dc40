// Cuts a chunk of Annex-B bytes into pieces that each complete at most one picture, so a
// decode session can stop feeding its decoder between two pieces once enough decoded
// frames wait to be reaped: a few KB of tiny slices can otherwise hold thousands of
// pictures, each as large as the stream declares.
#pragma once

#include <cstddef>
#include <cstdint>

#include "contract/types.hpp"

namespace videohw::bitstream {

// The size of the first piece of `data`: everything before the start code (with its
// zero_byte) of the next NAL unit that may open an access unit (AUD, parameter set, prefix
// SEI, the first slice of a picture), or `size` when no such unit follows. A chunk that
// starts inside a unit (the rest of an earlier push) is cut the same way. VP9 and AV1 pushes
// are whole frames, never cut: the result is `size`.
size_t first_piece_size(const uint8_t* data, size_t size, Codec codec);

}  // namespace videohw::bitstream
