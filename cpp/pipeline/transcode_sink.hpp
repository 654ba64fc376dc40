// Where one transcode output's packets go: a file (MuxerSink) or a queue a caller pulls
// from (PulledSink, behind vh.Transcoder). Packets arrive in decode order with the source's
// timestamps, on the output's egress thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "media/muxer.hpp"

namespace videohw::pipeline {

class TranscodeSink {
 public:
  virtual ~TranscodeSink() = default;
  // False when `stop` said true while waiting for room (the packet is not taken).
  virtual bool write(EncodedPacket&& packet, const std::function<bool()>& stop) = 0;
  virtual void write_copied(media::CopiedPacket packet) = 0;
  virtual bool carries_copied() const = 0;
  virtual media::Rational copied_time_base() const = 0;
  // The egress wrote the output's last packet (the transcode may still fail elsewhere).
  virtual void complete() {}
  // The output is complete: its final file paths (none for a queue).
  virtual std::vector<std::string> close() = 0;
  // Nothing of it remains (files removed; queued packets dropped).
  virtual void abort() = 0;
  virtual int64_t copied_written() const = 0;
  virtual int64_t copied_dropped() const = 0;
};

class MuxerSink final : public TranscodeSink {
 public:
  MuxerSink(const std::string& path, const media::MuxerConfig& config)
      : muxer_(path, config),
        copied_(config.copied_streams.empty() ? media::Rational{}
                                              : config.copied_streams.front().time_base),
        carries_(!config.copied_streams.empty()) {}
  bool write(EncodedPacket&& packet, const std::function<bool()>&) override {
    muxer_.write(packet);
    return true;
  }
  void write_copied(media::CopiedPacket packet) override { muxer_.write_copied(std::move(packet)); }
  bool carries_copied() const override { return carries_; }
  media::Rational copied_time_base() const override { return copied_; }
  std::vector<std::string> close() override { return muxer_.close(); }
  void abort() override { muxer_.abort(); }
  int64_t copied_written() const override { return muxer_.copied_written(); }
  int64_t copied_dropped() const override { return muxer_.copied_dropped(); }

 private:
  media::Muxer muxer_;
  media::Rational copied_;
  bool carries_;
};

// A bounded queue of packets for a caller to pull; the egress waits while it is full, so a
// caller who stops pulling holds the whole transcode (nothing is dropped).
class PulledSink final : public TranscodeSink {
 public:
  explicit PulledSink(size_t capacity) : capacity_(capacity ? capacity : 1) {}
  bool write(EncodedPacket&& packet, const std::function<bool()>& stop) override;
  void write_copied(media::CopiedPacket) override {}
  bool carries_copied() const override { return false; }
  media::Rational copied_time_base() const override { return {}; }
  void complete() override;
  std::vector<std::string> close() override;
  void abort() override;
  int64_t copied_written() const override { return 0; }
  int64_t copied_dropped() const override { return 0; }

  // Up to `max` packets (0: all ready); with `timeout_ns` > 0 waits that long for the first
  // one. `*ended` says whether the output is complete and every packet was taken.
  std::vector<EncodedPacket> pull(size_t max, int64_t timeout_ns, bool* ended);

 private:
  const size_t capacity_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::deque<EncodedPacket> queue_;
  bool closed_ = false, aborted_ = false;
};

}  // namespace videohw::pipeline
