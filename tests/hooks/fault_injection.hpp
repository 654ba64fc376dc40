// Faults for tests, injected by wrapping a provider: the session and pipeline run their
// ordinary code paths and never know. The C++ session suites use it directly; the Python
// tests through the videohw_testing module (module.cpp; tests/py/hooks.py, inject_faults).
#pragma once

#include <atomic>
#include <memory>

#include "backend/encoder_provider.hpp"

namespace videohw {

struct FaultPlan {
  int fail_create_at = -1;        // the k-th encoder creation (0-based) throws
  int fail_activation_at = -1;    // the k-th created encoder throws on its first frame
  bool fail_reconfigure = false;  // every in-place reconfiguration throws
  int encode_delay_ms = 0;        // every frame takes this much longer to encode
  std::atomic<int> creates{0};
};

class FaultInjectingProvider final : public EncoderProvider {
 public:
  FaultInjectingProvider(std::shared_ptr<const EncoderProvider> inner,
                         std::shared_ptr<FaultPlan> plan);
  std::string name() const override { return inner_->name(); }
  Capabilities capabilities(Codec codec) const override { return inner_->capabilities(codec); }
  std::vector<std::string> config_problems(const CommonEncodeConfig& c) const override {
    return inner_->config_problems(c);
  }
  std::unique_ptr<EncoderBackend> create(const CommonEncodeConfig& config) const override;
  bool can_reconfigure(const CommonEncodeConfig& from,
                       const CommonEncodeConfig& to) const override {
    return inner_->can_reconfigure(from, to);
  }
  std::vector<PixelFormat> native_input_formats() const override {
    return inner_->native_input_formats();
  }
  int max_in_flight() const override { return inner_->max_in_flight(); }

 private:
  std::shared_ptr<const EncoderProvider> inner_;
  std::shared_ptr<FaultPlan> plan_;
};

}  // namespace videohw
