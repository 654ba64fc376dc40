#include "nv_session/cuda/stream.hpp"

namespace videohw::nv_session {

CudaStream::CudaStream(const PrimaryContext& context) : context_(context) {
  const CudaDriver& d = context_.driver();
  require_device_work(d);
  ContextScope scope(context_, ErrorKind::BackendUnavailable);
  check_cuda(ErrorKind::BackendUnavailable, d.cuStreamCreate(&stream_, 0), "cuStreamCreate",
             "creating a stream");
}

CudaStream::~CudaStream() {
  // Destructors report nothing: by now there is no caller left to act on a failure.
  ContextScope scope(context_, std::nothrow);
  if (scope.entered()) context_.driver().cuStreamDestroy(stream_);
}

}  // namespace videohw::nv_session
