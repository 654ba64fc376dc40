// CPU_RGB for NVDEC: the NV12 -> RGB24 kernel (kernels/nv12_to_rgb.cu, embedded PTX, loaded
// once per device: NvdecDevice::rgb_kernels) run on a mapped decoder surface into a device
// staging buffer, then one device-to-host copy into page-locked memory, both queued on the
// device's stream. The staging and host buffers come from pools; the host buffer travels
// with the frame. The lookup table, when there is one, is the device's copy
// (NvdecDevice::rgb_table), shared with every other session.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "backend/decoder_backend.hpp"
#include "backend/rgb_reference.hpp"
#include "nv_session/nvdec/nvdec_surface_pool.hpp"

namespace videohw::nv_session {

struct RgbCoefficientsHost {
  float y_offset, y_scale, cr_r, cb_g, cr_g, cb_b;
};

// The matrix libswscale would pick for these H.273 code points: BT.709 (1), FCC (4),
// SMPTE 240M (7), BT.2020 (9, 10), else BT.601 (5, 6 and unspecified), in limited or full
// range.
RgbCoefficientsHost rgb_coefficients(const ColorInfo& color);

// RgbTableSource (backend/rgb_reference.hpp): given one, CPU_RGB on NVDEC is the reference
// conversion bit for bit; without (the standalone GPU check, built without FFmpeg) the
// arithmetic kernel runs.

// "" when the kernel is part of this build, else why CPU_RGB is unavailable on NVDEC.
std::string nvdec_rgb_unavailable_reason();

class NvdecRgbConverter {
 public:
  // Throws UnsupportedConfig when the build has no PTX; Decode when the module fails to load.
  // `max_pooled`: the most host (and staging) buffers its pools keep for reuse;
  // `max_pooled_bytes`: the most bytes the host pool keeps.
  NvdecRgbConverter(std::shared_ptr<NvdecDevice> device, RgbTableSource tables, size_t max_pooled,
                    size_t max_pooled_bytes = SIZE_MAX);
  ~NvdecRgbConverter() = default;
  NvdecRgbConverter(const NvdecRgbConverter&) = delete;
  NvdecRgbConverter& operator=(const NvdecRgbConverter&) = delete;

  // Queues the conversion of the NV12 surface (device pointers; P016 when bytes_per_sample
  // is 2) on the device's stream and points out.planes[0] (host, H x W x 3) and out.owner at
  // a pooled page-locked buffer. The context must be current. The bytes are there once the
  // stream has passed this point (an event recorded after the call): until then the surface
  // must stay mapped, the frame must not be handed out, and the returned staging buffer,
  // which the copy reads, must be kept. 16-bit surfaces take the formula kernel: the table
  // covers 8-bit samples only.
  std::shared_ptr<DeviceBuffer> enqueue(CUdeviceptr luma, int luma_pitch, CUdeviceptr chroma,
                                        int chroma_pitch, int width, int height,
                                        int bytes_per_sample, DecodedFrame& out);

  SurfacePoolStats host_pool_stats() const { return host_pool_->stats(); }
  SurfacePoolStats staging_pool_stats() const { return device_pool_->stats(); }

 private:
  std::shared_ptr<NvdecDevice> device_;
  std::shared_ptr<NvdecSurfacePool> host_pool_;
  std::shared_ptr<NvdecSurfacePool> device_pool_;
  // The table of this colour description in device memory (the device's copy, made on
  // first use in the process).
  CUdeviceptr device_table(const ColorInfo& color);

  const RgbKernels& kernels_;
  RgbTableSource tables_;
  // The host tables in use, kept so the device's copies of them stay valid (rgb_table()).
  std::map<std::pair<int, bool>,
           std::pair<std::shared_ptr<const std::vector<uint8_t>>, CUdeviceptr>>
      device_tables_;
};

}  // namespace videohw::nv_session
