#include "software/software_decoder.hpp"

#include "contract/clock.hpp"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstring>

#include "contract/errors.hpp"
#include "media/ffmpeg_log.hpp"

namespace videohw::software {

namespace {

AVCodecID codec_id(Codec codec) {
  switch (codec) {
    case Codec::H264:
      return AV_CODEC_ID_H264;
    case Codec::HEVC:
      return AV_CODEC_ID_HEVC;
    case Codec::VP9:
      return AV_CODEC_ID_VP9;
    case Codec::AV1:
      return AV_CODEC_ID_AV1;
  }
  throw Error(ErrorKind::UnsupportedConfig,
              std::string("software decoder: codec ") + to_string(codec) + " is not supported");
}

// The largest side the software backend decodes (its capabilities say so).
constexpr int kMaxSide = 8192;

// Tags of skipped pictures the decoder never returned (dropped as undecodable) must not
// pile up over a long stream.
constexpr size_t kMaxSkipTags = 4096;

// libavcodec counts bytes in int, and a size of 2 GiB or more turns negative, on which
// libavcodec aborts the process: a chunk reaches the parser in slices of at most this many
// bytes. That also bounds the padded copy and what the parser holds past
// max_access_unit_bytes.
constexpr size_t kMaxSlice = size_t(16) << 20;

}  // namespace

DecodeCapabilities software_decode_capabilities(Codec codec) {
  DecodeCapabilities caps;
  caps.backend = "software";
  caps.codec = codec;
  caps.supported = avcodec_find_decoder(codec_id(codec)) != nullptr;
  if (!caps.supported) return caps;
  caps.max_width = caps.max_height = kMaxSide;
  caps.output_modes = {DecodeOutputMode::MetadataOnly, DecodeOutputMode::NativeSurface,
                       DecodeOutputMode::CpuRgb};
  caps.device_surfaces = false;
  caps.dynamic_resolution = true;  // libavcodec re-initialises on a new SPS by itself
  return caps;
}

SoftwareDecoder::SoftwareDecoder(const CommonDecodeConfig& common,
                                 const SoftwareDecodeConfig& software)
    : common_(common), software_(software), packet_(av_packet_alloc()), frame_(av_frame_alloc()) {
  if (!packet_ || !frame_) throw Error(ErrorKind::Decode, "software decoder: out of memory");
  open();
  open_parser();
}

void SoftwareDecoder::open() {
  media::install_ffmpeg_log();
  const AVCodec* codec = avcodec_find_decoder(codec_id(common_.codec));
  if (!codec)
    throw Error(ErrorKind::BackendUnavailable, std::string("software decoder: libavcodec has no ") +
                                                   to_string(common_.codec) + " decoder");
  context_.reset(avcodec_alloc_context3(codec));
  if (!context_) throw Error(ErrorKind::Decode, "software decoder: out of memory");
  context_->thread_count = software_.threads;
  // A new sequence's size is checked in get_format, which libavcodec calls before it
  // allocates anything for the sequence; max_pixels backs it up in every buffer request.
  const int64_t width = common_.max_width > 0 ? common_.max_width : kMaxSide;
  const int64_t height = common_.max_height > 0 ? common_.max_height : kMaxSide;
  context_->max_pixels = width * height;
  context_->opaque = this;
  context_->get_format = &SoftwareDecoder::pick_format;
  // get_format alone is not enough: libavcodec's HEVC decoder asks it once per new SPS and,
  // refused, keeps the SPS and decodes the next pictures at its size anyway.
  context_->get_buffer2 = &SoftwareDecoder::allocate;
  // Both callbacks are thread-safe (size_error_mu_ guards what they write). Said so,
  // libavcodec before 60 calls them on its frame threads directly instead of handing each
  // call over to the decoding thread and waiting for it, and does not warn about a custom
  // get_buffer2; from 60 on it always calls them directly.
#if LIBAVCODEC_VERSION_MAJOR < 60
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  context_->thread_safe_callbacks = 1;
#pragma GCC diagnostic pop
#endif
  // Frame threading holds back one frame per thread; low latency keeps slice threads only.
  if (common_.low_latency) context_->thread_type = FF_THREAD_SLICE;
  const int ret = avcodec_open2(context_.get(), codec, nullptr);
  if (ret < 0)
    throw Error(ErrorKind::Decode,
                av_error_text(ret, std::string("opening the ") + codec->name + " decoder"));
  stats_.decoder_opens++;
}

DecodeStats SoftwareDecoder::stats() const {
  DecodeStats stats = stats_;
  stats.ffmpeg_warnings = log_owner_.warnings();
  stats.ffmpeg_errors = log_owner_.errors();
  stats.pool_allocations = rgb_.allocations();
  return stats;
}

bool SoftwareDecoder::over_limits(int width, int height) const {
  return width > (common_.max_width > 0 ? common_.max_width : kMaxSide) ||
         height > (common_.max_height > 0 ? common_.max_height : kMaxSide);
}

void SoftwareDecoder::refuse_size(int width, int height, const char* consequence) {
  const int max_w = common_.max_width > 0 ? common_.max_width : kMaxSide;
  const int max_h = common_.max_height > 0 ? common_.max_height : kMaxSide;
  std::lock_guard<std::mutex> lock(size_error_mu_);
  size_error_ = "the stream's pictures are " + std::to_string(width) + "x" +
                std::to_string(height) + ", over the session's limit of " + std::to_string(max_w) +
                "x" + std::to_string(max_h) + " (CommonDecodeConfig.max_width / max_height); " +
                consequence;
}

AVPixelFormat SoftwareDecoder::pick_format(AVCodecContext* context, const AVPixelFormat* formats) {
  auto* self = static_cast<SoftwareDecoder*>(context->opaque);
  if (self->over_limits(context->width, context->height)) {
    self->refuse_size(context->width, context->height, "nothing was allocated");
    return AV_PIX_FMT_NONE;
  }
  return avcodec_default_get_format(context, formats);
}

int SoftwareDecoder::allocate(AVCodecContext* context, AVFrame* frame, int flags) {
  auto* self = static_cast<SoftwareDecoder*>(context->opaque);
  // The context's size, not the frame's: buffers are requested at the coded size, which
  // may exceed the limit by the alignment padding of a stream that fits.
  if (self->over_limits(context->width, context->height)) {
    self->refuse_size(context->width, context->height, "nothing was allocated");
    return AVERROR(EINVAL);
  }
  return avcodec_default_get_buffer2(context, frame, flags);
}

void SoftwareDecoder::open_parser() {
  parser_.reset(av_parser_init(context_->codec_id));
  stream_offset_ = 0;
  unit_end_ = 0;
  pending_pts_.clear();
  if (!parser_)
    throw Error(ErrorKind::BackendUnavailable, std::string("software decoder: libavcodec has no ") +
                                                   to_string(common_.codec) + " parser");
}

void SoftwareDecoder::decode(const uint8_t* data, size_t size, std::optional<int64_t> pts,
                             std::vector<DecodedFrame>& out) {
  if (size == 0) return;
  const int64_t start = monotonic_ns(), convert_before = stats_.convert_ns;
  first_error_.clear();
  stats_.bytes_in += int64_t(size);
  if (pts) pending_pts_.emplace_back(stream_offset_, *pts);
  for (size_t at = 0; at < size; at += kMaxSlice) {
    const size_t slice = std::min(kMaxSlice, size - at);
    // The parser may read a few bytes past the end of damaged data; a padded copy makes
    // that safe for any caller buffer.
    input_.resize(slice + AV_INPUT_BUFFER_PADDING_SIZE);
    std::memcpy(input_.data(), data + at, slice);
    std::memset(input_.data() + slice, 0, AV_INPUT_BUFFER_PADDING_SIZE);
    stream_offset_ += int64_t(slice);
    parse(input_.data(), slice, out);
    // Bytes the parser holds without having ended an access unit: a stream that never
    // starts the next one (a 200 MB "NAL") must not be held until close.
    if (stream_offset_ - unit_end_ > common_.max_access_unit_bytes) {
      stats_.decode_errors++;
      note_error("an access unit grew past " + std::to_string(common_.max_access_unit_bytes) +
                 " bytes without ending (CommonDecodeConfig.max_access_unit_bytes); its bytes "
                 "were dropped");
      open_parser();
    }
  }
  stats_.decode_ns += monotonic_ns() - start - (stats_.convert_ns - convert_before);
  if (!first_error_.empty())
    throw Error(ErrorKind::Decode, first_error_ + "; decoding resumes at the next IDR");
}

void SoftwareDecoder::decode_unit(const DecodeUnit& unit, std::vector<DecodedFrame>& out) {
  const int64_t start = monotonic_ns(), convert_before = stats_.convert_ns;
  first_error_.clear();
  // Bytes of earlier decode() calls still in the parser belong before this unit.
  if (stream_offset_ > 0) {
    parse(nullptr, 0, out);
    open_parser();
  }
  stats_.bytes_in += int64_t(unit.size);
  // One packet, so no slicing: libavcodec's packets hold at most INT_MAX bytes with padding.
  if (unit.size > size_t(INT_MAX - AV_INPUT_BUFFER_PADDING_SIZE)) {
    stats_.decode_errors++;
    note_error("an access unit of " + std::to_string(unit.size) +
               " bytes is over libavcodec's packet limit of 2 GiB; it was dropped");
  } else if (unit.size > 0) {
    if (unit.skip_output) {
      if (skip_tags_.size() >= kMaxSkipTags) skip_tags_.clear();
      skip_tags_.insert(unit.tag);
    }
    // Not reference counted: avcodec_send_packet copies the bytes (with padding).
    packet_->data = const_cast<uint8_t*>(unit.data);
    packet_->size = int(unit.size);
    packet_->pts = unit.tag;
    packet_->dts = AV_NOPTS_VALUE;
    packet_->flags = 0;
    send(packet_.get(), out);
  }
  stats_.decode_ns += monotonic_ns() - start - (stats_.convert_ns - convert_before);
  if (!first_error_.empty())
    throw Error(ErrorKind::Decode, first_error_ + "; decoding resumes at the next IDR");
}

void SoftwareDecoder::reset(bool new_stream) {
  if (new_stream) {
    // libavcodec keeps stream state no flush clears (the colour description an SPS without
    // one leaves in place, copied between frame threads; the reorder depth it learnt): a
    // new stream gets a fresh codec context. Frames handed out keep their own buffers.
    context_.reset();
    open();
  } else {
    avcodec_flush_buffers(context_.get());
  }
  open_parser();
  skip_tags_.clear();
  log_owner_.clear_damage();
  damaged_until_keyframe_ = false;
  stats_.resets++;
}

void SoftwareDecoder::flush(std::vector<DecodedFrame>& out) {
  const int64_t start = monotonic_ns(), convert_before = stats_.convert_ns;
  first_error_.clear();
  parse(nullptr, 0, out);  // the last access unit has no start code after it
  send(nullptr, out);      // drain the decoder's reorder buffer
  // Back to accepting data: same context, same parameter sets, no re-open.
  avcodec_flush_buffers(context_.get());
  damaged_until_keyframe_ = false;  // the decoder starts over at a random access point
  log_owner_.clear_damage();        // marks of packets whose pictures never came out
  open_parser();
  skip_tags_.clear();
  stats_.decode_ns += monotonic_ns() - start - (stats_.convert_ns - convert_before);
  if (!first_error_.empty()) throw Error(ErrorKind::Decode, first_error_);
}

void SoftwareDecoder::reconfigure(const CommonDecodeConfig& to) {
  if (to.codec != common_.codec || to.low_latency != common_.low_latency)
    throw Error(ErrorKind::Switch,
                "software decoder: only the output mode changes in place; a codec or "
                "low_latency change needs a new decoder");
  common_ = to;
}

int64_t SoftwareDecoder::pts_for_unit_at(int64_t offset) {
  int64_t pts = AV_NOPTS_VALUE;
  while (!pending_pts_.empty() && pending_pts_.front().first <= offset) {
    pts = pending_pts_.front().second;
    pending_pts_.pop_front();
  }
  return pts;
}

void SoftwareDecoder::parse(const uint8_t* data, size_t size, std::vector<DecodedFrame>& out) {
  const uint8_t* cursor = data;
  int left = int(size);
  do {
    uint8_t* unit = nullptr;
    int unit_size = 0;
    const int used = av_parser_parse2(parser_.get(), context_.get(), &unit, &unit_size, cursor,
                                      left, AV_NOPTS_VALUE, AV_NOPTS_VALUE, 0);
    if (used < 0) {
      stats_.decode_errors++;
      note_error(av_error_text(used, "splitting the bitstream into access units"));
      return;
    }
    cursor += used;
    left -= used;
    if (unit_size > 0) {
      // Not reference counted: avcodec_send_packet copies the bytes before the parser
      // overwrites its buffer.
      packet_->data = unit;
      packet_->size = unit_size;
      packet_->pts = pts_for_unit_at(parser_->frame_offset);
      unit_end_ = stream_offset_ - left;  // the parser has consumed up to here
      packet_->dts = AV_NOPTS_VALUE;
      packet_->flags = parser_->key_frame == 1 ? AV_PKT_FLAG_KEY : 0;
      send(packet_.get(), out);
    }
  } while (left > 0);
}

void SoftwareDecoder::send(const AVPacket* packet, std::vector<DecodedFrame>& out) {
  if (packet) stats_.access_units++;
  number_next_unit();
  int ret = avcodec_send_packet(context_.get(), packet);
  if (ret == AVERROR(EAGAIN)) {  // output must be taken first; then there is room
    unnumber_unit();             // what receive decodes now is the packet sent before
    receive(out);
    number_next_unit();
    ret = avcodec_send_packet(context_.get(), packet);
  }
  if (ret < 0 && ret != AVERROR_EOF) {
    stats_.decode_errors++;
    damaged_until_keyframe_ = true;
    note_error(av_error_text(ret, std::string(context_->codec->name) +
                                      " decoder rejected an access unit of " +
                                      std::to_string(packet ? packet->size : 0) + " bytes"));
  }
  receive(out);
}

void SoftwareDecoder::receive(std::vector<DecodedFrame>& out) {
  for (;;) {
    const int ret = avcodec_receive_frame(context_.get(), frame_.get());
    if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return;
    if (ret < 0) {
      stats_.decode_errors++;
      note_error(av_error_text(ret, std::string(context_->codec->name) + " decoder failed"));
      return;
    }
    emit(out);
    av_frame_unref(frame_.get());
  }
}

void SoftwareDecoder::emit(std::vector<DecodedFrame>& out) {
  const AVFrame& frame = *frame_;
  // libdav1d (AV1) calls neither get_format nor get_buffer2; it only keeps to max_pixels.
  // The picture itself is where the limit holds for every decoder.
  if (over_limits(frame.width, frame.height)) {
    refuse_size(frame.width, frame.height, "the picture was dropped");
    stats_.decode_errors++;
    note_error("");
    return;
  }
  DecodedFrame decoded = frame_metadata(frame);
  decoded.damaged = decoded.damaged || reported_damage(frame);
  if (frame.pts != AV_NOPTS_VALUE) decoded.pts = frame.pts;
  decoded.output = common_.output;
  // Damage propagates through prediction: every picture up to the next keyframe (in output
  // order) is unreliable too, although libavcodec flags only the one it concealed.
  if (decoded.is_keyframe && !decoded.damaged) damaged_until_keyframe_ = false;
  if (decoded.damaged) damaged_until_keyframe_ = true;
  decoded.damaged = decoded.damaged || damaged_until_keyframe_;
  if (!skip_tags_.empty() && frame.pts != AV_NOPTS_VALUE && skip_tags_.erase(frame.pts)) {
    stats_.frames_decoded++;
    stats_.frames_skipped++;
    if (decoded.damaged) stats_.damaged_frames++;
    return;
  }
  if (common_.output == DecodeOutputMode::NativeSurface) {
    attach_native_planes(frame, decoded);
  } else if (common_.output == DecodeOutputMode::CpuRgb) {
    const int64_t start = monotonic_ns();
    rgb_.convert(frame, decoded);
    stats_.convert_ns += monotonic_ns() - start;
  }
  if (last_width_ && (frame.width != last_width_ || frame.height != last_height_))
    stats_.size_changes++;
  last_width_ = frame.width;
  last_height_ = frame.height;
  stats_.frames_decoded++;
  if (decoded.damaged) stats_.damaged_frames++;
  out.push_back(std::move(decoded));
}

// reordered_opaque is deprecated from libavcodec 60 and gone in 61, where only the frame's
// own error flags are read (is_damaged in decoded_output.cpp).
#if LIBAVCODEC_VERSION_MAJOR < 61
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
void SoftwareDecoder::number_next_unit() {
  context_->reordered_opaque = ++unit_serial_;
}

void SoftwareDecoder::unnumber_unit() {
  context_->reordered_opaque = --unit_serial_;
}

bool SoftwareDecoder::reported_damage(const AVFrame& frame) {
  return log_owner_.take_damage(frame.reordered_opaque);
}
#pragma GCC diagnostic pop
#else
void SoftwareDecoder::number_next_unit() {}

void SoftwareDecoder::unnumber_unit() {}

bool SoftwareDecoder::reported_damage(const AVFrame&) {
  return false;
}
#endif

void SoftwareDecoder::note_error(const std::string& message) {
  std::lock_guard<std::mutex> lock(size_error_mu_);
  // The size refusal is the cause of whatever the decoder reported after it.
  if (!size_error_.empty()) {
    first_error_ = size_error_;
    size_error_.clear();
    return;
  }
  if (first_error_.empty()) first_error_ = message;
}

}  // namespace videohw::software
