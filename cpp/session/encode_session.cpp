#include "session/encode_session.hpp"

#include <limits>

#include <algorithm>

#include "contract/errors.hpp"
#include "contract/frame_layout.hpp"
#include "contract/validate.hpp"

namespace videohw {

const char* to_string(SessionState state) {
  switch (state) {
    case SessionState::Running:
      return "running";
    case SessionState::SwitchPending:
      return "switch_pending";
    case SessionState::Closed:
      return "closed";
  }
  return "unknown";
}

EncodeSession::EncodeSession(uint64_t id, const CommonEncodeConfig& config,
                             std::shared_ptr<const EncoderProvider> provider)
    : id_(id),
      backend_name_(provider->name()),
      provider_(std::move(provider)),
      active_config_(config),
      running_config_(config),
      running_provider_(provider_) {
  // Checked against the capabilities before the backend is touched.
  negotiate(provider_->capabilities(config.codec), config, provider_->config_problems(config));
  const int64_t start = monotonic_ns();
  auto backend = provider_->create(config);
  init_ns_ = monotonic_ns() - start;
  pipeline_ = std::make_unique<EncodePipeline>(
      std::move(backend), 1, config.codec, frame_target(*provider_, config),
      provider_->max_in_flight(), static_cast<PipelineEvents&>(*this));
  std::lock_guard<std::mutex> lock(api_mu_);
  publish_state();
}

EncodeSession::~EncodeSession() {
  // A session dropped without close still ends its stream before the encoder goes away.
  pipeline_->close();
}

// ---- handles and events -----------------------------------------------------------------

void EncodeSession::check_handle(uint32_t generation, bool closing) const {
  if (closed_.load())
    throw Error(ErrorKind::SessionClosed, "encode session " + std::to_string(id_) + " is closed");
  if (closing_.load() && !closing)
    throw Error(ErrorKind::SessionClosed, "encode session " + std::to_string(id_) +
                                              " is closing (its close was interrupted); call "
                                              "close again to finish it");
  {
    std::lock_guard<std::mutex> lock(events_mu_);
    if (auto it = failed_generations_.find(generation); it != failed_generations_.end())
      throw Error(ErrorKind::Switch,
                  "generation " + std::to_string(generation) + " of encode session " +
                      std::to_string(id_) + " did not activate (" + it->second +
                      "); the session rolled back to generation " +
                      std::to_string(active_generation_.load()) + ": use that handle");
    if (!failure_.empty() && !closing)
      throw Error(ErrorKind::Encode,
                  "encode session " + std::to_string(id_) + " failed: " + failure_);
  }
  const uint32_t active = active_generation_.load(), pending = pending_generation_.load();
  if (generation == active || (pending && generation == pending)) return;
  throw Error(ErrorKind::StaleSession,
              "handle (id=" + std::to_string(id_) + ", generation=" + std::to_string(generation) +
                  ") is stale; the active generation is " + std::to_string(active) +
                  (pending ? " and generation " + std::to_string(pending) + " is pending" : ""));
}

void EncodeSession::on_activated(const GenerationPlan& plan, int64_t activation_ns, bool in_place) {
  std::lock_guard<std::mutex> lock(events_mu_);
  switches_.activation_ns = activation_ns - plan.request_ns;
  activation_times_[plan.generation] = activation_ns;
  running_config_ = plan.config;
  running_provider_ = plan.provider;
  if (in_place != plan.in_place) {
    // An earlier activation rolled back and the fallback path was taken: count what ran.
    (plan.in_place ? switches_.in_place : switches_.new_session)--;
    (in_place ? switches_.in_place : switches_.new_session)++;
  }
}

void EncodeSession::on_rollback(const GenerationPlan& plan, uint32_t kept,
                                const std::string& reason) {
  std::lock_guard<std::mutex> lock(events_mu_);
  const std::string text =
      "activation of generation " + std::to_string(plan.generation) + " failed: " + reason;
  failed_generations_[plan.generation] = reason;
  switches_.failures++;
  switches_.fail_reason = text;
  rollbacks_.push_back(Rollback{plan.generation, kept, running_config_, running_provider_});
  uint32_t expected = plan.generation;
  active_generation_.compare_exchange_strong(expected, kept);
  // A caller asking state() now must be told the kept generation's size, even before its
  // next call lets the submit side absorb the rollback.
  std::lock_guard<std::mutex> state_lock(state_mu_);
  if (published_size_generation_ == plan.generation) {
    published_.width = running_config_.width;
    published_.height = running_config_.height;
    published_.codec = running_config_.codec;
    published_size_generation_ = kept;
  }
}

void EncodeSession::on_first_packet(uint32_t generation, int64_t when_ns) {
  std::lock_guard<std::mutex> lock(events_mu_);
  if (auto it = activation_times_.find(generation); it != activation_times_.end()) {
    switches_.first_packet_ns = when_ns - it->second;
    activation_times_.erase(it);
  }
}

void EncodeSession::on_failure(const std::string& reason) {
  std::lock_guard<std::mutex> lock(events_mu_);
  if (failure_.empty()) failure_ = reason;
}

void EncodeSession::record_switch_failure(const std::string& reason) {
  std::lock_guard<std::mutex> lock(events_mu_);
  switches_.failures++;
  switches_.fail_reason = reason;
}

void EncodeSession::absorb_events() {
  std::lock_guard<std::mutex> lock(events_mu_);
  absorb_events_locked();
}

void EncodeSession::absorb_events_locked() {
  for (const Rollback& r : rollbacks_) {
    if (active_config_generation_ != r.failed) continue;  // the caller has moved on since
    // Frames go to the kept generation again (the rolled-back frame was a keyframe of it).
    active_config_ = r.kept_config;
    active_config_generation_ = r.kept;
    provider_ = r.kept_provider;
  }
  rollbacks_.clear();
  unresolved_.erase(std::remove_if(unresolved_.begin(), unresolved_.end(),
                                   [](const std::shared_ptr<GenerationPlan>& p) {
                                     return p->resolved.load(std::memory_order_acquire);
                                   }),
                    unresolved_.end());
}

// ---- keyframes --------------------------------------------------------------------------

// The contract's rule: frame 0, forced frames, and gop_length frames after the previous
// keyframe; the encoder follows it exactly (scene cuts off, fixed GOP).
bool EncodeSession::keyframe_next(bool forced) const {
  return forced || keyframe_due_ || gop_position_ + 1 >= active_config_.gop_length;
}

void EncodeSession::publish_state() {
  // Under events_mu_, so a rollback lands either before (absorbed here) or after (then
  // on_rollback corrects what is published).
  std::lock_guard<std::mutex> events(events_mu_);
  absorb_events_locked();
  uint32_t size_generation = active_config_generation_;
  SessionStateInfo s;
  s.state = closed_ ? SessionState::Closed
                    : (pending_generation_ ? SessionState::SwitchPending : SessionState::Running);
  s.active_generation = active_generation_.load();
  s.config_generation = config_generation_.load();
  s.next_generation = next_generation_;
  s.pending_generation = pending_generation_.load();
  s.codec = active_config_.codec;
  s.backend = backend_name_;
  s.width = active_config_.width;
  s.height = active_config_.height;
  if (pending_) {
    s.pending_mode = to_string(pending_->mode);
    s.pending_width = pending_->config.width;
    s.pending_height = pending_->config.height;
    s.next_frame_activates = pending_->mode != SwitchMode::OnNextKeyframe || keyframe_next(false);
    if (s.next_frame_activates) {
      s.width = pending_->config.width;
      s.height = pending_->config.height;
      s.codec = pending_->config.codec;
      size_generation = pending_->generation;
    }
  }
  std::lock_guard<std::mutex> lock(state_mu_);
  published_ = s;
  published_size_generation_ = size_generation;
}

// ---- calls ------------------------------------------------------------------------------

void EncodeSession::submit(uint32_t generation, PixelFormat format, const uint8_t* data,
                           size_t size, int pitch, const FrameOptions& options, bool block,
                           const std::function<bool()>& interrupted, bool* was_interrupted) {
  submit_view(generation, format, data, size, pitch, FrameMemory::Host, 0, options, block,
              interrupted, was_interrupted);
}

void EncodeSession::submit_device(uint32_t generation, PixelFormat format, uintptr_t address,
                                  int device, size_t size, int pitch, const FrameOptions& options,
                                  bool block, const std::function<bool()>& interrupted,
                                  bool* was_interrupted) {
  if (device < 0)
    throw Error(ErrorKind::InvalidFrame,
                "Frame.data: CUDA device " + std::to_string(device) + " is not a device ordinal");
  submit_view(generation, format, reinterpret_cast<const uint8_t*>(address), size, pitch,
              FrameMemory::CudaDevice, device, options, block, interrupted, was_interrupted);
}

void EncodeSession::submit_shared(uint32_t generation, const FrameView& view,
                                  std::shared_ptr<const void> owner, bool has_slack,
                                  const FrameOptions& options, bool block,
                                  const std::function<bool()>& interrupted, bool* was_interrupted) {
  if (!owner) throw Error(ErrorKind::InvalidFrame, "submit_shared: no owner for the frame");
  if (view.width <= 0 || view.height <= 0 || view.plane_count <= 0 || !view.planes[0])
    throw Error(ErrorKind::InvalidFrame, "submit_shared: an empty frame view");
  SharedFrame shared{&view, std::move(owner), has_slack};
  submit_view(generation, view.format, nullptr, 0, 0, view.memory, view.device, options, block,
              interrupted, was_interrupted, &shared);
}

void EncodeSession::submit_view(uint32_t generation, PixelFormat format, const uint8_t* data,
                                size_t size, int pitch, FrameMemory memory, int device,
                                const FrameOptions& options, bool block,
                                const std::function<bool()>& interrupted, bool* was_interrupted,
                                SharedFrame* shared) {
  std::lock_guard<std::mutex> lock(api_mu_);
  check_handle(generation);
  if (!settle_flush(interrupted)) {
    if (was_interrupted) *was_interrupted = true;
    return;
  }
  absorb_events();
  const bool activates = pending_ && (pending_->mode != SwitchMode::OnNextKeyframe ||
                                      keyframe_next(options.force_keyframe));
  const CommonEncodeConfig& target = activates ? pending_->config : active_config_;
  FrameView view = shared ? *shared->view
                          : describe_frame(format, target.width, target.height, data, size, pitch);
  view.memory = memory;
  view.device = device;
  // pts rule: strictly increasing; a frame without one gets the previous pts + 1 (0 first),
  // which must not overflow int64.
  if (!options.pts && any_pts_ && last_pts_ == std::numeric_limits<int64_t>::max())
    throw Error(ErrorKind::InvalidFrame,
                "Frame.pts: None after pts " + std::to_string(last_pts_) +
                    " (the largest int64): the next pts would overflow; give frames explicit "
                    "pts or start lower");
  const int64_t pts = options.pts.value_or(any_pts_ ? last_pts_ + 1 : 0);
  if (any_pts_ && pts <= last_pts_)
    throw Error(ErrorKind::InvalidFrame, "Frame.pts: " + std::to_string(pts) +
                                             " is not greater than the previous pts " +
                                             std::to_string(last_pts_));
  if (!pipeline_->has_room()) {
    if (!block)
      throw Error(ErrorKind::Backpressure,
                  "encode session " + std::to_string(id_) +
                      " has its maximum of frames in "
                      "flight; the frame was not taken (retry, or submit with block=True)");
    if (!pipeline_->wait_for_room(interrupted)) {
      if (was_interrupted) *was_interrupted = true;
      return;
    }
  }
  FrameOptions resolved = options;
  resolved.pts = pts;
  // If queuing throws, nothing about the session has changed.
  const std::shared_ptr<GenerationPlan> plan = activates ? pending_ : nullptr;
  // An activating frame that may go to a new encoder (or roll back) is a keyframe whichever
  // path the encode thread takes, so the GOP schedule below never depends on that choice.
  const bool keyframe = plan ? (plan->backend || !plan->in_place || plan->force_idr ||
                                plan->config.b_frames > 0 || keyframe_next(options.force_keyframe))
                             : keyframe_next(options.force_keyframe);
  if (plan) {
    resolved.force_keyframe = keyframe;
    plan->previous_config = active_config_;
    plan->previous_provider = provider_;
    plan->previous_generation = active_config_generation_;
  }
  const uint32_t previous_active = active_generation_.load();
  if (plan) {
    // Published before the frame is queued: once queued, the encode thread may roll the
    // activation back (compare-and-swap to the kept generation), and a store after the
    // push would undo that.
    active_generation_ = plan->generation;
    pending_generation_ = 0;
  }
  try {
    const uint32_t frame_generation = plan ? plan->generation : active_config_generation_;
    if (shared)
      pipeline_->push_shared(view, std::move(shared->owner), shared->has_slack, frame_generation,
                             resolved, plan);
    else
      pipeline_->push_frame(view, size, frame_generation, resolved, plan);
  } catch (...) {
    if (plan) {
      active_generation_ = previous_active;
      if (plan->mode == SwitchMode::OnNextKeyframe) pending_generation_ = plan->generation;
    }
    throw;
  }
  if (plan) {
    active_config_ = plan->config;  // read-only on the encode thread too
    active_config_generation_ = plan->generation;
    provider_ = plan->provider;
    unresolved_.push_back(plan);
    pending_.reset();
  }
  gop_position_ = keyframe ? 0 : gop_position_ + 1;
  keyframe_due_ = false;
  last_pts_ = pts;
  any_pts_ = true;
  frames_submitted_++;
  publish_state();
}

std::vector<EncodedPacket> EncodeSession::reap(uint32_t generation, size_t min_packets,
                                               int64_t timeout_ns,
                                               const std::function<bool()>& interrupted,
                                               bool* was_interrupted) {
  check_handle(generation);
  return hand_out(pipeline_->take_ready(min_packets, timeout_ns, interrupted, was_interrupted));
}

std::vector<EncodedPacket> EncodeSession::flush(uint32_t generation,
                                                const std::function<bool()>& interrupted,
                                                bool* was_interrupted) {
  std::lock_guard<std::mutex> lock(api_mu_);
  check_handle(generation);
  if (!settle_flush(interrupted)) {
    if (was_interrupted) *was_interrupted = true;
    return {};
  }
  absorb_events();
  const int64_t start = monotonic_ns();
  auto marker = pipeline_->push_flush();
  if (!marker->wait(interrupted)) {
    interrupted_flush_ = std::move(marker);
    interrupted_flush_start_ = start;
    if (was_interrupted) *was_interrupted = true;
    return {};
  }
  finish_flush(*marker, start);
  return hand_out(pipeline_->take_ready());
}

void EncodeSession::finish_flush(const Marker& marker, int64_t start_ns) {
  if (!marker.error.empty())
    throw Error(ErrorKind::Encode,
                "flushing encode session " + std::to_string(id_) + ": " + marker.error);
  // After a drain that reopened the encoder, or with force_idr, the stream restarts.
  if (marker.reopened || active_config_.force_idr) keyframe_due_ = true;
  flushes_++;
  last_flush_ns_ = monotonic_ns() - start_ns;
  publish_state();
}

bool EncodeSession::settle_flush(const std::function<bool()>& interrupted) {
  if (!interrupted_flush_) return true;
  if (!interrupted_flush_->wait(interrupted)) return false;
  std::shared_ptr<Marker> marker = std::move(interrupted_flush_);
  finish_flush(*marker, interrupted_flush_start_);
  return true;
}

std::vector<EncodedPacket> EncodeSession::close(uint32_t generation,
                                                const std::function<bool()>& interrupted,
                                                bool* was_interrupted) {
  std::lock_guard<std::mutex> lock(api_mu_);
  check_handle(generation, /*closing=*/true);
  // end of stream -> drain -> release buffers -> destroy encoder
  if (!pipeline_->close(interrupted)) {
    closing_ = true;
    if (was_interrupted) *was_interrupted = true;
    return {};
  }
  interrupted_flush_.reset();  // the close drained whatever it left
  pending_.reset();            // a prepared, never activated encoder
  pending_generation_ = 0;
  closed_ = true;
  publish_state();
  std::vector<EncodedPacket> packets = hand_out(pipeline_->take_ready());
  std::string failure;
  {
    std::lock_guard<std::mutex> events(events_mu_);
    failure = failure_;
  }
  if (!failure.empty())
    throw Error(ErrorKind::Encode, "encode session " + std::to_string(id_) + " failed: " + failure +
                                       "; it is closed now (" + std::to_string(packets.size()) +
                                       " packets drained at close were discarded with it)");
  return packets;
}

void EncodeSession::choose_path(GenerationPlan& plan, const EncoderProvider& provider) {
  const auto reconfigurable = [&](const EncoderProvider* from_provider,
                                  const CommonEncodeConfig& from) {
    if (!from_provider || from_provider->name() != provider.name()) return false;
    // A restart keeps the running encoder's backend settings (preset, tune), so only the
    // very provider that made it may restart it.
    if (plan.new_stream)
      return from_provider == &provider && provider.can_restart(from, plan.config);
    return provider.can_reconfigure(from, plan.config);
  };
  plan.in_place = reconfigurable(provider_.get(), active_config_);
  plan.in_place_base = active_config_generation_;
  bool needs_encoder = !plan.in_place;
  if (unresolved_.size() == 1) {
    // It may still roll back to what ran before it: be ready for that too.
    const GenerationPlan& queued = *unresolved_.front();
    plan.fallback_base = queued.previous_generation;
    plan.in_place_fallback = reconfigurable(queued.previous_provider.get(), queued.previous_config);
    needs_encoder = needs_encoder || !plan.in_place_fallback;
  } else if (unresolved_.size() > 1) {
    needs_encoder = true;  // several may roll back: a fresh encoder fits whatever runs
  }
  if (needs_encoder) plan.backend = provider.create(plan.config);  // prewarm
}

uint32_t EncodeSession::switch_to(uint32_t generation, const CommonEncodeConfig& target,
                                  std::shared_ptr<const EncoderProvider> provider, SwitchMode mode,
                                  bool force_idr_on_activate,
                                  const std::function<bool()>& interrupted, bool* was_interrupted) {
  return switch_impl(generation, target, std::move(provider), mode, force_idr_on_activate,
                     /*new_stream=*/false, interrupted, was_interrupted);
}

uint32_t EncodeSession::begin_stream(uint32_t generation, const CommonEncodeConfig& target,
                                     std::shared_ptr<const EncoderProvider> provider,
                                     const std::function<bool()>& interrupted,
                                     bool* was_interrupted) {
  return switch_impl(generation, target, std::move(provider), SwitchMode::DrainThenSwap,
                     /*force_idr_on_activate=*/true, /*new_stream=*/true, interrupted,
                     was_interrupted);
}

uint32_t EncodeSession::switch_impl(uint32_t generation, const CommonEncodeConfig& target,
                                    std::shared_ptr<const EncoderProvider> provider,
                                    SwitchMode mode, bool force_idr_on_activate, bool new_stream,
                                    const std::function<bool()>& interrupted,
                                    bool* was_interrupted) {
  std::lock_guard<std::mutex> lock(api_mu_);
  check_handle(generation);
  if (!settle_flush(interrupted)) {
    if (was_interrupted) *was_interrupted = true;
    return 0;
  }
  absorb_events();
  // An invalid or unsupported target is the caller's error, raised before anything moves.
  negotiate(provider->capabilities(target.codec), target, provider->config_problems(target));

  auto plan = std::make_shared<GenerationPlan>();
  plan->generation = next_generation_;
  plan->config = target;
  plan->provider = provider;
  plan->mode = mode;
  plan->force_idr = force_idr_on_activate;
  plan->new_stream = new_stream;
  plan->request_ns = monotonic_ns();
  const auto fail = [&](const std::string& reason) {
    record_switch_failure(reason);
    return Error(
        ErrorKind::Switch,
        reason + "; generation " + std::to_string(active_generation_.load()) + " keeps running");
  };
  try {
    choose_path(*plan, *provider);
  } catch (const std::exception& e) {
    throw fail("could not prepare generation " + std::to_string(plan->generation) + ": " +
               e.what());
  }
  if (mode == SwitchMode::DrainThenSwap) {
    const int64_t drain_start = monotonic_ns();
    auto marker = pipeline_->push_drain();
    if (!marker->wait(interrupted)) {
      // The prepared generation is dropped; the drain is settled like a flush.
      interrupted_flush_ = std::move(marker);
      interrupted_flush_start_ = drain_start;
      if (was_interrupted) *was_interrupted = true;
      return 0;
    }
    if (!marker->error.empty())
      throw fail("draining before generation " + std::to_string(plan->generation) +
                 " failed: " + marker->error);
    if (marker->reopened) keyframe_due_ = true;
    absorb_events();  // every queued activation has resolved by now
  }
  if (new_stream) {
    // Drained: no frame of the ended stream is left, so its pts may be counted again.
    any_pts_ = false;
    last_pts_ = -1;
    keyframe_due_ = true;
  }
  next_generation_++;
  config_generation_ = plan->generation;
  {
    std::lock_guard<std::mutex> events(events_mu_);
    if (pending_) switches_.superseded++;  // its prepared encoder is released below
    switches_.total++;
    (plan->in_place ? switches_.in_place : switches_.new_session)++;
    (mode == SwitchMode::Immediate        ? switches_.immediate
     : mode == SwitchMode::OnNextKeyframe ? switches_.on_next_keyframe
                                          : switches_.drain_then_swap)++;
  }
  pending_ = plan;
  if (mode == SwitchMode::OnNextKeyframe) {
    pending_generation_ = plan->generation;
    // A superseded IMMEDIATE / DRAIN_THEN_SWAP plan had already made itself active; until
    // the keyframe, frames go to the generation that runs now.
    active_generation_ = active_config_generation_;
  } else {
    pending_generation_ = 0;
    active_generation_ = plan->generation;  // the next frame is its first
  }
  publish_state();
  return plan->generation;
}

// ---- introspection ----------------------------------------------------------------------

SessionStateInfo EncodeSession::state() const {
  std::lock_guard<std::mutex> lock(state_mu_);
  SessionStateInfo s = published_;
  s.active_generation = active_generation_.load();  // a rollback may have moved it since
  return s;
}

std::vector<EncodedPacket> EncodeSession::hand_out(std::vector<EncodedPacket> packets) {
  std::lock_guard<std::mutex> lock(events_mu_);
  for (const auto& p : packets) {
    packets_out_++;
    bytes_out_ += int64_t(p.data.size());
    keyframes_out_ += p.is_keyframe ? 1 : 0;
  }
  return packets;
}

void EncodeSession::recycle(std::vector<EncodedPacket>&& packets) {
  pipeline_->recycle(std::move(packets));
}

TelemetryMap EncodeSession::telemetry() const {
  const EncodeStats b = pipeline_->encoder_stats();
  const PipelineStats p = pipeline_->stats();
  const SessionStateInfo s = state();
  std::lock_guard<std::mutex> lock(events_mu_);
  const SwitchCounters& w = switches_;
  return {
      {"kind", std::string("encode")},
      {"backend", backend_name_},
      {"codec", std::string(to_string(running_config_.codec))},
      {"state", std::string(to_string(s.state))},
      {"generation", int64_t(s.active_generation)},
      {"session_inits", int64_t(1)},
      {"init_ns", init_ns_},
      {"encoder_opens", b.encoder_opens},
      {"encoder_reopens", b.encoder_reopens},
      {"stream_restarts", b.stream_restarts},
      {"frames_submitted", frames_submitted_.load()},
      {"frames_encoded", b.frames_encoded},
      {"frames_failed", p.frames_failed},
      {"packets_out", packets_out_},
      {"bytes_out", bytes_out_},
      {"keyframes_out", keyframes_out_},
      {"flushes", flushes_.load()},
      {"in_place_flushes", b.in_place_flushes},
      {"last_flush_ns", last_flush_ns_.load()},
      {"flush_mode", std::string(p.flush_mode)},
      {"frames_converted", p.frames_transformed + p.frames_reprepared},
      {"frames_reprepared", p.frames_reprepared},
      {"frame_buffer_allocations", p.conversion_slot_allocations},
      {"pool_allocations", p.pool_allocations},
      {"frame_slot_allocations", p.frame_slot_allocations},
      {"device_slot_allocations", p.device_slot_allocations},
      {"frames_from_device", p.frames_from_device},
      {"device_frames_downloaded", p.device_frames_downloaded},
      {"device_input_frames", b.device_input_frames},
      {"packet_buffer_allocations", p.packet_buffer_allocations},
      {"borrow_leaks", b.borrow_leaks},
      {"in_flight_peak", p.in_flight_peak},
      {"queue_depth_peak_transform", p.queue_depth_peak_transform},
      {"queue_depth_peak_encode", p.queue_depth_peak_encode},
      {"queue_depth_peak_reap", p.queue_depth_peak_reap},
      {"transform_ns", p.transform_ns},
      {"encode_ns", p.encode_ns},
      {"reap_ns", p.reap_ns},
      {"convert_ns", p.convert_ns},
      {"ffmpeg_warnings", b.ffmpeg_warnings},
      {"ffmpeg_errors", b.ffmpeg_errors},
      {"switches", w.total},
      {"switches_in_place", w.in_place},
      {"switches_new_session", w.new_session},
      {"switch_failures", w.failures},
      {"switch_fail_reason", w.fail_reason},
      {"switches_immediate", w.immediate},
      {"switches_on_next_keyframe", w.on_next_keyframe},
      {"switches_drain_then_swap", w.drain_then_swap},
      {"switches_superseded", w.superseded},
      {"last_switch_activation_ns", w.activation_ns},
      {"last_switch_first_packet_ns", w.first_packet_ns},
  };
}

}  // namespace videohw
