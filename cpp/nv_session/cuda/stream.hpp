// A CUDA stream in the primary context, created and destroyed with the context pushed (the
// owner's thread may have none current, or another one).
#pragma once

#include "nv_session/cuda/context.hpp"

namespace videohw::nv_session {

class CudaStream {
 public:
  // Throws Error(BackendUnavailable) when the driver lacks device work or refuses a stream.
  explicit CudaStream(const PrimaryContext& context);
  ~CudaStream();
  CudaStream(const CudaStream&) = delete;
  CudaStream& operator=(const CudaStream&) = delete;

  CUstream get() const { return stream_; }

 private:
  const PrimaryContext& context_;
  CUstream stream_ = nullptr;
};

}  // namespace videohw::nv_session
