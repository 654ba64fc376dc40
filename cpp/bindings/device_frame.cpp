#include "bindings/device_frame.hpp"

#include <limits>
#include <string>
#include <vector>

#include "contract/errors.hpp"

namespace py = pybind11;

namespace videohw::bindings {

namespace {

[[noreturn]] void invalid(const std::string& what) {
  throw Error(ErrorKind::InvalidFrame, "Frame.data (__cuda_array_interface__): " + what);
}

std::vector<int64_t> ints(const py::handle& tuple, const char* name) {
  std::vector<int64_t> out;
  try {
    for (const py::handle item : tuple) out.push_back(item.cast<int64_t>());
  } catch (const py::cast_error&) {
    invalid(std::string(name) + " is not a tuple of integers");
  }
  return out;
}

// The ordinal of a DLPack kDLCUDA (2) or kDLCUDAManaged (13) device; 0 without the method.
int dlpack_ordinal(const py::handle& object) {
  if (!py::hasattr(object, "__dlpack_device__")) return 0;
  const py::tuple device = object.attr("__dlpack_device__")();
  const int type = device[0].cast<int>();
  if (type != 2 && type != 13)
    invalid("__dlpack_device__ says device type " + std::to_string(type) + ", not CUDA memory");
  return device[1].cast<int>();
}

}  // namespace

bool has_cuda_array_interface(const py::handle& object) {
  return py::hasattr(object, "__cuda_array_interface__");
}

DeviceFrameSource device_frame_source(const py::handle& object) {
  const py::dict cai = object.attr("__cuda_array_interface__");
  const std::string typestr = py::str(cai["typestr"]);
  if (typestr.size() != 3 || typestr[1] != 'u' || typestr[2] != '1')
    invalid("typestr '" + typestr + "'; expected uint8 ('|u1')");
  if (cai.contains("mask") && !cai["mask"].is_none()) invalid("masked arrays are not frames");
  const py::tuple data = cai["data"];
  DeviceFrameSource out;
  out.address = data[0].cast<uintptr_t>();
  const std::vector<int64_t> shape = ints(cai["shape"], "shape");
  if (shape.empty() || shape.size() > 3)
    invalid(std::to_string(shape.size()) + " dimensions; expected 1 to 3");
  // A frame is at most a few hundred MB: anything near int64's range is a crafted shape,
  // refused before any arithmetic can overflow.
  constexpr int64_t kMaxBytes = int64_t(1) << 40;
  int64_t elements = 1;
  for (int64_t n : shape) {
    if (n <= 0) invalid("the array is empty (a dimension of " + std::to_string(n) + ")");
    if (n > kMaxBytes / elements) invalid("the shape spans more than 2^40 bytes");
    elements *= n;
  }
  if (!out.address) invalid("the data pointer is null");

  // Columns (and channels) must be contiguous; rows may be further apart (a pitched surface).
  std::vector<int64_t> strides;
  if (cai.contains("strides") && !cai["strides"].is_none())
    strides = ints(cai["strides"], "strides");
  const int64_t row_bytes = shape.size() == 1 ? shape[0] : elements / shape[0];
  int64_t pitch = row_bytes;
  if (!strides.empty()) {
    if (strides.size() != shape.size()) invalid("strides and shape differ in length");
    int64_t expected = 1;
    for (size_t i = shape.size(); i-- > 1;) {
      if (strides[i] != expected)
        invalid("stride " + std::to_string(strides[i]) + " of dimension " + std::to_string(i) +
                " is not contiguous (" + std::to_string(expected) + "); only rows may be padded");
      expected *= shape[i];
    }
    if (shape.size() == 1 && strides[0] != 1) invalid("a flat array must be contiguous");
    if (shape.size() > 1) pitch = strides[0];
    if (pitch < row_bytes) invalid("rows overlap (row stride below the row's bytes)");
    if (pitch > std::numeric_limits<int>::max() || pitch > kMaxBytes / shape[0])
      invalid("row stride " + std::to_string(pitch) + " is larger than any frame");
  }
  if (shape.size() == 1) {
    out.bytes = size_t(shape[0]);
    out.pitch = 0;
  } else {
    out.bytes = size_t(shape[0]) * size_t(pitch);
    out.pitch = int(pitch);
  }
  if (cai.contains("stream") && !cai["stream"].is_none())
    out.stream = cai["stream"].cast<uintptr_t>();
  out.device = dlpack_ordinal(object);
  return out;
}

}  // namespace videohw::bindings
