#include "backend/encoder_registry.hpp"

#include "backend/backend_table.hpp"

namespace videohw {

namespace {

backend_detail::BackendTable<EncoderBackendEntry>& table() {
  // Never destroyed: registrars of other translation units may run before or after this
  // one's static initialisation, and lookups may come from threads at exit.
  static auto* t = new backend_detail::BackendTable<EncoderBackendEntry>;
  return *t;
}

}  // namespace

bool register_encoder_backend(EncoderBackendEntry entry) {
  table().add(std::move(entry));
  return true;
}

std::unique_ptr<EncoderProvider> make_encoder_provider(const std::string& backend,
                                                       const EncodeBackendConfigs& configs) {
  return table().find(backend, "").make(configs);
}

std::unique_ptr<EncoderProvider> make_encoder_provider(const std::string& backend,
                                                       const SoftwareEncodeConfig& software,
                                                       const NvidiaEncodeConfig& nvidia) {
  return make_encoder_provider(backend, EncodeBackendConfigs{software, nvidia});
}

std::map<std::string, std::string> encode_backend_availability() {
  return table().availability();
}

std::map<std::string, std::string> encode_backend_details(const std::string& backend) {
  const auto entry = table().find(backend, "");
  return entry.details ? entry.details() : std::map<std::string, std::string>{};
}

std::string resolve_encode_backend(const std::string& requested, std::string* fallback_reason) {
  return table().resolve(requested, fallback_reason, "encode ");
}

}  // namespace videohw
