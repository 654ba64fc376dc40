// Sessions a worker keeps from one transcode to the next (videohw.distributed): the next
// graph switches them to its file (a decode switch; an encode begin_stream) instead of
// starting new ones, so a batch of files pays each session's start-up once. One graph uses
// them at a time. A transcode that fails or is cancelled leaves its sessions in no known
// state: they are closed and dropped, and the next graph starts new ones.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "backend/telemetry.hpp"
#include "session/decode_session.hpp"
#include "session/encode_session.hpp"

namespace videohw::pipeline {

class TranscodeSessions {
 public:
  struct Counts {
    int64_t files = 0;                                 // graphs that took these sessions
    int64_t decode_inits = 0, encode_inits = 0;        // sessions created
    int64_t decode_switches = 0, encode_restarts = 0;  // sessions carried to another file
    int64_t discarded = 0;                             // sessions dropped after a failed transcode
  };

  TranscodeSessions() = default;
  TranscodeSessions(const TranscodeSessions&) = delete;
  TranscodeSessions& operator=(const TranscodeSessions&) = delete;
  ~TranscodeSessions();

  // For the graph: taken for its life. Throws Error(Config) while another graph holds them.
  void acquire();
  // `healthy`: the transcode finished; else every session is closed and dropped.
  void release(bool healthy);

  // Graph only, between acquire and release.
  std::shared_ptr<DecodeSession> decoder;
  uint32_t decode_generation = 1;
  std::vector<std::shared_ptr<EncodeSession>> encoders;
  Counts& counts() { return counts_; }

  Counts snapshot() const;
  // Closes every session (encode: end of stream, drain, release). Throws Error(Config)
  // while a graph holds them.
  void close();
  bool in_use() const;

 private:
  void drop_sessions();  // mu_ not held; the sessions are not in use

  mutable std::mutex mu_;
  bool in_use_ = false;
  Counts counts_;
};

}  // namespace videohw::pipeline
