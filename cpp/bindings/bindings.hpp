// One init function per C++ area, all called from the single PYBIND11_MODULE in module.cpp.
// The bindings translate between Python and the core; they hold no logic of their own.
#pragma once

#include <pybind11/pybind11.h>

namespace videohw::bindings {

void init_errors(pybind11::module_& m);
void init_contract(pybind11::module_& m);
void init_session(pybind11::module_& m);
void init_decode(pybind11::module_& m);  // after init_session: adds to SessionManager
void init_cuda_array(pybind11::module_& m);  // CudaArray / Nv12Surface (device pixels)
void init_media_reader(pybind11::module_& m);  // after init_session: uses SessionManager
void init_media_writer(pybind11::module_& m);  // Muxer: encoded packets into files
void init_ffmpeg_log(pybind11::module_& m);     // FFmpeg's log lines, for Python's logging

// For core waits that Ctrl-C must end, called about every 100 ms without the GIL: takes
// it and runs Python's signal handlers. True when one raised; that exception stays set in
// this thread and is thrown (py::error_already_set) once the call is back with the GIL.
inline bool python_signalled() {
  pybind11::gil_scoped_acquire gil;
  return PyErr_CheckSignals() != 0;
}

}  // namespace videohw::bindings
