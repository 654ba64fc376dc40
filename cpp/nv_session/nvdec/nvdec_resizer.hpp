// backend/device_resizer.hpp on NVIDIA GPUs: the NV12 resize kernel (kernels/nv12_resize.cu,
// embedded PTX, loaded once per primary context and kept) run on the device's stream into
// buffers of an NvdecSurfacePool, in the primary context NVDEC and NVENC share.
#pragma once

#include <memory>

#include "backend/device_resizer.hpp"
#include "nv_session/nvdec/nvdec_surface_pool.hpp"

namespace videohw::nv_session {

class NvdecResizer final : public DeviceResizer {
 public:
  // Throws Error(BackendUnavailable) without a driver, the kernel's PTX or the device.
  explicit NvdecResizer(int device);
  FrameView resize_nv12(const FrameView& src, int width, int height,
                        std::shared_ptr<const void>& owner) override;

 private:
  std::shared_ptr<NvdecDevice> device_;
  std::shared_ptr<NvdecSurfacePool> pool_;
  CUfunction kernel_ = nullptr;
};

}  // namespace videohw::nv_session
