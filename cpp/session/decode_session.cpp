#include "session/decode_session.hpp"

#include "contract/clock.hpp"

#include <algorithm>
#include <chrono>

#include "bitstream/picture_pieces.hpp"
#include "contract/errors.hpp"

namespace videohw {

namespace {

DecodeStats operator+(DecodeStats a, const DecodeStats& b) {
  a.decoder_opens += b.decoder_opens;
  a.frames_decoded += b.frames_decoded;
  a.damaged_frames += b.damaged_frames;
  a.decode_errors += b.decode_errors;
  a.bytes_in += b.bytes_in;
  a.access_units += b.access_units;
  a.size_changes += b.size_changes;
  a.decode_ns += b.decode_ns;
  a.decoder_setup_ns += b.decoder_setup_ns;
  a.convert_ns += b.convert_ns;
  a.frames_skipped += b.frames_skipped;
  a.resets += b.resets;
  a.pool_allocations += b.pool_allocations;
  a.ffmpeg_warnings += b.ffmpeg_warnings;
  a.ffmpeg_errors += b.ffmpeg_errors;
  return a;
}

int64_t pixel_bytes(const DecodedFrame& frame) {
  int64_t bytes = 0;
  for (const auto& plane : frame.planes) bytes += int64_t(plane.pitch) * plane.height;
  return bytes;
}

std::unique_ptr<DecoderBackend> create_checked(const DecoderProvider& provider,
                                               const CommonDecodeConfig& config) {
  auto problems = provider.config_problems(config);
  if (!problems.empty()) throw UnsupportedConfig(std::move(problems));
  return provider.create(config);
}

}  // namespace

DecodeSession::DecodeSession(uint64_t id, const CommonDecodeConfig& config,
                             std::shared_ptr<const DecoderProvider> provider)
    : id_(id), provider_(std::move(provider)), config_(config) {
  if (!provider_) throw Error(ErrorKind::Config, "decode session: no decoder provider");
  const int64_t start = monotonic_ns();
  samples_ = make_input_converter(config_);
  decoder_ = create_checked(*provider_, config_);
  init_ns_ = monotonic_ns() - start;
  current_ = decoder_->stats();
}

DecodeSession::~DecodeSession() {
  stop_worker();
}

class DecodeSession::WorkerPause {
 public:
  explicit WorkerPause(DecodeSession& s) : s_(s) {
    std::unique_lock<std::mutex> lock(s_.state_mu_);
    s_.paused_ = true;
    s_.changed_cv_.wait(lock, [this] { return !s_.worker_busy_; });
  }
  ~WorkerPause() {
    {
      std::lock_guard<std::mutex> lock(s_.state_mu_);
      s_.paused_ = false;
    }
    s_.work_cv_.notify_one();
  }
  WorkerPause(const WorkerPause&) = delete;
  WorkerPause& operator=(const WorkerPause&) = delete;

