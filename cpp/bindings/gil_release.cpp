// GilRelease and the exit gate (bindings.hpp).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

#include "bindings/bindings.hpp"

namespace py = pybind11;

namespace videohw::bindings {

namespace {

// Written and read with the GIL held, so a region either starts before the gate closes
// (and is waited for) or sees it closed.
std::atomic<bool> g_shutting_down{false};
std::mutex g_mu;
std::condition_variable g_cv;
int g_inside = 0;  // threads inside a GilRelease region

// Long enough for any one decode or encode call; past it exit goes on as it would have.
constexpr auto kExitWait = std::chrono::seconds(30);

}  // namespace

GilRelease::GilRelease() {
  if (g_shutting_down.load()) return;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    ++g_inside;
  }
  saved_ = PyEval_SaveThread();
}

GilRelease::~GilRelease() {
  if (!saved_) return;
  PyEval_RestoreThread(saved_);
  std::lock_guard<std::mutex> lock(g_mu);
  if (--g_inside == 0) g_cv.notify_all();
}

bool shutting_down() {
  return g_shutting_down.load();
}

void init_shutdown(py::module_& m) {
  m.def("_begin_shutdown", [] {
    g_shutting_down = true;
    py::gil_scoped_release nogil;  // the threads inside need it to come out
    std::unique_lock<std::mutex> lock(g_mu);
    g_cv.wait_for(lock, kExitWait, [] { return g_inside == 0; });
  });
}

}  // namespace videohw::bindings
