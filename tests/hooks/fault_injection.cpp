#include "hooks/fault_injection.hpp"

#include <chrono>
#include <string>
#include <thread>

#include "contract/errors.hpp"

namespace videohw {

namespace {

class FaultyBackend final : public EncoderBackend {
 public:
  FaultyBackend(std::unique_ptr<EncoderBackend> inner, int index, bool fail_first_frame,
                bool fail_reconfigure, int delay_ms)
      : inner_(std::move(inner)),
        index_(index),
        fail_first_frame_(fail_first_frame),
        fail_reconfigure_(fail_reconfigure),
        delay_ms_(delay_ms) {}

  const char* name() const override { return inner_->name(); }
  void encode(const FrameView& frame, const FrameOptions& options,
              std::vector<EncodedPacket>& out) override {
    if (fail_first_frame_ && !encoded_any_)
      throw Error(ErrorKind::Encode, "injected fault: encoder #" + std::to_string(index_) +
                                         " fails on its first frame");
    if (delay_ms_ > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms_));
    inner_->encode(frame, options, out);
    encoded_any_ = true;
  }
  FlushResult flush(std::vector<EncodedPacket>& out) override { return inner_->flush(out); }
  void finish(std::vector<EncodedPacket>& out) override { inner_->finish(out); }
  EncodeStats stats() const override { return inner_->stats(); }
  void reconfigure(const CommonEncodeConfig& to) override {
    if (fail_reconfigure_)
      throw Error(ErrorKind::Switch, "injected fault: in-place reconfiguration fails");
    inner_->reconfigure(to);
  }
  void set_packet_pool(ring::PacketPool* pool) override { inner_->set_packet_pool(pool); }

 private:
  std::unique_ptr<EncoderBackend> inner_;
  const int index_;
  const bool fail_first_frame_, fail_reconfigure_;
  const int delay_ms_;
  bool encoded_any_ = false;
};

}  // namespace

FaultInjectingProvider::FaultInjectingProvider(std::shared_ptr<const EncoderProvider> inner,
                                               std::shared_ptr<FaultPlan> plan)
    : inner_(std::move(inner)), plan_(std::move(plan)) {}

std::unique_ptr<EncoderBackend> FaultInjectingProvider::create(
    const CommonEncodeConfig& config) const {
  const int index = plan_->creates.fetch_add(1);
  if (index == plan_->fail_create_at)
    throw Error(ErrorKind::Encode,
                "injected fault: encoder creation #" + std::to_string(index) + " fails");
  return std::make_unique<FaultyBackend>(inner_->create(config), index,
                                         index == plan_->fail_activation_at,
                                         plan_->fail_reconfigure, plan_->encode_delay_ms);
}

}  // namespace videohw
