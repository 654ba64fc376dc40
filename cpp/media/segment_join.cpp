#include "media/segment_join.hpp"

#include "contract/errors.hpp"

namespace videohw::media {

SegmentJoin::SegmentJoin(const std::string& path, MuxerConfig config,
                         const std::string& audio_from) {
  if (config.time_base_num <= 0 || config.time_base_den <= 0)
    throw Error(ErrorKind::Config, "segment join: the video needs a time base");
  video_tick_ = double(config.time_base_num) / config.time_base_den;
  config.copied_streams.clear();
  if (!audio_from.empty()) {
    source_ = Demuxer::open_path(audio_from);
    const int audio = source_->best_audio_stream();
    if (audio >= 0) {
      // Reading needs a selected video stream; its packets are skipped (the video is the
      // segments').
      source_->select(source_->info().best_video_stream);
      stream_ = source_->copy_stream(audio);
      config.copied_streams.push_back(*stream_);
      const Rational tb = stream_->time_base;
      audio_tick_ = tb.valid() ? double(tb.num) / tb.den : 0.0;
      audio_done_ = false;
      audio_note_ = "copied: " + stream_->codec_name;
    } else {
      audio_note_ = "no audio stream";
      source_.reset();
    }
  }
  muxer_ = std::make_unique<Muxer>(path, config);
}

SegmentJoin::~SegmentJoin() {
  if (muxer_ && !muxer_->closed()) muxer_->abort();
}

void SegmentJoin::copy_audio(double seconds, bool all) {
  while (!audio_done_) {
    if (!waiting_) {
      PacketView p;
      for (;;) {
        if (!source_->read(p)) {
          audio_done_ = true;
          return;
        }
        if (p.stream == stream_->source_index) break;
      }
      waiting_ = copy_packet(p);
    }
    const int64_t t = waiting_->dts != INT64_MIN ? waiting_->dts : waiting_->pts;
    if (!all && t != INT64_MIN && double(t) * audio_tick_ > seconds) return;
    muxer_->write_copied(std::move(*waiting_));
    waiting_.reset();
  }
}

void SegmentJoin::write(const EncodedPacket& packet) {
  if (!muxer_ || muxer_->closed()) throw Error(ErrorKind::Config, "segment join: closed");
  muxer_->write(packet);
  video_packets_++;
  copy_audio(double(packet.dts) * video_tick_, false);
}

std::vector<std::string> SegmentJoin::close() {
  if (!muxer_->closed()) copy_audio(0.0, true);
  return muxer_->close();
}

void SegmentJoin::abort() {
  muxer_->abort();
}

}  // namespace videohw::media
