// One init function per C++ area, all called from the single PYBIND11_MODULE in module.cpp.
// The bindings translate between Python and the core; they hold no logic of their own.
#pragma once

#include <pybind11/pybind11.h>

#include <vector>

#include "backend/telemetry.hpp"
#include "contract/types.hpp"

namespace videohw::bindings {

void init_errors(pybind11::module_& m);
void init_contract(pybind11::module_& m);
void init_session(pybind11::module_& m);
void init_decode(pybind11::module_& m);        // after init_session: adds to SessionManager
void init_cuda_array(pybind11::module_& m);    // CudaArray / Nv12Surface (device pixels)
void init_media_reader(pybind11::module_& m);  // after init_session: uses SessionManager
void init_media_writer(pybind11::module_& m);  // Muxer: encoded packets into files
void init_ffmpeg_log(pybind11::module_& m);    // FFmpeg's log lines, for Python's logging
void init_transcode(pybind11::module_& m);     // after init_session and init_decode
void init_scale(pybind11::module_& m);

void init_shutdown(pybind11::module_& m);  // _begin_shutdown, for Python's atexit

// Releases the GIL around core work, except once the interpreter has begun to shut down.
// Python ends a thread that takes the GIL back during finalization by unwinding it, and
// unwinding through these C++ frames aborts the process ("terminate called without an
// active exception"), so at exit _begin_shutdown waits until no thread is inside such a
// region; later regions keep the GIL (no thread then has to take it back).
class GilRelease {
 public:
  GilRelease();
  ~GilRelease();
  GilRelease(const GilRelease&) = delete;
  GilRelease& operator=(const GilRelease&) = delete;

 private:
  PyThreadState* saved_ = nullptr;
};

bool shutting_down();

// Packets as (data, pts, dts, is_keyframe, generation, layout) tuples.
pybind11::list packet_tuples(const std::vector<EncodedPacket>& packets);
// A packet owning a copy of `data` (Annex-B unless `layout` says otherwise).
EncodedPacket encoded_packet(const pybind11::bytes& data, int64_t pts, int64_t dts, bool keyframe,
                             uint32_t generation = 0, EncodedLayout layout = EncodedLayout::AnnexB);

// A telemetry map as a dict of int and str values.
pybind11::dict telemetry_dict(const TelemetryMap& telemetry);

// For core waits that Ctrl-C must end, called about every 100 ms without the GIL: takes
// it and runs Python's signal handlers. True when one raised; that exception stays set in
// this thread and is thrown (py::error_already_set) once the call is back with the GIL.
// Once the interpreter shuts down it also ends the wait, with a RuntimeError.
inline bool python_signalled() {
  pybind11::gil_scoped_acquire gil;
  if (shutting_down()) {
    PyErr_SetString(PyExc_RuntimeError, "videohw: the interpreter is shutting down");
    return true;
  }
  return PyErr_CheckSignals() != 0;
}

}  // namespace videohw::bindings
