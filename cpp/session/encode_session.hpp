// One encode session: its generations, the switch state machine, and the pipeline that
// runs the encoder.
//
// Handles: a call names (id, generation). The generation must be the active one or the
// pending one (ON_NEXT_KEYFRAME); older raises StaleSession, one whose activation failed
// raises Switch. Generations come from next_generation_ and only grow.
//
// Threads: api_mu_ serialises submit / switch / flush / close (they are the pipeline's one
// producer and may block on backpressure with the GIL released). Stage threads report
// through PipelineEvents into state behind events_mu_, which no blocking call ever holds.
// reap, state and telemetry take neither api_mu_ nor wait for an encode.
//
// Drop order: close() (or the destructor) ends the stream through the pipeline: end of
// stream -> drain -> buffers released -> encoder destroyed -> threads joined.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backend/encoder_provider.hpp"
#include "backend/telemetry.hpp"
#include "session/pipeline.hpp"

namespace videohw {

enum class SessionState { Running, SwitchPending, Closed };
const char* to_string(SessionState state);

struct SessionStateInfo {
  SessionState state = SessionState::Running;
  uint32_t active_generation = 1;
  uint32_t config_generation = 1;
  uint32_t next_generation = 2;
  uint32_t pending_generation = 0;  // 0: none
  std::string pending_mode;         // "" when none
  bool next_frame_activates = false;
  int width = 0, height = 0;  // the size the next frame must have (unless forced, see below)
  int pending_width = 0, pending_height = 0;
  Codec codec = Codec::H264;
  std::string backend;
};

class EncodeSession final : private PipelineEvents {
 public:
  EncodeSession(uint64_t id, const CommonEncodeConfig& config,
                std::shared_ptr<const EncoderProvider> provider);
  ~EncodeSession() override;
  EncodeSession(const EncodeSession&) = delete;
  EncodeSession& operator=(const EncodeSession&) = delete;

  uint64_t id() const { return id_; }

  // Checks the buffer against the size the frame must have, copies it into the pipeline.
  // Throws InvalidFrame (nothing taken), Backpressure (block=false and the pipeline full).
  //
  // Interrupts (submit with block, flush, close): `interrupted` is called about every
  // 100 ms of waiting; when it says true the call returns at once with `*was_interrupted`
  // set. submit: the frame was not taken. flush: the flush goes on in the pipeline; its
  // packets come out of the next reap, and the next call settles it. close: the stream keeps
  // ending in the background; only close may be called again, and it finishes the close.
  void submit(uint32_t generation, PixelFormat format, const uint8_t* data, size_t size, int pitch,
              const FrameOptions& options, bool block = true,
              const std::function<bool()>& interrupted = {}, bool* was_interrupted = nullptr);
  // As submit, for a frame in CUDA device memory: `address` is a device address on CUDA
  // device `device`, `size` bytes in `format`'s layout. The bytes are copied on the device
  // before this returns, so the caller may reuse its memory at once. Throws InvalidFrame when
  // the driver does not know the address, BackendUnavailable without a CUDA driver.
  void submit_device(uint32_t generation, PixelFormat format, uintptr_t address, int device,
                     size_t size, int pitch, const FrameOptions& options, bool block = true,
                     const std::function<bool()>& interrupted = {},
                     bool* was_interrupted = nullptr);
  // As submit, for a frame that is not copied: `owner` keeps the view's memory (host or
  // CUDA device) alive and unchanged until the pipeline is done with it. The frame may have
  // any size and format; the transform stage scales and converts it for the encoder.
  // `has_slack`: PixelConverter::convert.
  void submit_shared(uint32_t generation, const FrameView& view, std::shared_ptr<const void> owner,
                     bool has_slack, const FrameOptions& options, bool block = true,
                     const std::function<bool()>& interrupted = {},
                     bool* was_interrupted = nullptr);
  // Ready packets; with min_packets > 0 waits as EncodePipeline::take_ready says.
  // `interrupted` / `was_interrupted`: EncodePipeline::take_ready.
  std::vector<EncodedPacket> reap(uint32_t generation, size_t min_packets = 0,
                                  int64_t timeout_ns = -1,
                                  const std::function<bool()>& interrupted = {},
                                  bool* was_interrupted = nullptr);
  std::vector<EncodedPacket> flush(uint32_t generation,
                                   const std::function<bool()>& interrupted = {},
                                   bool* was_interrupted = nullptr);
  // Ends the session even when its encoder has failed: the pipeline is closed, the encoder
  // released and the session marked closed; then, if the encoder had failed, Encode is
  // raised with the reason.
  std::vector<EncodedPacket> close(uint32_t generation,
                                   const std::function<bool()>& interrupted = {},
                                   bool* was_interrupted = nullptr);
  // Prepares the target generation and returns its number (see docs/api.md, Switching).
  // The waits (an earlier interrupted flush, DRAIN_THEN_SWAP's drain) end early when
  // `interrupted` says so: then nothing switches, 0 is returned, *was_interrupted is set,
  // and a drain already asked for goes on as an interrupted flush does (its packets come
  // out of the next reap).
  uint32_t switch_to(uint32_t generation, const CommonEncodeConfig& target,
                     std::shared_ptr<const EncoderProvider> provider, SwitchMode mode,
                     bool force_idr_on_activate, const std::function<bool()>& interrupted = {},
                     bool* was_interrupted = nullptr);

