#include "software/software_encoder.hpp"

#include "contract/clock.hpp"

#include <chrono>

#include "bitstream/annexb.hpp"
#include "contract/errors.hpp"
#include "contract/validate.hpp"

namespace videohw::software {

Capabilities software_capabilities(Codec codec) {
  Capabilities caps;
  caps.backend = "software";
  caps.codec = codec;
  // An empty record for a codec this backend cannot encode: nothing is supported.
  if (codec != Codec::H264 && codec != Codec::HEVC) return caps;
  caps.min_width = caps.min_height = 16;
  caps.max_width = caps.max_height = 8192;
  caps.max_b_frames = 16;
  caps.max_gop_length = 100'000;
  caps.rate_control_modes = {RateControlMode::CBR, RateControlMode::VBR, RateControlMode::ConstQP};
  caps.input_formats = {PixelFormat::ARGB8888, PixelFormat::BGRA, PixelFormat::RGB24,
                        PixelFormat::NV12, PixelFormat::I420};
  caps.low_latency = true;
  caps.dynamic_bitrate = false;
  caps.dynamic_resolution = false;
  caps.presets = {"ultrafast", "superfast", "veryfast", "faster",   "fast",
                  "medium",    "slow",      "slower",   "veryslow", "placebo"};
  if (codec == Codec::HEVC)
    caps.tunes = {"psnr", "ssim", "grain", "fastdecode", "zerolatency", "animation"};
  else
    caps.tunes = {"film", "animation", "grain",      "stillimage",
                  "psnr", "ssim",      "fastdecode", "zerolatency"};
  return caps;
}

SoftwareEncoder::SoftwareEncoder(const CommonEncodeConfig& common,
                                 const SoftwareEncodeConfig& software)
    : common_(common),
      software_(software),
      options_(map_encoder_options(common, software)),
      input_(std::make_unique<FrameInput>(common.width, common.height, kEncoderPixelFormat)),
      packet_(av_packet_alloc()) {
  validate(software);
  if (!packet_) throw Error(ErrorKind::Encode, "av_packet_alloc failed (out of memory)");
  open();
  idr_pending_ = common.force_idr;
}

void SoftwareEncoder::open() {
  context_ = open_encoder(common_, options_, this);
  stats_.encoder_opens++;
  frames_since_open_ = 0;
}

EncodeStats SoftwareEncoder::stats() const {
  EncodeStats stats = stats_;
  stats.ffmpeg_warnings = log_owner_.warnings();
  stats.ffmpeg_errors = log_owner_.errors();
  return stats;
}

void SoftwareEncoder::encode(const FrameView& frame, const FrameOptions& options,
                             std::vector<EncodedPacket>& out) {
  if (finished_) throw Error(ErrorKind::SessionClosed, "the encoder has reached end of stream");
  const int64_t start = monotonic_ns();
  AVFrame* picture = input_->begin_frame(frame);
  picture->pts = options.pts.value_or(0);
  const bool keyframe = options.force_keyframe || idr_pending_;
  picture->pict_type = keyframe ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
  const int ret = avcodec_send_frame(context_.get(), picture);
  input_->end_frame(stats_);
  check_av(ret, "sending a frame to " + options_.encoder_name);
  idr_pending_ = false;
  frames_held_++;
  frames_since_open_++;
  stats_.frames_encoded++;
  receive(out);
  stats_.encode_ns += monotonic_ns() - start;
}

void SoftwareEncoder::receive(std::vector<EncodedPacket>& out) {
  for (;;) {
    const int ret = avcodec_receive_packet(context_.get(), packet_.get());
    if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return;
    check_av(ret, "receiving a packet from " + options_.encoder_name);
    EncodedPacket pkt;
    if (packet_pool_) {
      pkt.data = packet_pool_->take(size_t(packet_->size));
      packet_pool_->fill(pkt.data, packet_->data, size_t(packet_->size));
    } else {
      pkt.data.assign(packet_->data, packet_->data + packet_->size);
    }
    pkt.pts = packet_->pts;
    pkt.dts = packet_->dts;
    pkt.is_keyframe =
        bitstream::contains_random_access_picture(packet_->data, packet_->size, common_.codec);
    pkt.layout = EncodedLayout::AnnexB;
    av_packet_unref(packet_.get());
    frames_held_--;
    out.push_back(std::move(pkt));
  }
}

// Sends end of stream and collects every remaining packet; the context is spent after.
void SoftwareEncoder::drain(std::vector<EncodedPacket>& out) {
  check_av(avcodec_send_frame(context_.get(), nullptr), "draining " + options_.encoder_name);
  receive(out);
}

FlushResult SoftwareEncoder::flush(std::vector<EncodedPacket>& out) {
  if (finished_) throw Error(ErrorKind::SessionClosed, "the encoder has reached end of stream");
  const size_t before = out.size();
  FlushResult result;
  receive(out);
  if (frames_held_ == 0) {
    // Nothing held back (zero-delay configuration): the stream simply goes on.
    stats_.in_place_flushes++;
  } else {
    // libx264/libx265 in this libavcodec cannot be drained and resumed: draining ends the
    // stream, so the context is reopened with the same settings. Counted, never hidden.
    drain(out);
    context_.reset();
    open();
    stats_.encoder_reopens++;
    result.restarted_stream = result.reopened = true;
    frames_held_ = 0;
  }
  if (common_.force_idr) idr_pending_ = true;
  result.packets = int64_t(out.size() - before);
  return result;
}

void SoftwareEncoder::reconfigure(const CommonEncodeConfig& to) {
  if (!can_reconfigure_in_place(common_, to))
    throw Error(ErrorKind::Switch, "libx264 cannot take this change in place");
  // Takes effect inside the next avcodec_send_frame (libavcodec's per-frame reconfig).
  set_rate_fields(context_.get(), to);
  common_ = to;
  options_ = map_encoder_options(to, software_);  // a later reopen uses the new rates
}

void SoftwareEncoder::restart(const CommonEncodeConfig& to, std::vector<EncodedPacket>& out) {
  if (finished_) throw Error(ErrorKind::SessionClosed, "the encoder has reached end of stream");
  EncoderOptions options = map_encoder_options(to, software_);
  // The context reads the size, the rate and the mapped options (open_encoder): a context
  // opened with the same ones that has taken no frame yet is already the new stream (a
  // flush that drained B-frames reopened it).
  const bool same =
      to.width == common_.width && to.height == common_.height && to.fps_num == common_.fps_num &&
      to.fps_den == common_.fps_den && options.encoder_name == options_.encoder_name &&
      options.private_options == options_.private_options &&
      options.thread_count == options_.thread_count &&
      options.thread_type == options_.thread_type && options.gop_size == options_.gop_size &&
      options.max_b_frames == options_.max_b_frames;
  if (!(same && frames_since_open_ == 0)) {
    // Opened first, so a failure leaves the running stream as it was.
    UniqueAVCodecContext next = open_encoder(to, options, this);
    if (frames_held_ > 0) drain(out);
    context_ = std::move(next);
    stats_.encoder_opens++;
    stats_.encoder_reopens++;
    frames_since_open_ = 0;
    frames_held_ = 0;
    if (to.width != common_.width || to.height != common_.height)
      input_ = std::make_unique<FrameInput>(to.width, to.height, kEncoderPixelFormat);
  }
  common_ = to;
  options_ = std::move(options);
  idr_pending_ = to.force_idr;
}

void SoftwareEncoder::finish(std::vector<EncodedPacket>& out) {
  if (finished_) return;
  drain(out);
  finished_ = true;
}

}  // namespace videohw::software
