#include "bindings/decoded_frames.hpp"

#include <pybind11/numpy.h>

#include "bindings/cuda_array.hpp"
#include "contract/color_names.hpp"

namespace py = pybind11;

namespace videohw::bindings {

namespace {

py::capsule keep_alive(const std::shared_ptr<void>& owner) {
  auto* held = new std::shared_ptr<void>(owner);
  return py::capsule(held, [](void* p) { delete static_cast<std::shared_ptr<void>*>(p); });
}

// Host planes as numpy views. NATIVE_SURFACE planes are the decoder's reference pictures,
// so they are read-only; a CPU_RGB buffer belongs to the frame alone and is writable.
py::list host_planes(const DecodedFrame& f) {
  py::list out;
  const py::capsule base = keep_alive(f.owner);
  const bool rgb = f.output == DecodeOutputMode::CpuRgb;
  for (const auto& p : f.planes) {
    py::array array;
    if (rgb) {
      array = py::array(py::dtype::of<uint8_t>(), {p.height, p.width_bytes / 3, 3}, {p.pitch, 3, 1},
                        p.data, base);
    } else if (f.bytes_per_sample == 2) {
      array = py::array(py::dtype::of<uint16_t>(), {p.height, p.width_bytes / 2}, {p.pitch, 2},
                        reinterpret_cast<uint16_t*>(p.data), base);
    } else {
      array = py::array(py::dtype::of<uint8_t>(), {p.height, p.width_bytes}, {p.pitch, 1}, p.data,
                        base);
    }
    if (!rgb) array.attr("flags").attr("writeable") = false;
    out.append(array);
  }
  return out;
}

}  // namespace

py::dict to_python(const DecodedFrame& f) {
  py::dict out;
  out["width"] = f.width;
  out["index"] = f.index ? py::object(py::int_(*f.index)) : py::object(py::none());
  out["seconds"] = f.seconds ? py::object(py::float_(*f.seconds)) : py::object(py::none());
  out["height"] = f.height;
  out["pts"] = f.pts ? py::object(py::int_(*f.pts)) : py::object(py::none());
  out["generation"] = f.generation;
  out["is_keyframe"] = f.is_keyframe;
  out["damaged"] = f.damaged;
  out["primaries"] = color_primaries_name(f.color.primaries);
  out["transfer"] = color_transfer_name(f.color.transfer);
  out["matrix"] = color_matrix_name(f.color.matrix);
  out["full_range"] = f.color.full_range;
  out["output"] = to_string(f.output);
  out["pixel_format"] = f.pixel_format;
  out["on_device"] = f.on_device;
  out["device_id"] = f.device_id;
  if (f.planes.empty())
    out["planes"] = py::none();
  else if (f.on_device) {
    out["planes"] = device_surface_planes(f);  // one Nv12Surface (bindings/cuda_array.hpp)
    out["owner"] = keep_alive(f.owner);
  } else
    out["planes"] = host_planes(f);
  return out;
}

py::list to_python(const std::vector<DecodedFrame>& frames) {
  py::list out;
  for (const auto& f : frames) out.append(to_python(f));
  return out;
}

}  // namespace videohw::bindings
