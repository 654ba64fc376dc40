// Device pixels as Python objects: NVDEC's NATIVE_SURFACE frames reach Python as one
// Nv12Surface (a CudaArray) that exposes __cuda_array_interface__ (v3) and DLPack, so
// PyTorch, CuPy, JAX, ... take the picture without a copy. The object holds a copy of the
// frame's owner; so does every DLPack tensor made from it, so the pooled device buffer goes
// back to its pool when the last of them dies.
#pragma once

#include <pybind11/pybind11.h>

namespace videohw {
struct DecodedFrame;
}

namespace videohw::bindings {

// The `planes` of an on-device NV12 frame: a list holding one Nv12Surface of shape
// (height + ceil(height/2), pitch) with `.y` and `.uv` views. Throws Error(Generic) for a
// device frame of any other layout (an adapter bug: nothing else is produced today).
pybind11::list device_surface_planes(const DecodedFrame& frame);

}  // namespace videohw::bindings
