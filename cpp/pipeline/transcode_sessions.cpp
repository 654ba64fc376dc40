#include "pipeline/transcode_sessions.hpp"

#include "contract/errors.hpp"

namespace videohw::pipeline {

TranscodeSessions::~TranscodeSessions() {
  drop_sessions();
}

void TranscodeSessions::acquire() {
  std::lock_guard<std::mutex> lock(mu_);
  if (in_use_)
    throw Error(ErrorKind::Config,
                "transcode: these sessions are in use by another transcode (one at a time)");
  in_use_ = true;
  counts_.files++;
}

void TranscodeSessions::release(bool healthy) {
  if (!healthy) {
    const int64_t dropped = (decoder ? 1 : 0) + int64_t(encoders.size());
    drop_sessions();
    std::lock_guard<std::mutex> lock(mu_);
    counts_.discarded += dropped;
  }
  std::lock_guard<std::mutex> lock(mu_);
  in_use_ = false;
}

TranscodeSessions::Counts TranscodeSessions::snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return counts_;
}

bool TranscodeSessions::in_use() const {
  std::lock_guard<std::mutex> lock(mu_);
  return in_use_;
}

void TranscodeSessions::close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (in_use_)
      throw Error(ErrorKind::Config, "transcode sessions: close() while a transcode uses them");
    in_use_ = true;  // no graph may take them while they close
  }
  drop_sessions();
  std::lock_guard<std::mutex> lock(mu_);
  in_use_ = false;
}

void TranscodeSessions::drop_sessions() {
  // Encode sessions first: end of stream -> drain -> buffers -> encoder (their close order).
  for (auto& session : encoders) {
    try {
      bool interrupted = false;
      session->close(session->state().active_generation, {}, &interrupted);
    } catch (const std::exception&) {
      // A failed encoder still ends (close's contract); its error was reported already.
    }
  }
  encoders.clear();
  if (decoder) {
    try {
      decoder->close(decode_generation);
    } catch (const std::exception&) {
    }
  }
  decoder.reset();
  decode_generation = 1;
}

}  // namespace videohw::pipeline