 private:
  DecodeSession& s_;
};

void DecodeSession::check_handle(uint32_t generation) const {
  if (closed_.load())
    throw Error(ErrorKind::SessionClosed, "decode session " + std::to_string(id_) + " is closed");
  std::lock_guard<std::mutex> lock(state_mu_);
  if (generation == active_generation_) return;
  if (generation > active_generation_)
    throw Error(ErrorKind::Config, "handle (id=" + std::to_string(id_) +
                                       ", generation=" + std::to_string(generation) +
                                       ") names a generation this session never had; the "
                                       "active generation is " +
                                       std::to_string(active_generation_));
  throw Error(ErrorKind::StaleSession,
              "handle (id=" + std::to_string(id_) + ", generation=" + std::to_string(generation) +
                  ") is stale; the active generation is " + std::to_string(active_generation_));
}

std::unique_ptr<bitstream::SampleConverter> DecodeSession::make_input_converter(
    const CommonDecodeConfig& config) {
  if (config.input_layout == EncodedLayout::AnnexB) return nullptr;
  try {
    return std::make_unique<bitstream::SampleConverter>(config.codec, config.extradata.data(),
                                                        config.extradata.size());
  } catch (const Error& e) {
    throw UnsupportedConfig({std::string("extradata: not a usable decoder configuration "
                                         "record: ") +
                             e.what()});
  }
}

void DecodeSession::start_worker() {
  if (worker_started_) return;
  worker_started_ = true;
  worker_ = std::thread([this] { worker_main(); });
}

void DecodeSession::stop_worker() {
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void DecodeSession::worker_main() {
  std::unique_lock<std::mutex> lock(state_mu_);
  for (;;) {
    work_cv_.wait(lock,
                  [this] { return stop_ || (!paused_ && !input_.empty() && !full_locked()); });
    if (stop_) return;
    worker_busy_ = true;
    lock.unlock();
    {
      std::lock_guard<std::mutex> decoding(decoder_mu_);
      while (step(/*as_worker=*/true)) {
      }
    }
    lock.lock();
    worker_busy_ = false;
    changed_cv_.notify_all();
  }
}

bool DecodeSession::step(bool as_worker) {
  DecodeInput::Piece piece;
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    if (as_worker && (stop_ || paused_)) return false;
    if (input_.empty() || full_locked()) return false;
    piece = input_.front(config_.codec);
  }
  std::vector<DecodedFrame> frames;
  std::exception_ptr error;
  try {
    decoder_->decode(piece.data, piece.size, piece.pts, frames);
  } catch (...) {
    // Good frames of the chunk are not lost to a bad access unit; decoding goes on. Any
    // exception (bad_alloc too) is kept for the caller: on this thread it would end the
    // process.
    error = std::current_exception();
  }
  const DecodeStats stats = decoder_->stats();
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    if (error) {
      // Kept with the bytes taken, so whoever sees them gone also sees their error.
      if (!pending_error_) pending_error_ = error;
      try {
        std::rethrow_exception(error);
      } catch (const std::exception& e) {
        last_error_ = e.what();
      } catch (...) {
        last_error_ = "decode: an exception that is not a std::exception";
      }
    }
    input_.consume(piece.size);
    deliver_locked(frames, stats);
  }
  changed_cv_.notify_all();
  return true;
}

bool DecodeSession::pump() {
  while (step(/*as_worker=*/false)) {
  }
  std::lock_guard<std::mutex> lock(state_mu_);
  return input_.empty();
}

std::string DecodeSession::backpressure_message(const char* call, const char* then) const {
  return std::string(call) + ": " + std::to_string(ready_.size()) + " decoded frames (" +
         std::to_string(ready_bytes_ >> 20) + " MiB) wait to be reaped and " +
         std::to_string(input_.bytes()) +
         " pushed bytes wait to be decoded (CommonDecodeConfig.max_ready_frames / "
         "max_ready_bytes); reap, then " +
         then;
}

void DecodeSession::require_input_decoded(const char* call) {
  if (pump()) return;
  std::lock_guard<std::mutex> lock(state_mu_);
  backpressure_refusals_++;
  throw Error(ErrorKind::Backpressure,
              backpressure_message(
                  call, (std::string("call ") + call + " again. Nothing was lost").c_str()));
}

