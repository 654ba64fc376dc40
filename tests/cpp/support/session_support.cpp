#include "support/session_support.hpp"

#include <algorithm>

#include "software/software_encode_provider.hpp"
#include "support/frames.hpp"

namespace vhtest {

using namespace videohw;

// ---- Gate ---------------------------------------------------------------------------------

void Gate::shut() {
  std::lock_guard<std::mutex> lock(mu_);
  shut_ = true;
}

void Gate::open() {
  std::lock_guard<std::mutex> lock(mu_);
  shut_ = false;
  cv_.notify_all();
}

bool Gate::wait_held(int n, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return held_ >= n; });
}

int Gate::held() const {
  std::lock_guard<std::mutex> lock(mu_);
  return held_;
}

void Gate::pass() {
  std::unique_lock<std::mutex> lock(mu_);
  if (!shut_) return;
  held_++;
  cv_.notify_all();
  cv_.wait(lock, [&] { return !shut_; });
  held_--;
}

// ---- BackendLog ---------------------------------------------------------------------------

void BackendLog::add(std::string event) {
  std::lock_guard<std::mutex> lock(mu_);
  events_.push_back(std::move(event));
}

std::vector<std::string> BackendLog::events() const {
  std::lock_guard<std::mutex> lock(mu_);
  return events_;
}

int BackendLog::index_of(const std::string& event) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = std::find(events_.begin(), events_.end(), event);
  return it == events_.end() ? -1 : int(it - events_.begin());
}

int BackendLog::count_prefix(const std::string& prefix) const {
  std::lock_guard<std::mutex> lock(mu_);
  return int(std::count_if(events_.begin(), events_.end(),
                           [&](const std::string& e) { return e.rfind(prefix, 0) == 0; }));
}

// ---- RecordingBackend ---------------------------------------------------------------------

RecordingBackend::RecordingBackend(std::unique_ptr<EncoderBackend> inner, int index,
                                   std::shared_ptr<BackendLog> log, std::shared_ptr<Gate> gate)
    : inner_(std::move(inner)), index_(index), log_(std::move(log)), gate_(std::move(gate)) {}

RecordingBackend::~RecordingBackend() {
  if (!finished_) log_->destroyed_unfinished++;
  inner_.reset();
  log_->add("destroy#" + std::to_string(index_));
  log_->destroyed++;
}

void RecordingBackend::encode(const FrameView& frame, const FrameOptions& options,
                              std::vector<EncodedPacket>& out) {
  if (gate_) gate_->pass();
  log_->add("encode#" + std::to_string(index_) + ":" + std::to_string(options.pts.value_or(-1)));
  log_->encodes++;
  inner_->encode(frame, options, out);
}

FlushResult RecordingBackend::flush(std::vector<EncodedPacket>& out) {
  log_->add("flush#" + std::to_string(index_));
  return inner_->flush(out);
}

void RecordingBackend::finish(std::vector<EncodedPacket>& out) {
  const size_t before = out.size();
  inner_->finish(out);
  finished_ = true;
  log_->add("finish#" + std::to_string(index_));
  log_->finish_calls++;
  log_->packets_from_finish += int(out.size() - before);
}

void RecordingBackend::reconfigure(const CommonEncodeConfig& to) {
  if (gate_) gate_->pass();
  log_->add("reconfigure#" + std::to_string(index_));
  log_->reconfigures++;
  inner_->reconfigure(to);
}

// ---- TestProvider -------------------------------------------------------------------------

TestProvider::TestProvider(std::shared_ptr<const EncoderProvider> inner)
    : inner_(std::move(inner)) {}

std::shared_ptr<TestProvider> TestProvider::software(SoftwareEncodeConfig config) {
  return std::make_shared<TestProvider>(
      std::make_shared<software::SoftwareEncoderProvider>(std::move(config)));
}

std::unique_ptr<EncoderBackend> TestProvider::create(const CommonEncodeConfig& config) const {
  const int index = log->creates.fetch_add(1);
  log->add("create#" + std::to_string(index));
  return std::make_unique<RecordingBackend>(inner_->create(config), index, log, gate);
}

std::shared_ptr<TestProvider> faulty_software(std::shared_ptr<FaultPlan> plan,
                                              SoftwareEncodeConfig config) {
  return std::make_shared<TestProvider>(std::make_shared<FaultInjectingProvider>(
      std::make_shared<software::SoftwareEncoderProvider>(std::move(config)), std::move(plan)));
}

// ---- helpers ------------------------------------------------------------------------------

int64_t tel_int(const TelemetryMap& map, const std::string& key) {
  for (const auto& [k, v] : map)
    if (k == key) {
      if (auto* i = std::get_if<int64_t>(&v)) return *i;
      ADD_FAILURE() << key << " is not an int";
      return -1;
    }
  ADD_FAILURE() << "telemetry has no key " << key;
  return -1;
}

std::string tel_str(const TelemetryMap& map, const std::string& key) {
  for (const auto& [k, v] : map)
    if (k == key) {
      if (auto* s = std::get_if<std::string>(&v)) return *s;
      ADD_FAILURE() << key << " is not a string";
      return "";
    }
  ADD_FAILURE() << "telemetry has no key " << key;
  return "";
}

std::vector<int64_t> pts_of(const std::vector<EncodedPacket>& packets) {
  std::vector<int64_t> v;
  for (const auto& p : packets) v.push_back(p.pts);
  return v;
}

std::vector<uint32_t> generations_of(const std::vector<EncodedPacket>& packets) {
  std::vector<uint32_t> v;
  for (const auto& p : packets) v.push_back(p.generation);
  return v;
}

std::vector<int64_t> range(int64_t first, int64_t count) {
  std::vector<int64_t> v;
  for (int64_t i = 0; i < count; ++i) v.push_back(first + i);
  return v;
}

void append(std::vector<EncodedPacket>& to, std::vector<EncodedPacket> from) {
  for (auto& p : from) to.push_back(std::move(p));
}

void submit_frame(EncodeSession& s, uint32_t generation, const CommonEncodeConfig& size_of,
                  int index, std::optional<int64_t> pts, bool force_keyframe, PixelFormat format,
                  bool block) {
  const TestFrame f = pattern_frame(format, size_of.width, size_of.height, index);
  FrameOptions o;
  o.pts = pts;
  o.force_keyframe = force_keyframe;
  s.submit(generation, f.format, f.data(), f.size(), f.pitch, o, block);
}

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return done();
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

CommonEncodeConfig low_latency_config(int width, int height) {
  auto c = small_config(Codec::H264, width, height);
  c.low_latency = true;
  return c;
}

CommonEncodeConfig b_frame_config(int width, int height) {
  auto c = small_config(Codec::H264, width, height);
  c.b_frames = 2;
  c.frame_interval_p = 3;
  return c;
}

}  // namespace vhtest
