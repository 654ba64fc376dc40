// software/rgb_table: the table is the software decoder's RGB conversion itself, so a
// picture converted by lookup (Y of the pixel, U and V of its 2x2 block) must equal what
// RgbConverter gives, byte for byte, for any content, even height and colour description.
// (An odd height takes libswscale's general scaler, which filters chroma between rows; the
// table does not describe that case, as docs/nvdec.md says.)
#include <gtest/gtest.h>

#include <random>
#include <tuple>

#include "software/decoded_output.hpp"
#include "software/rgb_table.hpp"

using namespace videohw;

namespace {

struct Picture {
  int width, height;
  std::vector<uint8_t> y, u, v;
};

Picture random_picture(int width, int height, uint32_t seed) {
  std::mt19937 rng(seed);
  Picture p{width, height, {}, {}, {}};
  p.y.resize(size_t(width) * height);
  p.u.resize(size_t((width + 1) / 2) * ((height + 1) / 2));
  p.v.resize(p.u.size());
  for (auto* plane : {&p.y, &p.u, &p.v})
    for (auto& b : *plane) b = uint8_t(rng());
  return p;
}

std::vector<uint8_t> convert(const Picture& p, const ColorInfo& color) {
  software::UniqueAVFrame frame(av_frame_alloc());
  frame->format = AV_PIX_FMT_YUV420P;
  frame->width = p.width;
  frame->height = p.height;
  frame->colorspace = AVColorSpace(color.matrix);
  frame->color_range = color.full_range ? AVCOL_RANGE_JPEG : AVCOL_RANGE_MPEG;
  frame->data[0] = const_cast<uint8_t*>(p.y.data());
  frame->data[1] = const_cast<uint8_t*>(p.u.data());
  frame->data[2] = const_cast<uint8_t*>(p.v.data());
  frame->linesize[0] = p.width;
  frame->linesize[1] = frame->linesize[2] = (p.width + 1) / 2;
  software::RgbConverter converter;
  DecodedFrame out;
  converter.convert(*frame, out);
  for (int i = 0; i < 3; ++i) frame->data[i] = nullptr;
  const SurfacePlane& plane = out.planes.at(0);
  std::vector<uint8_t> rgb;
  for (int row = 0; row < p.height; ++row)
    rgb.insert(rgb.end(), plane.data + size_t(row) * plane.pitch,
               plane.data + size_t(row) * plane.pitch + size_t(p.width) * 3);
  return rgb;
}

std::vector<uint8_t> by_table(const Picture& p, const std::vector<uint8_t>& table) {
  std::vector<uint8_t> rgb(size_t(p.width) * p.height * 3);
  const int chroma_width = (p.width + 1) / 2;
  for (int row = 0; row < p.height; ++row)
    for (int x = 0; x < p.width; ++x) {
      const size_t c = size_t(row / 2) * chroma_width + x / 2;
      const size_t index = (((size_t(p.u[c]) << 8) | p.v[c]) << 8) | p.y[size_t(row) * p.width + x];
      for (int k = 0; k < 3; ++k) rgb[(size_t(row) * p.width + x) * 3 + k] = table[index * 3 + k];
    }
  return rgb;
}

class RgbTable : public ::testing::TestWithParam<std::tuple<int, bool>> {};

}  // namespace

TEST_P(RgbTable, LookupEqualsTheSoftwareConversionForRandomPictures) {
  ColorInfo color;
  color.matrix = std::get<0>(GetParam());
  color.full_range = std::get<1>(GetParam());
  const auto table = software::rgb_table(color);
  ASSERT_EQ(table->size(), software::kRgbTableBytes);
  uint32_t seed = 1;
  for (auto [w, h] : {std::pair{64, 48}, {640, 360}, {1920, 1080}, {352, 288}, {98, 66}}) {
    const Picture p = random_picture(w, h, seed++);
    EXPECT_EQ(by_table(p, *table), convert(p, color)) << w << "x" << h;
  }
}

TEST(RgbTableCache, SameDescriptionGivesTheSameTable) {
  ColorInfo color;
  EXPECT_EQ(software::rgb_table(color).get(), software::rgb_table(color).get());
  ColorInfo bt709 = color;
  bt709.matrix = 1;
  EXPECT_NE(software::rgb_table(color).get(), software::rgb_table(bt709).get());
  EXPECT_NE(*software::rgb_table(color), *software::rgb_table(bt709)) << "matrix ignored";
}

// BT.601 (unspecified 2, and 5/6), BT.709, in limited and full range.
INSTANTIATE_TEST_SUITE_P(Descriptions, RgbTable,
                         ::testing::Combine(::testing::Values(2, 1, 6), ::testing::Bool()));