void DecodeSession::push(uint32_t generation, const uint8_t* data, size_t size,
                         std::optional<int64_t> pts, int64_t wait_ns,
                         const std::function<bool()>& interrupted, bool* was_interrupted) {
  std::lock_guard<std::mutex> api(api_mu_);
  check_handle(generation);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::nanoseconds(wait_ns);
  {
    std::unique_lock<std::mutex> lock(state_mu_);
    bool counted_stall = false, counted_full = false;
    while (stalled_locked() ||
           input_.bytes() >= std::min(config_.push_ahead_bytes, config_.max_backlog_bytes)) {
      const auto now = std::chrono::steady_clock::now();
      const bool stalled = stalled_locked();
      if (stalled && (wait_ns == 0 || (wait_ns > 0 && now >= deadline))) {
        backpressure_refusals_++;
        throw Error(
            ErrorKind::Backpressure,
            backpressure_message("push_bitstream", "push again. Nothing of this chunk was taken"));
      }
      if (stalled && !counted_stall) backpressure_waits_++, counted_stall = true;
      if (!stalled && !counted_full) backlog_full_waits_++, counted_full = true;
      if (wait_interrupted(lock, stalled && wait_ns > 0, deadline, interrupted)) {
        if (was_interrupted) *was_interrupted = true;
        return;
      }
    }
  }
  bool damaged_sample = false;
  if (samples_) {
    // One sample per push; the record's parameter sets go in front of the first one.
    damaged_sample = !samples_->convert(data, size, true, converted_);
    data = converted_.data();
    size = converted_.size();
  }
  {
    std::unique_lock<std::mutex> lock(state_mu_);
    chunks_pushed_++;
    bytes_since_flush_ += int64_t(size);
    const bool borrow = int64_t(size) > config_.max_backlog_bytes;
    if (borrow)
      input_.push_borrowed(data, size, pts);
    else
      input_.push(data, size, pts);
    start_worker();
    work_cv_.notify_one();
    if (borrow) {
      // Too large to copy: decoded from the caller's memory while this push waits, as far
      // as the bound allows; only a rest the stage cannot take now is copied.
      changed_cv_.wait(
          lock, [this] { return !input_.holds_borrowed() || (stalled_locked() && !worker_busy_); });
      input_.own_borrowed();
    }
  }
  if (std::exception_ptr error = take_error()) std::rethrow_exception(error);
  if (damaged_sample) {
    const std::string message =
        "push_bitstream: the sample's NAL lengths run past its end "
        "(not " +
        std::string(config_.codec == Codec::HEVC ? "HVCC" : "AVCC") +
        " with this record's length size, or truncated); the units "
        "before the damage were queued for decoding";
    record_error(message);
    throw Error(ErrorKind::Decode, message);
  }
}

bool DecodeSession::wait_interrupted(std::unique_lock<std::mutex>& lock, bool until_deadline,
                                     std::chrono::steady_clock::time_point deadline,
                                     const std::function<bool()>& interrupted) {
  // Sliced so that a signal (Ctrl-C) is seen within about 100 ms.
  auto wake = std::chrono::steady_clock::now() + std::chrono::milliseconds(100);
  if (until_deadline && deadline < wake) wake = deadline;
  changed_cv_.wait_until(lock, wake);
  if (!interrupted) return false;
  lock.unlock();
  const bool stop = interrupted();
  lock.lock();
  return stop;
}

bool DecodeSession::full_locked() const {
  return int64_t(ready_.size()) >= config_.max_ready_frames ||
         ready_bytes_ >= config_.max_ready_bytes;
}

void DecodeSession::push_unit(uint32_t generation, const DecodeUnit& unit) {
  std::lock_guard<std::mutex> api(api_mu_);
  check_handle(generation);
  WorkerPause pause(*this);
  std::lock_guard<std::mutex> decoding(decoder_mu_);
  require_input_decoded("push_unit");
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    units_pushed_++;
    if (!unit.skip_output) bytes_since_flush_ += int64_t(unit.size);
  }
  std::vector<DecodedFrame> frames;
  try {
    decoder_->decode_unit(unit, frames);
  } catch (const Error& e) {
    deliver(frames);
    record_error(e.what());
    throw;
  }
  deliver(frames);
}

void DecodeSession::reset(uint32_t generation, bool new_stream) {
  std::lock_guard<std::mutex> api(api_mu_);
  check_handle(generation);
  WorkerPause pause(*this);
  std::lock_guard<std::mutex> decoding(decoder_mu_);
  decoder_->reset(new_stream);
  if (samples_) samples_->reset();
  std::lock_guard<std::mutex> lock(state_mu_);
  input_.clear();
  pending_error_ = nullptr;
  current_ = decoder_->stats();
  ready_.clear();
  ready_bytes_ = 0;
  session_resets_++;
  bytes_since_flush_ = frames_since_flush_ = 0;
}

