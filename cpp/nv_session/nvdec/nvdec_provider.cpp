#include "nv_session/nvdec/nvdec_provider.hpp"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>

#include "backend/decoder_registry.hpp"
#include "backend/rgb_reference.hpp"

#include "nv_session/nvdec/nvdec_buffer_cache.hpp"
#include "nv_session/nvdec/nvdec_decoder.hpp"
#include "nv_session/nvdec/nvdec_decoder_cache.hpp"
#include "nv_session/nvdec/nvdec_device.hpp"
#include "nv_session/nvdec/nvdec_rgb_converter.hpp"

namespace videohw::nv_session {

namespace {

CUVIDDECODECAPS query_caps(const NvdecDevice& device, Codec codec) {
  CUVIDDECODECAPS caps{};
  caps.eCodecType = cuvid_codec(codec);
  caps.eChromaFormat = cudaVideoChromaFormat_420;
  caps.nBitDepthMinus8 = 0;
  ContextScope scope(device.context(), ErrorKind::BackendUnavailable);
  const CUresult r = device.cuvid().cuvidGetDecoderCaps(&caps);
  check_cuda(ErrorKind::BackendUnavailable, r, "cuvidGetDecoderCaps",
             "asking NVDEC for its limits");
  return caps;
}

std::string probe() {
  try {
    const auto device = NvdecDevice::open(0);
    const CUVIDDECODECAPS caps = query_caps(*device, Codec::H264);
    if (!caps.bIsSupported)
      return "NVDEC on " + device->device_name() +
             " does not decode H.264 8-bit 4:2:0 (cuvidGetDecoderCaps)";
    return "";
  } catch (const Error& e) {
    return e.what();
  }
}

}  // namespace

std::string nvidia_decode_unavailable_reason() {
  // Once per pair of driver libraries: the CUDA and cuvid tables are kept per library path.
  static std::mutex mutex;
  static auto* reasons = new std::map<std::string, std::string>();
  const auto env = [](const char* name) {
    const char* value = std::getenv(name);
    return std::string(value ? value : "");
  };
  const std::string key = env("VIDEOHW_CUDA_LIBRARY") + '\n' + env("VIDEOHW_NVCUVID_LIBRARY");
  std::lock_guard<std::mutex> lock(mutex);
  auto it = reasons->find(key);
  if (it == reasons->end()) it = reasons->emplace(key, probe()).first;
  return it->second;
}

NvdecDecoderProvider::NvdecDecoderProvider(NvidiaDecodeConfig config, RgbTableSource rgb_tables)
    : config_(config), rgb_tables_(std::move(rgb_tables)) {
  const std::string reason = nvidia_decode_unavailable_reason();
  if (!reason.empty())
    throw Error(ErrorKind::BackendUnavailable, "nvidia decode backend: " + reason);
}

DecodeCapabilities NvdecDecoderProvider::capabilities(Codec codec) const {
  std::lock_guard<std::mutex> lock(caps_mu_);
  const auto known = caps_.find(codec);
  if (known != caps_.end()) return known->second;
  DecodeCapabilities out;
  out.backend = "nvidia";
  out.codec = codec;
  const auto device = NvdecDevice::open(config_.device);
  const CUVIDDECODECAPS caps = query_caps(*device, codec);
  out.supported = caps.bIsSupported != 0;
  out.max_width = static_cast<int>(caps.nMaxWidth);
  out.max_height = static_cast<int>(caps.nMaxHeight);
  out.output_modes = {DecodeOutputMode::MetadataOnly, DecodeOutputMode::NativeSurface};
  if (nvdec_rgb_unavailable_reason().empty()) out.output_modes.push_back(DecodeOutputMode::CpuRgb);
  out.device_surfaces = true;
  out.dynamic_resolution = out.supported;
  caps_.emplace(codec, out);
  return out;
}

std::vector<std::string> NvdecDecoderProvider::config_problems(
    const CommonDecodeConfig& config) const {
  std::vector<std::string> problems;
  if (config.output == DecodeOutputMode::CpuRgb) {
    const std::string reason = nvdec_rgb_unavailable_reason();
    if (!reason.empty())
      problems.push_back("CommonDecodeConfig.output: CPU_RGB on nvidia: " + reason +
                         "; use NATIVE_SURFACE or the software backend");
  }
  const DecodeCapabilities caps = capabilities(config.codec);
  if (!caps.supported)
    problems.push_back(std::string("CommonDecodeConfig.codec: ") + to_string(config.codec) +
                       " 8-bit 4:2:0 is not decoded by this GPU's NVDEC");
  if (config.max_display_delay && (*config.max_display_delay < 0 || *config.max_display_delay > 16))
    problems.push_back(
        "CommonDecodeConfig.max_display_delay: " + std::to_string(*config.max_display_delay) +
        " is out of range; expected 0..16 frames");
  return problems;
}

std::unique_ptr<DecoderBackend> NvdecDecoderProvider::create(
    const CommonDecodeConfig& config) const {
  return std::make_unique<NvdecDecoder>(config, config_, rgb_tables_);
}

bool NvdecDecoderProvider::can_reconfigure(const CommonDecodeConfig& from,
                                           const CommonDecodeConfig& to) const {
  return from.codec == to.codec;
}

namespace {

std::map<std::string, int64_t> cache_stats() {
  const DecoderCacheStats d = NvdecDecoderCache::get().stats();
  const BufferCacheStats host = NvdecBufferCache::stats_all(PoolMemory::PinnedHost);
  const BufferCacheStats device = NvdecBufferCache::stats_all(PoolMemory::Device);
  return {{"decoders_parked", d.parked},           {"decoders_adopted", d.adopted},
          {"decoders_destroyed", d.destroyed},     {"decoders_limit", d.limit},
          {"host_buffers_idle", host.idle},        {"host_bytes_idle", host.idle_bytes},
          {"host_buffers_reused", host.taken},     {"host_bytes_limit", host.limit_bytes},
          {"device_buffers_idle", device.idle},    {"device_bytes_idle", device.idle_bytes},
          {"device_buffers_reused", device.taken}, {"device_bytes_limit", device.limit_bytes}};
}

void set_cache_limit(const std::string& name, int64_t value) {
  if (name == "decoders")
    NvdecDecoderCache::get().set_limit(static_cast<int>(std::min<int64_t>(value, 1 << 20)));
  else if (name == "host_bytes")
    NvdecBufferCache::set_limit_all(PoolMemory::PinnedHost, value);
  else if (name == "device_bytes")
    NvdecBufferCache::set_limit_all(PoolMemory::Device, value);
  else
    throw Error(ErrorKind::Config, "nvidia decode cache: no limit '" + name +
                                       "'; expected decoders, host_bytes or device_bytes");
}

const bool registered = register_decoder_backend(
    {"nvidia", 0,
     [](const DecodeBackendConfigs& configs) -> std::unique_ptr<DecoderProvider> {
       return std::make_unique<NvdecDecoderProvider>(configs.nvidia, reference_rgb_table());
     },
     &nvidia_decode_unavailable_reason, &cache_stats, &set_cache_limit, &release_nvdec_caches});

}  // namespace

void release_nvdec_caches() {
  NvdecDecoderCache::get().release();
  NvdecBufferCache::release_all();
}

}  // namespace videohw::nv_session
