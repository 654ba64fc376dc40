#include "software/rgb_table.hpp"

#include <algorithm>
#include <exception>
#include <map>
#include <mutex>
#include <thread>
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

// Rows [first, last) of the probe picture (both even): its luma rows and their chroma rows.
struct Band {
  int first = 0, last = 0;
  std::vector<uint8_t> y, u, v;
};

Band make_band(int first, int last) {
  Band b;
  b.first = first;
  b.last = last;
  const int rows = last - first;
  b.y.resize(size_t(kProbeWidth) * rows);
  b.u.resize(size_t(kBlocksPerRow) * (rows / 2));
  b.v.resize(b.u.size());
  for (int by = first / 2; by < last / 2; ++by) {
    for (int bx = 0; bx < kBlocksPerRow; ++bx) {
      const uint32_t block = uint32_t(by) * kBlocksPerRow + uint32_t(bx);
      const uint32_t pair = block >> 6, k = block & 63;
      const size_t local = size_t(by - first / 2) * kBlocksPerRow + size_t(bx);
      b.u[local] = uint8_t(pair >> 8);
      b.v[local] = uint8_t(pair & 255);
      for (int dy = 0; dy < 2; ++dy)
        for (int dx = 0; dx < 2; ++dx)
          b.y[size_t(2 * by - first + dy) * kProbeWidth + 2 * bx + dx] =
              uint8_t(4 * k + 2 * dy + dx);
    }
  }
  return b;
}

// Converts one band with the software decoder's own conversion and writes its entries
// (each (Y, U, V) occurs once in the whole picture, so bands never write the same entry).
// libswscale's unscaled 4:2:0 -> RGB24 path converts each pair of rows on its own, so a band
// converts exactly as it would inside the whole picture.
void convert_band(const ColorInfo& color, int first, int last, uint8_t* table) {
  Band band = make_band(first, last);
  UniqueAVFrame frame(av_frame_alloc());
  if (!frame) throw Error(ErrorKind::Decode, "rgb table: out of memory");
  frame->format = AV_PIX_FMT_YUV420P;
  frame->width = kProbeWidth;
  frame->height = last - first;
  frame->colorspace = AVColorSpace(color.matrix);
  frame->color_range = color.full_range ? AVCOL_RANGE_JPEG : AVCOL_RANGE_MPEG;
  frame->data[0] = band.y.data();
  frame->data[1] = band.u.data();
  frame->data[2] = band.v.data();
  frame->linesize[0] = kProbeWidth;
  frame->linesize[1] = frame->linesize[2] = kBlocksPerRow;

  RgbConverter converter;  // the software decoder's own conversion, unchanged
  DecodedFrame rgb;
  converter.convert(*frame, rgb);
  for (int i = 0; i < 3; ++i) frame->data[i] = nullptr;  // the band owns the planes

  const SurfacePlane& out = rgb.planes.at(0);
  for (int row = 0; row < last - first; ++row) {
    const uint8_t* y_row = band.y.data() + size_t(row) * kProbeWidth;
    const uint8_t* px = out.data + size_t(row) * out.pitch;
    const size_t chroma_row = size_t(row / 2) * kBlocksPerRow;
    for (int x = 0; x < kProbeWidth; ++x, px += 3) {
      const size_t uv = (size_t(band.u[chroma_row + x / 2]) << 8) | band.v[chroma_row + x / 2];
      uint8_t* entry = table + ((uv << 8) | y_row[x]) * 3;
      entry[0] = px[0];
      entry[1] = px[1];
      entry[2] = px[2];
    }
  }
}

// Built on every core: a reader's first RGB frame on NVDEC waits for it (about 110 ms on
// one core, the largest part of a cold first frame).
std::shared_ptr<const std::vector<uint8_t>> build(const ColorInfo& color) {
  auto table = std::make_shared<std::vector<uint8_t>>(kRgbTableBytes);
  const int bands = int(std::clamp(std::thread::hardware_concurrency(), 1u, 16u));
  const int rows_per_band = (kProbeHeight / bands + 1) & ~1;
  std::vector<std::thread> threads;
  std::vector<std::exception_ptr> errors(static_cast<size_t>(bands));
  for (int b = 0; b < bands; ++b) {
    const int first = b * rows_per_band;
    const int last = std::min(kProbeHeight, first + rows_per_band);
    if (first >= last) break;
    threads.emplace_back([&, b, first, last] {
      try {
        convert_band(color, first, last, table->data());
      } catch (...) {
        errors[size_t(b)] = std::current_exception();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);
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
