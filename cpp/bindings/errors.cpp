// The one place C++ errors become Python exceptions: each ErrorKind maps onto its class in
// videohw.errors, with the message unchanged.
#include <pybind11/stl.h>

#include "bindings/bindings.hpp"
#include "contract/errors.hpp"

namespace py = pybind11;

namespace videohw::bindings {

namespace {

const char* class_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::Config:
      return "ConfigError";
    case ErrorKind::InvalidFrame:
      return "InvalidFrameError";
    case ErrorKind::UnsupportedConfig:
      return "UnsupportedConfigError";
    case ErrorKind::BackendUnavailable:
      return "BackendUnavailableError";
    case ErrorKind::StaleSession:
      return "StaleSessionError";
    case ErrorKind::SessionClosed:
      return "SessionClosedError";
    case ErrorKind::Switch:
      return "SwitchError";
    case ErrorKind::Backpressure:
      return "BackpressureError";
    case ErrorKind::Decode:
      return "DecodeError";
    case ErrorKind::Encode:
      return "EncodeError";
    case ErrorKind::Media:
      return "InvalidMediaError";
    case ErrorKind::MediaIo:
      return "MediaError";
    case ErrorKind::Generic:
      break;
  }
  return "VideoHwError";
}

void raise(const py::object& cls, const py::object& instance) {
  PyErr_SetObject(cls.ptr(), instance.ptr());
}

}  // namespace

void init_errors(py::module_& m) {
  (void)m;
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const UnsupportedConfig& e) {
      py::object errors = py::module_::import("videohw.errors");
      py::object cls = errors.attr("UnsupportedConfigError");
      raise(cls, cls(py::cast(e.problems())));
    } catch (const Error& e) {
      py::object errors = py::module_::import("videohw.errors");
      py::object cls = errors.attr(class_name(e.kind()));
      raise(cls, cls(py::str(e.what())));
    }
  });
}

}  // namespace videohw::bindings
