// The transcode graph: demux -> decode -> dispatch (the transform feed) -> encode, one or
// several outputs -> mux, each stage on its own thread.
//
//   ingress   demuxer packets; video pushed to the decode session (its input queue, bounded
//             by access_unit_bytes), copied streams (audio) queued for every output
//   decode    the decode session's own stage thread; decoded frames wait in its ready queue
//             (bounded by decoded_frames)
//   dispatch  reaps decoded frames, numbers them on the timeline, applies due switches, and
//             hands each frame to every output's encode session without a copy (the
//             session's transform stage scales and converts it; the decoded picture is
//             shared by all outputs and released when the last one has prepared it)
//   encode    per output: the encode session's transform, encode and reap threads (frames
//             in flight bounded by the encoder provider's max_in_flight)
//   egress    per output: reaps packets, restores source timestamps, muxes them with the
//             copied packets, and finishes the file
//
// Backpressure: every queue is bounded and every producer waits for room; nothing is
// dropped. The slowest output holds the dispatch, which holds the decoder, which holds
// the demuxer.
//
// Failure and cancel: the first error of any stage (or cancel()) stops every stage;
// finish() then removes every output (no partial file under a requested name) and
// throws. Decode errors in the input are counted and the transcode goes on (the ffmpeg
// tool does the same); damaged pictures are encoded and counted.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "backend/decoder_backend.hpp"
#include "backend/device_resizer.hpp"
#include "backend/encoder_provider.hpp"
#include "backend/telemetry.hpp"
#include "media/demuxer.hpp"
#include "media/muxer.hpp"
#include "pipeline/copied_queue.hpp"
#include "pipeline/transcode_sessions.hpp"
#include "pipeline/transcode_sink.hpp"
#include "pipeline/transcode_source.hpp"
#include "pipeline/transcode_timeline.hpp"
#include "session/decode_session.hpp"
#include "session/encode_session.hpp"

