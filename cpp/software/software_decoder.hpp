// The software decode adapter: libavcodec's native H.264 / HEVC decoders behind an
// av_parser that assembles access units from chunks of any size.
//
// Owns, in drop order (members are destroyed bottom-up): the RGB scaler, the scratch
// packet and frame, the parser, the decoder context, then the log owner (last, so lines
// libavcodec's threads log while the context closes are still counted). Frames handed out
// in NATIVE_SURFACE mode hold their own references to the decoder's buffers, so they
// outlive all of it safely.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "backend/decoder_backend.hpp"
#include "media/ffmpeg_log_owner.hpp"
#include "software/decoded_output.hpp"
#include "software/ffmpeg_ptr.hpp"

namespace videohw::software {

DecodeCapabilities software_decode_capabilities(Codec codec);

class SoftwareDecoder final : public DecoderBackend {
 public:
  SoftwareDecoder(const CommonDecodeConfig& common, const SoftwareDecodeConfig& software);

  const char* name() const override { return "software"; }
  void decode(const uint8_t* data, size_t size, std::optional<int64_t> pts,
              std::vector<DecodedFrame>& out) override;
  void decode_unit(const DecodeUnit& unit, std::vector<DecodedFrame>& out) override;
  void reset(bool new_stream) override;
  void flush(std::vector<DecodedFrame>& out) override;
  void reconfigure(const CommonDecodeConfig& to) override;
  DecodeStats stats() const override;

 private:
  void open();
  void open_parser();
  // Feeds `size` bytes (0: end of data) through the parser and decodes what it completes.
  void parse(const uint8_t* data, size_t size, std::vector<DecodedFrame>& out);
  // The pts of the access unit starting at stream byte `offset`: the latest pts pushed at
  // or before that byte and not yet used (av_parser's own matching loses pts when access
  // units arrive split over many chunks).
  int64_t pts_for_unit_at(int64_t offset);
  void send(const AVPacket* packet, std::vector<DecodedFrame>& out);
  void receive(std::vector<DecodedFrame>& out);
  void emit(std::vector<DecodedFrame>& out);
  void note_error(const std::string& message);
  // Numbers the packet sent next (AVCodecContext::reordered_opaque, which libavcodec hands
  // to the frame and to the frame thread that decodes it): the key of log_owner_'s marks.
  void number_next_unit();
  void unnumber_unit();
  // Whether libavcodec logged an error or concealment while decoding this frame's packet.
  bool reported_damage(const AVFrame& frame);
  // libavcodec's get_format: refuses a sequence over the size limits (may run on one of
  // libavcodec's threads).
  static AVPixelFormat pick_format(AVCodecContext* context, const AVPixelFormat* formats);
  // libavcodec's get_buffer2: refuses every picture buffer while the sequence is over the
  // size limits (may run on one of libavcodec's threads).
  static int allocate(AVCodecContext* context, AVFrame* frame, int flags);
  bool over_limits(int width, int height) const;
  // Records why pictures of width x height are refused; the next note_error reports it.
  void refuse_size(int width, int height, const char* consequence);

  CommonDecodeConfig common_;
  SoftwareDecodeConfig software_;
  // Keyed by `this`, the opaque of every context this decoder opens.
  media::FfmpegLogOwner log_owner_{this};
  UniqueAVCodecContext context_;
  UniqueAVParser parser_;
  UniqueAVPacket packet_;
  UniqueAVFrame frame_;
  RgbConverter rgb_;
  std::vector<uint8_t> input_;  // the chunk plus zeroed padding the parser may read past
  DecodeStats stats_;
  int last_width_ = 0, last_height_ = 0;
  std::string first_error_;  // first decoder error of the current call
  bool damaged_until_keyframe_ = false;
  int64_t unit_serial_ = 0;    // packets sent
  int64_t stream_offset_ = 0;  // bytes the parser has been given
  int64_t unit_end_ = 0;       // stream offset the parser had consumed when it last ended a unit
  std::mutex size_error_mu_;
  std::string size_error_;                               // why pick_format refused a sequence
  std::unordered_set<int64_t> skip_tags_;                // DecodeUnit tags not to hand out
  std::deque<std::pair<int64_t, int64_t>> pending_pts_;  // (chunk's first byte, pts)
};

}  // namespace videohw::software
