#include "pipeline/transcode_graph.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "contract/clock.hpp"
#include "contract/errors.hpp"
#include "pipeline/decoded_view.hpp"

namespace videohw::pipeline {

namespace {

constexpr int64_t kReapSliceNs = 20'000'000;  // how long a stage waits before looking up

int64_t frame_duration_ticks(const media::VideoStreamInfo& video, int fps_num, int fps_den) {
  const media::Rational tb = video.time_base;
  if (!tb.valid() || fps_num <= 0 || fps_den <= 0) return 1;
  // One frame in the stream's time base: tb.den * fps_den / (tb.num * fps_num).
  const double ticks = double(tb.den) * fps_den / (double(tb.num) * fps_num);
  return std::max<int64_t>(1, int64_t(std::llround(ticks)));
}

}  // namespace

struct TranscodeGraph::Lane {
  explicit Lane(size_t copied_capacity) : copied(copied_capacity) {}
  int index = 0;
  TranscodeOutput spec;
  std::shared_ptr<EncodeSession> session;
  std::atomic<uint32_t> generation{1};  // the handle the dispatch submits with
  std::unique_ptr<TranscodeSink> sink;
  PulledSink* pulled = nullptr;  // sink, when it is a queue
  CopiedQueue copied;
  std::vector<const TranscodeSwitch*> switches;  // as given
  std::vector<bool> applied;                     // dispatch thread
  std::atomic<bool> frames_done{false};          // the dispatch submitted its last frame
  int width = 0, height = 0;                     // the size the latest config asks for (dispatch)
  // Egress thread.
  double video_seconds = -1.0;  // dts of the last video packet written
  std::atomic<int64_t> packets{0}, bytes{0}, keyframes{0}, frames{0};
  std::atomic<int64_t> submit_wait_ns{0}, mux_ns{0}, switches_done{0};
  std::mutex generations_mu;
  std::map<uint32_t, int64_t> per_generation;
};

TranscodeGraph::TranscodeGraph(std::unique_ptr<media::Demuxer> demuxer,
                               std::shared_ptr<const DecoderProvider> decoder,
                               std::vector<TranscodeOutput> outputs,
                               std::vector<TranscodeSwitch> switches, TranscodeOptions options)
    : TranscodeGraph(
          std::make_unique<DemuxerSource>(std::move(demuxer), options.video_stream, options.range),
          std::move(decoder), std::move(outputs), std::move(switches), options) {}

TranscodeGraph::TranscodeGraph(std::unique_ptr<TranscodeSource> source,
                               std::shared_ptr<const DecoderProvider> decoder,
                               std::vector<TranscodeOutput> outputs,
                               std::vector<TranscodeSwitch> switches, TranscodeOptions options)
    : source_(std::move(source)), options_(std::move(options)), switches_(std::move(switches)) {
  if (!source_) throw Error(ErrorKind::Config, "transcode: no input");
  if (!decoder) throw Error(ErrorKind::Config, "transcode: no decoder");
  if (outputs.empty()) throw Error(ErrorKind::Config, "transcode: no output");
  video_ = source_->video();
  if (!video_.codec)
    throw Error(ErrorKind::Media, source_->name() + ": video stream " +
                                      std::to_string(video_.index) + " is " + video_.codec_name +
                                      ", which no videohw backend decodes (h264, hevc, vp9, av1)");
  time_base_ = video_.time_base.valid() ? double(video_.time_base.num) / video_.time_base.den : 0;
  if ((options_.fps_num > 0) != (options_.fps_den > 0))
    throw Error(ErrorKind::Config, "transcode: a frame rate needs a numerator and a denominator");
  if (options_.fps_num > 0 && !video_.time_base.valid())
    throw Error(ErrorKind::Config, source_->name() +
                                       ": the video stream has no time base, so its frames cannot "
                                       "be placed at another frame rate");
  const CommonEncodeConfig& first = outputs.front().config;
  timeline_ = std::make_unique<TranscodeTimeline>(
      frame_duration_ticks(video_, first.fps_num, first.fps_den));

  std::optional<media::CopiedStream> audio;
  if (options_.audio == AudioMode::Copy) {
    audio = source_->copy_audio();
    if (audio) {
      audio_stream_ = audio->source_index;
      audio_note_ = "copied: " + audio->codec_name;
    } else {
      audio_note_ = "no audio stream";
    }
  } else {
    audio_note_ = "none";
  }

  for (size_t i = 0; i < switches_.size(); ++i) {
    const TranscodeSwitch& s = switches_[i];
    if (s.output < 0 || size_t(s.output) >= outputs.size())
      throw Error(ErrorKind::Config, "transcode: switch " + std::to_string(i) + " names output " +
                                         std::to_string(s.output) + " of " +
                                         std::to_string(outputs.size()));
    if ((s.at_frame < 0) == (s.at_seconds < 0))
      throw Error(ErrorKind::Config, "transcode: switch " + std::to_string(i) +
                                         " needs exactly one of a frame and a time");
    if (!s.provider)
      throw Error(ErrorKind::Config, "transcode: switch " + std::to_string(i) + " has no encoder");
  }

  CommonDecodeConfig decode = options_.decode;
  decode.codec = *video_.codec;
  decode.output = DecodeOutputMode::NativeSurface;
  decode.input_layout = video_.layout;
  decode.extradata =
      video_.layout == EncodedLayout::AnnexB ? std::vector<uint8_t>{} : video_.extradata;
  decode.max_ready_frames = std::max<int64_t>(1, options_.decoded_frames);
  decode.push_ahead_bytes = std::max<int64_t>(1, options_.access_unit_bytes);

  for (TranscodeOutput& output : outputs) {
    if (!output.provider)
      throw Error(ErrorKind::Config, "transcode: output '" + output.path + "' has no encoder");
    auto lane = std::make_unique<Lane>(options_.copied_packets);
    lane->index = int(lanes_.size());
    media::MuxerConfig& m = output.muxer;
    m.codec = output.config.codec;
    m.width = output.config.width;
    m.height = output.config.height;
    m.fps_num = output.config.fps_num;
    m.fps_den = output.config.fps_den;
    if (video_.time_base.valid()) {
      m.time_base_num = video_.time_base.num;
      m.time_base_den = video_.time_base.den;
    }
    if (audio && !output.path.empty()) m.copied_streams = {*audio};
    m.rotation = video_.rotation;
    lane->spec = output;
    lane->width = output.config.width;
    lane->height = output.config.height;
    if (output.path.empty()) {
      auto pulled = std::make_unique<PulledSink>(options_.pulled_packets);
      lane->pulled = pulled.get();
      lane->sink = std::move(pulled);
    } else {
      lane->sink = std::make_unique<MuxerSink>(output.path, m);
    }
    lanes_.push_back(std::move(lane));
  }
  open_sessions(decode, std::move(decoder));
  for (const TranscodeSwitch& s : switches_) lanes_[size_t(s.output)]->switches.push_back(&s);
  for (auto& lane : lanes_) lane->applied.assign(lane->switches.size(), false);
}

TranscodeGraph::~TranscodeGraph() {
  cancel();
  for (std::thread& t : threads_)
    if (t.joinable()) t.join();
  for (auto& lane : lanes_)
    if (lane->sink) lane->sink->abort();
  release_sessions(false);
}

void TranscodeGraph::release_sessions(bool healthy) {
  if (!sessions_) return;
  sessions_->release(healthy);
  sessions_.reset();
}

// The sessions: new ones, or those a worker kept, switched to this file.
void TranscodeGraph::open_sessions(const CommonDecodeConfig& decode,
                                   std::shared_ptr<const DecoderProvider> decoder) {
  if (!options_.sessions) {
    decoder_ = std::make_shared<DecodeSession>(1, decode, std::move(decoder));
    uint64_t id = 1;
    for (auto& lane : lanes_)
      lane->session = std::make_shared<EncodeSession>(id++, lane->spec.config, lane->spec.provider);
    return;
  }
  options_.sessions->acquire();
  sessions_ = options_.sessions;
  // Until every session is switched, a throw leaves them in no known state (released as
  // unhealthy by the destructor, which a throwing constructor does not run).
  try {
    TranscodeSessions& kept = *sessions_;
    if (kept.decoder) {
      kept.decode_generation =
          kept.decoder->switch_to(kept.decode_generation, decode, std::move(decoder));
      kept.counts().decode_switches++;
    } else {
      kept.decoder = std::make_shared<DecodeSession>(1, decode, std::move(decoder));
      kept.decode_generation = 1;
      kept.counts().decode_inits++;
    }
    decoder_ = kept.decoder;
    decode_generation_ = kept.decode_generation;
    for (auto& lane : lanes_) {
      const size_t i = size_t(lane->index);
      if (i < kept.encoders.size()) {
        EncodeSession& session = *kept.encoders[i];
        lane->generation.store(session.begin_stream(session.state().active_generation,
                                                    lane->spec.config, lane->spec.provider));
        kept.counts().encode_restarts++;
      } else {
        kept.encoders.push_back(
            std::make_shared<EncodeSession>(i + 1, lane->spec.config, lane->spec.provider));
        kept.counts().encode_inits++;
      }
      lane->session = kept.encoders[i];
    }
  } catch (...) {
    sessions_->release(false);
    sessions_.reset();
    throw;
  }
}

void TranscodeGraph::start() {
  std::lock_guard<std::mutex> lock(done_mu_);
  if (started_) throw Error(ErrorKind::Config, "transcode: already started");
  started_ = true;
  start_ns_ = monotonic_ns();
  running_ = 2 + int(lanes_.size());
  threads_.emplace_back([this] { ingress(); });
  threads_.emplace_back([this] { dispatch(); });
  for (auto& lane : lanes_) threads_.emplace_back([this, l = lane.get()] { egress(*l); });
}

void TranscodeGraph::mark_finished() {
  std::lock_guard<std::mutex> lock(done_mu_);
  if (--running_ == 0) {
    end_ns_ = monotonic_ns();
    done_cv_.notify_all();
  }
}

bool TranscodeGraph::wait(int64_t timeout_ns) {
  std::unique_lock<std::mutex> lock(done_mu_);
  if (!started_) throw Error(ErrorKind::Config, "transcode: not started");
  const auto done = [this] { return running_ == 0; };
  if (timeout_ns < 0) {
    done_cv_.wait(lock, done);
    return true;
  }
  return done_cv_.wait_for(lock, std::chrono::nanoseconds(timeout_ns), done);
}

void TranscodeGraph::cancel() {
  cancelled_.store(true, std::memory_order_release);
  stop_.store(true, std::memory_order_release);
}

void TranscodeGraph::fail(std::exception_ptr error) {
  {
    std::lock_guard<std::mutex> lock(error_mu_);
    if (!error_) error_ = error;
  }
  stop_.store(true, std::memory_order_release);
}

// ---- ingress ---------------------------------------------------------------------------

void TranscodeGraph::ingress() {
  const auto stop = [this] { return stopped() || enough_.load(std::memory_order_acquire); };
  try {
    media::PacketView packet;
    for (;;) {
      if (stop()) break;
      const int64_t start = monotonic_ns();
      if (!source_->read(packet, stop)) break;
      if (packet.stream == audio_stream_ && audio_stream_ >= 0) {
        copied_read_.fetch_add(1, std::memory_order_relaxed);
        media::CopiedPacket copied = media::copy_packet(packet);
        ingress_ns_.fetch_add(monotonic_ns() - start, std::memory_order_relaxed);
        for (size_t i = 0; i < lanes_.size(); ++i) {
          // A pulled output carries no audio: its queue would fill and hold the ingress.
          if (!lanes_[i]->sink->carries_copied()) continue;
          media::CopiedPacket each = i + 1 < lanes_.size() ? copied : std::move(copied);
          if (!lanes_[i]->copied.push(std::move(each), stop)) break;
        }
        continue;
      }
      packets_read_.fetch_add(1, std::memory_order_relaxed);
      bytes_read_.fetch_add(int64_t(packet.size), std::memory_order_relaxed);
      std::optional<int64_t> pts;
      if (packet.pts != media::kNoTimestamp && video_.timed) pts = packet.pts;
      if (packet.discard && pts) {
        std::lock_guard<std::mutex> lock(discard_mu_);
        discard_pts_.insert(*pts);
      }
      ingress_ns_.fetch_add(monotonic_ns() - start, std::memory_order_relaxed);
      try {
        bool interrupted = false;
        decoder_->push(decode_generation_, packet.data, packet.size, pts, -1, stop, &interrupted);
      } catch (const Error& e) {
        if (e.kind() != ErrorKind::Decode) throw;
        decode_errors_.fetch_add(1, std::memory_order_relaxed);
        last_decode_error_ = e.what();
      }
    }
    std::vector<DecodedFrame> rest;
    if (!stopped()) rest = flush_decoder();
    std::lock_guard<std::mutex> lock(tail_mu_);
    tail_ = std::move(rest);
    input_ended_ = true;
  } catch (...) {
    fail(std::current_exception());
    std::lock_guard<std::mutex> lock(tail_mu_);
    input_ended_ = true;
  }
  mark_finished();
}

// The decoder's last pictures. Its ready queue may be full while the dispatch is still
// busy: the flush then says Backpressure with nothing lost, and is asked again.
std::vector<DecodedFrame> TranscodeGraph::flush_decoder() {
  for (;;) {
    try {
      return decoder_->flush(decode_generation_);
    } catch (const Error& e) {
      if (e.kind() == ErrorKind::Backpressure) {
        if (stopped()) return {};
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        continue;
      }
      if (e.kind() != ErrorKind::Decode) throw;
      decode_errors_.fetch_add(1, std::memory_order_relaxed);
      last_decode_error_ = e.what();
      return {};
    }
  }
}

// ---- dispatch --------------------------------------------------------------------------

void TranscodeGraph::dispatch() {
  const auto stop = [this] { return stopped(); };
  try {
    for (;;) {
      if (stopped()) break;
      bool interrupted = false;
      std::vector<DecodedFrame> frames =
          decoder_->reap(decode_generation_, 1, kReapSliceNs, stop, &interrupted);
      if (frames.empty()) {
        bool ended = false;
        {
          std::lock_guard<std::mutex> lock(tail_mu_);
          if (input_ended_) {
            ended = true;
            frames = std::move(tail_);
            tail_.clear();
          }
        }
        if (!ended) continue;
        for (DecodedFrame& frame : frames) {
          if (stopped()) break;
          dispatch_frame(frame);
        }
        if (!stopped()) flush_rate();
        break;
      }
      for (DecodedFrame& frame : frames) {
        if (stopped()) break;
        dispatch_frame(frame);
      }
    }
    if (!stopped() && frames_dispatched_.load() == 0)
      throw Error(
          ErrorKind::Decode,
          source_->name() + ": no picture could be decoded from the video stream" +
              (last_decode_error_.empty() ? std::string() : " (" + last_decode_error_ + ")"));
  } catch (...) {
    fail(std::current_exception());
  }
  for (auto& lane : lanes_) lane->frames_done.store(true, std::memory_order_release);
  mark_finished();
}

void TranscodeGraph::dispatch_frame(DecodedFrame& frame) {
  frames_decoded_.fetch_add(1, std::memory_order_relaxed);
  if (frame.pts && !options_.range.whole()) {
    const SourceRange& r = options_.range;
    if ((r.start_pts != media::kNoTimestamp && *frame.pts < r.start_pts) ||
        (r.end_pts != media::kNoTimestamp && *frame.pts >= r.end_pts)) {
      frames_discarded_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
  }
  if (frame.pts) {
    std::lock_guard<std::mutex> lock(discard_mu_);
    if (discard_pts_.erase(*frame.pts)) {
      frames_discarded_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
  }
  if (options_.fps_num <= 0) {
    emit(frame, frame.pts);
    return;
  }
  if (!frame.pts) {
    // Without a time the frame cannot be placed: the next slot takes it.
    frame.pts = origin_pts_ ? pts_of_slot(next_slot_) : 0;
  }
  if (!origin_pts_) origin_pts_ = *frame.pts;
  const int64_t slot = std::max<int64_t>(0, slot_of(*frame.pts));
  if (held_) {
    // Slots before the new frame's show the frame held until now.
    for (int64_t k = next_slot_; k < slot && !stopped(); ++k) {
      if (held_shown_) frames_repeated_++;
      emit(*held_, pts_of_slot(k));
      held_shown_ = true;
      next_slot_ = k + 1;
    }
    if (!held_shown_) frames_dropped_++;
  }
  held_ = std::move(frame);
  held_slot_ = slot;
  held_shown_ = false;
}

int64_t TranscodeGraph::slot_of(int64_t pts) const {
  const double seconds = double(pts - *origin_pts_) * time_base_;
  return std::llround(seconds * options_.fps_num / options_.fps_den);
}

int64_t TranscodeGraph::pts_of_slot(int64_t slot) const {
  const double seconds = double(slot) * options_.fps_den / options_.fps_num;
  return *origin_pts_ + std::llround(seconds / time_base_);
}

void TranscodeGraph::flush_rate() {
  if (!held_) return;
  // The last frame lasts one source frame: the slots up to that end show it.
  const media::Rational rate = video_.avg_frame_rate.valid()
                                   ? video_.avg_frame_rate
                                   : media::Rational{options_.fps_num, options_.fps_den};
  const double end = (double(*held_->pts - *origin_pts_) * time_base_ + 1.0 / rate.value()) *
                     options_.fps_num / options_.fps_den;
  const int64_t last = std::max<int64_t>(0, int64_t(std::ceil(end - 1e-6)) - 1);
  if (last < next_slot_) frames_dropped_++;
  for (int64_t k = next_slot_; k <= last && !stopped(); ++k) {
    if (held_shown_) frames_repeated_++;
    emit(*held_, pts_of_slot(k));
    held_shown_ = true;
    next_slot_ = k + 1;
  }
  held_.reset();
}

void TranscodeGraph::emit(const DecodedFrame& frame, std::optional<int64_t> source_pts) {
  if (options_.max_frames >= 0 && frames_dispatched_.load() >= options_.max_frames) {
    enough_.store(true, std::memory_order_release);
    return;
  }
  const int64_t start = monotonic_ns();
  const FrameView view = encoder_view(frame);
  const int64_t tick = timeline_->add(source_pts);
  const int64_t pts = timeline_->pts_of(tick);
  last_pts_.store(pts, std::memory_order_relaxed);
  // Switch times count from the first frame (a TS may start at 1.4 s, or at 26 hours).
  const double seconds = double(pts - timeline_->pts_of(0)) * time_base_;
  FrameOptions options;
  options.pts = tick;
  const auto stop = [this] { return stopped(); };
  for (auto& lane : lanes_) apply_switches(*lane, tick, seconds);
  const std::vector<Prepared> prepared = prepare_for_outputs(view, frame.owner);
  int64_t waited = 0;
  for (auto& lane : lanes_) {
    const Prepared& input = prepared[size_t(lane->index)];
    bool interrupted = false;
    const int64_t before = monotonic_ns();
    lane->session->submit_shared(lane->generation.load(), input.view, input.owner,
                                 /*has_slack=*/false, options, /*block=*/true, stop, &interrupted);
    const int64_t spent = monotonic_ns() - before;
    lane->submit_wait_ns.fetch_add(spent, std::memory_order_relaxed);
    waited += spent;
    if (interrupted) return;
    lane->frames.fetch_add(1, std::memory_order_relaxed);
  }
  frames_dispatched_.fetch_add(1, std::memory_order_relaxed);
  dispatch_ns_.fetch_add(monotonic_ns() - start - waited, std::memory_order_relaxed);
}

std::vector<TranscodeGraph::Prepared> TranscodeGraph::prepare_for_outputs(
    const FrameView& view, const std::shared_ptr<const void>& owner) {
  std::vector<Prepared> out(lanes_.size(), Prepared{view, owner});
  if (view.memory != FrameMemory::CudaDevice) return out;
  frames_on_device_.store(true, std::memory_order_relaxed);
  if (!options_.gpu_transform || view.format != PixelFormat::NV12) return out;
  for (size_t i = 0; i < lanes_.size(); ++i) {
    const Lane& lane = *lanes_[i];
    if (lane.width == view.width && lane.height == view.height) continue;
    // Outputs of one size share one scaled copy.
    bool shared = false;
    for (size_t j = 0; j < i && !shared; ++j)
      if (lanes_[j]->width == lane.width && lanes_[j]->height == lane.height &&
          out[j].view.planes[0] != view.planes[0]) {
        out[i] = out[j];
        shared = true;
      }
    if (shared) continue;
    if (!resizer_tried_) {
      resizer_tried_ = true;
      std::string why;
      resizer_ = make_device_resizer(view.device, &why);
      if (!resizer_) transform_note_ = why;
    }
    if (!resizer_) return out;
    out[i].view = resizer_->resize_nv12(view, lane.width, lane.height, out[i].owner);
    gpu_resizes_.fetch_add(1, std::memory_order_relaxed);
  }
  return out;
}

// Switches are applied as they fall due, each once; several due at one frame go in the
// order they were given.
void TranscodeGraph::apply_switches(Lane& lane, int64_t tick, double seconds) {
  for (size_t i = 0; i < lane.switches.size(); ++i) {
    if (lane.applied[i]) continue;
    const TranscodeSwitch& s = *lane.switches[i];
    const bool due = s.at_frame >= 0 ? tick >= s.at_frame : seconds >= s.at_seconds;
    if (!due) continue;
    bool interrupted = false;
    const uint32_t generation = lane.session->switch_to(
        lane.generation.load(), s.config, s.provider, s.mode, s.force_idr,
        [this] { return stopped(); }, &interrupted);
    if (interrupted) return;
    lane.generation.store(generation, std::memory_order_release);
    lane.width = s.config.width;
    lane.height = s.config.height;
    lane.switches_done.fetch_add(1, std::memory_order_relaxed);
    lane.applied[i] = true;
  }
}

// ---- egress ----------------------------------------------------------------------------

void TranscodeGraph::write_video(Lane& lane, std::vector<EncodedPacket>& packets) {
  if (packets.empty()) return;
  const int64_t start = monotonic_ns();
  for (EncodedPacket& packet : packets) {
    const int64_t bytes = int64_t(packet.data.size());
    const uint32_t generation = packet.generation;
    const bool key = packet.is_keyframe;
    packet.pts = timeline_->pts_of(packet.pts);
    packet.dts = timeline_->pts_of(packet.dts);
    const double dts_seconds = double(packet.dts) * time_base_;
    if (!lane.sink->write(std::move(packet), [this] { return stopped(); })) return;
    lane.video_seconds = dts_seconds;
    lane.packets.fetch_add(1, std::memory_order_relaxed);
    lane.bytes.fetch_add(bytes, std::memory_order_relaxed);
    if (key) lane.keyframes.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard<std::mutex> lock(lane.generations_mu);
    lane.per_generation[generation]++;
  }
  lane.session->recycle(std::move(packets));
  packets.clear();
  lane.mux_ns.fetch_add(monotonic_ns() - start, std::memory_order_relaxed);
}

void TranscodeGraph::write_copied(Lane& lane, bool all) {
  if (!lane.sink->carries_copied()) return;
  const media::Rational tb = lane.sink->copied_time_base();
  const double seconds_per_tick = tb.valid() ? double(tb.num) / tb.den : 0.0;
  const double video = lane.video_seconds;
  // Up to the video's time, so the container interleaves them closely; a queue half full
  // goes out anyway (the container's own interleaving queue orders what comes early).
  const auto take = [&](const media::CopiedPacket& p, size_t size, size_t capacity) {
    if (all || size * 2 >= capacity) return true;
    const int64_t t = p.dts != INT64_MIN ? p.dts : p.pts;
    return video >= 0 && (t == INT64_MIN || double(t) * seconds_per_tick <= video);
  };
  const int64_t start = monotonic_ns();
  while (auto packet = lane.copied.pop_if(take)) lane.sink->write_copied(std::move(*packet));
  lane.mux_ns.fetch_add(monotonic_ns() - start, std::memory_order_relaxed);
}

void TranscodeGraph::egress(Lane& lane) {
  try {
    const auto stop = [this] { return stopped(); };
    for (;;) {
      if (stopped()) break;
      const bool done = lane.frames_done.load(std::memory_order_acquire);
      const uint32_t generation = lane.session->state().active_generation;
      std::vector<EncodedPacket> packets;
      bool interrupted = false;
      try {
        packets = lane.session->reap(generation, done ? 0 : 1, done ? 0 : kReapSliceNs, stop,
                                     &interrupted);
      } catch (const Error& e) {
        if (e.kind() == ErrorKind::StaleSession) continue;  // a switch just activated
        throw;
      }
      write_video(lane, packets);
      write_copied(lane, false);
      if (!done) continue;
      // Every frame is submitted: what the encoder still holds, then the session ends.
      const uint32_t last = lane.session->state().active_generation;
      std::vector<EncodedPacket> rest = lane.session->flush(last, stop, &interrupted);
      if (interrupted) break;
      write_video(lane, rest);
      if (!sessions_) {
        rest = lane.session->close(lane.session->state().active_generation, stop, &interrupted);
        if (interrupted) break;
        write_video(lane, rest);
      }
      // The copied packets still queued: the ingress has ended (the dispatch ended after it).
      write_copied(lane, true);
      lane.sink->complete();
      break;
    }
  } catch (...) {
    fail(std::current_exception());
  }
  mark_finished();
}

// ---- results ---------------------------------------------------------------------------

PulledSink* TranscodeGraph::pulled(int index) const {
  if (index < 0 || size_t(index) >= lanes_.size()) return nullptr;
  return lanes_[size_t(index)]->pulled;
}

TranscodeProgress TranscodeGraph::progress() const {
  TranscodeProgress p;
  p.packets_read = packets_read_.load();
  p.bytes_read = bytes_read_.load();
  p.copied_read = copied_read_.load();
  p.frames_decoded = frames_decoded_.load();
  p.frames_discarded = frames_discarded_.load();
  p.frames_dispatched = frames_dispatched_.load();
  p.seconds_done = double(last_pts_.load()) * time_base_;
  if (video_.start_pts) p.seconds_done -= double(*video_.start_pts) * time_base_;
  p.duration_seconds = source_->duration_seconds();
  for (const auto& lane : lanes_) p.packets_out.push_back(lane->packets.load());
  std::lock_guard<std::mutex> lock(done_mu_);
  p.finished = started_ && running_ == 0;
  return p;
}

TranscodeReport TranscodeGraph::finish() {
  {
    std::lock_guard<std::mutex> lock(done_mu_);
    if (!started_) throw Error(ErrorKind::Config, "transcode: not started");
    if (finished_) throw Error(ErrorKind::Config, "transcode: finish() was called already");
    finished_ = true;
  }
  for (std::thread& t : threads_)
    if (t.joinable()) t.join();
  std::exception_ptr error;
  {
    std::lock_guard<std::mutex> lock(error_mu_);
    error = error_;
  }
  if (!error && cancelled_.load()) {
    try {
      throw Error(ErrorKind::Generic, "transcode cancelled; no output was kept");
    } catch (...) {
      error = std::current_exception();
    }
  }
  if (error) {
    for (auto& lane : lanes_) {
      lane->sink->abort();
      try {
        bool interrupted = false;
        lane->session->close(lane->session->state().active_generation, {}, &interrupted);
      } catch (const std::exception&) {
        // Already failing: the first error is the one reported.
      }
    }
    try {
      decoder_->close(decode_generation_);
    } catch (const std::exception&) {
    }
    release_sessions(false);
    std::rethrow_exception(error);
  }

  TranscodeReport report;
  for (auto& lane : lanes_) {
    TranscodeOutputReport r;
    r.path = lane->spec.path;
    r.files = lane->sink->close();
    r.frames = lane->frames.load();
    r.packets = lane->packets.load();
    r.bytes = lane->bytes.load();
    r.keyframes = lane->keyframes.load();
    {
      std::lock_guard<std::mutex> lock(lane->generations_mu);
      r.packets_per_generation = lane->per_generation;
    }
    r.copied_packets = lane->sink->copied_written();
    r.copied_dropped = lane->sink->copied_dropped();
    r.copied_queue_peak = int64_t(lane->copied.peak());
    r.switches = lane->switches_done.load();
    r.submit_wait_ns = lane->submit_wait_ns.load();
    r.mux_ns = lane->mux_ns.load();
    r.encode = lane->session->telemetry();
    report.outputs.push_back(std::move(r));
  }
  report.decode = decoder_->telemetry();
  if (sessions_)
    release_sessions(true);  // kept for the next file: flushed, not closed
  else
    decoder_->close(decode_generation_);
  report.progress = progress();
  report.decode_errors = decode_errors_.load();
  report.last_decode_error = last_decode_error_;
  report.input_warning = source_->warning();
  const int64_t read = packets_read_.load();
  if (report.input_warning.empty() && !enough_.load() && options_.range.whole() &&
      video_.frame_count > 0 && read < video_.frame_count)
    report.input_warning = "the container lists " + std::to_string(video_.frame_count) +
                           " video packets; " + std::to_string(read) +
                           " could be read (a truncated file?)";
  report.timestamps_repaired = timeline_->repaired();
  report.frames_repeated = frames_repeated_;
  report.frames_dropped = frames_dropped_;
  report.ingress_ns = ingress_ns_.load();
  report.dispatch_ns = dispatch_ns_.load();
  report.wall_ns = end_ns_ - start_ns_;
  report.audio = audio_note_;
  report.gpu_resizes = gpu_resizes_.load();
  if (!frames_on_device_.load())
    report.transform = "cpu";
  else if (report.gpu_resizes > 0)
    report.transform = "gpu";
  else if (!options_.gpu_transform)
    report.transform = "cpu (gpu_transform off)";
  else
    report.transform = transform_note_.empty() ? "cpu" : "cpu (" + transform_note_ + ")";
  return report;
}

}  // namespace videohw::pipeline
