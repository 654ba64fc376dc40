// NVDEC's own entry points (libnvcuvid.so.1, or VIDEOHW_NVCUVID_LIBRARY), loaded at run time.
// Only cuvid*: every cu* call goes through the one CUDA driver table (cuda/driver.hpp).
#pragma once

#include <ffnvcodec/dynlink_cuda.h>
#include <ffnvcodec/dynlink_cuviddec.h>
#include <ffnvcodec/dynlink_nvcuvid.h>

#include <string>

#include "contract/types.hpp"

namespace videohw::nv_session {

struct CuvidApi {
  tcuvidGetDecoderCaps* cuvidGetDecoderCaps = nullptr;
  tcuvidCreateDecoder* cuvidCreateDecoder = nullptr;
  tcuvidDestroyDecoder* cuvidDestroyDecoder = nullptr;
  tcuvidDecodePicture* cuvidDecodePicture = nullptr;
  tcuvidGetDecodeStatus* cuvidGetDecodeStatus = nullptr;
  tcuvidReconfigureDecoder* cuvidReconfigureDecoder = nullptr;
  tcuvidMapVideoFrame64* cuvidMapVideoFrame = nullptr;
  tcuvidUnmapVideoFrame64* cuvidUnmapVideoFrame = nullptr;
  tcuvidCtxLockCreate* cuvidCtxLockCreate = nullptr;
  tcuvidCtxLockDestroy* cuvidCtxLockDestroy = nullptr;
  tcuvidCreateVideoParser* cuvidCreateVideoParser = nullptr;
  tcuvidParseVideoData* cuvidParseVideoData = nullptr;
  tcuvidDestroyVideoParser* cuvidDestroyVideoParser = nullptr;
  std::string library;  // the path it was loaded from
};

// The table for the library VIDEOHW_NVCUVID_LIBRARY names now (else libnvcuvid.so.1), bound
// once per library path for the life of the process. Throws Error(BackendUnavailable)
// naming the library or the entry point that is missing.
const CuvidApi& cuvid_api();

// cuvid's name for a contract codec.
cudaVideoCodec cuvid_codec(Codec codec);

}  // namespace videohw::nv_session
