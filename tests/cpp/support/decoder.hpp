// An independent check of encoded output: libavcodec's own H.264/HEVC *decoders* and a NAL
// scan written here, so nothing in a verdict comes from videohw's encoder or bitstream code.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "contract/types.hpp"

namespace vhtest {

// One decoded picture, in presentation (output) order.
struct DecodedFrame {
  int width = 0, height = 0;
  bool key_frame = false;
  char pict_type = '?';                       // 'I', 'P', 'B' (av_get_picture_type_char)
  int64_t pts = 0;                            // the pts of the packet it came from
  double mean_y = 0, mean_u = 0, mean_v = 0;  // average sample value of each plane
  int qp_min = -1, qp_max = -1;               // H.264 only: macroblock QPs the decoder exported
};

// Feeds each packet (one access unit) to a fresh decoder, with its pts/dts, then drains.
// Throws std::runtime_error when the decoder rejects the stream.
std::vector<DecodedFrame> decode_packets(videohw::Codec codec,
                                         const std::vector<videohw::EncodedPacket>& packets);

// Splits a raw Annex-B elementary stream with libavcodec's parser and decodes it.
std::vector<DecodedFrame> decode_annexb(videohw::Codec codec, const std::vector<uint8_t>& stream);

std::vector<uint8_t> concatenate(const std::vector<videohw::EncodedPacket>& packets);

// nal_unit_type of every NAL unit in an Annex-B buffer (own scan, independent of videohw).
std::vector<int> nal_types(videohw::Codec codec, const uint8_t* data, size_t size);
// True when the access unit holds an IDR picture (H.264 type 5; HEVC IDR_W_RADL / IDR_N_LP).
bool holds_idr(videohw::Codec codec, const videohw::EncodedPacket& packet);

// pts of the decoded key frames, in presentation order.
std::vector<int64_t> keyframe_pts(const std::vector<DecodedFrame>& frames);
std::vector<int64_t> all_pts(const std::vector<DecodedFrame>& frames);

}  // namespace vhtest
