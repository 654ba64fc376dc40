#include "software/software_decode_provider.hpp"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/log.h>
}

#include <cstdlib>
#include <mutex>

#include "backend/decoder_registry.hpp"
#include "backend/rgb_reference.hpp"
#include "contract/errors.hpp"
#include "software/rgb_table.hpp"
#include "software/software_decoder.hpp"

namespace videohw::software {

SoftwareDecoderProvider::SoftwareDecoderProvider(SoftwareDecodeConfig config) : config_(config) {
  if (config_.threads < 0 || config_.threads > 64)
    throw Error(ErrorKind::Config,
                "SoftwareDecodeConfig.threads: " + std::to_string(config_.threads) +
                    "; expected 0 (automatic) to 64");
}

DecodeCapabilities SoftwareDecoderProvider::capabilities(Codec codec) const {
  return software_decode_capabilities(codec);
}

std::vector<std::string> SoftwareDecoderProvider::config_problems(
    const CommonDecodeConfig& config) const {
  std::vector<std::string> problems;
  if (!software_decode_capabilities(config.codec).supported)
    problems.push_back(
        std::string("codec: ") + to_string(config.codec) +
        " cannot be decoded by the software backend: this libavcodec has no decoder for it");
  if (config.max_display_delay && (*config.max_display_delay < 0 || *config.max_display_delay > 16))
    problems.push_back("max_display_delay: " + std::to_string(*config.max_display_delay) +
                       "; expected 0..16 or none");
  return problems;
}

std::unique_ptr<DecoderBackend> SoftwareDecoderProvider::create(
    const CommonDecodeConfig& config) const {
  auto problems = config_problems(config);
  if (!problems.empty()) throw UnsupportedConfig(std::move(problems));
  return std::make_unique<SoftwareDecoder>(config, config_);
}

bool SoftwareDecoderProvider::can_reconfigure(const CommonDecodeConfig& from,
                                              const CommonDecodeConfig& to) const {
  return from.codec == to.codec && from.low_latency == to.low_latency;
}

std::string software_decode_unavailable_reason() {
  std::string missing;
  for (AVCodecID id : {AV_CODEC_ID_H264, AV_CODEC_ID_HEVC}) {
    if (!avcodec_find_decoder(id))
      missing += std::string(missing.empty() ? "" : ", ") + avcodec_get_name(id) + " decoder";
    AVCodecParserContext* parser = av_parser_init(id);
    if (parser)
      av_parser_close(parser);
    else
      missing += std::string(missing.empty() ? "" : ", ") + avcodec_get_name(id) + " parser";
  }
  return missing.empty() ? "" : "libavcodec lacks the " + missing;
}

namespace {

const bool registered = register_decoder_backend(
    {"software", 1,
     [](const DecodeBackendConfigs& configs) -> std::unique_ptr<DecoderProvider> {
       const std::string reason = software_decode_unavailable_reason();
       if (!reason.empty())
         throw Error(ErrorKind::BackendUnavailable, "software decode backend: " + reason);
       return std::make_unique<SoftwareDecoderProvider>(configs.software);
     },
     &software_decode_unavailable_reason});

// NVDEC's CPU_RGB reproduces this backend's conversion exactly, through this table.
const bool rgb_registered = register_reference_rgb_table(&rgb_table);

}  // namespace

}  // namespace videohw::software
