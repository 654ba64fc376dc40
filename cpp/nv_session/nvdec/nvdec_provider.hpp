// The NVDEC decode backend as the session layer sees it: capabilities from
// cuvidGetDecoderCaps, sessions as NvdecDecoder.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "backend/decoder_backend.hpp"
#include "nv_session/nvdec/nvdec_rgb_converter.hpp"

namespace videohw::nv_session {

class NvdecDecoderProvider final : public DecoderProvider {
 public:
  // Throws BackendUnavailable with the cause when NVDEC cannot be used here. Capabilities
  // are asked once per codec and kept: a controller keeps its provider.
  // `rgb_tables`: the conversion CPU_RGB must reproduce (see NvdecRgbConverter).
  explicit NvdecDecoderProvider(NvidiaDecodeConfig config, RgbTableSource rgb_tables = {});

  std::string name() const override { return "nvidia"; }
  DecodeCapabilities capabilities(Codec codec) const override;
  std::vector<std::string> config_problems(const CommonDecodeConfig& config) const override;
  std::unique_ptr<DecoderBackend> create(const CommonDecodeConfig& config) const override;
  // Output mode, display delay and latency change in place after a flush; a codec does not.
  bool can_reconfigure(const CommonDecodeConfig& from, const CommonDecodeConfig& to) const override;

 private:
  NvidiaDecodeConfig config_;
  RgbTableSource rgb_tables_;
  // Asked of the driver once per codec: a session start checks its config against them.
  mutable std::mutex caps_mu_;
  mutable std::map<Codec, DecodeCapabilities> caps_;
};

// "" when NVDEC decodes H.264 on device 0 here, else the cause: driver library missing,
// no CUDA device, or the codec unsupported per cuvidGetDecoderCaps. Probed once a process
// per pair of driver libraries (VIDEOHW_CUDA_LIBRARY / VIDEOHW_NVCUVID_LIBRARY).
std::string nvidia_decode_unavailable_reason();

// Destroys the decoders ended sessions parked and frees the output buffers kept idle
// (nvdec_decoder_cache.hpp, nvdec_buffer_cache.hpp): the registry's release_cache.
void release_nvdec_caches();

}  // namespace videohw::nv_session
