// Encode backend names -> providers, and why a backend cannot be used on this machine.
//
// Backends register themselves (a registrar object in each backend's provider file, run at
// static initialisation), so this file knows no backend: adding one is a folder and a
// registrar, nothing here. The library is linked whole (cpp/CMakeLists.txt) so no
// registrar is dropped by the linker.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "backend/encoder_provider.hpp"

namespace videohw {

// Every backend's own configuration; each backend reads its part.
struct EncodeBackendConfigs {
  SoftwareEncodeConfig software;
  NvidiaEncodeConfig nvidia;
};

struct EncoderBackendEntry {
  std::string name;    // "software", "nvidia"
  int preference = 0;  // "auto" tries the lowest first
  // Throws Error(BackendUnavailable) with the cause, or Error(Config) for a bad config.
  std::function<std::unique_ptr<EncoderProvider>(const EncodeBackendConfigs&)> make;
  std::function<std::string()> unavailable_reason;  // "" when usable here
  // Facts for diagnostics (library paths, API versions); may be unset.
  std::function<std::map<std::string, std::string>()> details;
};

// For registrars; returns true so a registrar can be `const bool registered = ...`.
// A second entry of one name replaces the first.
bool register_encoder_backend(EncoderBackendEntry entry);

// A registered backend; throws Error(Config) naming the known backends for any other name.
std::unique_ptr<EncoderProvider> make_encoder_provider(const std::string& backend,
                                                       const EncodeBackendConfigs& configs);
std::unique_ptr<EncoderProvider> make_encoder_provider(const std::string& backend,
                                                       const SoftwareEncodeConfig& software,
                                                       const NvidiaEncodeConfig& nvidia = {});

// name -> "" when usable, else the reason it is not.
std::map<std::string, std::string> encode_backend_availability();

// A backend's diagnostic facts (empty when it gives none); throws Error(Config) for an
// unknown name.
std::map<std::string, std::string> encode_backend_details(const std::string& backend);

// "auto" -> the first usable backend in preference order; `fallback_reason` gets why the
// preferred ones were passed over ("nvidia: ...").
std::string resolve_encode_backend(const std::string& requested, std::string* fallback_reason);

}  // namespace videohw
