// CudaArray / Nv12Surface: device memory handed to Python through the two zero-copy
// protocols GPU libraries speak, __cuda_array_interface__ (version 3) and DLPack (ABI 0.8,
// legacy unversioned "dltensor" capsules, which every consumer accepts).
//
// Synchronisation: the NVDEC adapter synchronises its copy stream before a frame is handed
// out, so the pixels are complete whatever stream a consumer reads them on; the interface's
// `stream` is None and __dlpack__ accepts any stream. The other direction is the caller's:
// the buffer is reused as soon as the last reference dies, so work queued on the pixels must
// be finished (or synchronised) before the last tensor or frame referring to them is dropped.
#include "bindings/cuda_array.hpp"

#include <cstdio>

#include <pybind11/stl.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "backend/decoder_backend.hpp"
#include "bindings/bindings.hpp"
#include "contract/errors.hpp"

namespace py = pybind11;

namespace videohw::bindings {

namespace {

// ---- DLPack ABI v0.8 (dlpack/include/dlpack/dlpack.h), the part a producer fills in. The
// consumer reads these through its own copy of the header, so the layout is the contract.
constexpr int32_t kDLCUDA = 2;
constexpr uint8_t kDLUInt = 1;

struct DLDevice {
  int32_t device_type;  // DLDeviceType, an int-sized C enum
  int32_t device_id;
};
struct DLDataType {
  uint8_t code;
  uint8_t bits;
  uint16_t lanes;
};
struct DLTensor {
  void* data;
  DLDevice device;
  int32_t ndim;
  DLDataType dtype;
  int64_t* shape;
  int64_t* strides;  // in elements, not bytes
  uint64_t byte_offset;
};
struct DLManagedTensor {
  DLTensor dl_tensor;
  void* manager_ctx;
  void (*deleter)(DLManagedTensor* self);
};
static_assert(sizeof(DLDevice) == 8 && sizeof(DLDataType) == 4, "DLPack ABI");
static_assert(sizeof(void*) != 8 || (sizeof(DLTensor) == 48 && sizeof(DLManagedTensor) == 64),
              "DLPack ABI: struct layout differs from dlpack.h");

constexpr const char* kCapsuleName = "dltensor";
constexpr const char* kUsedCapsuleName = "used_dltensor";

// What one exported tensor owns. The deleter may run on any thread without the GIL (torch
// frees storage wherever the last reference goes), so nothing here touches Python.
struct DlpackExport {
  DLManagedTensor managed{};
  std::vector<int64_t> shape;
  std::vector<int64_t> strides;
  std::shared_ptr<void> owner;
};

void delete_export(DLManagedTensor* self) {
  delete static_cast<DlpackExport*>(self->manager_ctx);
}

// A consumer renames the capsule to "used_dltensor" and calls the deleter itself; a capsule
// dropped unconsumed still holds the tensor, so its destructor releases it.
void dlpack_capsule_destructor(PyObject* capsule) {
  if (PyCapsule_IsValid(capsule, kUsedCapsuleName)) return;
  PyObject *type, *value, *traceback;
  PyErr_Fetch(&type, &value, &traceback);  // a destructor may run while an error is set
  auto* managed = static_cast<DLManagedTensor*>(PyCapsule_GetPointer(capsule, kCapsuleName));
  if (managed != nullptr)
    managed->deleter(managed);
  else
    PyErr_WriteUnraisable(capsule);
  PyErr_Restore(type, value, traceback);
}

std::string hex_address(uintptr_t address) {
  char text[2 + 2 * sizeof(uintptr_t) + 1];
  std::snprintf(text, sizeof(text), "0x%llx", static_cast<unsigned long long>(address));
  return text;
}

}  // namespace

py::tuple CudaArray::shape() const {
  return py::cast(shape_);
}
py::tuple CudaArray::strides() const {
  return py::cast(strides_);
}

int64_t CudaArray::span_bytes() const {
  int64_t last = 0;
  for (size_t i = 0; i < shape_.size(); ++i) {
    if (shape_[i] == 0) return 0;
    last += (shape_[i] - 1) * strides_[i];
  }
  return last + element_bytes_;
}

py::dict CudaArray::cuda_array_interface() const {
  py::dict out;
  out["version"] = 3;
  out["shape"] = shape();
  out["typestr"] = element_bytes_ == 2 ? "<u2" : "|u1";
  out["strides"] = strides();
  out["data"] = py::make_tuple(ptr_, false);
  out["stream"] = py::none();  // complete at hand-out: no consumer needs to wait
  return out;
}

py::tuple CudaArray::dlpack_device() const {
  return py::make_tuple(kDLCUDA, device_id_);
}

py::capsule CudaArray::dlpack(const py::object& stream, const py::object& max_version,
                              const py::object& dl_device, const py::object& copy) const {
  (void)max_version;  // any version accepts the legacy capsule made here
  if (!stream.is_none() && !py::isinstance<py::int_>(stream))
    throw py::type_error("__dlpack__: stream must be an int or None (a CUDA stream handle)");
  if (!dl_device.is_none()) {
    const auto wanted = dl_device.cast<std::pair<int, int>>();
    if (wanted.first != kDLCUDA || wanted.second != device_id_)
      throw py::buffer_error("__dlpack__: dl_device (" + std::to_string(wanted.first) + ", " +
                             std::to_string(wanted.second) +
                             ") requested; this array lives "
                             "on (2, " +
                             std::to_string(device_id_) +
                             ") (CUDA) and videohw does not copy between devices");
  }
  if (!copy.is_none() && copy.cast<bool>())
    throw py::buffer_error(
        "__dlpack__: copy=True requested; videohw exports device pixels "
        "without a copy only (copy the tensor on the consumer side)");

  auto exported = std::make_unique<DlpackExport>();
  exported->shape = shape_;
  for (int64_t stride : strides_) exported->strides.push_back(stride / element_bytes_);
  exported->owner = owner_;
  DLTensor& t = exported->managed.dl_tensor;
  t.data = reinterpret_cast<void*>(ptr_);
  t.device = DLDevice{kDLCUDA, device_id_};
  t.ndim = static_cast<int32_t>(shape_.size());
  t.dtype = DLDataType{kDLUInt, static_cast<uint8_t>(8 * element_bytes_), 1};
  t.shape = exported->shape.data();
  t.strides = exported->strides.data();
  t.byte_offset = 0;
  exported->managed.manager_ctx = exported.get();
  exported->managed.deleter = delete_export;

  PyObject* capsule = PyCapsule_New(&exported->managed, kCapsuleName, dlpack_capsule_destructor);
  if (capsule == nullptr) throw py::error_already_set();
  exported.release();  // the capsule (then its consumer) owns it now
  return py::reinterpret_steal<py::capsule>(capsule);
}

std::string CudaArray::repr() const {
  std::string shape;
  for (size_t i = 0; i < shape_.size(); ++i) shape += (i ? ", " : "") + std::to_string(shape_[i]);
  if (shape_.size() == 1) shape += ",";
  return "CudaArray(shape=(" + shape + "), " + dtype() + ", cuda:" + std::to_string(device_id_) +
         ", ptr=" + hex_address(ptr_) + ")";
}

CudaArray Nv12Surface::y() const {
  return CudaArray(ptr_, {height_, width_}, {pitch_, element_bytes_}, device_id_, owner_,
                   element_bytes_);
}

CudaArray Nv12Surface::uv() const {
  return CudaArray(
      ptr_ + static_cast<uintptr_t>(pitch_) * height_, {chroma_rows(height_), (width_ + 1) / 2, 2},
      {pitch_, 2 * element_bytes_, element_bytes_}, device_id_, owner_, element_bytes_);
}

std::string Nv12Surface::repr() const {
  return "Nv12Surface(" + (pixel_format_ == "nv12" ? std::string() : pixel_format_ + " ") +
         std::to_string(width_) + "x" + std::to_string(height_) +
         ", pitch=" + std::to_string(pitch_) + ", cuda:" + std::to_string(device_id_) +
         ", ptr=" + hex_address(ptr_) + ")";
}

py::list device_surface_planes(const DecodedFrame& f) {
  const bool known =
      (f.pixel_format == "nv12" && f.bytes_per_sample == 1) ||
      ((f.pixel_format == "p010" || f.pixel_format == "p016") && f.bytes_per_sample == 2);
  const bool one_allocation =
      known && f.planes.size() == 2 && f.planes[0].pitch == f.planes[1].pitch &&
      f.planes[0].height == f.height && f.planes[1].height == Nv12Surface::chroma_rows(f.height) &&
      f.planes[1].data == f.planes[0].data + static_cast<size_t>(f.planes[0].pitch) * f.height;
  if (!one_allocation)
    throw Error(ErrorKind::Generic,
                "device frame " + std::to_string(f.width) + "x" + std::to_string(f.height) +
                    " in '" + f.pixel_format + "' with " + std::to_string(f.planes.size()) +
                    " planes; expected NV12 / P010 / P016 in one allocation (Y rows, then UV "
                    "rows, one pitch)");
  py::list out;
  out.append(Nv12Surface(reinterpret_cast<uintptr_t>(f.planes[0].data), f.width, f.height,
                         f.planes[0].pitch, f.device_id, f.owner, f.bytes_per_sample,
                         f.pixel_format));
  return out;
}

void init_cuda_array(py::module_& m) {
  py::class_<CudaArray>(
      m, "CudaArray",
      "uint8 or uint16 device memory exposed through __cuda_array_interface__ (v3) and "
      "DLPack; holds the memory alive while it (or a tensor made from it) "
      "lives.")
      .def_property_readonly("ptr", &CudaArray::ptr)
      .def_property_readonly("shape", &CudaArray::shape)
      .def_property_readonly("strides", &CudaArray::strides, "in bytes")
      .def_property_readonly("dtype", &CudaArray::dtype)
      .def_property_readonly("device_id", &CudaArray::device_id)
      .def_property_readonly("span_bytes", &CudaArray::span_bytes)
      .def_property_readonly("__cuda_array_interface__", &CudaArray::cuda_array_interface)
      .def("__dlpack__", &CudaArray::dlpack, py::arg("stream") = py::none(), py::kw_only(),
           py::arg("max_version") = py::none(), py::arg("dl_device") = py::none(),
           py::arg("copy") = py::none())
      .def("__dlpack_device__", &CudaArray::dlpack_device)
      .def("__repr__", &CudaArray::repr);

  py::class_<Nv12Surface, CudaArray>(m, "Nv12Surface",
                                     "One decoded NV12 picture on the device: the whole "
                                     "(height + ceil(height/2), pitch) buffer, with y and uv "
                                     "views.")
      .def_property_readonly("width", &Nv12Surface::width)
      .def_property_readonly("height", &Nv12Surface::height)
      .def_property_readonly("pitch", &Nv12Surface::pitch, "in bytes")
      .def_property_readonly("pixel_format", &Nv12Surface::pixel_format,
                             "nv12 (uint8), p010 or p016 (uint16)")
      .def_property_readonly("y", &Nv12Surface::y, "(height, width) luma view")
      .def_property_readonly("uv", &Nv12Surface::uv,
                             "(ceil(height/2), ceil(width/2), 2) interleaved U,V view")
      .def("__repr__", &Nv12Surface::repr);
}

}  // namespace videohw::bindings
