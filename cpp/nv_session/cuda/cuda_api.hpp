// The CUDA driver entry points an NVENC session needs, loaded from libcuda.so.1 (or
// VIDEOHW_CUDA_LIBRARY) at run time. Types come from Debian's ffnvcodec headers.
#pragma once

#include <ffnvcodec/dynlink_cuda.h>

#include <string>

namespace videohw::nv_session {

struct CudaApi {
  tcuInit* cuInit = nullptr;
  tcuDeviceGetCount* cuDeviceGetCount = nullptr;
  tcuDeviceGet* cuDeviceGet = nullptr;
  tcuDeviceGetName* cuDeviceGetName = nullptr;
  tcuDeviceComputeCapability* cuDeviceComputeCapability = nullptr;
  tcuDeviceGetAttribute* cuDeviceGetAttribute = nullptr;
  tcuCtxCreate_v2* cuCtxCreate = nullptr;
  tcuCtxDestroy_v2* cuCtxDestroy = nullptr;
  tcuCtxPushCurrent_v2* cuCtxPushCurrent = nullptr;
  tcuCtxPopCurrent_v2* cuCtxPopCurrent = nullptr;
  tcuGetErrorName* cuGetErrorName = nullptr;
  tcuGetErrorString* cuGetErrorString = nullptr;
  std::string library;  // the path it was loaded from
};

// Loads the table once per library path and calls cuInit(0) (idempotent). Throws
// Error(BackendUnavailable): library missing (dlerror text), entry point missing, or cuInit
// failing (no usable driver / no device).
const CudaApi& load_cuda_api();

// "CUDA_ERROR_NO_DEVICE (no CUDA-capable device is detected)" for a status.
std::string cuda_error_text(const CudaApi& api, CUresult status);

// Throws Error(BackendUnavailable) naming `what` and the CUDA error when status != success.
void check_cuda(const CudaApi& api, CUresult status, const std::string& what);

struct CudaDevice {
  CUdevice device = 0;
  int ordinal = 0;
  std::string name;
  int compute_major = 0, compute_minor = 0;
};

// The device with this ordinal. Throws Error(BackendUnavailable) when there is no CUDA
// device, or Error(Config) when the ordinal is beyond the devices present.
CudaDevice cuda_device(const CudaApi& api, int ordinal);

}  // namespace videohw::nv_session