void DecodeSession::flush_decoder() {
  std::vector<DecodedFrame> frames;
  if (samples_) samples_->reset();
  try {
    decoder_->flush(frames);
  } catch (const Error& e) {
    deliver(frames);
    record_error(e.what());
    throw;
  }
  deliver(frames);
}

std::vector<DecodedFrame> DecodeSession::drain(uint32_t generation) {
  std::lock_guard<std::mutex> api(api_mu_);
  check_handle(generation);
  {
    WorkerPause pause(*this);
    std::lock_guard<std::mutex> decoding(decoder_mu_);
    require_input_decoded("drain");
    flush_decoder();
  }
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    flushes_++;
    bytes_since_flush_ = frames_since_flush_ = 0;
  }
  return take_ready();
}

std::vector<DecodedFrame> DecodeSession::reap(uint32_t generation, size_t min_frames,
                                              int64_t timeout_ns,
                                              const std::function<bool()>& interrupted,
                                              bool* was_interrupted) {
  check_handle(generation);
  if (min_frames > 0) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::nanoseconds(timeout_ns);
    std::unique_lock<std::mutex> lock(state_mu_);
    bool counted = false;
    while (ready_.size() < min_frames && !closed_.load()) {
      const auto now = std::chrono::steady_clock::now();
      if (timeout_ns >= 0 ? now >= deadline : settled_locked()) break;
      if (!counted) reap_waits_++, counted = true;
      if (wait_interrupted(lock, timeout_ns >= 0, deadline, interrupted)) {
        if (was_interrupted) *was_interrupted = true;
        return {};  // what is ready stays for the next reap
      }
    }
  }
  return take_ready();
}

std::vector<DecodedFrame> DecodeSession::flush(uint32_t generation) {
  std::lock_guard<std::mutex> api(api_mu_);
  check_handle(generation);
  std::exception_ptr deferred;
  {
    WorkerPause pause(*this);
    std::lock_guard<std::mutex> decoding(decoder_mu_);
    require_input_decoded("flush");
    deferred = take_error();
    try {
      flush_decoder();
    } catch (const Error&) {
      if (!deferred) throw;  // the earlier error is raised; both are in last_error order
    }
  }
  int64_t bytes = 0, pictures = 0;
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    flushes_++;
    std::swap(bytes, bytes_since_flush_);
    std::swap(pictures, frames_since_flush_);
  }
  // Like the decoder's own errors, the frames stay ready for the next reap.
  if (deferred) std::rethrow_exception(deferred);
  if (bytes > 0 && pictures == 0) {
    const std::string message =
        std::to_string(bytes) + " bytes pushed since the last flush gave no picture: not a " +
        to_string(config_.codec) +
        " stream the decoder can start on (wrong codec, garbage, or no IDR in it?)";
    record_error(message);
    throw Error(ErrorKind::Decode, message);
  }
  return take_ready();
}

