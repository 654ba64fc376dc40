#include "session/decoder_registry.hpp"

#include "contract/errors.hpp"
#include "nv_session/nvdec_provider.hpp"
#include "software/rgb_table.hpp"
#include "software/software_decode_provider.hpp"

namespace videohw {

namespace {

// The NVDEC adapter (nv_session/nvdec_*): "" where it decodes here, else the probe's cause.
std::string nvidia_decode_unavailable_reason() {
  return nv_session::nvidia_decode_unavailable_reason();
}

}  // namespace

std::unique_ptr<DecoderProvider> make_decoder_provider(const std::string& backend,
                                                       const SoftwareDecodeConfig& software,
                                                       const NvidiaDecodeConfig& nvidia) {
  if (backend == "software") {
    const std::string reason = software::software_decode_unavailable_reason();
    if (!reason.empty())
      throw Error(ErrorKind::BackendUnavailable, "software decode backend: " + reason);
    return std::make_unique<software::SoftwareDecoderProvider>(software);
  }
  // NVDEC's CPU_RGB reproduces the software decoder's conversion exactly (same table).
  if (backend == "nvidia")
    return std::make_unique<nv_session::NvdecProvider>(nvidia, &software::rgb_table);
  throw Error(ErrorKind::Config,
              "backend: '" + backend + "' is not one of auto, software, nvidia");
}

std::map<std::string, std::string> decode_backend_availability() {
  return {
      {"nvidia", nvidia_decode_unavailable_reason()},
      {"software", software::software_decode_unavailable_reason()},
  };
}

std::string resolve_decode_backend(const std::string& requested, std::string* fallback_reason) {
  if (requested != "auto") return requested;
  const auto availability = decode_backend_availability();
  for (const char* name : {"nvidia", "software"}) {
    const std::string& reason = availability.at(name);
    if (reason.empty()) return name;
    if (fallback_reason && std::string(name) == "nvidia") *fallback_reason = "nvidia: " + reason;
  }
  throw Error(ErrorKind::BackendUnavailable,
              "no decode backend is usable: nvidia: " + availability.at("nvidia") +
                  "; software: " + availability.at("software"));
}

}  // namespace videohw
