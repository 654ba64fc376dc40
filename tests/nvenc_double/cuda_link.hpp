// How the NVENC double reaches the CUDA driver the process has already loaded: the CUDA
// double on a machine without a GPU, the real libcuda.so.1 on one. It never loads a copy of
// its own, which would hold separate contexts and memory from the adapter's.
#pragma once

#include <ffnvcodec/dynlink_cuda.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace nvdouble {

// Whether `ctx` is a live CUcontext of the loaded driver: the CUDA double answers through
// videohw_cuda_double_context_is_live, the real driver through cuCtxGetApiVersion.
bool cuda_context_live(void* ctx);

// One pitched device->host copy (cuMemcpy2D_v2).
struct DevicePlaneCopy {
  CUdeviceptr src = 0;
  size_t src_pitch = 0;
  uint8_t* dst = nullptr;
  size_t dst_pitch = 0;
  size_t width_bytes = 0;
  size_t rows = 0;
};

// Runs the copies with `ctx` pushed (NVENC's device is the CUcontext the session was opened
// on), then pops it. "" on success, else what failed, for the call log and last error.
std::string copy_from_device(void* ctx, const std::vector<DevicePlaneCopy>& planes);

}  // namespace nvdouble