uint32_t DecodeSession::switch_to(uint32_t generation, const CommonDecodeConfig& target,
                                  std::shared_ptr<const DecoderProvider> provider) {
  std::lock_guard<std::mutex> api(api_mu_);
  check_handle(generation);
  if (!provider) throw Error(ErrorKind::Config, "switch_decode: no decoder provider");
  WorkerPause pause(*this);
  std::lock_guard<std::mutex> decoding(decoder_mu_);
  require_input_decoded("switch_decode");
  const bool in_place =
      provider->name() == provider_->name() && provider->can_reconfigure(config_, target);
  // A new decoder is created before the current one is touched, so a failure leaves the
  // session exactly as it was.
  std::unique_ptr<DecoderBackend> replacement;
  std::unique_ptr<bitstream::SampleConverter> samples;
  const int64_t start = monotonic_ns();
  const auto refuse = [this](const std::string& message) {
    std::lock_guard<std::mutex> lock(state_mu_);
    switch_failures_++;
    switch_fail_reason_ = message;
  };
  try {
    samples = make_input_converter(target);
  } catch (const Error& e) {
    refuse(e.what());
    throw Error(ErrorKind::Switch, std::string("switch_decode: ") + e.what());
  }
  if (!in_place) {
    try {
      replacement = create_checked(*provider, target);
    } catch (const Error& e) {
      refuse(e.what());
      throw Error(ErrorKind::Switch, std::string("switch_decode: the new decoder could not be "
                                                 "created; the current one keeps running: ") +
                                         e.what());
    }
  }
  // The old generation's frames come out under the old generation.
  std::vector<DecodedFrame> frames;
  try {
    decoder_->flush(frames);
  } catch (const Error& e) {
    record_error(e.what());  // damage in the old stream does not block the switch
  }
  deliver(frames);
  if (in_place) {
    try {
      decoder_->reconfigure(target);
    } catch (const Error& e) {
      refuse(e.what());
      throw Error(ErrorKind::Switch, std::string("switch_decode: ") + e.what());
    }
  }
  std::lock_guard<std::mutex> lock(state_mu_);
  if (!in_place) {
    retired_ = retired_ + decoder_->stats();
    decoder_ = std::move(replacement);
    init_ns_ += monotonic_ns() - start;
    switches_new_session_++;
  } else {
    switches_in_place_++;
  }
  current_ = decoder_->stats();
  provider_ = std::move(provider);
  config_ = target;
  samples_ = std::move(samples);
  switches_++;
  bytes_since_flush_ = frames_since_flush_ = 0;
  active_generation_ = next_generation_++;
  return active_generation_;
}

std::vector<DecodedFrame> DecodeSession::close(uint32_t generation) {
  std::lock_guard<std::mutex> api(api_mu_);
  check_handle(generation);
  stop_worker();
  std::lock_guard<std::mutex> decoding(decoder_mu_);
  pump();  // what a push queued is decoded, as far as the bound allows
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    pending_error_ = nullptr;
    const int64_t dropped = input_.clear();
    if (dropped > 0) {
      backlog_bytes_dropped_ += dropped;
      last_error_ = "closed with " + std::to_string(dropped) +
                    " pushed bytes not decoded: decoded frames waited unreaped past "
                    "CommonDecodeConfig.max_ready_frames / max_ready_bytes";
    }
  }
  std::vector<DecodedFrame> frames;
  try {
    decoder_->flush(frames);
  } catch (const Error& e) {
    record_error(e.what());
  }
  deliver(frames);
  closed_.store(true);
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    retired_ = retired_ + decoder_->stats();
    current_ = DecodeStats{};
  }
  decoder_.reset();
  changed_cv_.notify_all();
  return take_ready();
}

void DecodeSession::deliver(std::vector<DecodedFrame>& frames) {
  const DecodeStats stats = decoder_->stats();
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    deliver_locked(frames, stats);
  }
  changed_cv_.notify_all();
}

void DecodeSession::deliver_locked(std::vector<DecodedFrame>& frames, const DecodeStats& stats) {
  current_ = stats;
  for (auto& frame : frames) {
    frame.generation = active_generation_;
    frames_out_++;
    frames_since_flush_++;
    if (frame.is_keyframe) keyframes_out_++;
    const std::pair<int, int> size{frame.width, frame.height};
    if (std::find(sizes_seen_.begin(), sizes_seen_.end(), size) == sizes_seen_.end())
      sizes_seen_.push_back(size);
    ready_bytes_ += pixel_bytes(frame);
    ready_.push_back(std::move(frame));
  }
  frames.clear();
  ready_peak_frames_ = std::max(ready_peak_frames_, int64_t(ready_.size()));
  ready_peak_bytes_ = std::max(ready_peak_bytes_, ready_bytes_);
}

