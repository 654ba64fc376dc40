// Frames to encode that live in CUDA device memory: any object exposing
// __cuda_array_interface__ (v2/v3: PyTorch and CuPy tensors, videohw's own Nv12Surface).
#pragma once

#include <pybind11/pybind11.h>

#include <cstddef>
#include <cstdint>

namespace videohw::bindings {

struct DeviceFrameSource {
  uintptr_t address = 0;
  size_t bytes = 0;      // rows * pitch (a flat array: its length)
  int pitch = 0;         // bytes per row; 0: the minimum for the width (a flat array)
  int device = 0;        // CUDA ordinal, from __dlpack_device__ when the object has one
  uintptr_t stream = 0;  // the producer's stream (v3 "stream"); 0: none given
};

bool has_cuda_array_interface(const pybind11::handle& object);

// Throws Error(InvalidFrame) naming what is wrong: not uint8, a mask, columns that are not
// contiguous, a null pointer.
DeviceFrameSource device_frame_source(const pybind11::handle& object);

}  // namespace videohw::bindings
