// bitstream/: Annex-B splitting, NAL types, random-access detection.
#include <gtest/gtest.h>

#include <vector>

#include "bitstream/annexb.hpp"
#include "bitstream/picture_pieces.hpp"

using namespace videohw;
using namespace videohw::bitstream;

namespace {
std::vector<int> types_of(const std::vector<NalUnit>& units) {
  std::vector<int> t;
  for (const auto& u : units) t.push_back(u.type);
  return t;
}
}  // namespace

TEST(SplitAnnexB, FindsUnitsAfterThreeByteStartCodes) {
  const std::vector<uint8_t> data = {0,    0,    1, 0x67, 0xAA, 0xBB, 0,    0,    1,
                                     0x68, 0xCC, 0, 0,    1,    0x65, 0xDD, 0xEE, 0xFF};
  const auto units = split_annexb(data.data(), data.size(), Codec::H264);
  ASSERT_EQ(units.size(), 3u);
  EXPECT_EQ(units[0].offset, 3u);
  EXPECT_EQ(units[0].size, 3u);
  EXPECT_EQ(units[1].offset, 9u);
  EXPECT_EQ(units[1].size, 2u);
  EXPECT_EQ(units[2].offset, 14u);
  EXPECT_EQ(units[2].size, 4u);
  EXPECT_EQ(types_of(units), (std::vector<int>{7, 8, 5}));
}

TEST(SplitAnnexB, FindsUnitsAfterFourByteStartCodes) {
  const std::vector<uint8_t> data = {0, 0,    0,    1, 0x67, 0xAA, 0, 0,    0,
                                     1, 0x68, 0xBB, 0, 0,    0,    1, 0x41, 0xCC};
  const auto units = split_annexb(data.data(), data.size(), Codec::H264);
  ASSERT_EQ(units.size(), 3u);
  EXPECT_EQ(units[0].offset, 4u);
  EXPECT_EQ(units[1].offset, 10u);
  EXPECT_EQ(units[2].offset, 16u);
  EXPECT_EQ(units[2].size, 2u);
  // The leading zero of the next 4-byte start code stays with the unit before (documented).
  EXPECT_EQ(units[0].size, 3u);
  EXPECT_EQ(types_of(units), (std::vector<int>{7, 8, 1}));
}

TEST(SplitAnnexB, MixedStartCodesAndEmulationLikeBytesInsidePayload) {
  // 00 00 03 is an emulation-prevention sequence, not a start code.
  const std::vector<uint8_t> data = {0, 0, 0, 1, 0x06, 0, 0, 3, 1, 0x80, 0, 0, 1, 0x65, 0x88, 0x84};
  const auto units = split_annexb(data.data(), data.size(), Codec::H264);
  ASSERT_EQ(units.size(), 2u);
  EXPECT_EQ(types_of(units), (std::vector<int>{6, 5}));
  EXPECT_EQ(units[1].offset, 13u);
}

TEST(SplitAnnexB, BufferWithoutStartCodeGivesNoUnits) {
  const std::vector<uint8_t> data = {0x67, 0x42, 0, 0x1e, 0xAB, 0, 0, 2, 0xCD};
  EXPECT_TRUE(split_annexb(data.data(), data.size(), Codec::H264).empty());
  EXPECT_TRUE(split_annexb(nullptr, 0, Codec::H264).empty());
  const std::vector<uint8_t> short_data = {0, 0};
  EXPECT_TRUE(split_annexb(short_data.data(), short_data.size(), Codec::HEVC).empty());
}

TEST(SplitAnnexB, HevcTypesComeFromTheTwoByteHeader) {
  // VPS 32, SPS 33, PPS 34, IDR_W_RADL 19, TRAIL_R 1: type = (byte0 >> 1) & 0x3f.
  const std::vector<uint8_t> data = {0,    0,    0,    1, 0x40, 0x01, 0xAA, 0,    0,   0, 1,
                                     0x42, 0x01, 0,    0, 0,    1,    0x44, 0x01, 0,   0, 1,
                                     0x26, 0x01, 0xAF, 0, 0,    1,    0x02, 0x01, 0xD0};
  const auto units = split_annexb(data.data(), data.size(), Codec::HEVC);
  EXPECT_EQ(types_of(units), (std::vector<int>{32, 33, 34, 19, 1}));
}

TEST(SplitAnnexB, H264TypeIsTheLowFiveBits) {
  const std::vector<uint8_t> data = {0, 0, 1, 0x09, 0xF0, 0, 0, 1, 0x25, 0x88, 0, 0, 1, 0x01};
  EXPECT_EQ(types_of(split_annexb(data.data(), data.size(), Codec::H264)),
            (std::vector<int>{9, 5, 1}));
}

TEST(RandomAccess, H264OnlyIdrSlicesAreRandomAccess) {
  EXPECT_TRUE(is_random_access_type(Codec::H264, 5));
  for (int t : {1, 2, 6, 7, 8, 9}) EXPECT_FALSE(is_random_access_type(Codec::H264, t)) << t;
}

