// The CUDA driver and cuvid entry points an NVDEC session needs, loaded at run time with
// dlopen so one build runs on machines with and without the NVIDIA driver. Types come from
// Debian's ffnvcodec headers; the few entry points those headers lack are declared here
// exactly as the CUDA driver API (cuda.h) defines them.
#pragma once

#include <ffnvcodec/dynlink_cuda.h>
#include <ffnvcodec/dynlink_cuviddec.h>
#include <ffnvcodec/dynlink_nvcuvid.h>

#include <string>

namespace videohw::nv_session {

// Missing from dynlink_cuda.h (CUDA 7.5 era); signatures as in cuda.h.
typedef CUresult CUDAAPI tcuCtxSynchronize(void);
typedef CUresult CUDAAPI tcuMemAllocHost_v2(void** pp, size_t bytesize);
typedef CUresult CUDAAPI tcuMemFreeHost(void* p);
typedef CUresult CUDAAPI tcuDriverGetVersion(int* driverVersion);

struct NvdecDriver {
  // CUDA driver (libcuda.so.1)
  tcuInit* cuInit = nullptr;
  tcuDriverGetVersion* cuDriverGetVersion = nullptr;
  tcuDeviceGetCount* cuDeviceGetCount = nullptr;
  tcuDeviceGet* cuDeviceGet = nullptr;
  tcuDeviceGetName* cuDeviceGetName = nullptr;
  tcuDeviceGetAttribute* cuDeviceGetAttribute = nullptr;
  tcuCtxCreate_v2* cuCtxCreate = nullptr;
  tcuCtxDestroy_v2* cuCtxDestroy = nullptr;
  tcuDevicePrimaryCtxRetain* cuDevicePrimaryCtxRetain = nullptr;
  tcuDevicePrimaryCtxRelease* cuDevicePrimaryCtxRelease = nullptr;
  tcuCtxPushCurrent_v2* cuCtxPushCurrent = nullptr;
  tcuCtxPopCurrent_v2* cuCtxPopCurrent = nullptr;
  tcuCtxSynchronize* cuCtxSynchronize = nullptr;
  tcuMemAlloc_v2* cuMemAlloc = nullptr;
  tcuMemFree_v2* cuMemFree = nullptr;
  tcuMemAllocHost_v2* cuMemAllocHost = nullptr;
  tcuMemFreeHost* cuMemFreeHost = nullptr;
  tcuMemcpy2D_v2* cuMemcpy2D = nullptr;
  tcuMemcpy2DAsync_v2* cuMemcpy2DAsync = nullptr;
  tcuMemcpyDtoH_v2* cuMemcpyDtoH = nullptr;
  tcuMemcpyDtoHAsync_v2* cuMemcpyDtoHAsync = nullptr;
  tcuModuleLoadData* cuModuleLoadData = nullptr;
  tcuModuleUnload* cuModuleUnload = nullptr;
  tcuModuleGetFunction* cuModuleGetFunction = nullptr;
  tcuLaunchKernel* cuLaunchKernel = nullptr;
  tcuStreamCreate* cuStreamCreate = nullptr;
  tcuStreamSynchronize* cuStreamSynchronize = nullptr;
  tcuStreamDestroy_v2* cuStreamDestroy = nullptr;
  tcuGetErrorName* cuGetErrorName = nullptr;
  tcuGetErrorString* cuGetErrorString = nullptr;

  // NVDEC (libnvcuvid.so.1)
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

  std::string cuda_library;     // the paths that were loaded
  std::string nvcuvid_library;
};

// Loads both libraries once per process and pair of paths (VIDEOHW_CUDA_LIBRARY /
// VIDEOHW_NVCUVID_LIBRARY override the sonames) and calls cuInit. The libraries stay loaded for the life of the
// process: device buffers handed to Python may outlive every session. Throws
// BackendUnavailable naming the library or symbol that failed.
const NvdecDriver& nvdec_driver();

// "cuMemAlloc_v2 (allocating ...): CUDA_ERROR_OUT_OF_MEMORY (out of memory)".
std::string cuda_error_text(CUresult result, const char* call, const std::string& doing);

// Throws Error(Decode) with cuda_error_text when result is not CUDA_SUCCESS.
void check_cuda(CUresult result, const char* call, const std::string& doing);

}  // namespace videohw::nv_session