namespace videohw::pipeline {

struct TranscodeOutput {
  std::string path;  // "" with a pushed source: packets are pulled (pulled_packets())
  CommonEncodeConfig config;
  std::shared_ptr<const EncoderProvider> provider;
  // Container choice and options; codec, size, frame rate, time base and copied streams
  // are filled in by the graph.
  media::MuxerConfig muxer;
};

// A change of one output's encoder at a point of the source: the first frame at or after
// `at_frame` (display order, from 0) or `at_seconds` (source time), whichever is given.
struct TranscodeSwitch {
  int output = 0;
  int64_t at_frame = -1;
  double at_seconds = -1.0;
  CommonEncodeConfig config;
  std::shared_ptr<const EncoderProvider> provider;
  SwitchMode mode = SwitchMode::OnNextKeyframe;
  bool force_idr = true;
};

enum class AudioMode { None, Copy };

struct TranscodeOptions {
  int video_stream = -1;  // -1: the container's best
  AudioMode audio = AudioMode::Copy;
  int64_t max_frames = -1;  // -1: every frame
  // Queue bounds: demuxed bytes the decoder has not taken yet, decoded frames not yet
  // dispatched, copied packets waiting per output (docs/transcode.md).
  int64_t access_unit_bytes = int64_t(1) << 20;
  int64_t decoded_frames = 8;
  size_t copied_packets = 512;
  size_t pulled_packets = 128;  // packets waiting to be pulled per output (no path)
  CommonDecodeConfig decode;    // codec, layout and output are set by the graph
  // Decoded frames in GPU memory are scaled on the GPU (backend/device_resizer.hpp) for
  // outputs of another size; false: each output's transform stage copies them to the host
  // and scales them there.
  bool gpu_transform = true;
  // Output frame rate: each output frame slot k (at the first frame's time + k / rate) shows
  // the latest source frame at or before it, so frames are repeated or dropped to the rate
  // (the ffmpeg tool's -r with -vsync cfr). 0/0: the source's frames and times as they are.
  int fps_num = 0, fps_den = 0;
  // Sessions kept from an earlier transcode and left for the next (pipeline/
  // transcode_sessions.hpp); null: this graph's own, closed when it ends.
  std::shared_ptr<TranscodeSessions> sessions;
  // A piece of the input (DemuxerSource); pictures outside [start_pts, end_pts) are decoded
  // for reference and not shown.
  SourceRange range;
};

struct TranscodeOutputReport {
  std::string path;
  std::vector<std::string> files;  // final paths, a segment each
  int64_t frames = 0, packets = 0, bytes = 0, keyframes = 0;
  std::map<uint32_t, int64_t> packets_per_generation;
  int64_t copied_packets = 0, copied_dropped = 0;
  int64_t copied_queue_peak = 0;  // audio packets waiting for this output, at most
  int64_t switches = 0;
  int64_t submit_wait_ns = 0;  // the dispatch waited for this output's room
  int64_t mux_ns = 0;
  TelemetryMap encode;
};

struct TranscodeProgress {
  int64_t packets_read = 0, bytes_read = 0, copied_read = 0;
  int64_t frames_decoded = 0, frames_discarded = 0, frames_dispatched = 0;
  double seconds_done = 0.0;      // source time of the last frame dispatched
  double duration_seconds = 0.0;  // of the source; 0 when unknown
  std::vector<int64_t> packets_out;
  bool finished = false;
};

struct TranscodeReport {
  std::vector<TranscodeOutputReport> outputs;
  TranscodeProgress progress;
  TelemetryMap decode;
  int64_t decode_errors = 0;
  std::string last_decode_error;
  std::string input_warning;  // the demuxer's complaint about a damaged input, if any
  int64_t timestamps_repaired = 0;
  int64_t frames_repeated = 0, frames_dropped = 0;  // by the frame-rate change
  int64_t ingress_ns = 0, dispatch_ns = 0, wall_ns = 0;
  std::string audio;      // "copied: aac", "none", "no audio stream"
  std::string transform;  // where frames were scaled: "cpu", "gpu", "cpu (why not the gpu)"
  int64_t gpu_resizes = 0;
};

class TranscodeGraph {
 public:
  // Opens every output (a folder that cannot be written fails here) and the sessions.
  // Throws Error(Config) for a bad output or switch, Error(Media) for a video stream no
  // backend decodes, and the backends' errors when a session cannot start.
  TranscodeGraph(std::unique_ptr<media::Demuxer> demuxer,
                 std::shared_ptr<const DecoderProvider> decoder,
                 std::vector<TranscodeOutput> outputs, std::vector<TranscodeSwitch> switches,
                 TranscodeOptions options);
  // Any source; an output without a path is pulled (pulled()).
  TranscodeGraph(std::unique_ptr<TranscodeSource> source,
                 std::shared_ptr<const DecoderProvider> decoder,
                 std::vector<TranscodeOutput> outputs, std::vector<TranscodeSwitch> switches,
                 TranscodeOptions options);
  // Cancels and joins; outputs not finished are removed.
  ~TranscodeGraph();
  TranscodeGraph(const TranscodeGraph&) = delete;
  TranscodeGraph& operator=(const TranscodeGraph&) = delete;

  void start();
  // Waits up to `timeout_ns` (< 0: no limit) for every stage to end; true when they have.
  bool wait(int64_t timeout_ns);
  // Stops every stage soon; finish() then throws Error(Generic) "cancelled".
  void cancel();
  // Joins the stages, finishes every output and reports. Throws the first stage error
  // (outputs removed). Once only.
  TranscodeReport finish();
  TranscodeProgress progress() const;
  // Whether the stages are stopping or stopped (an error, cancel()): a pushed source's
  // queue is no longer drained.
  bool stopping() const { return stop_.load(std::memory_order_acquire); }
  // The queue of output `index` when it has no path, else null.
  PulledSink* pulled(int index) const;
  // The source, for a caller that pushes into it.
  TranscodeSource& source() const { return *source_; }

 private:
  struct Lane;

