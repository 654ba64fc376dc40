#include "nv_session/nvenc_provider.hpp"

#include "contract/errors.hpp"
#include "nv_session/nvenc_encoder.hpp"

namespace videohw::nv_session {

NvencEncoderProvider::NvencEncoderProvider(NvidiaEncodeConfig config)
    : config_(std::move(config)) {
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
                       to_string(config.codec) + " by this GPU (NV_ENC_CAPS_SUPPORT_LOSSLESS_ENCODE)");
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

}  // namespace videohw::nv_session
