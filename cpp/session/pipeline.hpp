// The per-session PipelineScheduler: transform, encode and reap stages, each on its own
// thread, joined by lock-free SPSC rings.
//
//   caller (submit)  --submit ring-->  transform  --encode ring-->  encode  --reap ring-->  reap
//   copies into a                      prepares for                 runs the publishes
//   pooled slot                        the encoder                  encoder, packets for
//                                      expected to                  switches reap()
//                                      encode it
//
// The encode thread owns the running encoder. A work item that starts a new generation
// carries its GenerationPlan; the encode thread activates it in stream order, so every
// packet of generation g is published before any packet of g+1. If activation fails it
// rolls back: the frames meant for the new generation are encoded by the current encoder,
// and the session hears of it through PipelineEvents.
//
// Frame preparation (transform/frame_preparer.hpp): the transform stage prepares each
// frame for the encoder it expects (the target changes as plans pass it); the encode stage
// checks every frame against the encoder actually running and prepares it again when a
// rollback, or a conversion that failed, made the expectation wrong. Adapters receive only
// frames of their size in a format their provider lists as native.
//
// Drop order (close / destruction): the Close item flows through every stage; the encode
// thread ends the stream and drains the encoder, then destroys it (its buffers first, the
// encoder last); the threads are joined; then the rings and pools are released.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "backend/device_memory.hpp"
#include "backend/encoder_backend.hpp"
#include "backend/encoder_provider.hpp"
#include "contract/clock.hpp"
#include "ring/buffer_pool.hpp"
#include "ring/doorbell.hpp"
#include "ring/spsc_ring.hpp"
#include "session/device_frame_pool.hpp"
#include "transform/frame_preparer.hpp"

namespace videohw {

// A generation prepared by a switch and applied by the encode thread.
//
// Whether it runs in place is decided at request time against the config of the generation
// that should be running when it activates (`in_place_base`). An earlier activation still
// queued at request time may yet roll back, so the plan also says what to do from the
// generation running before that one (`fallback_base`); whenever either answer is "new
// encoder", the encoder is prepared now (prewarm) and `backend` holds it.
struct GenerationPlan {
  uint32_t generation = 0;
  CommonEncodeConfig config;
  std::shared_ptr<const EncoderProvider> provider;
  SwitchMode mode = SwitchMode::Immediate;
  bool in_place = false;
  uint32_t in_place_base = 0;
  bool in_place_fallback = false;
  uint32_t fallback_base = 0;  // 0: no earlier activation was pending
  bool force_idr = true;
  // Another stream (EncodeSession::begin_stream): in place means EncoderBackend::restart.
  bool new_stream = false;
  std::unique_ptr<EncoderBackend> backend;
  int64_t request_ns = 0;
  // What was running (as far as the submitter knew) when its first frame was queued.
  CommonEncodeConfig previous_config;
  std::shared_ptr<const EncoderProvider> previous_provider;
  uint32_t previous_generation = 0;
  // Set by the encode thread once activated or rolled back, before the session hears of it.
  mutable std::atomic<bool> resolved{false};

