#include "session/backend_registry.hpp"

#include "contract/errors.hpp"
#include "nv_session/driver_probe.hpp"
#include "nv_session/nvenc_provider.hpp"
#include "software/software_provider.hpp"

namespace videohw {

std::unique_ptr<EncoderProvider> make_encoder_provider(const std::string& backend,
                                                       const SoftwareEncodeConfig& software) {
  return make_encoder_provider(backend, software, NvidiaEncodeConfig{});
}

std::unique_ptr<EncoderProvider> make_encoder_provider(const std::string& backend,
                                                       const SoftwareEncodeConfig& software,
                                                       const NvidiaEncodeConfig& nvidia) {
  if (backend == "software") {
    const std::string reason = software::software_unavailable_reason();
    if (!reason.empty()) throw Error(ErrorKind::BackendUnavailable, "software backend: " + reason);
    return std::make_unique<software::SoftwareEncoderProvider>(software);
  }
  if (backend == "nvidia") {
    try {
      return std::make_unique<nv_session::NvencEncoderProvider>(nvidia);
    } catch (const Error& e) {
      if (e.kind() == ErrorKind::Config) throw;  // the caller's mistake, not the machine's
      throw Error(ErrorKind::BackendUnavailable, std::string("nvidia backend: ") + e.what());
    }
  }
  throw Error(ErrorKind::Config, "backend: '" + backend +
                                     "' is not one of auto, software, nvidia");
}

std::map<std::string, std::string> encode_backend_availability() {
  return {
      {"nvidia", nv_session::nvidia_encode_unavailable_reason()},
      {"software", software::software_unavailable_reason()},
  };
}

std::string resolve_encode_backend(const std::string& requested, std::string* fallback_reason) {
  if (requested != "auto") return requested;
  const auto availability = encode_backend_availability();
  for (const char* name : {"nvidia", "software"}) {
    const std::string& reason = availability.at(name);
    if (reason.empty()) return name;
    if (fallback_reason && std::string(name) == "nvidia") *fallback_reason = "nvidia: " + reason;
  }
  throw Error(ErrorKind::BackendUnavailable,
              "no encode backend is usable: nvidia: " + availability.at("nvidia") +
                  "; software: " + availability.at("software"));
}

}  // namespace videohw
