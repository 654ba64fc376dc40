// The software adapter: libx264 (H.264) and libx265 (HEVC) through libavcodec.
//
// Owns, in drop order (members are destroyed bottom-up): the packet and the borrowed-frame
// wrapper first, then the encoder context, then the log owner
// (last, so what the encoder logs while it closes is still counted). End of stream and
// drain happen in finish(), called by the session before destruction.
#pragma once

#include <cstdint>
#include <memory>

#include "backend/encoder_backend.hpp"
#include "media/ffmpeg_log_owner.hpp"
#include "software/encoder_options.hpp"
#include "software/frame_input.hpp"

namespace videohw::software {

Capabilities software_capabilities(Codec codec);

class SoftwareEncoder final : public EncoderBackend {
 public:
  SoftwareEncoder(const CommonEncodeConfig& common, const SoftwareEncodeConfig& software);

  const char* name() const override { return "software"; }
  void encode(const FrameView& frame, const FrameOptions& options,
              std::vector<EncodedPacket>& out) override;
  FlushResult flush(std::vector<EncodedPacket>& out) override;
  void finish(std::vector<EncodedPacket>& out) override;
  EncodeStats stats() const override;
  void reconfigure(const CommonEncodeConfig& to) override;
  void restart(const CommonEncodeConfig& to, std::vector<EncodedPacket>& out) override;
  void set_packet_pool(ring::PacketPool* pool) override { packet_pool_ = pool; }

 private:
  void open();
  void receive(std::vector<EncodedPacket>& out);
  void drain(std::vector<EncodedPacket>& out);

  CommonEncodeConfig common_;
  SoftwareEncodeConfig software_;
  EncoderOptions options_;
  // Keyed by `this`, the opaque of every context this encoder opens.
  media::FfmpegLogOwner log_owner_{this};
  UniqueAVCodecContext context_;
  std::unique_ptr<FrameInput> input_;  // replaced when a restart changes the size
  UniqueAVPacket packet_;
  EncodeStats stats_;
  ring::PacketPool* packet_pool_ = nullptr;
  int64_t frames_held_ = 0;        // sent to the encoder, packet not yet received
  int64_t frames_since_open_ = 0;  // 0: the context has not begun its stream
  bool idr_pending_ = false;
  bool finished_ = false;
};

}  // namespace videohw::software
