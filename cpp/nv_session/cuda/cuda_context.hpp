// A CUDA context owned for the life of one NVENC session.
//
// Invariants: created in the constructor (or the constructor throws and nothing is held);
// not current on any thread between calls (NVENC is handed the context explicitly);
// destroyed in the destructor, which the owning session runs last, after the encoder that
// uses it is gone.
#pragma once

#include "nv_session/cuda/cuda_api.hpp"

namespace videohw::nv_session {

class CudaContext {
 public:
  CudaContext(const CudaApi& api, const CudaDevice& device);
  ~CudaContext();
  CudaContext(const CudaContext&) = delete;
  CudaContext& operator=(const CudaContext&) = delete;

  CUcontext get() const { return context_; }
  const CudaApi& api() const { return api_; }

  // Makes the context current on this thread for a scope (driver calls that expect it).
  class Current {
   public:
    explicit Current(const CudaContext& context);
    ~Current();
    Current(const Current&) = delete;
    Current& operator=(const Current&) = delete;

   private:
    const CudaApi& api_;
  };

 private:
  const CudaApi& api_;
  CUcontext context_ = nullptr;
};

}  // namespace videohw::nv_session
