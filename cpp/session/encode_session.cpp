#include "session/encode_session.hpp"

#include <chrono>

#include "contract/errors.hpp"
#include "contract/frame_layout.hpp"
#include "contract/validate.hpp"

namespace videohw {

namespace {

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

const char* to_string(SessionState state) {
  switch (state) {
    case SessionState::Running: return "running";
    case SessionState::SwitchPending: return "switch_pending";
    case SessionState::Closed: return "closed";
  }
  return "unknown";
}

EncodeSession::EncodeSession(uint64_t id, const CommonEncodeConfig& config,
                             const EncoderProvider& provider)
    : id_(id), config_(config), backend_name_(provider.name()) {
  // Checked against the capabilities before the backend is touched.
  negotiate(provider.capabilities(config.codec), config, provider.config_problems(config));
  const int64_t start = now_ns();
  backend_ = provider.create(config);
  counters_.init_ns = now_ns() - start;
  counters_.session_inits = 1;
}

EncodeSession::~EncodeSession() {
  // A session dropped without close still ends its stream before the encoder goes away.
  if (!closed_) {
    try {
      close();
    } catch (...) {
      // Destructors must not throw; the backend is released below regardless.
    }
  }
}

void EncodeSession::require_open() const {
  if (closed_)
    throw Error(ErrorKind::SessionClosed,
                "encode session " + std::to_string(id_) + " is closed");
}

void EncodeSession::submit(PixelFormat format, const uint8_t* data, size_t size, int pitch,
                           const FrameOptions& options) {
  std::lock_guard<std::mutex> lock(encoder_mu_);
  require_open();
  const FrameView view = describe_frame(format, config_.width, config_.height, data, size, pitch);
  const int64_t pts = options.pts.value_or(any_pts_ ? last_pts_ + 1 : 0);
  if (any_pts_ && pts <= last_pts_)
    throw Error(ErrorKind::InvalidFrame, "Frame.pts: " + std::to_string(pts) +
                                             " is not greater than the previous pts " +
                                             std::to_string(last_pts_));
  FrameOptions resolved = options;
  resolved.pts = pts;
  std::vector<EncodedPacket> fresh;
  backend_->encode(view, resolved, fresh);
  last_pts_ = pts;
  any_pts_ = true;
  {
    std::lock_guard<std::mutex> ready_lock(ready_mu_);
    counters_.frames_submitted++;
  }
  deliver(fresh);
}

void EncodeSession::deliver(std::vector<EncodedPacket>& fresh) {
  if (fresh.empty()) return;
  std::lock_guard<std::mutex> lock(ready_mu_);
  for (auto& packet : fresh) {
    packet.generation = generation_;
    counters_.packets_out++;
    counters_.bytes_out += int64_t(packet.data.size());
    counters_.keyframes_out += packet.is_keyframe ? 1 : 0;
    ready_.push_back(std::move(packet));
  }
}

std::vector<EncodedPacket> EncodeSession::take_ready() {
  std::lock_guard<std::mutex> lock(ready_mu_);
  std::vector<EncodedPacket> out;
  out.swap(ready_);
  return out;
}

std::vector<EncodedPacket> EncodeSession::reap() {
  require_open();
  return take_ready();
}

std::vector<EncodedPacket> EncodeSession::flush() {
  std::lock_guard<std::mutex> lock(encoder_mu_);
  require_open();
  const int64_t start = now_ns();
  std::vector<EncodedPacket> fresh;
  backend_->flush(fresh);
  deliver(fresh);
  std::lock_guard<std::mutex> ready_lock(ready_mu_);
  counters_.flushes++;
  counters_.last_flush_ns = now_ns() - start;
  std::vector<EncodedPacket> out;
  out.swap(ready_);
  return out;
}

std::vector<EncodedPacket> EncodeSession::close() {
  std::lock_guard<std::mutex> lock(encoder_mu_);
  require_open();
  std::vector<EncodedPacket> fresh;
  // End of stream and drain first; the backend (buffers, then encoder) goes afterwards,
  // even when the drain fails.
  try {
    backend_->finish(fresh);
  } catch (...) {
    final_stats_ = backend_->stats();
    backend_.reset();
    closed_ = true;
    throw;
  }
  final_stats_ = backend_->stats();
  backend_.reset();
  closed_ = true;
  deliver(fresh);
  return take_ready();
}

SessionStateInfo EncodeSession::state() const {
  SessionStateInfo info;
  const uint32_t generation = generation_.load();
  info.state = closed_ ? SessionState::Closed : SessionState::Running;
  info.active_generation = generation;
  info.config_generation = generation;
  info.next_generation = generation + 1;
  info.width = config_.width;
  info.height = config_.height;
  info.codec = config_.codec;
  info.backend = backend_name_;
  return info;
}

TelemetryMap EncodeSession::telemetry() const {
  std::lock_guard<std::mutex> lock(encoder_mu_);
  const BackendStats b = backend_ ? backend_->stats() : final_stats_;
  std::lock_guard<std::mutex> ready_lock(ready_mu_);
  const SessionCounters& c = counters_;
  return {
      {"backend", backend_name_},
      {"codec", std::string(to_string(config_.codec))},
      {"generation", int64_t(generation_.load())},
      {"state", std::string(closed_ ? "closed" : "running")},
      {"session_inits", c.session_inits},
      {"encoder_opens", b.encoder_opens},
      {"encoder_reopens", b.encoder_reopens},
      {"frames_submitted", c.frames_submitted},
      {"frames_encoded", b.frames_encoded},
      {"packets_out", c.packets_out},
      {"bytes_out", c.bytes_out},
      {"keyframes_out", c.keyframes_out},
      {"flushes", c.flushes},
      {"in_place_flushes", b.in_place_flushes},
      {"flush_mode", b.flush_mode},
      {"frames_converted", b.frames_converted},
      {"frame_buffer_allocations", b.frame_buffer_allocations},
      {"borrow_leaks", b.borrow_leaks},
      {"encode_ns", b.encode_ns},
      {"convert_ns", b.convert_ns},
      {"init_ns", c.init_ns},
      {"last_flush_ns", c.last_flush_ns},
  };
}

}  // namespace videohw
