#include "session/pipeline.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>

namespace videohw {

namespace {

void raise_peak(std::atomic<int64_t>& peak, int64_t value) {
  int64_t seen = peak.load(std::memory_order_relaxed);
  while (value > seen && !peak.compare_exchange_weak(seen, value, std::memory_order_relaxed)) {
  }
}

// The same planes, relative to a new base address.
FrameView rebase(const FrameView& view, const uint8_t* base) {
  FrameView out = view;
  for (int i = 0; i < view.plane_count; ++i)
    out.planes[i] = base + (view.planes[i] - view.planes[0]);
  return out;
}

// Rows of plane `plane`: 4:2:0 chroma has half the rows, rounded up as decoders store them.
int plane_rows(PixelFormat format, int height, int plane) {
  const bool yuv420 = format == PixelFormat::NV12 || format == PixelFormat::I420;
  return plane > 0 && yuv420 ? (height + 1) / 2 : height;
}

// How often a wait that can be interrupted (Ctrl-C) asks whether it was.
constexpr auto kInterruptSlice = std::chrono::milliseconds(100);

void accumulate(EncodeStats& total, const EncodeStats& s) {
  total.encoder_opens += s.encoder_opens;
  total.encoder_reopens += s.encoder_reopens;
  total.stream_restarts += s.stream_restarts;
  total.in_place_flushes += s.in_place_flushes;
  total.frames_encoded += s.frames_encoded;
  total.borrow_leaks += s.borrow_leaks;
  total.device_input_frames += s.device_input_frames;
  total.encode_ns += s.encode_ns;
}

// What the encoder of `plan` takes; a plan without a provider keeps `current`'s formats.
transform::FrameTarget target_of(const GenerationPlan& plan,
                                 const transform::FrameTarget& current) {
  if (plan.provider) return frame_target(*plan.provider, plan.config);
  return transform::FrameTarget{plan.config.width, plan.config.height, current.formats,
                                current.device_frames};
}

}  // namespace

transform::FrameTarget frame_target(const EncoderProvider& provider,
                                    const CommonEncodeConfig& config) {
  return transform::FrameTarget{config.width, config.height, provider.native_input_formats(),
                                provider.accepts_device_frames()};
}

void Marker::complete(std::string failure) {
  std::lock_guard<std::mutex> lock(mu);
  if (!failure.empty()) error = std::move(failure);
  done = true;
  cv.notify_all();
}

bool Marker::wait(const std::function<bool()>& interrupted) {
  std::unique_lock<std::mutex> lock(mu);
  if (!interrupted) {
    cv.wait(lock, [this] { return done; });
    return true;
  }
  while (!cv.wait_for(lock, kInterruptSlice, [this] { return done; })) {
    lock.unlock();
    if (interrupted()) return false;
    lock.lock();
  }
  return true;
}

bool Marker::is_done() {
  std::lock_guard<std::mutex> lock(mu);
  return done;
}

template <typename T>
void EncodePipeline::Link<T>::push(T&& value) {
  // Single producer: once there is room, only the consumer acts on the ring, and it only
  // makes more room, so the push below cannot fail.
  room.wait([this] { return ring.size() < ring.capacity(); });
  ring.try_push(std::move(value));
  raise_peak(peak, int64_t(ring.size()));
  items.ring();
}

template <typename T>
T EncodePipeline::Link<T>::pop() {
  items.wait([this] { return !ring.empty(); });
  T value = std::move(*ring.try_pop());  // single consumer: the item is still there
  room.ring();
  return value;
}

EncodePipeline::EncodePipeline(std::unique_ptr<EncoderBackend> backend, uint32_t generation,
                               Codec codec, transform::FrameTarget target, int max_in_flight,
                               PipelineEvents& events)
    : events_(events),
      codec_(codec),
      max_in_flight_(max_in_flight),
      // Frames in flight plus room for control items; packets: a drained B-frame encoder
      // can release many at once.
      submit_link_(size_t(max_in_flight) + 8),
      encode_link_(size_t(max_in_flight) + 8),
      reap_link_(256),
      backend_(std::move(backend)),
      generation_(generation),
      encode_preparer_(target),
      running_target_(target),
      transform_preparer_(target) {
  backend_->set_packet_pool(&packets_);
  publish_encoder_stats();
  transform_thread_ = std::thread([this] { transform_loop(); });
  encode_thread_ = std::thread([this] { encode_loop(); });
  reap_thread_ = std::thread([this] { reap_loop(); });
}

EncodePipeline::~EncodePipeline() {
  close();
}

bool EncodePipeline::has_room() const {
  return in_flight_.load(std::memory_order_acquire) < max_in_flight_;
}

bool EncodePipeline::wait_for_room(const std::function<bool()>& interrupted) {
  if (!interrupted) {
    in_flight_bell_.wait([this] { return has_room(); });
    return true;
  }
  while (!in_flight_bell_.wait_for([this] { return has_room(); }, kInterruptSlice))
    if (interrupted()) return false;
  return true;
}

void EncodePipeline::push_frame(const FrameView& view, size_t bytes, uint32_t generation,
                                const FrameOptions& options, std::shared_ptr<GenerationPlan> plan) {
  Item item;
  item.kind = Kind::Frame;
  item.generation = generation;
  item.plan = std::move(plan);
  item.bytes = bytes;
  if (view.memory == FrameMemory::CudaDevice) {
    // The one copy of the caller's frame, device to device: one row spanning every plane.
    item.device_input = device_frames_.take(view.device, bytes);
    device_memory().copy_to_device(view.device, item.device_input->address(), bytes,
                                   uintptr_t(view.planes[0]), bytes, bytes, 1);
    item.view = rebase(view, reinterpret_cast<const uint8_t*>(item.device_input->address()));
    frames_from_device_.fetch_add(1, std::memory_order_relaxed);
  } else {
    item.input = frames_.take(bytes);
    std::memcpy(item.input.data(), view.planes[0], bytes);  // the one copy of the caller's frame
    item.view = rebase(view, item.input.data());
  }
  item.options = options;
  raise_peak(in_flight_peak_, in_flight_.fetch_add(1, std::memory_order_acq_rel) + 1);
  submit_link_.push(std::move(item));
}

void EncodePipeline::push_shared(const FrameView& view, std::shared_ptr<const void> owner,
                                 bool has_slack, uint32_t generation, const FrameOptions& options,
                                 std::shared_ptr<GenerationPlan> plan) {
  Item item;
  item.kind = Kind::Frame;
  item.generation = generation;
  item.plan = std::move(plan);
  item.view = view;
  item.shared = std::move(owner);
  item.slack = has_slack;
  item.options = options;
  if (view.memory == FrameMemory::CudaDevice)
    frames_from_device_.fetch_add(1, std::memory_order_relaxed);
  raise_peak(in_flight_peak_, in_flight_.fetch_add(1, std::memory_order_acq_rel) + 1);
  submit_link_.push(std::move(item));
}

void EncodePipeline::push_control(Kind kind, std::shared_ptr<Marker> marker) {
  Item item;
  item.kind = kind;
  item.marker = std::move(marker);
  submit_link_.push(std::move(item));
}

std::shared_ptr<Marker> EncodePipeline::push_flush() {
  auto marker = std::make_shared<Marker>();
  push_control(Kind::Flush, marker);
  return marker;
}

std::shared_ptr<Marker> EncodePipeline::push_drain() {
  auto marker = std::make_shared<Marker>();
  push_control(Kind::Drain, marker);
  return marker;
}

bool EncodePipeline::close(const std::function<bool()>& interrupted) {
  if (joined_) return true;
  if (!closed_) {
    closed_ = true;
    close_marker_ = std::make_shared<Marker>();
    push_control(Kind::Close, close_marker_);
  }
  if (!close_marker_->wait(interrupted)) return false;
  transform_thread_.join();
  encode_thread_.join();
  reap_thread_.join();
  joined_ = true;
  return true;
}

// ---- frame preparation ------------------------------------------------------------------

bool EncodePipeline::prepare(transform::FramePreparer& preparer, Item& item) {
  if (preparer.fits(item.view)) return false;
  if (item.view.memory == FrameMemory::CudaDevice) {
    // Conversion runs on the host, and an encoder without device input reads the host.
    const int64_t start = monotonic_ns();
    download(item);
    convert_ns_.fetch_add(monotonic_ns() - start, std::memory_order_relaxed);
    if (preparer.fits(item.view)) return false;
  }
  const int64_t start = monotonic_ns();
  ring::AlignedBuffer slot;
  bool allocated = false;
  FrameView prepared;
  try {
    prepared = preparer.prepare(
        item.view,
        [&](size_t bytes) {
          slot = frames_.take(bytes, &allocated);
          return slot.data();
        },
        item.slack);  // pooled slots carry slack after their end
  } catch (...) {
    frames_.give(std::move(slot));
    throw;
  }
  // The source (the caller's copy, or an earlier preparation) is no longer referenced.
  frames_.give(std::move(item.input));
  frames_.give(std::move(item.converted));
  item.shared.reset();
  item.converted = std::move(slot);
  item.view = prepared;
  item.slack = true;
  if (allocated) conversion_slot_allocations_.fetch_add(1, std::memory_order_relaxed);
  convert_ns_.fetch_add(monotonic_ns() - start, std::memory_order_relaxed);
  return true;
}

void EncodePipeline::set_running_target(transform::FrameTarget target) {
  encode_preparer_.set_target(target);
  std::lock_guard<std::mutex> lock(target_mu_);
  running_target_ = std::move(target);
}

transform::FrameTarget EncodePipeline::running_target() const {
  std::lock_guard<std::mutex> lock(target_mu_);
  return running_target_;
}

// ---- transform stage --------------------------------------------------------------------

void EncodePipeline::transform_loop() {
  // The last plan this stage prepared frames for, until it resolves. Local, so the plan is
  // not kept alive past the thread.
  std::shared_ptr<const GenerationPlan> awaited;
  for (;;) {
    Item item = submit_link_.pop();
    const bool closing = item.kind == Kind::Close;
    if (item.kind == Kind::Frame) {
      const int64_t start = monotonic_ns();
      if (item.plan) {
        transform_preparer_.set_target(target_of(*item.plan, transform_preparer_.target()));
        awaited = item.plan;
      } else if (awaited && awaited->resolved.load(std::memory_order_acquire)) {
        // It and every plan before it have resolved, so the encoder running now encodes
        // what follows until the next plan: after a rollback, frames are prepared for the
        // kept encoder instead of the failed generation's.
        transform_preparer_.set_target(running_target());
        awaited.reset();
      }
      try {
        if (prepare(transform_preparer_, item))
          frames_transformed_.fetch_add(1, std::memory_order_relaxed);
      } catch (const std::exception&) {
        // Left as it is: the encode stage prepares it again and reports what fails there.
      }
      transform_ns_.fetch_add(monotonic_ns() - start, std::memory_order_relaxed);
    }
    encode_link_.push(std::move(item));
    if (closing) return;
  }
}

// ---- encode stage -----------------------------------------------------------------------

void EncodePipeline::emit(std::vector<EncodedPacket>& packets, uint32_t generation) {
  for (auto& packet : packets) {
    packet.generation = generation;
    if (auto it = frame_generation_.find(packet.pts); it != frame_generation_.end()) {
      packet.generation = it->second;
      frame_generation_.erase(it);
    }
    Output out;
    out.packet = std::move(packet);
    emitted_.fetch_add(1, std::memory_order_release);
    reap_link_.push(std::move(out));
  }
  packets.clear();
}

void EncodePipeline::release(Item& item) {
  frames_.give(std::move(item.input));
  frames_.give(std::move(item.converted));
  device_frames_.give(std::move(item.device_input));
  item.shared.reset();
}

// For an encoder that reads host memory only: the frame comes down once, whole.
void EncodePipeline::download(Item& item) {
  if (!item.device_input) {
    download_shared(item);
    return;
  }
  ring::AlignedBuffer host = frames_.take(item.bytes);
  device_memory().copy_to_host(item.view.device, host.data(), item.bytes,
                               item.device_input->address(), item.bytes, item.bytes, 1);
  item.input = std::move(host);
  item.view = rebase(item.view, item.input.data());
  item.view.memory = FrameMemory::Host;
  device_frames_.give(std::move(item.device_input));
  device_frames_downloaded_.fetch_add(1, std::memory_order_relaxed);
}

// A shared device frame's planes may lie apart (a decoder's surface): each comes down on
// its own, at its own pitch, into one host slot.
void EncodePipeline::download_shared(Item& item) {
  FrameView& view = item.view;
  size_t offsets[3] = {0, 0, 0};
  size_t total = 0;
  for (int i = 0; i < view.plane_count; ++i) {
    offsets[i] = total;
    total += size_t(view.strides[i]) * size_t(plane_rows(view.format, view.height, i));
  }
  ring::AlignedBuffer host = frames_.take(total);
  for (int i = 0; i < view.plane_count; ++i) {
    const size_t pitch = size_t(view.strides[i]);
    device_memory().copy_to_host(view.device, host.data() + offsets[i], pitch,
                                 uintptr_t(view.planes[i]), pitch, pitch,
                                 size_t(plane_rows(view.format, view.height, i)));
    view.planes[i] = host.data() + offsets[i];
  }
  view.memory = FrameMemory::Host;
  item.input = std::move(host);
  item.shared.reset();
  item.slack = true;
  device_frames_downloaded_.fetch_add(1, std::memory_order_relaxed);
}

void EncodePipeline::encode_frame(Item& item) {
  if (item.plan) {
    activate(item);
    return;
  }
  std::vector<EncodedPacket> out;
  frame_generation_[item.options.pts.value_or(0)] = generation_;
  try {
    if (prepare(encode_preparer_, item)) frames_reprepared_.fetch_add(1, std::memory_order_relaxed);
    backend_->encode(item.view, item.options, out);
  } catch (const std::exception& e) {
    broken_ = true;
    frames_failed_.fetch_add(1, std::memory_order_relaxed);
    events_.on_failure(e.what());
  }
  publish_encoder_stats();
  // The encoder has taken the pixels: the slots go back before the packets are published,
  // so a caller that waits for its packet and submits again always finds them in the pool.
  release(item);
  emit(out, generation_);
}

void EncodePipeline::publish_encoder_stats() {
  EncodeStats now = backend_ ? backend_->stats() : EncodeStats{};
  std::lock_guard<std::mutex> lock(stats_mu_);
  live_stats_ = std::move(now);
}

// The frame stays with the generation running now. Its force_keyframe flag is what the
// session's GOP schedule expected of the activating frame, so that schedule still holds.
void EncodePipeline::roll_back(Item& item, const GenerationPlan& plan, const std::string& why) {
  plan.resolved.store(true, std::memory_order_release);
  events_.on_rollback(plan, generation_, why);
  encode_frame(item);  // prepared again there when the kept encoder takes another size
}

void EncodePipeline::activate(Item& item) {
  const int64_t activation_ns = monotonic_ns();
  std::shared_ptr<GenerationPlan> plan = std::move(item.plan);
  if (plan->runs_in_place_over(generation_)) {
    std::vector<EncodedPacket> tail;
    try {
      if (plan->new_stream)
        backend_->restart(plan->config, tail);
      else
        backend_->reconfigure(plan->config);
    } catch (const std::exception& e) {
      publish_encoder_stats();
      roll_back(item, *plan, e.what());
      return;
    }
    emit(tail, generation_);  // the ended stream's last packets, under its generation
    publish_encoder_stats();
    generation_ = plan->generation;
    set_running_target(target_of(*plan, encode_preparer_.target()));
    // An encoder that reorders (B-frames) would interleave the two generations in decode
    // order unless the activating frame is an IDR, which puts every earlier frame first.
    if (plan->force_idr || plan->config.b_frames > 0) item.options.force_keyframe = true;
    plan->resolved.store(true, std::memory_order_release);
    events_.on_activated(*plan, activation_ns, /*in_place=*/true);
    encode_frame(item);
    return;
  }
  if (!plan->backend) {
    roll_back(item, *plan,
              "no encoder was prepared for generation " + std::to_string(plan->generation) +
                  " on top of generation " + std::to_string(generation_));
    return;
  }
  // New encoder: it must take its first frame before the current one is retired, so a
  // failure can still roll back to an encoder that works.
  std::unique_ptr<EncoderBackend> next = std::move(plan->backend);
  std::vector<EncodedPacket> fresh;
  const int64_t pts = item.options.pts.value_or(0);
  const transform::FrameTarget kept = encode_preparer_.target();
  try {
    next->set_packet_pool(&packets_);
    frame_generation_[pts] = plan->generation;
    encode_preparer_.set_target(target_of(*plan, kept));
    if (prepare(encode_preparer_, item)) frames_reprepared_.fetch_add(1, std::memory_order_relaxed);
    next->encode(item.view, item.options, fresh);
    release(item);  // as in encode_frame: slots back before any packet is published
  } catch (const std::exception& e) {
    frame_generation_.erase(pts);
    next.reset();
    encode_preparer_.set_target(kept);
    roll_back(item, *plan, e.what());
    return;
  }
  std::vector<EncodedPacket> tail;
  try {
    backend_->finish(tail);  // the old generation's held-back frames come out first
  } catch (const std::exception& e) {
    events_.on_failure(std::string("draining the retired encoder: ") + e.what());
  }
  std::unique_ptr<EncoderBackend> retired = std::move(backend_);
  backend_ = std::move(next);
  {
    const EncodeStats old_stats = retired->stats();
    std::lock_guard<std::mutex> lock(stats_mu_);
    accumulate(retired_stats_, old_stats);
  }
  publish_encoder_stats();
  emit(tail, generation_);
  generation_ = plan->generation;
  set_running_target(encode_preparer_.target());
  plan->resolved.store(true, std::memory_order_release);
  events_.on_activated(*plan, activation_ns, /*in_place=*/false);
  emit(fresh, generation_);
  // Destroyed only now (its buffers, then the encoder; x264 joins its threads), so the new
  // generation's first packet does not wait for it.
  retired.reset();
}

void EncodePipeline::encode_loop() {
  for (;;) {
    Item item = encode_link_.pop();
    const int64_t start = monotonic_ns();
    std::vector<EncodedPacket> out;
    switch (item.kind) {
      case Kind::Frame:
        if (!broken_)
          encode_frame(item);
        else
          frames_failed_.fetch_add(1, std::memory_order_relaxed);
        release(item);
        in_flight_.fetch_sub(1, std::memory_order_acq_rel);
        in_flight_bell_.ring();
        {
          // A waiting reap may now know that nothing more is coming.
          std::lock_guard<std::mutex> lock(ready_mu_);
          ready_cv_.notify_all();
        }
        break;
      case Kind::Flush:
      case Kind::Drain: {
        try {
          const FlushResult result = backend_->flush(out);
          item.marker->reopened = result.restarted_stream;
          std::lock_guard<std::mutex> lock(stats_mu_);
          last_flush_mode_ = flush_mode_name(result);
        } catch (const std::exception& e) {
          item.marker->error = e.what();
        }
        publish_encoder_stats();
        break;
      }
      case Kind::Close: {
        try {
          backend_->finish(out);  // end of stream, drain
        } catch (const std::exception& e) {
          item.marker->error = e.what();
        }
        {
          const EncodeStats last = backend_->stats();
          std::lock_guard<std::mutex> lock(stats_mu_);
          accumulate(retired_stats_, last);
          live_stats_ = EncodeStats{};
        }
        backend_.reset();  // release buffers, then destroy the encoder
        break;
      }
    }
    emit(out, generation_);
    encode_ns_.fetch_add(monotonic_ns() - start, std::memory_order_relaxed);
    if (item.kind != Kind::Frame) {
      Output marker;
      marker.is_marker = true;
      marker.marker = std::move(item.marker);
      marker.closing = item.kind == Kind::Close;
      reap_link_.push(std::move(marker));
      if (item.kind == Kind::Close) return;
    }
  }
}

// ---- reap stage -------------------------------------------------------------------------

void EncodePipeline::reap_loop() {
  for (;;) {
    Output out = reap_link_.pop();
    if (out.is_marker) {
      out.marker->complete();
      if (out.closing) {
        std::lock_guard<std::mutex> lock(ready_mu_);
        finished_ = true;  // a reap waiting for packets that can no longer come returns
        ready_cv_.notify_all();
        return;
      }
      continue;
    }
    const int64_t start = monotonic_ns();
    const uint32_t generation = out.packet.generation;
    if (generation != last_published_generation_) {
      last_published_generation_ = generation;
      events_.on_first_packet(generation, start);
    }
    {
      std::lock_guard<std::mutex> lock(ready_mu_);
      ready_.push_back(std::move(out.packet));
      published_++;
      ready_cv_.notify_all();
    }
    reap_ns_.fetch_add(monotonic_ns() - start, std::memory_order_relaxed);
  }
}

// ---- consumer side ----------------------------------------------------------------------

std::vector<EncodedPacket> EncodePipeline::take_ready(size_t min_packets, int64_t timeout_ns,
                                                      const std::function<bool()>& interrupted,
                                                      bool* was_interrupted) {
  std::unique_lock<std::mutex> lock(ready_mu_);
  if (min_packets > 0) {
    const auto settled = [&] {
      // in_flight_ drops only after the frame's packets were emitted, so once it is 0 the
      // emitted count is final for every queued frame.
      return ready_.size() >= min_packets ||
             (in_flight_.load(std::memory_order_acquire) == 0 &&
              published_ == emitted_.load(std::memory_order_acquire));
    };
    // With a time limit the caller has chosen to wait: an idle pipeline is no reason to
    // return early (a consumer thread reaping in a loop would otherwise spin whenever
    // nothing is in flight). The limit, the packets or the end of the session end it.
    const auto arrived = [&] { return ready_.size() >= min_packets || finished_; };
    using Clock = std::chrono::steady_clock;
    constexpr auto kSlice = kInterruptSlice;
    const bool limited = timeout_ns >= 0;
    const Clock::time_point deadline =
        limited ? Clock::now() + std::chrono::nanoseconds(timeout_ns) : Clock::time_point::max();
    for (;;) {
      if (limited ? arrived() : settled()) break;
      if (!interrupted) {
        if (limited)
          ready_cv_.wait_until(lock, deadline, arrived);
        else
          ready_cv_.wait(lock, settled);
        break;
      }
      const Clock::time_point wake = std::min(deadline, Clock::now() + kSlice);
      if (limited ? ready_cv_.wait_until(lock, wake, arrived)
                  : ready_cv_.wait_until(lock, wake, settled))
        break;
      if (limited && Clock::now() >= deadline) break;
      lock.unlock();
      const bool stop = interrupted();
      lock.lock();
      if (stop) {
        if (was_interrupted) *was_interrupted = true;
        return {};
      }
    }
  }
  std::vector<EncodedPacket> out(std::make_move_iterator(ready_.begin()),
                                 std::make_move_iterator(ready_.end()));
  ready_.clear();
  return out;
}

void EncodePipeline::recycle(std::vector<EncodedPacket>&& packets) {
  for (auto& p : packets) packets_.give(std::move(p.data));
}

PipelineStats EncodePipeline::stats() const {
  PipelineStats s;
  s.in_flight_peak = in_flight_peak_.load(std::memory_order_relaxed);
  s.queue_depth_peak_transform = submit_link_.peak.load(std::memory_order_relaxed);
  s.queue_depth_peak_encode = encode_link_.peak.load(std::memory_order_relaxed);
  s.queue_depth_peak_reap = reap_link_.peak.load(std::memory_order_relaxed);
  s.transform_ns = transform_ns_.load(std::memory_order_relaxed);
  s.encode_ns = encode_ns_.load(std::memory_order_relaxed);
  s.reap_ns = reap_ns_.load(std::memory_order_relaxed);
  s.frames_transformed = frames_transformed_.load(std::memory_order_relaxed);
  s.frames_reprepared = frames_reprepared_.load(std::memory_order_relaxed);
  s.frames_from_device = frames_from_device_.load(std::memory_order_relaxed);
  s.device_frames_downloaded = device_frames_downloaded_.load(std::memory_order_relaxed);
  s.device_slot_allocations = device_frames_.allocations();
  s.convert_ns = convert_ns_.load(std::memory_order_relaxed);
  s.conversion_slot_allocations = conversion_slot_allocations_.load(std::memory_order_relaxed);
  s.frames_failed = frames_failed_.load(std::memory_order_relaxed);
  s.frame_slot_allocations = frames_.allocations();
  s.packet_buffer_allocations = packets_.allocations();
  s.pool_allocations = s.frame_slot_allocations + s.packet_buffer_allocations;
  std::lock_guard<std::mutex> lock(stats_mu_);
  s.flush_mode = last_flush_mode_;
  return s;
}

EncodeStats EncodePipeline::encoder_stats() const {
  std::lock_guard<std::mutex> lock(stats_mu_);
  EncodeStats total = retired_stats_;
  accumulate(total, live_stats_);
  return total;
}

}  // namespace videohw
