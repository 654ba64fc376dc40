// Decode backend names -> providers, and why a decode backend cannot be used here. Backends
// register themselves, as on the encode side (encoder_registry.hpp).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "backend/decoder_backend.hpp"

namespace videohw {

struct DecodeBackendConfigs {
  SoftwareDecodeConfig software;
  NvidiaDecodeConfig nvidia;
};

struct DecoderBackendEntry {
  std::string name;
  int preference = 0;  // "auto" tries the lowest first
  std::function<std::unique_ptr<DecoderProvider>(const DecodeBackendConfigs&)> make;
  std::function<std::string()> unavailable_reason;  // "" when usable here
};

bool register_decoder_backend(DecoderBackendEntry entry);

std::unique_ptr<DecoderProvider> make_decoder_provider(const std::string& backend,
                                                       const DecodeBackendConfigs& configs);
std::unique_ptr<DecoderProvider> make_decoder_provider(const std::string& backend,
                                                       const SoftwareDecodeConfig& software,
                                                       const NvidiaDecodeConfig& nvidia);

std::map<std::string, std::string> decode_backend_availability();

std::string resolve_decode_backend(const std::string& requested, std::string* fallback_reason);

}  // namespace videohw
