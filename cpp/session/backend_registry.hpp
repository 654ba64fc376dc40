// Backend names -> providers, and why a backend cannot be used on this machine.
// The only place that knows every adapter.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "session/encoder_provider.hpp"

namespace videohw {

// "software" or "nvidia"; throws BackendUnavailable (with the cause) or Config (unknown).
std::unique_ptr<EncoderProvider> make_encoder_provider(const std::string& backend,
                                                       const SoftwareEncodeConfig& software);
std::unique_ptr<EncoderProvider> make_encoder_provider(const std::string& backend,
                                                       const SoftwareEncodeConfig& software,
                                                       const NvidiaEncodeConfig& nvidia);

// name -> "" when usable, else the reason it is not.
std::map<std::string, std::string> encode_backend_availability();

// "auto" -> the first usable backend in preference order (nvidia, software).
std::string resolve_encode_backend(const std::string& requested, std::string* fallback_reason);

}  // namespace videohw
