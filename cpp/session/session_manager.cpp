#include "session/session_manager.hpp"

#include "contract/errors.hpp"

namespace videohw {

SessionHandle SessionManager::start_encode(const CommonEncodeConfig& config,
                                           const EncoderProvider& provider) {
  uint64_t id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    id = next_id_++;
  }
  // Created outside the lock: opening an encoder can take a while.
  auto session = std::make_shared<EncodeSession>(id, config, provider);
  std::lock_guard<std::mutex> lock(mu_);
  open_.emplace(id, session);
  return SessionHandle{id, session->state().active_generation};
}

std::shared_ptr<EncodeSession> SessionManager::find(uint64_t id) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = open_.find(id); it != open_.end()) return it->second;
  if (closed_.count(id))
    throw Error(ErrorKind::SessionClosed, "encode session " + std::to_string(id) + " is closed");
  if (id < next_id_)
    throw Error(ErrorKind::SessionClosed, "encode session " + std::to_string(id) +
                                              " is closed (its telemetry is no longer kept)");
  throw Error(ErrorKind::SessionClosed, "no encode session with id " + std::to_string(id));
}

std::shared_ptr<EncodeSession> SessionManager::encode_session(SessionHandle handle) const {
  auto session = find(handle.id);
  const uint32_t active = session->state().active_generation;
  if (handle.generation != active)
    throw Error(ErrorKind::StaleSession,
                "handle (id=" + std::to_string(handle.id) + ", generation=" +
                    std::to_string(handle.generation) + ") is stale; the active generation is " +
                    std::to_string(active));
  return session;
}

std::vector<EncodedPacket> SessionManager::close_encode(SessionHandle handle) {
  auto session = encode_session(handle);
  auto packets = session->close();
  std::lock_guard<std::mutex> lock(mu_);
  open_.erase(handle.id);
  closed_.emplace(handle.id, session);
  if (closed_.size() > kClosedKept) closed_.erase(closed_.begin());  // ids grow: oldest first
  return packets;
}

TelemetryMap SessionManager::telemetry(SessionHandle handle) const {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = closed_.find(handle.id); it != closed_.end()) return it->second->telemetry();
  }
  return find(handle.id)->telemetry();
}

SessionStateInfo SessionManager::state(SessionHandle handle) const {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = closed_.find(handle.id); it != closed_.end()) return it->second->state();
  }
  return find(handle.id)->state();
}

}  // namespace videohw