  void ingress();
  void dispatch();
  void egress(Lane& lane);
  void fail(std::exception_ptr error);
  bool stopped() const { return stop_.load(std::memory_order_acquire); }
  void dispatch_frame(DecodedFrame& frame);
  // One output frame: `frame` at source time `pts` (the timeline's next tick).
  void emit(const DecodedFrame& frame, std::optional<int64_t> pts);
  // Frame-rate change: the slot of source time `pts`, and the output time of a slot.
  int64_t slot_of(int64_t pts) const;
  int64_t pts_of_slot(int64_t slot) const;
  // The frame held for its slots, at the end of the input.
  void flush_rate();
  // The frame each output gets: `view` itself, or a GPU-scaled copy of a device frame.
  struct Prepared {
    FrameView view;
    std::shared_ptr<const void> owner;
  };
  std::vector<Prepared> prepare_for_outputs(const FrameView& view,
                                            const std::shared_ptr<const void>& owner);
  void apply_switches(Lane& lane, int64_t tick, double seconds);
  void write_video(Lane& lane, std::vector<EncodedPacket>& packets);
  // Copied packets up to the video's time (all of them with `all`).
  void write_copied(Lane& lane, bool all);
  std::vector<DecodedFrame> flush_decoder();
  void mark_finished();

  std::unique_ptr<TranscodeSource> source_;
  TranscodeOptions options_;
  media::VideoStreamInfo video_;
  double time_base_ = 0.0;  // seconds per source tick
  int audio_stream_ = -1;
  std::string audio_note_;
  void open_sessions(const CommonDecodeConfig& decode,
                     std::shared_ptr<const DecoderProvider> decoder);
  std::shared_ptr<TranscodeSessions> sessions_;  // options_.sessions, while this graph holds them
  // Gives the kept sessions back (at finish(), or in the destructor when it never ran).
  void release_sessions(bool healthy);
  std::shared_ptr<DecodeSession> decoder_;
  uint32_t decode_generation_ = 1;
  std::vector<std::unique_ptr<Lane>> lanes_;
  std::vector<TranscodeSwitch> switches_;
  // Dispatch thread: the GPU resizer, made at the first device frame that needs one.
  std::unique_ptr<DeviceResizer> resizer_;
  bool resizer_tried_ = false;
  std::string transform_note_;
  std::atomic<int64_t> gpu_resizes_{0};
  std::atomic<bool> frames_on_device_{false};
  // Dispatch thread: the frame-rate change's state.
  std::optional<DecodedFrame> held_;  // the latest frame, not yet shown in its own slot
  int64_t held_slot_ = 0, next_slot_ = 0;
  bool held_shown_ = false;
  std::optional<int64_t> origin_pts_;  // the first frame's source time
  int64_t frames_repeated_ = 0, frames_dropped_ = 0;
  std::unique_ptr<TranscodeTimeline> timeline_;  // set once the frame rate is known

  std::atomic<bool> stop_{false}, cancelled_{false}, enough_{false};
  std::mutex error_mu_;
  std::exception_ptr error_;

  // Ingress -> dispatch at the end of the input: the decoder's last frames.
  std::mutex tail_mu_;
  std::vector<DecodedFrame> tail_;
  bool input_ended_ = false;
  std::mutex discard_mu_;
  std::set<int64_t> discard_pts_;  // pictures the container says to decode but not show

  std::atomic<int64_t> packets_read_{0}, bytes_read_{0}, copied_read_{0};
  std::atomic<int64_t> frames_decoded_{0}, frames_discarded_{0}, frames_dispatched_{0};
  std::atomic<int64_t> last_pts_{0};
  std::atomic<int64_t> decode_errors_{0};
  std::string last_decode_error_;  // ingress thread until joined
  std::atomic<int64_t> ingress_ns_{0}, dispatch_ns_{0};
  int64_t start_ns_ = 0, end_ns_ = 0;

  mutable std::mutex done_mu_;
  std::condition_variable done_cv_;
  int running_ = 0;
  bool started_ = false, finished_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace videohw::pipeline
