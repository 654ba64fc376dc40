#include "av_stream.hpp"

#include <stdexcept>

namespace nvdecdouble {

AvStream::AvStream(AVCodecID codec) : codec_(codec) {
  const AVCodec* decoder = avcodec_find_decoder(codec);
  if (!decoder) throw std::runtime_error("libavcodec has no decoder for this codec");
  decoder_ = avcodec_alloc_context3(decoder);
  info_context_ = avcodec_alloc_context3(nullptr);
  packet_ = av_packet_alloc();
  if (!decoder_ || !info_context_ || !packet_) throw std::runtime_error("out of memory");
  decoder_->thread_count = 1;  // output as soon as libavcodec has it, in one thread
  if (avcodec_open2(decoder_, decoder, nullptr) < 0)
    throw std::runtime_error(std::string("cannot open libavcodec's ") + decoder->name);
  info_ = av_parser_init(codec);
  if (!info_) throw std::runtime_error("libavcodec has no parser for this codec");
  info_->flags |= PARSER_FLAG_COMPLETE_FRAMES;
  open_splitter();
}

AvStream::~AvStream() {
  if (splitter_) av_parser_close(splitter_);
  if (info_) av_parser_close(info_);
  av_packet_free(&packet_);
  avcodec_free_context(&decoder_);
  avcodec_free_context(&info_context_);
}

void AvStream::open_splitter() {
  split_since_end_ = false;
  if (splitter_) av_parser_close(splitter_);
  splitter_ = av_parser_init(codec_);
  if (!splitter_) throw std::runtime_error("libavcodec has no parser for this codec");
}

void AvStream::split(const uint8_t* data, size_t size, int64_t timestamp,
                     std::vector<AccessUnit>& out) {
  split_since_end_ = true;
  // The parser may read past the end of its input: a padded copy.
  std::vector<uint8_t> padded(size + AV_INPUT_BUFFER_PADDING_SIZE, 0);
  if (size) std::copy(data, data + size, padded.begin());
  const uint8_t* cursor = padded.data();
  int left = int(size);
  do {
    uint8_t* unit = nullptr;
    int unit_size = 0;
    const int used = av_parser_parse2(splitter_, decoder_, &unit, &unit_size, cursor, left,
                                      timestamp, AV_NOPTS_VALUE, 0);
    if (used < 0) return;
    cursor += used;
    left -= used;
    if (unit_size > 0)
      out.push_back(AccessUnit{std::vector<uint8_t>(unit, unit + unit_size), splitter_->pts});
  } while (left > 0);
}

void AvStream::end_unit(std::vector<AccessUnit>& out) {
  uint8_t* unit = nullptr;
  int unit_size = 0;
  av_parser_parse2(splitter_, decoder_, &unit, &unit_size, nullptr, 0, AV_NOPTS_VALUE,
                   AV_NOPTS_VALUE, 0);
  if (unit_size > 0)
    out.push_back(AccessUnit{std::vector<uint8_t>(unit, unit + unit_size), splitter_->pts});
  // A flushed parser does not pick up cleanly where it stopped: the next unit starts afresh.
  open_splitter();
  split_since_end_ = false;
}

UnitInfo AvStream::inspect(const AccessUnit& unit) {
  std::vector<uint8_t> padded(unit.bytes);
  padded.resize(unit.bytes.size() + AV_INPUT_BUFFER_PADDING_SIZE, 0);
  uint8_t* out = nullptr;
  int out_size = 0;
  av_parser_parse2(info_, info_context_, &out, &out_size, padded.data(), int(unit.bytes.size()),
                   AV_NOPTS_VALUE, AV_NOPTS_VALUE, 0);
  UnitInfo info;
  info.coded_width = info_->coded_width;
  info.coded_height = info_->coded_height;
  info.format = AVPixelFormat(info_->format);
  info.key = info_->key_frame == 1;
  info.intra = info_->pict_type == AV_PICTURE_TYPE_I;
  return info;
}

int AvStream::send(const AccessUnit& unit, int64_t id) {
  av_packet_unref(packet_);
  if (av_new_packet(packet_, int(unit.bytes.size())) < 0) return AVERROR(ENOMEM);
  std::copy(unit.bytes.begin(), unit.bytes.end(), packet_->data);
  packet_->pts = id;
  int ret = avcodec_send_packet(decoder_, packet_);
  av_packet_unref(packet_);
  return ret;
}

int AvStream::send_end() {
  return avcodec_send_packet(decoder_, nullptr);
}

FramePtr AvStream::receive() {
  FramePtr frame(av_frame_alloc());
  if (!frame || avcodec_receive_frame(decoder_, frame.get()) < 0) return nullptr;
  return frame;
}

void AvStream::restart_decoder() {
  avcodec_flush_buffers(decoder_);
}

void AvStream::restart() {
  avcodec_flush_buffers(decoder_);
  open_splitter();
}

}  // namespace nvdecdouble
