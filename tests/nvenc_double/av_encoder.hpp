// The double's encoding engine: libx264 / libx265 through libavcodec, driven picture by
// picture with the types the double's picture-type decision chose, so keyframe positions are
// exact. Output is Annex-B with SPS/PPS (and VPS) in front of every IDR.
#pragma once

#include <cstdint>
#include <vector>

#include "encode_settings.hpp"
#include "software/ffmpeg_ptr.hpp"

namespace nvdouble {

struct EncodedUnit {
  std::vector<uint8_t> data;
  int64_t pts = 0;  // the double's own picture counter, as given to send()
  NV_ENC_PIC_TYPE type = NV_ENC_PIC_TYPE_UNKNOWN;  // read back from the bitstream
  int average_qp = 0;
};

class AvEncoder {
 public:
  // Throws std::runtime_error (with FFmpeg's text) when the encoder cannot be opened.
  explicit AvEncoder(const EncodeSettings& settings);

  // A 4:2:0 planar picture of the session's size, filled by the caller.
  AVFrame* picture() { return picture_.get(); }
  // Encodes picture() as `type` (IDR/I, P or B; anything else lets the encoder choose) and
  // appends the access units that came out, in decode order.
  void send(NV_ENC_PIC_TYPE type, int64_t pts, std::vector<EncodedUnit>& out);
  // Ends the stream and appends everything held back; the encoder is spent afterwards.
  void drain(std::vector<EncodedUnit>& out);

  // Whether `to` can be applied to a running encoder opened with `from`: libavcodec
  // re-applies libx264's bitrate / VBV fields before every frame; nothing else changes live.
  static bool can_update_in_place(const EncodeSettings& from, const EncodeSettings& to);
  void update_rates(const EncodeSettings& to);

 private:
  void receive(std::vector<EncodedUnit>& out);

  EncodeSettings settings_;
  videohw::software::UniqueAVCodecContext context_;
  videohw::software::UniqueAVFrame picture_;
  videohw::software::UniqueAVPacket packet_;
};

// SPS/PPS (H.264) or VPS/SPS/PPS (HEVC), Annex-B, exactly as the encoder writes them for
// these settings: what nvEncGetSequenceParams returns.
std::vector<uint8_t> sequence_headers(const EncodeSettings& settings);

}  // namespace nvdouble
