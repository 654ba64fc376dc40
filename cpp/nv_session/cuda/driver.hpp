// The one table of CUDA driver entry points, shared by NVENC and NVDEC, loaded from
// libcuda.so.1 (or VIDEOHW_CUDA_LIBRARY) at run time. Types come from Debian's ffnvcodec
// headers; the few entry points those headers lack are declared here as cuda.h defines them.
//
// Errors: check_cuda takes the ErrorKind from its caller. The same CUresult means different
// things to the user depending on where it happens (a device that cannot be opened is
// BackendUnavailable, an allocation failing mid-stream is a Decode or Encode error), and the
// kind is what picks the Python exception; only the caller knows which it is. The thrown
// CudaError keeps the CUresult for callers that branch on it.
#pragma once

#include <ffnvcodec/dynlink_cuda.h>

#include <string>

#include "contract/errors.hpp"

namespace videohw::nv_session {

// Missing from dynlink_cuda.h (CUDA 7.5 era); signatures as in cuda.h.
typedef CUresult CUDAAPI tcuMemAllocHost_v2(void** pp, size_t bytesize);
typedef CUresult CUDAAPI tcuMemFreeHost(void* p);

struct CudaDriver {
  // Device and context entry points every NVIDIA backend needs; loading fails without them.
  tcuInit* cuInit = nullptr;
  tcuDeviceGetCount* cuDeviceGetCount = nullptr;
  tcuDeviceGet* cuDeviceGet = nullptr;
  tcuDeviceGetName* cuDeviceGetName = nullptr;
  tcuDeviceGetAttribute* cuDeviceGetAttribute = nullptr;
  tcuDevicePrimaryCtxRetain* cuDevicePrimaryCtxRetain = nullptr;
  tcuDevicePrimaryCtxRelease* cuDevicePrimaryCtxRelease = nullptr;
  tcuCtxPushCurrent_v2* cuCtxPushCurrent = nullptr;
  tcuCtxPopCurrent_v2* cuCtxPopCurrent = nullptr;
  tcuGetErrorName* cuGetErrorName = nullptr;
  tcuGetErrorString* cuGetErrorString = nullptr;

  // Memory, stream and kernel entry points only device work needs (NVDEC; NVENC hands host
  // buffers to the encoder). Null where the library lacks them: the NVENC test double
  // implements only the table above, and require_device_work() names what is missing.
  tcuMemAlloc_v2* cuMemAlloc = nullptr;
  tcuMemFree_v2* cuMemFree = nullptr;
  tcuMemAllocHost_v2* cuMemAllocHost = nullptr;
  tcuMemFreeHost* cuMemFreeHost = nullptr;
  tcuMemcpy2D_v2* cuMemcpy2D = nullptr;
  tcuMemcpy2DAsync_v2* cuMemcpy2DAsync = nullptr;
  tcuMemcpyDtoHAsync_v2* cuMemcpyDtoHAsync = nullptr;
  tcuModuleLoadData* cuModuleLoadData = nullptr;
  tcuModuleUnload* cuModuleUnload = nullptr;
  tcuModuleGetFunction* cuModuleGetFunction = nullptr;
  tcuLaunchKernel* cuLaunchKernel = nullptr;
  tcuStreamCreate* cuStreamCreate = nullptr;
  tcuStreamSynchronize* cuStreamSynchronize = nullptr;
  tcuStreamDestroy_v2* cuStreamDestroy = nullptr;
  // Events let a session keep several frames' copies queued and wait only for the oldest,
  // instead of a cuStreamSynchronize per frame.
  tcuEventCreate* cuEventCreate = nullptr;
  tcuEventRecord* cuEventRecord = nullptr;
  tcuEventQuery* cuEventQuery = nullptr;
  tcuEventSynchronize* cuEventSynchronize = nullptr;
  tcuEventDestroy_v2* cuEventDestroy = nullptr;

  std::string library;  // the path it was loaded from
  std::string missing;  // the first device-work entry point the library lacks, or ""
};

// The table for the library VIDEOHW_CUDA_LIBRARY names now (else libcuda.so.1), bound once
// per library path for the life of the process (device buffers handed to Python may outlive
// every session), with cuInit(0) called on every use: it is idempotent and cheap, and keeps
// a driver that was reset (a test double) initialised. Throws Error(BackendUnavailable):
// library missing (dlerror text), a required entry point missing, no device, or cuInit
// failing.
const CudaDriver& cuda_driver();

// Throws Error(BackendUnavailable) naming the first device-work entry point `driver` lacks.
void require_device_work(const CudaDriver& driver);

class CudaError : public Error {
 public:
  CudaError(ErrorKind kind, CUresult result, const std::string& message)
      : Error(kind, message), result_(result) {}
  CUresult result() const noexcept { return result_; }

 private:
  CUresult result_;
};

// "cuMemAlloc (allocating ...): CUDA_ERROR_OUT_OF_MEMORY (out of memory)". Names the result
// through whichever driver table was loaded last; a number when none was.
std::string cuda_error_text(CUresult result, const char* call, const std::string& doing);

// Throws CudaError(kind, result, cuda_error_text(...)) when result is not CUDA_SUCCESS.
void check_cuda(ErrorKind kind, CUresult result, const char* call, const std::string& doing);

}  // namespace videohw::nv_session
