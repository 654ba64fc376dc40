// Owns every session of a controller and finds them by id; the session itself checks the
// handle's generation (active or pending: fine; older: StaleSession).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>

#include "session/decode_session.hpp"
#include "session/encode_session.hpp"

namespace videohw {

struct SessionHandle {
  uint64_t id = 0;
  uint32_t generation = 0;
};

class SessionManager {
 public:
  SessionHandle start_encode(const CommonEncodeConfig& config,
                             std::shared_ptr<const EncoderProvider> provider);
  // The open session with this id; SessionClosed when it is closed or unknown.
  std::shared_ptr<EncodeSession> encode_session(uint64_t id) const;
  // `interrupted` / `was_interrupted`: EncodeSession::close (an interrupted close leaves
  // the session open for the close that finishes it).
  std::vector<EncodedPacket> close_encode(SessionHandle handle,
                                          const std::function<bool()>& interrupted = {},
                                          bool* was_interrupted = nullptr);
  // Works for open and recently closed sessions alike.
  TelemetryMap telemetry(SessionHandle handle) const;
  SessionStateInfo state(SessionHandle handle) const;

  // Decode sessions: their own ids (a DecoderSessionHandle never names an encode session).
  SessionHandle start_decode(const CommonDecodeConfig& config,
                             std::shared_ptr<const DecoderProvider> provider);
  // The open decode session with this id; SessionClosed when it is closed or unknown.
  std::shared_ptr<DecodeSession> decode_session(uint64_t id) const;
  std::vector<DecodedFrame> close_decode(SessionHandle handle);
  // Work for open and recently closed decode sessions alike.
  TelemetryMap decode_telemetry(SessionHandle handle) const;
  DecodeStateInfo decode_state(SessionHandle handle) const;

  // Closes every open session (each in its close order; what they drain is dropped). A
  // session that fails to close is still taken off the open list.
  void close_all();
  // Closes one session at its active generation if it is still open (a session whose last
  // handle was dropped); false when it was not open.
  bool close_dropped(uint64_t id, bool decode);
  // Open sessions now: (encode, decode).
  std::pair<size_t, size_t> open_counts() const;

 private:
  std::shared_ptr<DecodeSession> any_decode_session(uint64_t id) const;

  std::shared_ptr<EncodeSession> any_session(uint64_t id) const;

  mutable std::mutex mu_;
  uint64_t next_id_ = 1;
  std::map<uint64_t, std::shared_ptr<EncodeSession>> open_;
  // Closed sessions (encoder already released) kept so telemetry works after close; the
  // oldest are forgotten beyond kClosedKept so a long-running process does not grow.
  static constexpr size_t kClosedKept = 1024;
  std::map<uint64_t, std::shared_ptr<EncodeSession>> closed_;
  uint64_t next_decode_id_ = 1;
  std::map<uint64_t, std::shared_ptr<DecodeSession>> open_decode_;
  std::map<uint64_t, std::shared_ptr<DecodeSession>> closed_decode_;  // kClosedKept newest
};

}  // namespace videohw
