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

std::vector<uint8_t> nv12_as_i420(const videohw::DecodedFrame& f) {
  std::vector<uint8_t> out;
  const videohw::SurfacePlane& y = f.planes.at(0);
  const videohw::SurfacePlane& uv = f.planes.at(1);
  for (int r = 0; r < f.height; ++r)
    out.insert(out.end(), y.data + r * y.pitch, y.data + r * y.pitch + f.width);
  const int cw = (f.width + 1) / 2, ch = (f.height + 1) / 2;
  for (int plane = 0; plane < 2; ++plane)
    for (int r = 0; r < ch; ++r)
      for (int x = 0; x < cw; ++x) out.push_back(uv.data[r * uv.pitch + 2 * x + plane]);
  return out;
}

}  // namespace vhtest
