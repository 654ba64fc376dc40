// One decode session: an input queue, a decode stage on the session's own thread, the
// frames ready to reap, and the decode summary telemetry reports.
//
// Handles: a call names (id, generation); only the active generation is accepted. Older
// raises StaleSession, a closed session SessionClosed. A switch flushes the old decoder
// (its frames keep the old generation) and makes the next generation active.
//
// Stages: push copies its chunk into the input queue (session/decode_input.hpp) and
// returns; the worker thread (started by the first push) feeds the decoder piece by piece
// and queues the frames; reap takes them, and with min_frames waits for them. Calls that
// need the decoder itself (push_unit, flush, drain, reset, switch, close) pause the
// worker and decode on the calling thread, so the decoder is only ever used by one
// thread at a time (decoder_mu_) and those calls keep their synchronous results.
//
// Locks: api_mu_ serialises the calls that change the session; state_mu_ guards the
// queues and counters and is never held during a decode, so reap / state / telemetry
// never wait for one; decoder_mu_ is held by whichever thread runs the decoder.
//
// Errors: the worker keeps the first decode error of the bytes it decodes; the next push
// raises it (after taking its own chunk), or flush does (after every frame was made ready).
//
// Memory: frames waiting to be reaped are bounded by CommonDecodeConfig::max_ready_frames
// and max_ready_bytes: the decode stage stops between two pictures once either is reached
// and goes on when a reap makes room. Queued input is bounded by push_ahead_bytes: a push
// that finds that many queued waits while the decode stage works them down (so a caller who
// reaps between pushes holds about a chunk's frames, not a file's); when the stage is
// stopped for lack of room instead (nobody reaps), waiting could not end on this thread,
// so the push raises Backpressure with nothing taken, or with block waits for another
// thread's reap. The ready bound can be passed by what one piece completes, and by a
// flush's drain (the decoder's reorder depth).
//
// Drop order: close() (or the destructor) ends the stream: the worker stops -> queued
// bytes decoded as far as the bound allows (the rest dropped and counted) -> the decoder
// drained -> frames handed out -> decoder destroyed. Frames the caller still holds keep
// their own pixel references (DecodedFrame::owner) and stay valid afterwards.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "backend/decoder_backend.hpp"
#include "backend/telemetry.hpp"
#include "bitstream/sample_converter.hpp"
#include "session/decode_input.hpp"

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
  // Stops the worker (it finishes the piece it decodes) before anything else goes.
  ~DecodeSession();
  DecodeSession(const DecodeSession&) = delete;
  DecodeSession& operator=(const DecodeSession&) = delete;

  uint64_t id() const { return id_; }

  // Queues one chunk for the decode stage and returns; its frames come out of reap.
  // Raises a DecodeError kept from bytes pushed earlier, after this chunk was taken. A
  // chunk larger than max_backlog_bytes is not copied: the stage decodes it from the
  // caller's memory while push waits, as far as the bound allows, and the push raises the
  // errors of its own bytes too.
  // push_ahead_bytes queued make the push wait while the decode stage works them down. When the
  // stage is stopped because max_ready_* frames wait to be reaped, the push waits up to
  // `wait_ns` (0: not at all, -1: no limit) for another thread's reap, then raises
  // Backpressure with nothing of its chunk taken. `interrupted` is called about every
  // 100 ms of waiting; when it says true the push returns at once with nothing taken and
  // `*was_interrupted` set.
  void push(uint32_t generation, const uint8_t* data, size_t size, std::optional<int64_t> pts,
            int64_t wait_ns = 0, const std::function<bool()>& interrupted = {},
            bool* was_interrupted = nullptr);
  // One whole access unit (DecodeUnit), decoded on the calling thread; frames it completes
  // are ready for reap when it returns. Queued bytes are decoded first: Backpressure when
  // there is no room for them.
  void push_unit(uint32_t generation, const DecodeUnit& unit);
  // A seek: the decoder forgets what it holds, queued bytes and ready frames are dropped;
  // nothing of the data pushed so far comes out. The session stays open (no new decoder).
  // `new_stream`: the next data is another file (DecoderBackend::reset).
  void reset(uint32_t generation, bool new_stream = false);
  // Like flush, without flush's "no picture came out" error: for callers that push units
  // whose pictures they skip.
  std::vector<DecodedFrame> drain(uint32_t generation);
  // The frames ready now. With `min_frames`, waits until that many are ready, and further:
  // with a timeout (`timeout_ns` >= 0) until it passed; without one (-1) until nothing
  // more can come out without a flush or a reap (every queued byte decoded, or the ready
  // bound reached). `interrupted` as for push; it ends the wait and takes nothing.
  std::vector<DecodedFrame> reap(uint32_t generation, size_t min_frames = 0,
                                 int64_t timeout_ns = -1,
                                 const std::function<bool()>& interrupted = {},
                                 bool* was_interrupted = nullptr);
  // Every frame of every byte pushed so far; the session stays open. Raises DecodeError
  // when bytes were pushed since the last flush and not one picture came out of them.
  // Raises Backpressure (frames and queued bytes kept) when the queued bytes do not fit
  // in the bound: reap, then flush again.
  std::vector<DecodedFrame> flush(uint32_t generation);
  // Returns the new active generation. SwitchError leaves the current decoder running;
  // Backpressure (queued bytes without room) leaves the whole session as it was.
  uint32_t switch_to(uint32_t generation, const CommonDecodeConfig& target,
                     std::shared_ptr<const DecoderProvider> provider);
  // Decodes the queued bytes as far as the bound allows, drains and destroys the decoder;
  // returns every frame not yet reaped. Decode errors while closing are recorded
  // (telemetry last_error), not raised: the session closes. Queued bytes past the bound
  // are dropped, counted (backlog_bytes_dropped) and named in last_error.
  std::vector<DecodedFrame> close(uint32_t generation);

  DecodeStateInfo state() const;
  TelemetryMap telemetry() const;

 private:
  // While one lives, the worker decodes nothing: the calling thread may use the decoder.
  class WorkerPause;

  void check_handle(uint32_t generation) const;
  // The input converter of an AVCC / HVCC config (null for Annex-B); throws
  // UnsupportedConfig for a record that does not parse.
  static std::unique_ptr<bitstream::SampleConverter> make_input_converter(
      const CommonDecodeConfig& config);
  void start_worker();  // state_mu_ held
  void stop_worker();
  void worker_main();
  // Decodes the next queued piece if there is one and room for its frames; false when
  // not. As the worker it also stops for a pause or the end. A decode error is kept
  // (pending_error_) for the next push or flush. decoder_mu_ held.
  bool step(bool as_worker);
  // Decodes queued pieces on the calling thread while there is room; true when the queue
  // is empty. decoder_mu_ held, worker paused.
  bool pump();
  // Throws Backpressure unless the queue is empty after a pump. decoder_mu_ held, worker
  // paused.
  void require_input_decoded(const char* call);
  // The decoder's flush with its frames delivered (also when it throws, which it passes on);
  // the input converter starts over with the record's parameter sets. decoder_mu_ held.
  void flush_decoder();
  // Stamps the active generation, counts, and queues frames for reap. decoder_mu_ held.
  void deliver(std::vector<DecodedFrame>& frames);
  void deliver_locked(std::vector<DecodedFrame>& frames, const DecodeStats& stats);
  std::exception_ptr take_error();
  void record_error(const std::string& message);
  std::vector<DecodedFrame> take_ready();
  // Waits on changed_cv_ for about 100 ms (less when `until_deadline` and the deadline is
  // nearer), then asks `interrupted` without the lock; true: the caller stops waiting.
  bool wait_interrupted(std::unique_lock<std::mutex>& lock, bool until_deadline,
                        std::chrono::steady_clock::time_point deadline,
                        const std::function<bool()>& interrupted);
  // Whether the frames waiting to be reaped reached the bound. state_mu_ held.
  bool full_locked() const;
  // Whether the decode stage waits for a reap: bytes queued and no room. state_mu_ held.
  bool stalled_locked() const { return !input_.empty() && full_locked(); }
  // Whether nothing more comes out without a flush or a reap. state_mu_ held.
  bool settled_locked() const { return (input_.empty() && !worker_busy_) || full_locked(); }
  std::string backpressure_message(const char* call, const char* then) const;  // state_mu_

  const uint64_t id_;
  std::mutex api_mu_;      // serialises every call that changes the session
  std::mutex decoder_mu_;  // held while decoder_ is used (worker or a paused-worker call)
  std::unique_ptr<DecoderBackend> decoder_;
  std::shared_ptr<const DecoderProvider> provider_;
  CommonDecodeConfig config_;
  std::unique_ptr<bitstream::SampleConverter> samples_;  // AVCC / HVCC input only (api_mu_)
  std::vector<uint8_t> converted_;
  std::atomic<bool> closed_{false};
  std::thread worker_;

  mutable std::mutex state_mu_;         // everything below
  std::condition_variable work_cv_;     // the worker: input, room, a pause ended, the end
  std::condition_variable changed_cv_;  // everyone else: frames, room, the worker idle
  DecodeInput input_;
  bool worker_started_ = false, stop_ = false, paused_ = false, worker_busy_ = false;
  std::exception_ptr pending_error_;  // from bytes the worker decoded, for the next push
  uint32_t active_generation_ = 1;
  uint32_t next_generation_ = 2;
  std::vector<DecodedFrame> ready_;
  int64_t ready_bytes_ = 0;
  int64_t backpressure_waits_ = 0, backpressure_refusals_ = 0, backlog_bytes_dropped_ = 0;
  int64_t backlog_full_waits_ = 0, reap_waits_ = 0;
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
