#include "pipeline/transcode_source.hpp"

#include <chrono>

#include "contract/errors.hpp"

namespace videohw::pipeline {

DemuxerSource::DemuxerSource(std::unique_ptr<media::Demuxer> demuxer, int stream, SourceRange range)
    : demuxer_(std::move(demuxer)), range_(range) {
  if (!demuxer_) throw Error(ErrorKind::Config, "transcode: no input");
  const media::ContainerInfo& info = demuxer_->info();
  const int chosen = stream >= 0 ? stream : info.best_video_stream;
  if (chosen < 0) throw Error(ErrorKind::Media, info.name + ": the input has no video stream");
  demuxer_->select(chosen);
  video_ = demuxer_->selected_info();
  if (range_.start_pts != media::kNoTimestamp) {
    started_ = false;
    if (!demuxer_->seek(range_.start_dts, range_.start_pts, range_.start_pos))
      throw Error(ErrorKind::Media, info.name + ": cannot seek to the segment's start (pts " +
                                        std::to_string(range_.start_pts) +
                                        "), the input is not seekable");
  }
}

double DemuxerSource::duration_seconds() const {
  return video_.duration_seconds.value_or(demuxer_->info().duration_seconds.value_or(0.0));
}

std::optional<media::CopiedStream> DemuxerSource::copy_audio() {
  const int audio = demuxer_->best_audio_stream();
  if (audio < 0) return std::nullopt;
  return demuxer_->copy_stream(audio);
}

bool DemuxerSource::read(media::PacketView& out, const std::function<bool()>&) {
  for (;;) {
    if (!demuxer_->read(out)) {
      if (!started_)
        throw Error(ErrorKind::Media, demuxer_->name() + ": the segment's start keyframe (pts " +
                                          std::to_string(range_.start_pts) +
                                          ") is not in the file");
      return false;
    }
    const bool video = out.stream == video_.index;
    if (!started_) {
      if (!video) continue;
      if (out.keyframe && out.pts == range_.start_pts) {
        started_ = true;
      } else {
        // The container's seek may land past the start: then read from the top.
        const bool past = out.dts != media::kNoTimestamp &&
                          range_.start_dts != media::kNoTimestamp && out.dts > range_.start_dts;
        if (past && !rewound_) {
          rewound_ = true;
          if (!demuxer_->rewind())
            throw Error(ErrorKind::Media, demuxer_->name() + ": cannot rewind to the segment");
        }
        continue;
      }
    }
    // Closed GOPs: every picture shown before the end keyframe was sent before it.
    if (video && range_.end_pts != media::kNoTimestamp && out.keyframe &&
        out.pts != media::kNoTimestamp && out.pts >= range_.end_pts)
      return false;
    return true;
  }
}

PushedSource::PushedSource(std::string name, media::VideoStreamInfo video, size_t capacity)
    : name_(std::move(name)), video_(std::move(video)), capacity_(capacity ? capacity : 1) {}

bool PushedSource::push(const uint8_t* data, size_t size, std::optional<int64_t> pts,
                        std::optional<int64_t> dts, bool keyframe, int64_t wait_ns,
                        const std::function<bool()>& interrupted) {
  Packet packet;
  packet.data.assign(data, data + size);
  packet.pts = pts.value_or(media::kNoTimestamp);
  packet.dts = dts.value_or(media::kNoTimestamp);
  packet.keyframe = keyframe;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::nanoseconds(wait_ns);
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (ended_) throw Error(ErrorKind::Config, name_ + ": a packet pushed after the end of input");
    if (queue_.size() < capacity_) break;
    if (wait_ns == 0) return false;
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(50);
    if (wait_ns > 0 && deadline < until) until = deadline;
    changed_.wait_until(lock, until);
    if (wait_ns > 0 && std::chrono::steady_clock::now() >= deadline && queue_.size() >= capacity_)
      return false;
    if (interrupted) {
      lock.unlock();
      const bool stop = interrupted();
      lock.lock();
      if (stop) return false;
    }
  }
  queue_.push_back(std::move(packet));
  changed_.notify_all();
  return true;
}

void PushedSource::end() {
  std::lock_guard<std::mutex> lock(mu_);
  ended_ = true;
  changed_.notify_all();
}

size_t PushedSource::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

bool PushedSource::read(media::PacketView& out, const std::function<bool()>& stop) {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (!queue_.empty()) break;
    if (ended_) return false;
    changed_.wait_for(lock, std::chrono::milliseconds(50));
    if (stop && queue_.empty() && !ended_) {
      lock.unlock();
      const bool stopped = stop();
      lock.lock();
      if (stopped) return false;
    }
  }
  current_ = std::move(queue_.front());
  queue_.pop_front();
  changed_.notify_all();
  out = media::PacketView{};
  out.data = current_.data.data();
  out.size = current_.data.size();
  out.pts = current_.pts;
  out.dts = current_.dts;
  out.keyframe = current_.keyframe;
  out.stream = video_.index;
  return true;
}

}  // namespace videohw::pipeline
