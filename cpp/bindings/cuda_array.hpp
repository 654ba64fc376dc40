// Device pixels as Python objects: NVDEC's NATIVE_SURFACE frames reach Python as one
// Nv12Surface (a CudaArray) that exposes __cuda_array_interface__ (v3) and DLPack, so
// PyTorch, CuPy, JAX, ... take the picture without a copy. The object holds a copy of the
// frame's owner; so does every DLPack tensor made from it, so the pooled device buffer goes
// back to its pool when the last of them dies.
//
// The classes are declared here rather than inside cuda_array.cpp so that the test hooks
// module (tests/hooks) can make an Nv12Surface over host memory that Python sees as this very
// type: pybind11 matches a C++ type across modules by its type name, and a type in an
// anonymous namespace has none that another module shares.
#pragma once

#include <pybind11/pybind11.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace videohw {
struct DecodedFrame;
}

namespace videohw::bindings {

class CudaArray {
 public:
  // `element_bytes`: 1 (uint8) or 2 (uint16, native endianness: P010/P016 samples).
  CudaArray(uintptr_t ptr, std::vector<int64_t> shape, std::vector<int64_t> strides, int device_id,
            std::shared_ptr<void> owner, int element_bytes = 1)
      : ptr_(ptr),
        shape_(std::move(shape)),
        strides_(std::move(strides)),
        device_id_(device_id),
        owner_(std::move(owner)),
        element_bytes_(element_bytes) {}
  virtual ~CudaArray() = default;

  uintptr_t ptr() const { return ptr_; }
  int device_id() const { return device_id_; }
  pybind11::tuple shape() const;
  pybind11::tuple strides() const;
  const char* dtype() const { return element_bytes_ == 2 ? "uint16" : "uint8"; }
  // Bytes from the first element to one past the last.
  int64_t span_bytes() const;
  pybind11::dict cuda_array_interface() const;
  pybind11::tuple dlpack_device() const;
  pybind11::capsule dlpack(const pybind11::object& stream, const pybind11::object& max_version,
                           const pybind11::object& dl_device, const pybind11::object& copy) const;
  std::string repr() const;

 protected:
  uintptr_t ptr_;
  std::vector<int64_t> shape_;
  std::vector<int64_t> strides_;  // bytes
  int device_id_;
  std::shared_ptr<void> owner_;
  int element_bytes_;
};

// One NV12 picture in one allocation: `height` luma rows, then ceil(height/2) rows of
// interleaved U,V, all `pitch` bytes apart. The array itself is the whole (rows, pitch)
// buffer (the usual NV12 tensor shape); `y` and `uv` are views of the same memory. 10/12-bit
// pictures are the same layout in 16-bit samples (P010/P016: `pixel_format` says which,
// `dtype` is uint16 and the last dimension counts samples, not bytes).
class Nv12Surface : public CudaArray {
 public:
  Nv12Surface(uintptr_t ptr, int width, int height, int pitch, int device_id,
              std::shared_ptr<void> owner, int element_bytes = 1, std::string pixel_format = "nv12")
      : CudaArray(ptr, {height + chroma_rows(height), pitch / element_bytes},
                  {pitch, element_bytes}, device_id, std::move(owner), element_bytes),
        width_(width),
        height_(height),
        pitch_(pitch),
        pixel_format_(std::move(pixel_format)) {}

  static int chroma_rows(int height) { return (height + 1) / 2; }

  int width() const { return width_; }
  int height() const { return height_; }
  int pitch() const { return pitch_; }
  const std::string& pixel_format() const { return pixel_format_; }
  CudaArray y() const;
  // (ceil(h/2), ceil(w/2), 2): uv[..., 0] is U, uv[..., 1] is V.
  CudaArray uv() const;
  std::string repr() const;

 private:
  int width_, height_, pitch_;
  std::string pixel_format_;
};

// The `planes` of an on-device NV12 frame: a list holding one Nv12Surface of shape
// (height + ceil(height/2), pitch) with `.y` and `.uv` views. Throws Error(Generic) for a
// device frame of any other layout (an adapter bug: nothing else is produced today).
pybind11::list device_surface_planes(const DecodedFrame& frame);

}  // namespace videohw::bindings