  // The next frames are another stream (the next file of a worker that keeps its sessions):
  // what the encoder holds is drained first and comes out of reap under the current
  // generation; the new generation's first frame then starts a stream as a new session's
  // first frame would (an IDR, a fresh GOP and rate control, pts counted afresh). In place
  // when `provider` is the running one and can restart (EncoderBackend::restart), else a
  // new encoder inside this session. Returns the new generation; 0 when interrupted.
  uint32_t begin_stream(uint32_t generation, const CommonEncodeConfig& target,
                        std::shared_ptr<const EncoderProvider> provider,
                        const std::function<bool()>& interrupted = {},
                        bool* was_interrupted = nullptr);

  SessionStateInfo state() const;
  TelemetryMap telemetry() const;
  // Gives packet payloads back to the pool once the caller has copied them.
  void recycle(std::vector<EncodedPacket>&& packets);

 private:
  struct SharedFrame {
    const FrameView* view;
    std::shared_ptr<const void> owner;
    bool has_slack;
  };
  // `shared`: submit_shared's frame (`format` .. `pitch` are then unused).
  void submit_view(uint32_t generation, PixelFormat format, const uint8_t* data, size_t size,
                   int pitch, FrameMemory memory, int device, const FrameOptions& options,
                   bool block, const std::function<bool()>& interrupted, bool* was_interrupted,
                   SharedFrame* shared = nullptr);
  struct SwitchCounters {
    int64_t total = 0, immediate = 0, on_next_keyframe = 0, drain_then_swap = 0;
    int64_t in_place = 0, new_session = 0, superseded = 0, failures = 0;
    std::string fail_reason;
    int64_t activation_ns = 0, first_packet_ns = 0;
  };
  struct Rollback {
    uint32_t failed = 0, kept = 0;
    CommonEncodeConfig kept_config;
    std::shared_ptr<const EncoderProvider> kept_provider;
  };

  // PipelineEvents, called on stage threads.
  void on_activated(const GenerationPlan& plan, int64_t activation_ns, bool in_place) override;
  void on_rollback(const GenerationPlan& plan, uint32_t kept, const std::string& reason) override;
  void on_first_packet(uint32_t generation, int64_t when_ns) override;
  void on_failure(const std::string& reason) override;

  // `closing`: an encoder failure does not refuse the call (close must still end it).
  void check_handle(uint32_t generation, bool closing = false) const;
  void absorb_events();  // api_mu_ held
  // Waits for a flush an interrupt left running and applies what it did; false when
  // interrupted again. api_mu_ held.
  bool settle_flush(const std::function<bool()>& interrupted);
  void finish_flush(const Marker& marker, int64_t start_ns);  // api_mu_ held
  void absorb_events_locked();                                // api_mu_ and events_mu_ held
  uint32_t switch_impl(uint32_t generation, const CommonEncodeConfig& target,
                       std::shared_ptr<const EncoderProvider> provider, SwitchMode mode,
                       bool force_idr_on_activate, bool new_stream,
                       const std::function<bool()>& interrupted, bool* was_interrupted);
  // Decides in place vs new encoder against what will be running when `plan` activates.
  void choose_path(GenerationPlan& plan, const EncoderProvider& provider);
  bool keyframe_next(bool forced) const;  // api_mu_ held
  void publish_state();                   // api_mu_ held
  void record_switch_failure(const std::string& reason);
  std::vector<EncodedPacket> hand_out(std::vector<EncodedPacket> packets);

  const uint64_t id_;
  const std::string backend_name_;

  // Submit side (api_mu_).
  std::mutex api_mu_;
  std::shared_ptr<const EncoderProvider> provider_;  // of active_config_
  // Activations queued to the encode thread and not yet known to have succeeded or failed.
  std::vector<std::shared_ptr<GenerationPlan>> unresolved_;
  CommonEncodeConfig active_config_;  // the config new frames are encoded with
  uint32_t active_config_generation_ = 1;
  std::shared_ptr<GenerationPlan> pending_;  // prepared, waiting for its first frame
  uint32_t next_generation_ = 2;
  int64_t last_pts_ = -1;
  bool any_pts_ = false;
  int gop_position_ = 0;      // frames since the last keyframe
  bool keyframe_due_ = true;  // the first frame, and after a flush that restarts the stream
  std::shared_ptr<Marker> interrupted_flush_;  // a flush whose caller was interrupted
  int64_t interrupted_flush_start_ = 0;
  std::atomic<bool> closing_{false};  // a close was interrupted: only close may follow
  int64_t init_ns_ = 0;
  std::atomic<int64_t> frames_submitted_{0}, flushes_{0}, last_flush_ns_{0};

  // Read without api_mu_.
  std::atomic<uint32_t> active_generation_{1};
  std::atomic<uint32_t> pending_generation_{0};
  std::atomic<uint32_t> config_generation_{1};
  std::atomic<bool> closed_{false};
  // Lock order: events_mu_ before state_mu_.
  mutable std::mutex state_mu_;
  SessionStateInfo published_;
  uint32_t published_size_generation_ = 1;  // whose config gave published_'s frame size

  // Written by stage threads (events_mu_).
  mutable std::mutex events_mu_;
  SwitchCounters switches_;
  std::map<uint32_t, std::string> failed_generations_;
  std::vector<Rollback> rollbacks_;
  std::map<uint32_t, int64_t> activation_times_;
  CommonEncodeConfig running_config_;  // of the encoder running now
  std::shared_ptr<const EncoderProvider> running_provider_;
  std::string failure_;
  int64_t packets_out_ = 0, bytes_out_ = 0, keyframes_out_ = 0;

  // Last: constructed after, and destroyed before, everything its threads report into.
  std::unique_ptr<EncodePipeline> pipeline_;
};

}  // namespace videohw