TEST(RandomAccess, HevcIrapTypes16To23AreRandomAccess) {
  for (int t = 16; t <= 23; ++t) EXPECT_TRUE(is_random_access_type(Codec::HEVC, t)) << t;
  for (int t : {0, 1, 9, 15, 24, 32, 33, 34, 35, 39})
    EXPECT_FALSE(is_random_access_type(Codec::HEVC, t)) << t;
}

TEST(RandomAccess, H264AccessUnitWithIdrIsDetected) {
  const std::vector<uint8_t> idr = {0, 0,    0,    1, 0x67, 0x42, 0,    0,   0,
                                    1, 0x68, 0xCE, 0, 0,    1,    0x65, 0x88};
  const std::vector<uint8_t> non_idr = {0, 0, 0, 1, 0x09, 0x30, 0, 0, 1, 0x41, 0x9A};
  EXPECT_TRUE(contains_random_access_picture(idr.data(), idr.size(), Codec::H264));
  EXPECT_FALSE(contains_random_access_picture(non_idr.data(), non_idr.size(), Codec::H264));
}

TEST(RandomAccess, HevcAccessUnitWithIrapIsDetected) {
  const std::vector<uint8_t> idr = {0, 0, 0, 1, 0x40, 0x01, 0, 0, 1, 0x26, 0x01, 0xAF};
  const std::vector<uint8_t> trail = {0, 0, 0, 1, 0x02, 0x01, 0xD0};
  EXPECT_TRUE(contains_random_access_picture(idr.data(), idr.size(), Codec::HEVC));
  EXPECT_FALSE(contains_random_access_picture(trail.data(), trail.size(), Codec::HEVC));
  // The same byte read as H.264 (0x26 & 0x1f = 6, an SEI) is not an IDR.
  EXPECT_FALSE(contains_random_access_picture(idr.data(), idr.size(), Codec::H264));
}

TEST(RandomAccess, BufferWithoutStartCodeIsNotRandomAccess) {
  const std::vector<uint8_t> data = {0x65, 0x88, 0x84};
  EXPECT_FALSE(contains_random_access_picture(data.data(), data.size(), Codec::H264));
}

// picture_pieces: where a decode session may stop feeding its decoder.
namespace {
size_t piece(const std::vector<uint8_t>& d, Codec codec = Codec::H264) {
  return first_piece_size(d.data(), d.size(), codec);
}
}  // namespace

TEST(PicturePieces, CutBeforeEachUnitThatMayOpenAnAccessUnit) {
  // SPS | PPS | IDR slice (first_mb 0: ue '1' -> 0x80...) | non-IDR slice of a new picture
  const std::vector<uint8_t> d = {0, 0, 0, 1,    0x67, 0xAA, 0, 0, 1, 0x68, 0xBB, 0,
                                  0, 0, 1, 0x65, 0x88, 0x84, 0, 0, 1, 0x41, 0x9A, 0x02};
  EXPECT_EQ(piece(d), 6u);  // the SPS; the PPS opens nothing after it, but may open an AU
  const std::vector<uint8_t> rest(d.begin() + 11, d.end());
  EXPECT_EQ(piece(rest), 7u);  // the IDR slice, up to the next picture's first slice
}

TEST(PicturePieces, SlicesOfTheSamePictureStayTogether) {
  // two slices of one picture: the second has first_mb_in_slice 1 (ue '010' -> 0x40)
  const std::vector<uint8_t> d = {0, 0, 1, 0x65, 0x88, 0x84, 0, 0, 1, 0x65, 0x40, 0x84};
  EXPECT_EQ(piece(d), d.size());
}

TEST(PicturePieces, AChunkThatStartsInsideAUnitIsCutAtTheNextPicture) {
  const std::vector<uint8_t> d = {0x12, 0x34, 0x56, 0, 0, 1, 0x09, 0xF0, 0, 0, 1, 0x41, 0x9A};
  EXPECT_EQ(piece(d), 3u);  // up to the AUD
}

TEST(PicturePieces, VpxAndAv1PushesAreNeverCut) {
  const std::vector<uint8_t> d = {0, 0, 1, 0x67, 0, 0, 1, 0x65, 0x88};
  EXPECT_EQ(piece(d, Codec::VP9), d.size());
  EXPECT_EQ(piece(d, Codec::AV1), d.size());
}

TEST(PicturePieces, HevcCutsAtTheFirstSliceSegmentOfAPicture) {
  // VPS | IDR_W_RADL with first_slice_segment_in_pic_flag 1
  const std::vector<uint8_t> d = {0, 0, 1, 0x40, 0x01, 0x0C, 0, 0, 1, 0x26, 0x01, 0xAF};
  EXPECT_EQ(piece(d, Codec::HEVC), 6u);
}
