// One encode session: a backend encoder kept alive across flushes, the generation it
// runs, the packets ready for the caller, and its telemetry.
//
// Locking: `encoder_mu_` serialises every call into the backend (one encode at a time);
// `ready_mu_` guards the ready packets and counters; `closed_` and `generation_` are atomics.
// So `reap` and `state` never wait behind an encode in progress.
// Drop order on close: end of stream -> drain -> backend destroyed (buffers, then encoder).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "session/encoder_provider.hpp"
#include "session/telemetry.hpp"

namespace videohw {

enum class SessionState { Running, SwitchPending, Closed };
const char* to_string(SessionState state);

struct SessionStateInfo {
  SessionState state = SessionState::Running;
  uint32_t active_generation = 1;
  uint32_t config_generation = 1;
  uint32_t next_generation = 2;
  uint32_t pending_generation = 0;  // 0: none
  int width = 0, height = 0;        // size the next submitted frame must have
  Codec codec = Codec::H264;
  std::string backend;
};

class EncodeSession {
 public:
  EncodeSession(uint64_t id, const CommonEncodeConfig& config, const EncoderProvider& provider);
  ~EncodeSession();
  EncodeSession(const EncodeSession&) = delete;
  EncodeSession& operator=(const EncodeSession&) = delete;

  uint64_t id() const { return id_; }

  // Checks the buffer against the active config, then encodes. Throws InvalidFrame (the
  // frame is not taken) or Encode; never loses a frame it accepted.
  void submit(PixelFormat format, const uint8_t* data, size_t size, int pitch,
              const FrameOptions& options);
  std::vector<EncodedPacket> reap();
  std::vector<EncodedPacket> flush();
  std::vector<EncodedPacket> close();

  SessionStateInfo state() const;
  TelemetryMap telemetry() const;

 private:
  void require_open() const;
  void deliver(std::vector<EncodedPacket>& fresh);
  std::vector<EncodedPacket> take_ready();

  const uint64_t id_;
  const CommonEncodeConfig config_;
  const std::string backend_name_;
  std::atomic<uint32_t> generation_{1};

  mutable std::mutex encoder_mu_;
  std::unique_ptr<EncoderBackend> backend_;
  BackendStats final_stats_;  // backend stats captured at close
  std::atomic<bool> closed_{false};  // written under encoder_mu_, read anywhere
  int64_t last_pts_ = -1;
  bool any_pts_ = false;

  mutable std::mutex ready_mu_;
  std::vector<EncodedPacket> ready_;
  SessionCounters counters_;
};

}  // namespace videohw
