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

std::string resolve_decode_backend(const std::string& requested, std::string* fallback_reason) {
  return table().resolve(requested, fallback_reason, "decode ");
}

}  // namespace videohw
