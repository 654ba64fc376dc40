// videohw_testing: the hooks the Python tests need, in a module of their own so that none of
// them ships in videohw._core (docs/testing.md). Nothing in the videohw package imports it.
//
// It registers no type of _core's again: it imports videohw._core first and uses the types
// registered there, which pybind11 finds across modules built with the same pybind11
// internals and compiler ABI. So a provider made by _core comes in as the EncoderProvider it
// is, the wrapper goes back to _core's SessionManager as an EncoderProvider, and the host
// surface is an Nv12Surface to _core's own bindings of it.
#include <pybind11/pybind11.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <typeinfo>

#include "backend/encoder_provider.hpp"
#include "bindings/cuda_array.hpp"
#include "hooks/fault_injection.hpp"

namespace py = pybind11;

namespace videohw::hooks {

namespace {

// Without this check a module built against another pybind11 would import fine and fail
// at the first hook with a cast error that names no cause.
void require_core_type(const std::type_info& type, const char* name) {
  if (py::detail::get_type_info(type) == nullptr)
    throw py::import_error(
        std::string("videohw_testing cannot see videohw._core's ") + name +
        ": the two were built with different pybind11 versions or compilers. Build the test "
        "hooks with the Python and pybind11 that built the installed videohw "
        "(docs/testing.md).");
}

// Host memory in the layout of a decoded NV12 picture, counted while alive, so the CPU suite
// checks the device-array protocols and the owner's lifetime without a GPU. Nothing may read
// it as device memory.
std::atomic<int64_t> host_surfaces_alive{0};

bindings::Nv12Surface host_nv12_surface(int width, int height, int device_id) {
  if (width <= 0 || height <= 0)
    throw py::value_error("host_nv12_surface: size " + std::to_string(width) + "x" +
                          std::to_string(height) + "; expected positive");
  const int pitch = (width + 1) & ~1;
  const size_t bytes =
      static_cast<size_t>(pitch) * (height + bindings::Nv12Surface::chroma_rows(height));
  auto* memory = new uint8_t[bytes];
  for (size_t i = 0; i < bytes; ++i) memory[i] = static_cast<uint8_t>((i * 7 + i / pitch) & 0xff);
  ++host_surfaces_alive;
  std::shared_ptr<void> owner(memory, [](void* p) {
    delete[] static_cast<uint8_t*>(p);
    --host_surfaces_alive;
  });
  return bindings::Nv12Surface(reinterpret_cast<uintptr_t>(memory), width, height, pitch, device_id,
                               std::move(owner));
}

}  // namespace

void init(py::module_& m) {
  py::module_::import("videohw._core");
  require_core_type(typeid(EncoderProvider), "EncoderProvider");
  require_core_type(typeid(bindings::Nv12Surface), "Nv12Surface");

  py::class_<FaultPlan, std::shared_ptr<FaultPlan>>(m, "FaultPlan")
      .def(py::init([](int fail_create_at, int fail_activation_at, bool fail_reconfigure,
                       int encode_delay_ms) {
             auto plan = std::make_shared<FaultPlan>();
             plan->fail_create_at = fail_create_at;
             plan->fail_activation_at = fail_activation_at;
             plan->fail_reconfigure = fail_reconfigure;
             plan->encode_delay_ms = encode_delay_ms;
             return plan;
           }),
           py::arg("fail_create_at") = -1, py::arg("fail_activation_at") = -1,
           py::arg("fail_reconfigure") = false, py::arg("encode_delay_ms") = 0)
      .def_property_readonly("creates", [](const FaultPlan& p) { return p.creates.load(); });
  m.def(
      "wrap_with_faults",
      [](std::shared_ptr<EncoderProvider> inner, std::shared_ptr<FaultPlan> plan) {
        return std::shared_ptr<EncoderProvider>(
            std::make_shared<FaultInjectingProvider>(std::move(inner), std::move(plan)));
      },
      py::arg("provider"), py::arg("plan"));

  m.def("host_nv12_surface", &host_nv12_surface, py::arg("width"), py::arg("height"),
        py::arg("device_id") = 0,
        "An Nv12Surface over HOST memory (never read it as device memory).");
  m.def("host_surfaces_alive", [] { return host_surfaces_alive.load(); });
}

}  // namespace videohw::hooks

PYBIND11_MODULE(videohw_testing, m) {
  videohw::hooks::init(m);
}
