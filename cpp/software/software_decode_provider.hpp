#pragma once

#include "backend/decoder_backend.hpp"

namespace videohw::software {

// Creates SoftwareDecoders with one SoftwareDecodeConfig.
class SoftwareDecoderProvider final : public DecoderProvider {
 public:
  explicit SoftwareDecoderProvider(SoftwareDecodeConfig config);
  std::string name() const override { return "software"; }
  DecodeCapabilities capabilities(Codec codec) const override;
  std::vector<std::string> config_problems(const CommonDecodeConfig& config) const override;
  std::unique_ptr<DecoderBackend> create(const CommonDecodeConfig& config) const override;
  bool can_reconfigure(const CommonDecodeConfig& from, const CommonDecodeConfig& to) const override;

 private:
  SoftwareDecodeConfig config_;
};

// "" when libavcodec has the H.264 and HEVC decoders and parsers, else what is missing.
std::string software_decode_unavailable_reason();

}  // namespace videohw::software
