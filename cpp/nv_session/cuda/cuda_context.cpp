#include "nv_session/cuda/cuda_context.hpp"

namespace videohw::nv_session {

CudaContext::CudaContext(const CudaApi& api, const CudaDevice& device) : api_(api) {
  check_cuda(api_, api_.cuCtxCreate(&context_, CU_CTX_SCHED_BLOCKING_SYNC, device.device),
             "cuCtxCreate on device " + std::to_string(device.ordinal) + " (" + device.name + ")");
  // cuCtxCreate leaves the new context current on the creating thread; the session's
  // threads change, so it is made current only where a call needs it.
  CUcontext popped = nullptr;
  const CUresult status = api_.cuCtxPopCurrent(&popped);
  if (status != CUDA_SUCCESS) {
    api_.cuCtxDestroy(context_);
    check_cuda(api_, status, "cuCtxPopCurrent after cuCtxCreate");
  }
}

CudaContext::~CudaContext() {
  if (context_) api_.cuCtxDestroy(context_);
}

CudaContext::Current::Current(const CudaContext& context) : api_(context.api_) {
  check_cuda(api_, api_.cuCtxPushCurrent(context.get()), "cuCtxPushCurrent");
}

CudaContext::Current::~Current() {
  CUcontext popped = nullptr;
  api_.cuCtxPopCurrent(&popped);
}

}  // namespace videohw::nv_session
