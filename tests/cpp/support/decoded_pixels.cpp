#include "support/decoded_pixels.hpp"

namespace vhtest {

std::vector<uint8_t> plane_bytes(const videohw::DecodedFrame& frame) {
  std::vector<uint8_t> out;
  for (const auto& p : frame.planes)
    for (int row = 0; row < p.height; ++row)
      out.insert(out.end(), p.data + size_t(row) * p.pitch,
                 p.data + size_t(row) * p.pitch + p.width_bytes);
  return out;
}

}  // namespace vhtest