  // The path the encode thread takes when `running` is the generation it replaces.
  bool runs_in_place_over(uint32_t running) const {
    if (running == in_place_base) return in_place;
    return fallback_base != 0 && running == fallback_base && in_place_fallback;
  }
};

// Completion of a control item (flush, drain, close): signalled by the reap stage once every
// packet before it is published.
struct Marker {
  void complete(std::string failure = {});
  // False when `interrupted` (called about every 100 ms, no lock held) said true first.
  bool wait(const std::function<bool()>& interrupted = {});
  bool is_done();

  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::string error;      // set when the encoder failed on the control item
  bool reopened = false;  // flush: the stream restarted (reopened or ended; next frame an IDR)
};

class PipelineEvents {
 public:
  virtual ~PipelineEvents() = default;
  // On the encode thread, when a generation takes over (`in_place`: the path it took).
  virtual void on_activated(const GenerationPlan& plan, int64_t activation_ns, bool in_place) = 0;
  // On the encode thread, when activating `plan` failed and `kept` stays.
  virtual void on_rollback(const GenerationPlan& plan, uint32_t kept,
                           const std::string& reason) = 0;
  // On the reap thread, when the first packet of `generation` is published.
  virtual void on_first_packet(uint32_t generation, int64_t when_ns) = 0;
  // On the encode thread, when the encoder failed on a frame (the session is broken).
  virtual void on_failure(const std::string& reason) = 0;
};

// What an encoder of `provider` running `config` takes.
transform::FrameTarget frame_target(const EncoderProvider& provider,
                                    const CommonEncodeConfig& config);

struct PipelineStats {
  int64_t in_flight_peak = 0;
  int64_t queue_depth_peak_transform = 0;
  int64_t queue_depth_peak_encode = 0;
  int64_t queue_depth_peak_reap = 0;
  int64_t transform_ns = 0, encode_ns = 0, reap_ns = 0;
  // Pixel conversions: by the transform stage, and again by the encode stage for a frame
  // the running encoder does not take as the transform stage prepared it.
  int64_t frames_transformed = 0, frames_reprepared = 0;
  int64_t frames_from_device = 0;        // frames submitted from CUDA device memory
  int64_t device_frames_downloaded = 0;  // ... copied to the host for the encoder (once each)
  int64_t device_slot_allocations = 0;
  int64_t convert_ns = 0;                   // spent in those conversions
  int64_t conversion_slot_allocations = 0;  // frame slots allocated to hold their output
  int64_t pool_allocations = 0;             // frame slots + packet buffers
  int64_t frame_slot_allocations = 0, packet_buffer_allocations = 0;
  int64_t frames_failed = 0;
  const char* flush_mode = "none";  // what the last flush did (flush_mode_name)
};

class EncodePipeline {
 public:
  // `target`: what `backend` takes (frame_target).
  EncodePipeline(std::unique_ptr<EncoderBackend> backend, uint32_t generation, Codec codec,
                 transform::FrameTarget target, int max_in_flight, PipelineEvents& events);
  ~EncodePipeline();
  EncodePipeline(const EncodePipeline&) = delete;
  EncodePipeline& operator=(const EncodePipeline&) = delete;

  // Producer side: one caller at a time (the session serialises them).
  bool has_room() const;
  // False when `interrupted` (called about every 100 ms of waiting) said true first.
  bool wait_for_room(const std::function<bool()>& interrupted = {});
  // Copies `view`'s bytes into a pooled slot (a device slot for a CudaDevice view: the
  // caller's memory is free again when this returns) and queues the frame. `plan` starts a
  // generation.
  void push_frame(const FrameView& view, size_t bytes, uint32_t generation,
                  const FrameOptions& options, std::shared_ptr<GenerationPlan> plan);
  // Queues a frame without copying it: `owner` keeps its memory (host, or device planes
  // on `view.device`) alive and unchanged until the frame was prepared or encoded; the
  // view may be of any size (the transform stage scales it). `has_slack`: bytes may be
  // read past the end of the last row (PixelConverter::convert).
  void push_shared(const FrameView& view, std::shared_ptr<const void> owner, bool has_slack,
                   uint32_t generation, const FrameOptions& options,
                   std::shared_ptr<GenerationPlan> plan);
  // Queues a control item; the returned marker completes when it has passed every stage.
  std::shared_ptr<Marker> push_flush();
  std::shared_ptr<Marker> push_drain();
  // Ends the stream, drains, destroys the encoder and joins the threads. Idempotent.
  // False when `interrupted` said true while waiting for the drain: the stream keeps
  // ending in the background, and a later close() waits for it again.
  bool close(const std::function<bool()>& interrupted = {});

  // Consumer side: any thread. Waits until `min_packets` are ready or the session closed,
  // and then: with `timeout_ns` >= 0, at most that long; with no limit (< 0), also not past
  // the point where nothing more can come out (every queued frame encoded and its packets
  // published; an encoder holding frames back releases them only on flush), so a caller
  // that reaps after submitting never waits forever.
  //
  // `interrupted`, when given, is called (on this thread, no lock held) about every 100 ms
  // of waiting; when it returns true the wait ends, nothing is taken (the packets stay for
  // the next call) and `*was_interrupted` is set. The bindings pass Python's signal check,
  // so Ctrl-C ends a long wait at once instead of when it would have ended.
  std::vector<EncodedPacket> take_ready(size_t min_packets = 0, int64_t timeout_ns = -1,
                                        const std::function<bool()>& interrupted = {},
                                        bool* was_interrupted = nullptr);
  void recycle(std::vector<EncodedPacket>&& packets);

  PipelineStats stats() const;
  EncodeStats encoder_stats() const;  // of the encoder running now (or the last one)

