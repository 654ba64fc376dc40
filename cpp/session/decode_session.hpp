// One decode session: the decoder of the active generation, the frames ready to reap, and
// the decode summary telemetry reports.
//
// Handles: a call names (id, generation); only the active generation is accepted. Older
// raises StaleSession, a closed session SessionClosed. A switch flushes the old decoder
// (its frames keep the old generation) and makes the next generation active.
//
// Threads: api_mu_ serialises push / flush / switch / close; they decode on the calling
// thread (the bindings release the GIL). Ready frames and counters sit behind state_mu_,
// which is never held during a decode, so reap / state / telemetry never wait for one.
//
// Memory: frames waiting to be reaped are bounded by CommonDecodeConfig::max_ready_frames
// and max_ready_bytes. A push cuts its bytes into pieces of at most one picture
// (bitstream/picture_pieces.hpp) and stops feeding the decoder once the bound is reached;
// the rest of its bytes wait in the session (the backlog) and are decoded by the next
// reaps. The bound can be passed by what one piece completes, and by a flush's drain
// (the decoder's reorder depth).
//
// Drop order: close() (or the destructor) ends the stream: drain the decoder -> frames
// handed out -> decoder destroyed. Frames the caller still holds keep their own pixel
// references (DecodedFrame::owner) and stay valid afterwards.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "backend/decoder_backend.hpp"
#include "backend/telemetry.hpp"
#include "bitstream/sample_converter.hpp"

namespace videohw {

struct DecodeStateInfo {
  bool closed = false;
  uint32_t active_generation = 1;
  uint32_t next_generation = 2;
  Codec codec = Codec::H264;
  DecodeOutputMode output = DecodeOutputMode::MetadataOnly;
  std::string backend;
};

class DecodeSession {
 public:
  DecodeSession(uint64_t id, const CommonDecodeConfig& config,
                std::shared_ptr<const DecoderProvider> provider);
  ~DecodeSession();
  DecodeSession(const DecodeSession&) = delete;
  DecodeSession& operator=(const DecodeSession&) = delete;

  uint64_t id() const { return id_; }

  // Decodes one chunk; the frames it completes become ready for reap. A DecodeError is
  // raised after every byte of the chunk was taken and every good frame made ready (and
  // for errors in backlog bytes an earlier reap decoded).
  // When a backlog is left from earlier pushes and there is no room to decode it, the push
  // waits up to `wait_ns` (0: not at all, -1: no limit) for another thread's reap, then
  // raises Backpressure with nothing of its chunk taken. `interrupted` is called about
  // every 100 ms of waiting; when it says true the push returns at once with nothing taken
  // and `*was_interrupted` set.
  void push(uint32_t generation, const uint8_t* data, size_t size, std::optional<int64_t> pts,
            int64_t wait_ns = 0, const std::function<bool()>& interrupted = {},
            bool* was_interrupted = nullptr);
  // One whole access unit (DecodeUnit); frames it completes become ready for reap. The
  // backlog must be decoded first: Backpressure when there is no room for it.
  void push_unit(uint32_t generation, const DecodeUnit& unit);
  // A seek: the decoder forgets what it holds and ready frames are dropped; nothing of
  // the data pushed so far comes out. The session stays open (no new decoder).
  // `new_stream`: the next data is another file (DecoderBackend::reset).
  void reset(uint32_t generation, bool new_stream = false);
  // Like flush, without flush's "no picture came out" error: for callers that push units
  // whose pictures they skip.
  std::vector<DecodedFrame> drain(uint32_t generation);
  // The frames ready now; backlog bytes are decoded first, as far as the bound allows
  // (unless a push or flush is decoding at the same time).
  std::vector<DecodedFrame> reap(uint32_t generation);
  // Every frame of every byte pushed so far; the session stays open. Raises DecodeError
  // when bytes were pushed since the last flush and not one picture came out of them.
  // Raises Backpressure (frames and backlog kept) when the backlog does not fit in the
  // bound: reap, then flush again.
  std::vector<DecodedFrame> flush(uint32_t generation);
  // Returns the new active generation. SwitchError leaves the current decoder running;
  // Backpressure (a backlog without room) leaves the whole session as it was.
  uint32_t switch_to(uint32_t generation, const CommonDecodeConfig& target,
                     std::shared_ptr<const DecoderProvider> provider);
  // Drains and destroys the decoder; returns every frame not yet reaped. Decode errors
  // while draining are recorded (telemetry last_error), not raised: the session closes.
  // A backlog is not decoded (closing is not asking for more frames): its bytes are
  // counted in telemetry (backlog_bytes_dropped) and named in last_error.
  std::vector<DecodedFrame> close(uint32_t generation);

