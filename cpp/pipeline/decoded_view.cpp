#include "pipeline/decoded_view.hpp"

#include <string>

#include "contract/errors.hpp"

namespace videohw::pipeline {

FrameView encoder_view(const DecodedFrame& frame) {
  FrameView view;
  const std::string& format = frame.pixel_format;
  size_t planes = 0;
  if (format == "yuv420p" || format == "yuvj420p") {
    view.format = PixelFormat::I420;
    planes = 3;
  } else if (format == "nv12") {
    view.format = PixelFormat::NV12;
    planes = 2;
  } else {
    throw Error(ErrorKind::UnsupportedConfig,
                "the decoder gives " + (format.empty() ? std::string("no") : format) +
                    " pictures; the transcode's transform stage takes 8-bit 4:2:0 (yuv420p, "
                    "nv12) for now");
  }
  if (frame.planes.size() < planes || frame.bytes_per_sample != 1)
    throw Error(ErrorKind::UnsupportedConfig,
                "a decoded " + format + " picture with " + std::to_string(frame.planes.size()) +
                    " planes of " + std::to_string(frame.bytes_per_sample) +
                    "-byte samples cannot be an encoder input");
  view.width = frame.width;
  view.height = frame.height;
  view.plane_count = int(planes);
  for (size_t i = 0; i < planes; ++i) {
    view.planes[i] = frame.planes[i].data;
    view.strides[i] = frame.planes[i].pitch;
  }
  view.memory = frame.on_device ? FrameMemory::CudaDevice : FrameMemory::Host;
  view.device = frame.on_device ? frame.device_id : 0;
  return view;
}

}  // namespace videohw::pipeline
