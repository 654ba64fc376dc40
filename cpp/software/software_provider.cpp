#include "software/software_provider.hpp"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/log.h>
}

#include <cstdlib>
#include <mutex>

#include "contract/validate.hpp"
#include "software/software_encoder.hpp"

namespace videohw::software {

namespace {

// libx264/libx265 report their settings at INFO level on every open; a library should be
// quiet unless asked. VIDEOHW_FFMPEG_LOG_LEVEL (an av_log level number) overrides.
void quiet_ffmpeg_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    const char* level = std::getenv("VIDEOHW_FFMPEG_LOG_LEVEL");
    av_log_set_level(level && *level ? std::atoi(level) : AV_LOG_ERROR);
  });
}

}  // namespace

SoftwareEncoderProvider::SoftwareEncoderProvider(SoftwareEncodeConfig config)
    : config_(std::move(config)) {
  validate(config_);
}

Capabilities SoftwareEncoderProvider::capabilities(Codec codec) const {
  return software_capabilities(codec);
}

std::vector<std::string> SoftwareEncoderProvider::config_problems(
    const CommonEncodeConfig& config) const {
  return software_config_problems(config);
}

std::unique_ptr<EncoderBackend> SoftwareEncoderProvider::create(
    const CommonEncodeConfig& config) const {
  quiet_ffmpeg_once();
  return std::make_unique<SoftwareEncoder>(config, config_);
}

std::string software_unavailable_reason() {
  std::string missing;
  for (const char* name : {"libx264", "libx265"})
    if (!avcodec_find_encoder_by_name(name))
      missing += std::string(missing.empty() ? "" : ", ") + name;
  return missing.empty() ? "" : "libavcodec lacks the encoders " + missing;
}

}  // namespace videohw::software
