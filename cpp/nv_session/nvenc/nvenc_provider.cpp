#include "nv_session/nvenc/nvenc_provider.hpp"

#include "backend/encoder_registry.hpp"
#include "contract/errors.hpp"
#include "nv_session/nvenc/nvenc_encoder.hpp"
#include "nv_session/nvenc/nvenc_probe.hpp"

namespace videohw::nv_session {

NvencEncoderProvider::NvencEncoderProvider(NvidiaEncodeConfig config) : config_(std::move(config)) {
  validate(config_);
  probe_ = probe_nvenc(config_.device);
}

const NvencCodecCaps& NvencEncoderProvider::codec_caps(Codec codec) const {
  return probe_.codecs.at(codec);
}

Capabilities NvencEncoderProvider::capabilities(Codec codec) const {
  return codec_caps(codec).caps;
}

std::vector<std::string> NvencEncoderProvider::config_problems(
    const CommonEncodeConfig& config) const {
  auto problems = nvidia_config_problems(config, config_);
  const NvencCodecCaps& caps = codec_caps(config.codec);
  if (config_.tuning == "lossless" && caps.caps.max_width > 0 && !caps.lossless)
    problems.push_back(std::string("NvidiaEncodeConfig.tuning: 'lossless' is not supported for ") +
                       to_string(config.codec) +
                       " by this GPU (NV_ENC_CAPS_SUPPORT_LOSSLESS_ENCODE)");
  return problems;
}

std::unique_ptr<EncoderBackend> NvencEncoderProvider::create(
    const CommonEncodeConfig& config) const {
  return std::make_unique<NvencEncoder>(config, config_, codec_caps(config.codec));
}

bool NvencEncoderProvider::can_reconfigure(const CommonEncodeConfig& from,
                                           const CommonEncodeConfig& to) const {
  const NvencCodecCaps& caps = codec_caps(from.codec);
  // The encoder for `from` was initialised with at least this maximum (see max_encode_size).
  const EncodeSize max = max_encode_size(from.width, from.height,
                                         EncodeSize{caps.caps.max_width, caps.caps.max_height});
  return nv_session::can_reconfigure(from, to, max, caps.ability);
}

namespace {

std::map<std::string, std::string> nvenc_details() {
  const NvencDriverInfo info = nvenc_driver_info();
  return {{"cuda_library", info.cuda_library},
          {"nvenc_library", info.nvenc_library},
          {"driver_api_version", info.driver_api_text},
          {"header_api_version", info.header_api_text},
          {"error", info.error}};
}

const bool registered = register_encoder_backend(
    {"nvidia", 0,
     [](const EncodeBackendConfigs& configs) -> std::unique_ptr<EncoderProvider> {
       try {
         return std::make_unique<NvencEncoderProvider>(configs.nvidia);
       } catch (const Error& e) {
         if (e.kind() == ErrorKind::Config) throw;  // the caller's mistake, not the machine's
         throw Error(ErrorKind::BackendUnavailable, std::string("nvidia backend: ") + e.what());
       }
     },
     &nvidia_encode_unavailable_reason, &nvenc_details});

}  // namespace

}  // namespace videohw::nv_session
