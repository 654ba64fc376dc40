// Shared by the session-layer suites (test_session, test_pipeline, test_switching): a test
// EncoderProvider that wraps any provider (the software one, or a FaultInjectingProvider
// around it), records what happens to the encoders it creates, and can hold their encode()
// calls on a gate so a test controls exactly when the pipeline's encode thread moves on.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "backend/encoder_provider.hpp"
#include "backend/telemetry.hpp"
#include "contract/errors.hpp"
#include "hooks/fault_injection.hpp"
#include "session/encode_session.hpp"

namespace vhtest {

using namespace std::chrono_literals;

// Holds encode() and reconfigure() calls while shut. Shut it before the frames it must hold are
// submitted; open() lets every held and later call through.
class Gate {
 public:
  void shut();
  void open();
  // Waits until `n` encode() calls are held inside; false after `timeout`.
  bool wait_held(int n, std::chrono::milliseconds timeout = 10s);
  int held() const;
  // Called by the backend, inside encode().
  void pass();

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool shut_ = false;
  int held_ = 0;
};

// Opens the gate when it goes out of scope, so a test that fails (or throws) while the gate
// is shut does not leave the encode thread held and the session's destructor waiting on it.
// Declare it after the session.
class OpenOnExit {
 public:
  explicit OpenOnExit(Gate& gate) : gate_(gate) {}
  ~OpenOnExit() { gate_.open(); }
  OpenOnExit(const OpenOnExit&) = delete;
  OpenOnExit& operator=(const OpenOnExit&) = delete;

 private:
  Gate& gate_;
};

// What the wrapped encoders went through, in order: "create#i", "encode#i:pts",
// "reconfigure#i", "flush#i", "finish#i", "destroy#i" (i: creation index, 0-based).
class BackendLog {
 public:
  void add(std::string event);
  std::vector<std::string> events() const;
  // Position of the first event equal to `event`, or -1.
  int index_of(const std::string& event) const;
  int count_prefix(const std::string& prefix) const;

  std::atomic<int> creates{0};
  std::atomic<int> destroyed{0};
  std::atomic<int> finish_calls{0};
  std::atomic<int> packets_from_finish{0};
  std::atomic<int> encodes{0};
  std::atomic<int> reconfigures{0};
  // Set by a backend's destructor when it runs without finish() having been called first.
  std::atomic<int> destroyed_unfinished{0};

 private:
  mutable std::mutex mu_;
  std::vector<std::string> events_;
};

class RecordingBackend final : public videohw::EncoderBackend {
 public:
  RecordingBackend(std::unique_ptr<videohw::EncoderBackend> inner, int index,
                   std::shared_ptr<BackendLog> log, std::shared_ptr<Gate> gate);
  ~RecordingBackend() override;

  const char* name() const override { return inner_->name(); }
  void encode(const videohw::FrameView& frame, const videohw::FrameOptions& options,
              std::vector<videohw::EncodedPacket>& out) override;
  videohw::FlushResult flush(std::vector<videohw::EncodedPacket>& out) override;
  void finish(std::vector<videohw::EncodedPacket>& out) override;
  videohw::EncodeStats stats() const override { return inner_->stats(); }
  void reconfigure(const videohw::CommonEncodeConfig& to) override;
  void set_packet_pool(videohw::ring::PacketPool* pool) override { inner_->set_packet_pool(pool); }

 private:
  std::unique_ptr<videohw::EncoderBackend> inner_;
  const int index_;
  std::shared_ptr<BackendLog> log_;
  std::shared_ptr<Gate> gate_;
  bool finished_ = false;
};

// Forwards everything to `inner`; wraps what it creates in RecordingBackends.
class TestProvider final : public videohw::EncoderProvider {
 public:
  explicit TestProvider(std::shared_ptr<const videohw::EncoderProvider> inner);
  // Over the software provider.
  static std::shared_ptr<TestProvider> software(videohw::SoftwareEncodeConfig config = {});

  std::string name() const override { return inner_->name(); }
  videohw::Capabilities capabilities(videohw::Codec codec) const override {
    return inner_->capabilities(codec);
  }
  std::vector<std::string> config_problems(const videohw::CommonEncodeConfig& c) const override {
    return inner_->config_problems(c);
  }
  std::unique_ptr<videohw::EncoderBackend> create(
      const videohw::CommonEncodeConfig& config) const override;
  bool can_reconfigure(const videohw::CommonEncodeConfig& from,
                       const videohw::CommonEncodeConfig& to) const override {
    return inner_->can_reconfigure(from, to);
  }
  std::vector<videohw::PixelFormat> native_input_formats() const override {
    return inner_->native_input_formats();
  }
  int max_in_flight() const override { return inner_->max_in_flight(); }

  std::shared_ptr<BackendLog> log = std::make_shared<BackendLog>();
  // Every encoder this provider creates passes encode() through this gate (open by default).
  std::shared_ptr<Gate> gate = std::make_shared<Gate>();

 private:
  std::shared_ptr<const videohw::EncoderProvider> inner_;
};

// Software provider wrapped in a FaultInjectingProvider wrapped in a TestProvider: faults
// from `plan`, and the recording of every encoder (failed ones included).
std::shared_ptr<TestProvider> faulty_software(std::shared_ptr<videohw::FaultPlan> plan,
                                              videohw::SoftwareEncodeConfig config = {});

// ---- small helpers ------------------------------------------------------------------------

int64_t tel_int(const videohw::TelemetryMap& map, const std::string& key);
std::string tel_str(const videohw::TelemetryMap& map, const std::string& key);

std::vector<int64_t> pts_of(const std::vector<videohw::EncodedPacket>& packets);
std::vector<uint32_t> generations_of(const std::vector<videohw::EncodedPacket>& packets);
std::vector<int64_t> range(int64_t first, int64_t count);
void append(std::vector<videohw::EncodedPacket>& to, std::vector<videohw::EncodedPacket> from);

// Submits pattern frame `index` of the config's size (I420 unless told) with `generation`.
void submit_frame(videohw::EncodeSession& s, uint32_t generation,
                  const videohw::CommonEncodeConfig& size_of, int index,
                  std::optional<int64_t> pts = std::nullopt, bool force_keyframe = false,
                  videohw::PixelFormat format = videohw::PixelFormat::I420, bool block = true);

// Polls `done` until true or `timeout`; returns done().
bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout = 10s);

template <typename Fn>
void expect_error(videohw::ErrorKind kind, Fn&& fn, const std::string& what) {
  try {
    fn();
    ADD_FAILURE() << what << ": no error thrown";
  } catch (const videohw::Error& e) {
    EXPECT_EQ(e.kind(), kind) << what << ": " << e.what();
  }
}

// The kind of the error `fn` throws, or nullopt.
template <typename Fn>
std::optional<videohw::ErrorKind> error_of(Fn&& fn) {
  try {
    fn();
  } catch (const videohw::Error& e) {
    return e.kind();
  }
  return std::nullopt;
}

videohw::CommonEncodeConfig low_latency_config(int width = 64, int height = 48);
videohw::CommonEncodeConfig b_frame_config(int width = 64, int height = 48);

}  // namespace vhtest
