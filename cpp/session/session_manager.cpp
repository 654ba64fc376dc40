#include "session/session_manager.hpp"

#include "contract/errors.hpp"

namespace videohw {

SessionHandle SessionManager::start_encode(const CommonEncodeConfig& config,
                                           std::shared_ptr<const EncoderProvider> provider) {
  uint64_t id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    id = next_id_++;
  }
  // Created outside the lock: opening an encoder can take a while.
  auto session = std::make_shared<EncodeSession>(id, config, std::move(provider));
  std::lock_guard<std::mutex> lock(mu_);
  open_.emplace(id, session);
  return SessionHandle{id, session->state().active_generation};
}

std::shared_ptr<EncodeSession> SessionManager::encode_session(uint64_t id) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = open_.find(id); it != open_.end()) return it->second;
  if (closed_.count(id) || id < next_id_)
    throw Error(ErrorKind::SessionClosed, "encode session " + std::to_string(id) + " is closed");
  throw Error(ErrorKind::SessionClosed, "no encode session with id " + std::to_string(id));
}

std::vector<EncodedPacket> SessionManager::close_encode(SessionHandle handle,
                                                        const std::function<bool()>& interrupted,
                                                        bool* was_interrupted) {
  auto session = encode_session(handle.id);
  const auto retire = [&] {
    std::lock_guard<std::mutex> lock(mu_);
    open_.erase(handle.id);
    closed_.emplace(handle.id, session);
    if (closed_.size() > kClosedKept) closed_.erase(closed_.begin());  // ids grow: oldest first
  };
  std::vector<EncodedPacket> packets;
  bool stopped = false;
  try {
    packets = session->close(handle.generation, interrupted, &stopped);
  } catch (...) {
    // A failed encoder still closes (and reports why); a stale handle closes nothing.
    if (session->state().state == SessionState::Closed) retire();
    throw;
  }
  if (stopped) {
    if (was_interrupted) *was_interrupted = true;
    return packets;
  }
  retire();
  return packets;
}

std::shared_ptr<EncodeSession> SessionManager::any_session(uint64_t id) const {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = closed_.find(id); it != closed_.end()) return it->second;
    if (id < next_id_ && !open_.count(id))
      throw Error(ErrorKind::SessionClosed, "encode session " + std::to_string(id) +
                                                " is closed (its telemetry is no longer kept)");
  }
  return encode_session(id);
}

TelemetryMap SessionManager::telemetry(SessionHandle handle) const {
  return any_session(handle.id)->telemetry();
}

SessionStateInfo SessionManager::state(SessionHandle handle) const {
  return any_session(handle.id)->state();
}

SessionHandle SessionManager::start_decode(const CommonDecodeConfig& config,
                                           std::shared_ptr<const DecoderProvider> provider) {
  uint64_t id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    id = next_decode_id_++;
  }
  auto session = std::make_shared<DecodeSession>(id, config, std::move(provider));
  std::lock_guard<std::mutex> lock(mu_);
  open_decode_.emplace(id, session);
  return SessionHandle{id, session->state().active_generation};
}

std::shared_ptr<DecodeSession> SessionManager::decode_session(uint64_t id) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = open_decode_.find(id); it != open_decode_.end()) return it->second;
  if (id < next_decode_id_)
    throw Error(ErrorKind::SessionClosed, "decode session " + std::to_string(id) + " is closed");
  throw Error(ErrorKind::SessionClosed, "no decode session with id " + std::to_string(id));
}

std::vector<DecodedFrame> SessionManager::close_decode(SessionHandle handle) {
  auto session = decode_session(handle.id);
  auto frames = session->close(handle.generation);
  std::lock_guard<std::mutex> lock(mu_);
  open_decode_.erase(handle.id);
  closed_decode_.emplace(handle.id, session);
  if (closed_decode_.size() > kClosedKept) closed_decode_.erase(closed_decode_.begin());
  return frames;
}

std::shared_ptr<DecodeSession> SessionManager::any_decode_session(uint64_t id) const {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = closed_decode_.find(id); it != closed_decode_.end()) return it->second;
    if (id < next_decode_id_ && !open_decode_.count(id))
      throw Error(ErrorKind::SessionClosed, "decode session " + std::to_string(id) +
                                                " is closed (its telemetry is no longer kept)");
  }
  return decode_session(id);
}

TelemetryMap SessionManager::decode_telemetry(SessionHandle handle) const {
  return any_decode_session(handle.id)->telemetry();
}

DecodeStateInfo SessionManager::decode_state(SessionHandle handle) const {
  return any_decode_session(handle.id)->state();
}

void SessionManager::close_all() {
  std::vector<std::shared_ptr<EncodeSession>> encode;
  std::vector<std::shared_ptr<DecodeSession>> decode;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, session] : open_) encode.push_back(session);
    for (const auto& [id, session] : open_decode_) decode.push_back(session);
  }
  for (const auto& session : encode) {
    try {
      close_encode(SessionHandle{session->id(), session->state().active_generation});
    } catch (const Error&) {
      // Closed (or failed) on the way: it is off the open list either way.
    }
  }
  for (const auto& session : decode) {
    try {
      close_decode(SessionHandle{session->id(), session->state().active_generation});
    } catch (const Error&) {
    }
  }
}

bool SessionManager::close_dropped(uint64_t id, bool decode) {
  try {
    if (decode) {
      auto session = decode_session(id);
      close_decode(SessionHandle{id, session->state().active_generation});
    } else {
      auto session = encode_session(id);
      close_encode(SessionHandle{id, session->state().active_generation});
    }
    return true;
  } catch (const Error&) {
    return false;  // closed already, or failed while closing: off the open list either way
  }
}

std::pair<size_t, size_t> SessionManager::open_counts() const {
  std::lock_guard<std::mutex> lock(mu_);
  return {open_.size(), open_decode_.size()};
}

}  // namespace videohw
