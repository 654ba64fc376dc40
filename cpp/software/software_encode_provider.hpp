#pragma once

#include "backend/encoder_provider.hpp"

namespace videohw::software {

// Creates SoftwareEncoders with one SoftwareEncodeConfig.
class SoftwareEncoderProvider final : public EncoderProvider {
 public:
  explicit SoftwareEncoderProvider(SoftwareEncodeConfig config);
  std::string name() const override { return "software"; }
  Capabilities capabilities(Codec codec) const override;
  std::vector<std::string> config_problems(const CommonEncodeConfig& config) const override;
  std::unique_ptr<EncoderBackend> create(const CommonEncodeConfig& config) const override;
  bool can_reconfigure(const CommonEncodeConfig& from, const CommonEncodeConfig& to) const override;
  // A restart reopens the context with the new settings inside the same encoder.
  bool can_restart(const CommonEncodeConfig& from, const CommonEncodeConfig& to) const override {
    return from.codec == to.codec;
  }
  // kEncoderPixelFormat (4:2:0 planar, 8-bit) for every config: libx264 and libx265 are
  // opened with nothing else.
  std::vector<PixelFormat> native_input_formats() const override { return {PixelFormat::I420}; }
  int max_in_flight() const override { return config_.max_in_flight; }

 private:
  SoftwareEncodeConfig config_;
};

// "" when libx264 and libx265 are both in this libavcodec, else what is missing.
std::string software_encode_unavailable_reason();

}  // namespace videohw::software
