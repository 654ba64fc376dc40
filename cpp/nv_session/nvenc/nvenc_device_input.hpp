// An NVENC input in device memory: one pitched NV12 or IYUV picture allocated in the
// device's primary context (the context NVENC and NVDEC share), registered with the encoder
// once (nvEncRegisterResource, CUDADEVICEPTR) and mapped for each picture it carries.
//
// Why a copy into memory of our own instead of registering the caller's pointer: the
// caller's memory is free again when submit returns (PyTorch's caching allocator hands the
// same address out for the next tensor at once), registrations stay a fixed set for the
// session, and the copy runs device to device (3 MB for a 1080p NV12 picture).
//
// Invariants: the encoder handle outlives this object (the owner declares it first).
// Mapped from write_and_map() until unmap(), which the owner calls only after the picture's
// bitstream was locked: NVENC reads the input asynchronously until then. The destructor
// unmaps when still mapped, unregisters, then frees the memory.
#pragma once

#include "contract/types.hpp"
#include "nv_session/cuda/context.hpp"
#include "nv_session/nvenc/nvenc_handle.hpp"

namespace videohw::nv_session {

class DeviceInput {
 public:
  // Throws Error(Encode) when allocation or registration fails.
  DeviceInput(const NvencHandle& handle, const PrimaryContext& context, int width, int height,
              PixelFormat format);
  ~DeviceInput();
  DeviceInput(const DeviceInput&) = delete;
  DeviceInput& operator=(const DeviceInput&) = delete;

  bool holds(int width, int height, PixelFormat format) const {
    return width == width_ && height == height_ && format == format_;
  }
  uint32_t pitch() const { return pitch_; }
  NV_ENC_BUFFER_FORMAT mapped_format() const { return mapped_format_; }

  // Copies `view` (CudaDevice, this picture's size and format) into the input on the device
  // and maps it; returns the handle for NV_ENC_PIC_PARAMS::inputBuffer.
  NV_ENC_INPUT_PTR write_and_map(const FrameView& view);
  // No-op when not mapped. Returns the status for the caller to report.
  NVENCSTATUS unmap();

 private:
  void copy_plane(CUdeviceptr dst, size_t dst_pitch, const uint8_t* src, int src_pitch,
                  size_t row_bytes, int rows) const;

  const NvencHandle& handle_;
  const PrimaryContext& context_;
  int width_, height_;
  PixelFormat format_;
  uint32_t pitch_ = 0;
  CUdeviceptr memory_ = 0;
  NV_ENC_REGISTERED_PTR registered_ = nullptr;
  NV_ENC_INPUT_PTR mapped_ = nullptr;
  NV_ENC_BUFFER_FORMAT mapped_format_ = NV_ENC_BUFFER_FORMAT_UNDEFINED;
};

}  // namespace videohw::nv_session