std::exception_ptr DecodeSession::take_error() {
  std::lock_guard<std::mutex> lock(state_mu_);
  std::exception_ptr error;
  std::swap(error, pending_error_);
  return error;
}

void DecodeSession::record_error(const std::string& message) {
  std::lock_guard<std::mutex> lock(state_mu_);
  last_error_ = message;
}

std::vector<DecodedFrame> DecodeSession::take_ready() {
  std::vector<DecodedFrame> out;
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    out.swap(ready_);
    ready_bytes_ = 0;
  }
  // Room for the decode stage, and a push waiting on a stalled stage may go on.
  work_cv_.notify_one();
  changed_cv_.notify_all();
  return out;
}

DecodeStateInfo DecodeSession::state() const {
  std::lock_guard<std::mutex> lock(state_mu_);
  DecodeStateInfo s;
  s.closed = closed_.load();
  s.active_generation = active_generation_;
  s.next_generation = next_generation_;
  s.codec = config_.codec;
  s.output = config_.output;
  s.backend = provider_->name();
  return s;
}

TelemetryMap DecodeSession::telemetry() const {
  std::lock_guard<std::mutex> lock(state_mu_);
  const DecodeStats d = retired_ + current_;
  std::string sizes;
  for (const auto& [w, h] : sizes_seen_)
    sizes += (sizes.empty() ? "" : ",") + std::to_string(w) + "x" + std::to_string(h);
  return {
      {"kind", std::string("decode")},
      {"backend", provider_->name()},
      {"codec", std::string(to_string(config_.codec))},
      {"state", std::string(closed_.load() ? "closed" : "running")},
      {"generation", int64_t(active_generation_)},
      {"session_inits", int64_t(1)},
      {"init_ns", init_ns_},
      {"output", std::string(to_string(config_.output))},
      {"chunks_pushed", chunks_pushed_},
      {"units_pushed", units_pushed_},
      {"bytes_in", d.bytes_in},
      {"access_units", d.access_units},
      {"frames_decoded", d.frames_decoded},
      {"frames_skipped", d.frames_skipped},
      {"frames_out", frames_out_},
      {"keyframes_out", keyframes_out_},
      {"damaged_frames", d.damaged_frames},
      {"decode_errors", d.decode_errors},
      {"last_error", last_error_},
      {"resets", session_resets_},
      {"flushes", flushes_},
      {"sizes_seen", sizes},
      {"size_changes", d.size_changes},
      {"frames_ready", int64_t(ready_.size())},
      {"ready_bytes", ready_bytes_},
      {"ready_peak_frames", ready_peak_frames_},
      {"ready_peak_bytes", ready_peak_bytes_},
      {"decode_stage", std::string(stop_              ? "stopped"
                                   : stalled_locked() ? "waiting_for_reap"
                                   : worker_busy_     ? "decoding"
                                                      : "idle")},
      {"backlog_bytes", input_.bytes()},
      {"backlog_peak_bytes", input_.peak_bytes()},
      {"backlog_bytes_dropped", backlog_bytes_dropped_},
      {"backlog_full_waits", backlog_full_waits_},
      {"reap_waits", reap_waits_},
      {"backpressure_waits", backpressure_waits_},
      {"backpressure_refusals", backpressure_refusals_},
      {"decode_ns", d.decode_ns},
      {"decoder_setup_ns", d.decoder_setup_ns},
      {"convert_ns", d.convert_ns},
      {"pool_allocations", d.pool_allocations},
      {"ffmpeg_warnings", d.ffmpeg_warnings},
      {"ffmpeg_errors", d.ffmpeg_errors},
      {"switches", switches_},
      {"switches_in_place", switches_in_place_},
      {"switches_new_session", switches_new_session_},
      {"switch_failures", switch_failures_},
      {"switch_fail_reason", switch_fail_reason_},
  };
}

}  // namespace videohw