 private:
  enum class Kind : uint8_t { Frame, Flush, Drain, Close };
  struct Item {
    Kind kind = Kind::Frame;
    uint32_t generation = 0;
    std::shared_ptr<GenerationPlan> plan;
    std::shared_ptr<Marker> marker;
    ring::AlignedBuffer input;                   // the caller's bytes
    ring::AlignedBuffer converted;               // the prepared frame, when `input` did not fit
    std::unique_ptr<DeviceBuffer> device_input;  // the caller's device bytes, until encoded
    std::shared_ptr<const void> shared;          // a frame queued without a copy (push_shared)
    bool slack = true;                           // `view` may be read past its last row
    size_t bytes = 0;                            // of the caller's frame
    FrameView view;                              // into `input`, `converted` or `device_input`
    FrameOptions options;
  };
  struct Output {
    bool is_marker = false;
    EncodedPacket packet;
    std::shared_ptr<Marker> marker;
    bool closing = false;
  };

  template <typename T>
  struct Link {  // a ring and the two doorbells of its producer and consumer
    explicit Link(size_t capacity) : ring(capacity) {}
    ring::SpscRing<T> ring;
    ring::Doorbell items;  // rung by the producer after a push
    ring::Doorbell room;   // rung by the consumer after a pop
    std::atomic<int64_t> peak{0};
    void push(T&& value);
    T pop();
  };

  void push_control(Kind kind, std::shared_ptr<Marker> marker);
  void transform_loop();
  void encode_loop();
  void reap_loop();
  void encode_frame(Item& item);
  void activate(Item& item);
  void roll_back(Item& item, const GenerationPlan& plan, const std::string& why);
  void emit(std::vector<EncodedPacket>& packets, uint32_t generation);
  void release(Item& item);
  void download(Item& item);
  void download_shared(Item& item);
  // Prepares the frame for `preparer`'s target into a pooled slot unless it fits; true
  // when it converted. Throws when the conversion fails (the item is left as it was).
  bool prepare(transform::FramePreparer& preparer, Item& item);
  void set_running_target(transform::FrameTarget target);  // encode thread
  transform::FrameTarget running_target() const;

  PipelineEvents& events_;
  const Codec codec_;
  const int max_in_flight_;

  ring::FramePool frames_;
  DeviceFramePool device_frames_;
  ring::PacketPool packets_;
  Link<Item> submit_link_;
  Link<Item> encode_link_;
  Link<Output> reap_link_;

  std::atomic<int> in_flight_{0};
  ring::Doorbell in_flight_bell_;
  std::atomic<int64_t> in_flight_peak_{0};
  std::atomic<int64_t> transform_ns_{0}, encode_ns_{0}, reap_ns_{0};
  std::atomic<int64_t> frames_transformed_{0}, frames_reprepared_{0}, frames_failed_{0};
  std::atomic<int64_t> frames_from_device_{0}, device_frames_downloaded_{0};
  std::atomic<int64_t> convert_ns_{0}, conversion_slot_allocations_{0};

  // Encode thread only. Other threads see the encoder's counters through the snapshot
  // below, so telemetry never waits for an encode in progress.
  std::unique_ptr<EncoderBackend> backend_;
  uint32_t generation_;
  void publish_encoder_stats();  // encode thread, after every call into the encoder
  mutable std::mutex stats_mu_;
  EncodeStats retired_stats_;             // of every encoder destroyed so far (stats_mu_)
  EncodeStats live_stats_;                // of the running encoder, as of its last call (stats_mu_)
  const char* last_flush_mode_ = "none";  // flush_mode_name of the last flush (stats_mu_)
  // pts -> generation of the encoder a frame went to: an encoder that holds frames back
  // (frame threads, B-frames) releases them later, and an in-place switch in between must
  // not relabel them.
  std::unordered_map<int64_t, uint32_t> frame_generation_;
  bool broken_ = false;
  transform::FramePreparer encode_preparer_;  // the running encoder's target
  // The running encoder's target, for the transform stage once the plan it last prepared
  // for has resolved (activated: that plan's target; rolled back: the kept one's).
  mutable std::mutex target_mu_;
  transform::FrameTarget running_target_;

  transform::FramePreparer transform_preparer_;  // transform thread only

  // Reap thread -> callers.
  std::mutex ready_mu_;
  std::condition_variable ready_cv_;
  std::deque<EncodedPacket> ready_;
  std::atomic<int64_t> emitted_{0};         // packets pushed by the encode thread
  int64_t published_ = 0;                   // packets in ready_ so far (ready_mu_)
  uint32_t last_published_generation_ = 0;  // reap thread only
  bool finished_ = false;                   // the reap stage has passed the Close item (ready_mu_)

  bool closed_ = false;  // producer side
  std::shared_ptr<Marker> close_marker_;
  bool joined_ = false;
  std::thread transform_thread_, encode_thread_, reap_thread_;
};

}  // namespace videohw
