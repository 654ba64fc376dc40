#include "backend/decoder_registry.hpp"

#include "backend/backend_table.hpp"

namespace videohw {

namespace {

backend_detail::BackendTable<DecoderBackendEntry>& table() {
  static auto* t = new backend_detail::BackendTable<DecoderBackendEntry>;  // as encode's
  return *t;
}

}  // namespace

bool register_decoder_backend(DecoderBackendEntry entry) {
  table().add(std::move(entry));
  return true;
}

std::unique_ptr<DecoderProvider> make_decoder_provider(const std::string& backend,
                                                       const DecodeBackendConfigs& configs) {
  return table().find(backend, "").make(configs);
}

std::unique_ptr<DecoderProvider> make_decoder_provider(const std::string& backend,
                                                       const SoftwareDecodeConfig& software,
                                                       const NvidiaDecodeConfig& nvidia) {
  return make_decoder_provider(backend, DecodeBackendConfigs{software, nvidia});
}

std::map<std::string, std::string> decode_backend_availability() {
  return table().availability();
}

std::map<std::string, int64_t> decode_backend_cache(const std::string& backend) {
  const DecoderBackendEntry entry = table().find(backend, "decode ");
  return entry.cache_stats ? entry.cache_stats() : std::map<std::string, int64_t>{};
}

void set_decode_backend_cache_limit(const std::string& backend, const std::string& name,
                                    int64_t value) {
  const DecoderBackendEntry entry = table().find(backend, "decode ");
  if (!entry.set_cache_limit)
    throw Error(ErrorKind::Config, "decode backend '" + backend +
                                       "' keeps nothing across sessions: it has no cache limits");
  if (value < 0)
    throw Error(ErrorKind::Config, "cache limit " + name + ": " + std::to_string(value) +
                                       " is negative; expected 0 (keep nothing) or more");
  entry.set_cache_limit(name, value);
}

void release_decode_backend_caches(const std::string& backend) {
  for (const auto& entry : table().by_preference())
    if ((backend.empty() || entry.name == backend) && entry.release_cache) entry.release_cache();
  if (!backend.empty()) table().find(backend, "decode ");  // an unknown name says so
}

std::string resolve_decode_backend(const std::string& requested, std::string* fallback_reason) {
  return table().resolve(requested, fallback_reason, "decode ");
}

}  // namespace videohw
