#include "nv_session/nvdec/nvdec_device.hpp"

namespace videohw::nv_session {

std::shared_ptr<NvdecDevice> NvdecDevice::open(int ordinal) {
  // Both libraries before the context: a machine without NVDEC's library is told so without
  // a primary context being made for nothing.
  require_device_work(cuda_driver());
  const CuvidApi& cuvid = cuvid_api();
  const PrimaryContext& context = PrimaryContext::of(ordinal, "NvidiaDecodeConfig.device");
  return std::shared_ptr<NvdecDevice>(new NvdecDevice(context, cuvid));
}

NvdecDevice::NvdecDevice(const PrimaryContext& context, const CuvidApi& cuvid)
    : context_(context), cuvid_(cuvid), stream_(std::make_unique<CudaStream>(context)) {
  ContextScope scope(context_, ErrorKind::BackendUnavailable);
  check_cuda(ErrorKind::BackendUnavailable, cuvid_.cuvidCtxLockCreate(&lock_, context_.get()),
             "cuvidCtxLockCreate", "creating the decoder's context lock");
}

NvdecDevice::~NvdecDevice() {
  stream_.reset();
  if (lock_) cuvid_.cuvidCtxLockDestroy(lock_);
}

}  // namespace videohw::nv_session
