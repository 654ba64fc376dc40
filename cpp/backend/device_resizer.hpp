// Scaling of frames that are already in GPU memory (a decoder's NV12 surfaces), on that GPU,
// so a transcode to another size copies only the smaller frame to the host, or nothing when
// the encoder takes device frames. The NVIDIA stack registers the one factory
// (nv_session/nvdec/nvdec_resizer.cpp); pipeline/ asks for a resizer through this header
// and never names a driver.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "contract/types.hpp"

namespace videohw {

class DeviceResizer {
 public:
  virtual ~DeviceResizer() = default;
  // `src`: NV12 in device memory of the resizer's device. Returns the scaled NV12 frame
  // (libswscale's bilinear filter) in a pooled device buffer that `owner` keeps; the pixels
  // are complete when this returns. Throws Error(Encode) when the launch fails.
  virtual FrameView resize_nv12(const FrameView& src, int width, int height,
                                std::shared_ptr<const void>& owner) = 0;
};

struct DeviceResizerEntry {
  // Throws Error(BackendUnavailable) naming the cause when it cannot be made.
  std::function<std::unique_ptr<DeviceResizer>(int device)> make;
};

// For the NVIDIA stack's registrar; returns true.
bool register_device_resizer(DeviceResizerEntry entry);

// A resizer for CUDA device `device`, or null with `*why_not` saying why there is none.
std::unique_ptr<DeviceResizer> make_device_resizer(int device, std::string* why_not);

}  // namespace videohw
