#include "software/software_encode_provider.hpp"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/log.h>
}

#include <algorithm>
#include <cstdlib>
#include <mutex>

#include "backend/encoder_registry.hpp"
#include "contract/errors.hpp"
#include "contract/validate.hpp"
#include "software/encoder_options.hpp"
#include "software/software_encoder.hpp"

namespace videohw::software {

SoftwareEncoderProvider::SoftwareEncoderProvider(SoftwareEncodeConfig config)
    : config_(std::move(config)) {
  validate(config_);
}

Capabilities SoftwareEncoderProvider::capabilities(Codec codec) const {
  return software_capabilities(codec);
}

std::vector<std::string> SoftwareEncoderProvider::config_problems(
    const CommonEncodeConfig& config) const {
  auto problems = software_config_problems(config);
  const Capabilities caps = software_capabilities(config.codec);
  const auto listed = [](const std::vector<std::string>& names, const std::string& name) {
    return std::find(names.begin(), names.end(), name) != names.end();
  };
  if (!caps.presets.empty() && !listed(caps.presets, config_.preset))
    problems.push_back("SoftwareEncodeConfig.preset: '" + config_.preset + "' is not a " +
                       to_string(config.codec) + " preset");
  // x264 combines tunes with commas; each one must be known to the codec.
  std::string tunes = config_.tune;
  for (size_t start = 0; !tunes.empty() && start <= tunes.size();) {
    const size_t end = std::min(tunes.find(',', start), tunes.size());
    const std::string tune = tunes.substr(start, end - start);
    if (!listed(caps.tunes, tune))
      problems.push_back("SoftwareEncodeConfig.tune: '" + tune + "' is not a " +
                         to_string(config.codec) + " tune");
    start = end + 1;
  }
  return problems;
}

std::unique_ptr<EncoderBackend> SoftwareEncoderProvider::create(
    const CommonEncodeConfig& config) const {
  return std::make_unique<SoftwareEncoder>(config, config_);
}

bool SoftwareEncoderProvider::can_reconfigure(const CommonEncodeConfig& from,
                                              const CommonEncodeConfig& to) const {
  return can_reconfigure_in_place(from, to);
}

std::string software_encode_unavailable_reason() {
  std::string missing;
  for (const char* name : {"libx264", "libx265"})
    if (!avcodec_find_encoder_by_name(name))
      missing += std::string(missing.empty() ? "" : ", ") + name;
  return missing.empty() ? "" : "libavcodec lacks the encoders " + missing;
}

namespace {

const bool registered = register_encoder_backend(
    {"software",
     1,
     [](const EncodeBackendConfigs& configs) -> std::unique_ptr<EncoderProvider> {
       const std::string reason = software_encode_unavailable_reason();
       if (!reason.empty())
         throw Error(ErrorKind::BackendUnavailable, "software backend: " + reason);
       return std::make_unique<SoftwareEncoderProvider>(configs.software);
     },
     &software_encode_unavailable_reason,
     {}});

}  // namespace

}  // namespace videohw::software
