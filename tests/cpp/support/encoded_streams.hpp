// Small H.264 / HEVC streams made by the software encoder, for the decoder suites.
#pragma once

#include <vector>

#include "contract/types.hpp"

namespace vhtest {

struct StreamSpec {
  int width = 64, height = 48, frames = 12, gop = 4, b_frames = 0;
  // pts of the first picture; picture i has pts first_pts + i and shows pattern first_pts + i
  // (frames.hpp), so two streams of different first_pts differ in pixels too.
  int first_pts = 0;
};

// Encoded packets (decode order) of `spec`.
std::vector<videohw::EncodedPacket> encode_stream(videohw::Codec codec, const StreamSpec& spec);

}  // namespace vhtest
