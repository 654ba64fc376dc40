#include "nv_session/nvdec/cuvid_api.hpp"

#include <map>
#include <memory>
#include <mutex>

#include "nv_session/cuda/driver_library.hpp"

namespace videohw::nv_session {

namespace {

template <typename Fn>
void bind(const DriverLibrary& library, Fn*& slot, const char* name) {
  slot = reinterpret_cast<Fn*>(driver_symbol(library, name));
}

std::unique_ptr<CuvidApi> load(const DriverLibrary& library) {
  auto api = std::make_unique<CuvidApi>();
  CuvidApi& a = *api;
  a.library = library.path;
  bind(library, a.cuvidGetDecoderCaps, "cuvidGetDecoderCaps");
  bind(library, a.cuvidCreateDecoder, "cuvidCreateDecoder");
  bind(library, a.cuvidDestroyDecoder, "cuvidDestroyDecoder");
  bind(library, a.cuvidDecodePicture, "cuvidDecodePicture");
  bind(library, a.cuvidGetDecodeStatus, "cuvidGetDecodeStatus");
  bind(library, a.cuvidReconfigureDecoder, "cuvidReconfigureDecoder");
  bind(library, a.cuvidMapVideoFrame, "cuvidMapVideoFrame64");
  bind(library, a.cuvidUnmapVideoFrame, "cuvidUnmapVideoFrame64");
  bind(library, a.cuvidCtxLockCreate, "cuvidCtxLockCreate");
  bind(library, a.cuvidCtxLockDestroy, "cuvidCtxLockDestroy");
  bind(library, a.cuvidCreateVideoParser, "cuvidCreateVideoParser");
  bind(library, a.cuvidParseVideoData, "cuvidParseVideoData");
  bind(library, a.cuvidDestroyVideoParser, "cuvidDestroyVideoParser");
  return api;
}

}  // namespace

const CuvidApi& cuvid_api() {
  static std::mutex mu;
  // Never freed: decoders and frames of a previous path may still be in use.
  static auto* tables = new std::map<std::string, std::unique_ptr<CuvidApi>>();
  const DriverLibrary library = open_driver_library("VIDEOHW_NVCUVID_LIBRARY", "libnvcuvid.so.1");
  std::lock_guard<std::mutex> lock(mu);
  auto& slot = (*tables)[library.path];
  if (!slot) slot = load(library);  // a failure leaves the slot empty: the next call retries
  return *slot;
}

cudaVideoCodec cuvid_codec(Codec codec) {
  switch (codec) {
    case Codec::H264:
      return cudaVideoCodec_H264;
    case Codec::HEVC:
      return cudaVideoCodec_HEVC;
    case Codec::AV1:
      return cudaVideoCodec_AV1;
    case Codec::VP9:
      return cudaVideoCodec_VP9;
  }
  return cudaVideoCodec_H264;
}

}  // namespace videohw::nv_session
