#include "software/rgb_table.hpp"

#include <map>
#include <mutex>
#include <utility>

#include "contract/errors.hpp"
#include "software/decoded_output.hpp"

namespace videohw::software {

namespace {

// A yuv420p picture in which every (Y, U, V) occurs: each of the 4096 x 1024 chroma blocks
// carries one (U, V) pair (64 blocks per pair) and four consecutive Y values, so the
// 64 blocks of a pair hold Y = 0..255.
constexpr int kProbeWidth = 8192, kProbeHeight = 2048;
constexpr int kBlocksPerRow = kProbeWidth / 2;

struct Probe {
  std::vector<uint8_t> y, u, v;
};

Probe make_probe() {
  Probe p;
  p.y.resize(size_t(kProbeWidth) * kProbeHeight);
  p.u.resize(size_t(kBlocksPerRow) * (kProbeHeight / 2));
  p.v.resize(p.u.size());
  for (int by = 0; by < kProbeHeight / 2; ++by) {
    for (int bx = 0; bx < kBlocksPerRow; ++bx) {
      const uint32_t block = uint32_t(by) * kBlocksPerRow + uint32_t(bx);
      const uint32_t pair = block >> 6, k = block & 63;
      p.u[block] = uint8_t(pair >> 8);
      p.v[block] = uint8_t(pair & 255);
      for (int dy = 0; dy < 2; ++dy)
        for (int dx = 0; dx < 2; ++dx)
          p.y[size_t(2 * by + dy) * kProbeWidth + 2 * bx + dx] = uint8_t(4 * k + 2 * dy + dx);
    }
  }
  return p;
}

std::shared_ptr<const std::vector<uint8_t>> build(const ColorInfo& color) {
  Probe probe = make_probe();
  UniqueAVFrame frame(av_frame_alloc());
  if (!frame) throw Error(ErrorKind::Decode, "rgb table: out of memory");
  frame->format = AV_PIX_FMT_YUV420P;
  frame->width = kProbeWidth;
  frame->height = kProbeHeight;
  frame->colorspace = AVColorSpace(color.matrix);
  frame->color_range = color.full_range ? AVCOL_RANGE_JPEG : AVCOL_RANGE_MPEG;
  frame->data[0] = probe.y.data();
  frame->data[1] = probe.u.data();
  frame->data[2] = probe.v.data();
  frame->linesize[0] = kProbeWidth;
  frame->linesize[1] = frame->linesize[2] = kBlocksPerRow;

  RgbConverter converter;  // the software decoder's own conversion, unchanged
  DecodedFrame rgb;
  converter.convert(*frame, rgb);
  for (int i = 0; i < 3; ++i) frame->data[i] = nullptr;  // the probe owns the planes

  auto table = std::make_shared<std::vector<uint8_t>>(kRgbTableBytes);
  const SurfacePlane& out = rgb.planes.at(0);
  for (int row = 0; row < kProbeHeight; ++row) {
    const uint8_t* y_row = probe.y.data() + size_t(row) * kProbeWidth;
    const uint8_t* px = out.data + size_t(row) * out.pitch;
    const size_t chroma_row = size_t(row / 2) * kBlocksPerRow;
    for (int x = 0; x < kProbeWidth; ++x, px += 3) {
      const size_t uv = (size_t(probe.u[chroma_row + x / 2]) << 8) | probe.v[chroma_row + x / 2];
      uint8_t* entry = table->data() + ((uv << 8) | y_row[x]) * 3;
      entry[0] = px[0];
      entry[1] = px[1];
      entry[2] = px[2];
    }
  }
  return table;
}

}  // namespace

std::shared_ptr<const std::vector<uint8_t>> rgb_table(const ColorInfo& color) {
  static std::mutex mu;
  static std::map<std::pair<int, bool>, std::shared_ptr<const std::vector<uint8_t>>> built;
  std::lock_guard<std::mutex> lock(mu);
  auto& slot = built[{color.matrix, color.full_range}];
  if (!slot) slot = build(color);
  return slot;
}

}  // namespace videohw::software
