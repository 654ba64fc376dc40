// Where a transcode's packets come from: a container file (DemuxerSource) or packets a
// caller pushes as they arrive from a network (PushedSource, behind vh.Transcoder).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "media/demuxer.hpp"

namespace videohw::pipeline {

class TranscodeSource {
 public:
  virtual ~TranscodeSource() = default;
  virtual const std::string& name() const = 0;
  virtual const media::VideoStreamInfo& video() const = 0;
  virtual double duration_seconds() const = 0;  // 0 when unknown
  // The audio stream a transcode copies, selected for reading (its packets then come out of
  // read() with `stream` set to its index); empty when there is none.
  virtual std::optional<media::CopiedStream> copy_audio() = 0;
  // The next packet; false at the end. `stop` is asked while a read waits for a packet.
  virtual bool read(media::PacketView& out, const std::function<bool()>& stop) = 0;
  // Why the input ended early (a damaged container), or "".
  virtual std::string warning() const = 0;
};

// A piece of a file from one keyframe to another, as videohw.distributed splits long
// inputs: video packets from the keyframe with pts `start_pts` (found through the seek
// hint start_dts / start_pos) up to, not including, the keyframe with pts `end_pts`.
// kNoTimestamp: from the first packet / to the end.
struct SourceRange {
  int64_t start_pts = media::kNoTimestamp, start_dts = media::kNoTimestamp;
  int64_t start_pos = -1;
  int64_t end_pts = media::kNoTimestamp;
  bool whole() const { return start_pts == media::kNoTimestamp && end_pts == media::kNoTimestamp; }
};

// A container file's video stream (and its best audio stream when asked).
class DemuxerSource final : public TranscodeSource {
 public:
  // `stream`: the video stream, -1 for the best. Throws Error(Media) without one, and for
  // a range whose start cannot be reached.
  DemuxerSource(std::unique_ptr<media::Demuxer> demuxer, int stream, SourceRange range = {});
  const std::string& name() const override { return demuxer_->name(); }
  const media::VideoStreamInfo& video() const override { return video_; }
  double duration_seconds() const override;
  std::optional<media::CopiedStream> copy_audio() override;
  bool read(media::PacketView& out, const std::function<bool()>& stop) override;
  std::string warning() const override { return demuxer_->last_error(); }

 private:
  std::unique_ptr<media::Demuxer> demuxer_;
  media::VideoStreamInfo video_;
  SourceRange range_;
  bool started_ = true;   // the range's start keyframe has been read
  bool rewound_ = false;  // the seek landed past the start once: read from the top instead
};

// Packets pushed by a caller: one video stream described up front (codec, layout and
// extradata, time base, frame rate). A bounded queue between push() and the ingress.
class PushedSource final : public TranscodeSource {
 public:
  PushedSource(std::string name, media::VideoStreamInfo video, size_t capacity);
  const std::string& name() const override { return name_; }
  const media::VideoStreamInfo& video() const override { return video_; }
  double duration_seconds() const override { return 0.0; }
  std::optional<media::CopiedStream> copy_audio() override { return std::nullopt; }
  bool read(media::PacketView& out, const std::function<bool()>& stop) override;
  std::string warning() const override { return ""; }

  // Queues one packet (its bytes copied). When the queue is full: waits up to `wait_ns`
  // (-1: no limit) for room, asking `interrupted` about every 50 ms; false when no room
  // came (nothing taken). Throws Error(Config) after end().
  bool push(const uint8_t* data, size_t size, std::optional<int64_t> pts,
            std::optional<int64_t> dts, bool keyframe, int64_t wait_ns,
            const std::function<bool()>& interrupted);
  // No more packets: read() returns false once the queue is empty.
  void end();
  size_t queued() const;

 private:
  struct Packet {
    std::vector<uint8_t> data;
    int64_t pts = media::kNoTimestamp, dts = media::kNoTimestamp;
    bool keyframe = false;
  };
  const std::string name_;
  const media::VideoStreamInfo video_;
  const size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::deque<Packet> queue_;
  bool ended_ = false;
  Packet current_;  // the packet read() handed out last (its bytes stay valid until the next)
};

}  // namespace videohw::pipeline
