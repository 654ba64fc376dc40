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
  // What the backend keeps in the process across sessions (ended sessions' decoders, output
  // buffers) so a new session starts warm: counts and limits by name. Unset where it keeps
  // nothing.
  std::function<std::map<std::string, int64_t>()> cache_stats;
  // Sets limit `name` (one of cache_stats' "*_limit" names without the suffix); throws
  // Error(Config) naming the known ones.
  std::function<void(const std::string& name, int64_t value)> set_cache_limit;
  std::function<void()> release_cache;  // frees everything kept and idle now
};

bool register_decoder_backend(DecoderBackendEntry entry);

std::unique_ptr<DecoderProvider> make_decoder_provider(const std::string& backend,
                                                       const DecodeBackendConfigs& configs);
std::unique_ptr<DecoderProvider> make_decoder_provider(const std::string& backend,
                                                       const SoftwareDecodeConfig& software,
                                                       const NvidiaDecodeConfig& nvidia);

std::map<std::string, std::string> decode_backend_availability();

// The backend's cache_stats ({} where it keeps nothing); throws Error(Config) for an unknown
// backend name.
std::map<std::string, int64_t> decode_backend_cache(const std::string& backend);
// Throws Error(Config) for an unknown backend or limit, or a backend that keeps nothing.
void set_decode_backend_cache_limit(const std::string& backend, const std::string& name,
                                    int64_t value);
// Every backend's, or the one named.
void release_decode_backend_caches(const std::string& backend = "");

std::string resolve_decode_backend(const std::string& requested, std::string* fallback_reason);

}  // namespace videohw
