#include "session/decode_session.hpp"

#include "contract/clock.hpp"

#include <algorithm>
#include <chrono>

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
  a.convert_ns += b.convert_ns;
  a.frames_skipped += b.frames_skipped;
  a.resets += b.resets;
  a.ffmpeg_warnings += b.ffmpeg_warnings;
  a.ffmpeg_errors += b.ffmpeg_errors;
  return a;
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
  session_inits_ = 1;
  refresh_stats();
}

DecodeSession::~DecodeSession() = default;

void DecodeSession::check_handle(uint32_t generation) const {
  if (closed_.load())
    throw Error(ErrorKind::SessionClosed, "decode session " + std::to_string(id_) + " is closed");
  std::lock_guard<std::mutex> lock(state_mu_);
  if (generation == active_generation_) return;
  if (generation > active_generation_)
    throw Error(ErrorKind::Config, "handle (id=" + std::to_string(id_) + ", generation=" +
                                       std::to_string(generation) +
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
                                         "record: ") + e.what()});
  }
}

void DecodeSession::push(uint32_t generation, const uint8_t* data, size_t size,
                         std::optional<int64_t> pts) {
  std::lock_guard<std::mutex> api(api_mu_);
  check_handle(generation);
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    pushes_++;
    bytes_since_flush_ += int64_t(size);
  }
  bool damaged_sample = false;
  if (samples_) {
    // One sample per push; the record's parameter sets go in front of the first one.
    damaged_sample = !samples_->convert(data, size, true, converted_);
    data = converted_.data();
    size = converted_.size();
  }
  std::vector<DecodedFrame> frames;
  try {
    decoder_->decode(data, size, pts, frames);
  } catch (const Error& e) {
    deliver(frames);  // good frames of the chunk are not lost to a bad access unit
    record_error(e.what());
    throw;
  }
  deliver(frames);
  if (damaged_sample) {
    const std::string message = "push_bitstream: the sample's NAL lengths run past its end "
                                "(not " + std::string(config_.codec == Codec::HEVC ? "HVCC" : "AVCC") +
                                " with this record's length size, or truncated); the units "
                                "before the damage were decoded";
    record_error(message);
    throw Error(ErrorKind::Decode, message);
  }
}

void DecodeSession::push_unit(uint32_t generation, const DecodeUnit& unit) {
  std::lock_guard<std::mutex> api(api_mu_);
  check_handle(generation);
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    units_++;
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
  decoder_->reset(new_stream);
  if (samples_) samples_->reset();
  std::lock_guard<std::mutex> lock(state_mu_);
  current_ = decoder_->stats();
  ready_.clear();
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
  flush_decoder();
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    flushes_++;
    bytes_since_flush_ = frames_since_flush_ = 0;
  }
  return take_ready();
}

std::vector<DecodedFrame> DecodeSession::reap(uint32_t generation) {
  check_handle(generation);
  return take_ready();
}

std::vector<DecodedFrame> DecodeSession::flush(uint32_t generation) {
  std::lock_guard<std::mutex> api(api_mu_);
  check_handle(generation);
  flush_decoder();
  int64_t bytes = 0, pictures = 0;
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    flushes_++;
    std::swap(bytes, bytes_since_flush_);
    std::swap(pictures, frames_since_flush_);
  }
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
  const bool in_place = provider->name() == provider_->name() &&
                        provider->can_reconfigure(config_, target);
  // A new decoder is created before the current one is touched, so a failure leaves the
  // session exactly as it was.
  std::unique_ptr<DecoderBackend> replacement;
  std::unique_ptr<bitstream::SampleConverter> samples;
  const int64_t start = monotonic_ns();
  {
    try {
      samples = make_input_converter(target);
    } catch (const Error& e) {
      std::lock_guard<std::mutex> lock(state_mu_);
      switch_failures_++;
      switch_fail_reason_ = e.what();
      throw Error(ErrorKind::Switch, std::string("switch_decode: ") + e.what());
    }
  }
  if (!in_place) {
    try {
      replacement = create_checked(*provider, target);
    } catch (const Error& e) {
      std::lock_guard<std::mutex> lock(state_mu_);
      switch_failures_++;
      switch_fail_reason_ = e.what();
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
      std::lock_guard<std::mutex> lock(state_mu_);
      switch_failures_++;
      switch_fail_reason_ = e.what();
      throw Error(ErrorKind::Switch, std::string("switch_decode: ") + e.what());
    }
  }
  std::lock_guard<std::mutex> lock(state_mu_);
  if (!in_place) {
    retired_ = retired_ + decoder_->stats();
    decoder_ = std::move(replacement);
    session_inits_++;
    init_ns_ += monotonic_ns() - start;
    switch_new_decoder_++;
  } else {
    switch_in_place_++;
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
  return take_ready();
}

void DecodeSession::deliver(std::vector<DecodedFrame>& frames) {
  const DecodeStats stats = decoder_->stats();
  std::lock_guard<std::mutex> lock(state_mu_);
  current_ = stats;
  for (auto& frame : frames) {
    frame.generation = active_generation_;
    frames_out_++;
    frames_since_flush_++;
    if (frame.is_keyframe) keyframes_++;
    const std::pair<int, int> size{frame.width, frame.height};
    if (std::find(sizes_seen_.begin(), sizes_seen_.end(), size) == sizes_seen_.end())
      sizes_seen_.push_back(size);
    ready_.push_back(std::move(frame));
  }
  frames.clear();
}

void DecodeSession::refresh_stats() {
  const DecodeStats stats = decoder_->stats();
  std::lock_guard<std::mutex> lock(state_mu_);
  current_ = stats;
}

void DecodeSession::record_error(const std::string& message) {
  std::lock_guard<std::mutex> lock(state_mu_);
  last_error_ = message;
}

std::vector<DecodedFrame> DecodeSession::take_ready() {
  std::lock_guard<std::mutex> lock(state_mu_);
  std::vector<DecodedFrame> out;
  out.swap(ready_);
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
      {"output", std::string(to_string(config_.output))},
      {"state", std::string(closed_.load() ? "closed" : "running")},
      {"active_generation", int64_t(active_generation_)},
      {"session_inits", session_inits_},
      {"init_ns", init_ns_},
      {"pushes", pushes_},
      {"units", units_},
      {"resets", session_resets_},
      {"frames_skipped", d.frames_skipped},
      {"bytes_in", d.bytes_in},
      {"access_units", d.access_units},
      {"frames_decoded", d.frames_decoded},
      {"frames_out", frames_out_},
      {"frames_ready", int64_t(ready_.size())},
      {"keyframes", keyframes_},
      {"damaged_frames", d.damaged_frames},
      {"decode_errors", d.decode_errors},
      {"ffmpeg_warnings", d.ffmpeg_warnings},
      {"ffmpeg_errors", d.ffmpeg_errors},
      {"sizes_seen", sizes},
      {"size_changes", d.size_changes},
      {"flushes", flushes_},
      {"switches", switches_},
      {"switch_in_place", switch_in_place_},
      {"switch_new_decoder", switch_new_decoder_},
      {"switch_failures", switch_failures_},
      {"switch_fail_reason", switch_fail_reason_},
      {"decode_ns", d.decode_ns},
      {"convert_ns", d.convert_ns},
      {"last_error", last_error_},
  };
}

}  // namespace videohw