  DecodeStateInfo state() const;
  TelemetryMap telemetry() const;

 private:
  void check_handle(uint32_t generation) const;
  // The input converter of an AVCC / HVCC config (null for Annex-B); throws
  // UnsupportedConfig for a record that does not parse.
  static std::unique_ptr<bitstream::SampleConverter> make_input_converter(
      const CommonDecodeConfig& config);
  // The decoder's flush with its frames delivered (also when it throws, which it passes on);
  // the input converter starts over with the record's parameter sets. api_mu_ held.
  void flush_decoder();
  // Stamps the active generation, counts, and queues frames for reap.
  void deliver(std::vector<DecodedFrame>& frames);
  void refresh_stats();
  void record_error(const std::string& message);
  std::vector<DecodedFrame> take_ready();
  // Whether the frames waiting to be reaped reached the bound. state_mu_ held.
  bool full_locked() const;
  bool full() const;
  // Feeds `data` to the decoder piece by piece while there is room; returns the bytes fed.
  // `pts` goes with the first piece. The first error is kept in `error`; decoding goes on.
  // api_mu_ held.
  size_t feed(const uint8_t* data, size_t size, std::optional<int64_t> pts,
              std::exception_ptr& error);
  // Feeds the backlog while there is room; true when it is empty. api_mu_ held.
  bool pump(std::exception_ptr& error);
  // Throws Backpressure unless the backlog is empty (after a pump). api_mu_ held.
  void require_backlog_decoded(const char* call);
  size_t backlog_size() const { return backlog_.size() - backlog_pos_; }

  const uint64_t id_;
  std::mutex api_mu_;  // serialises every call that touches the decoder
  std::unique_ptr<DecoderBackend> decoder_;
  std::shared_ptr<const DecoderProvider> provider_;
  CommonDecodeConfig config_;
  std::unique_ptr<bitstream::SampleConverter> samples_;  // AVCC / HVCC input only
  std::vector<uint8_t> converted_;
  std::atomic<bool> closed_{false};
  // Bytes pushed and not yet fed to the decoder for lack of room (api_mu_).
  std::vector<uint8_t> backlog_;
  size_t backlog_pos_ = 0;
  std::optional<int64_t> backlog_pts_;  // belongs to the backlog's first piece
  std::exception_ptr deferred_error_;   // from backlog bytes a reap decoded

  mutable std::mutex state_mu_;  // everything below
  uint32_t active_generation_ = 1;
  uint32_t next_generation_ = 2;
  std::vector<DecodedFrame> ready_;
  int64_t ready_bytes_ = 0;
  std::condition_variable room_cv_;  // a reap took frames
  int64_t backlog_bytes_ = 0;        // mirrors backlog_size() for telemetry
  int64_t backpressure_waits_ = 0, backpressure_refusals_ = 0, backlog_bytes_dropped_ = 0;
  int64_t ready_peak_frames_ = 0, ready_peak_bytes_ = 0;
  DecodeStats retired_;                          // summed stats of decoders replaced by a switch
  DecodeStats current_;                          // the live decoder's stats after its last call
  std::vector<std::pair<int, int>> sizes_seen_;  // first-seen order
  int64_t init_ns_ = 0;
  int64_t units_pushed_ = 0, session_resets_ = 0;
  int64_t chunks_pushed_ = 0, flushes_ = 0, frames_out_ = 0, keyframes_out_ = 0;
  int64_t switches_ = 0, switches_in_place_ = 0, switches_new_session_ = 0, switch_failures_ = 0;
  int64_t frames_since_flush_ = 0, bytes_since_flush_ = 0;
  std::string last_error_, switch_fail_reason_;
};

}  // namespace videohw
