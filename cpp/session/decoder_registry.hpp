// Decode backend names -> providers, and why a decode backend cannot be used here.
// The only place that knows every decode adapter (the encode side is backend_registry).
#pragma once

#include <map>
#include <memory>
#include <string>

#include "session/decoder_backend.hpp"

namespace videohw {

// "software" or "nvidia"; throws BackendUnavailable (with the cause) or Config (unknown).
std::unique_ptr<DecoderProvider> make_decoder_provider(const std::string& backend,
                                                       const SoftwareDecodeConfig& software,
                                                       const NvidiaDecodeConfig& nvidia);

// name -> "" when usable for decode, else the reason it is not.
std::map<std::string, std::string> decode_backend_availability();

// "auto" -> the first usable decode backend in preference order (nvidia, software).
std::string resolve_decode_backend(const std::string& requested, std::string* fallback_reason);

}  // namespace videohw
