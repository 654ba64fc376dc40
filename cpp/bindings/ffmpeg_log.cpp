// FFmpeg's log lines into Python (videohw/_ffmpeg_log.py hands them to logging).
//
// The av_log callback never touches Python: it runs on libavcodec's threads and on callers'
// threads that released the GIL while holding session locks, so taking the GIL there could
// deadlock, and at exit Python may be finalizing. It queues lines (media/ffmpeg_log.hpp);
// a forwarder thread, started by the first line once Python asked for forwarding, waits on
// the queue without the GIL and, with it, calls the Python forward function, holding no
// videohw lock. An atexit hook stops and joins it while the interpreter is still whole;
// nothing starts it again after that.
#include <pybind11/stl.h>

#include <pthread.h>

#include <atomic>
#include <mutex>
#include <new>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "bindings/bindings.hpp"
#include "media/ffmpeg_log.hpp"

namespace py = pybind11;

namespace videohw::bindings {

namespace {

constexpr const char* kThreadName = "videohw-ffmpeg-log";

struct Forwarder {
  std::mutex mu;                  // orders a start against stop
  std::thread* thread = nullptr;  // forgotten in a forked child, where its thread is gone
  PyObject* forward = nullptr;    // owned; dropped by stop with the GIL held
  bool stopped = false;           // for good: set at interpreter exit
  std::atomic<bool> stop{false};
  // A thread is wanted and none was tried yet: the only thing every queued line reads.
  std::atomic<bool> idle{false};
};

Forwarder& forwarder() {
  // Never destroyed: its destructor would run after Python is gone.
  static Forwarder* f = new Forwarder;
  return *f;
}

void run_forwarder() {
  Forwarder& f = forwarder();
  // One thread state for the thread's whole life; stop joins it before finalization.
  py::gil_scoped_acquire gil;
  try {
    // What records show as threadName, instead of "Dummy-1".
    py::module_::import("threading").attr("current_thread")().attr("name") = kThreadName;
  } catch (py::error_already_set& e) {
    e.discard_as_unraisable("naming videohw's FFmpeg log forwarder");
  }
  for (;;) {
    {
      py::gil_scoped_release nogil;
      media::ffmpeg_log_queue().wait(f.stop);
    }
    if (f.stop.load()) return;
    // Its own reference: the forward function may be replaced while the call runs.
    PyObject* forward = f.forward;
    if (!forward) return;
    Py_INCREF(forward);
    PyObject* result = PyObject_CallObject(forward, nullptr);
    if (result)
      Py_DECREF(result);
    else
      PyErr_WriteUnraisable(forward);
    Py_DECREF(forward);
  }
}

// The queue's listener: any thread, no GIL, possibly under session locks.
void start_forwarder() {
  Forwarder& f = forwarder();
  if (!f.idle.load(std::memory_order_acquire)) return;
  std::lock_guard<std::mutex> lock(f.mu);
  if (!f.idle.load() || !f.forward || f.stopped || f.thread) return;
  f.idle.store(false);
  try {
    f.thread = new std::thread(run_forwarder);
  } catch (...) {
    // No thread to be had: the lines wait for flush_ffmpeg_log() or are dropped when full.
  }
}

void stop_forwarder() {
  Forwarder& f = forwarder();
  std::thread* thread = nullptr;
  {
    py::gil_scoped_release nogil;  // the forwarder may be waiting for the GIL to finish
    {
      std::lock_guard<std::mutex> lock(f.mu);
      f.stopped = true;
      f.stop.store(true);
      f.idle.store(false);
      thread = std::exchange(f.thread, nullptr);
    }
    media::ffmpeg_log_queue().interrupt();
    if (thread) {
      thread->join();
      delete thread;
    }
  }
  PyObject* forward = nullptr;
  {
    std::lock_guard<std::mutex> lock(f.mu);
    forward = std::exchange(f.forward, nullptr);
  }
  Py_XDECREF(forward);
}

void forward_with(const py::function& function) {
  Forwarder& f = forwarder();
  PyObject* previous = nullptr;
  {
    std::lock_guard<std::mutex> lock(f.mu);
    if (f.stopped) return;
    previous = std::exchange(f.forward, function.inc_ref().ptr());
    if (!f.thread) f.idle.store(true);
  }
  Py_XDECREF(previous);  // outside the lock: it may run Python code
  media::set_ffmpeg_log_listener(&start_forwarder);
  // Lines queued before anyone asked come with no call of their own.
  if (media::ffmpeg_log_queue().stats().queued) start_forwarder();
}

void before_fork() {
  forwarder().mu.lock();
}
void after_fork_in_parent() {
  forwarder().mu.unlock();
}
void after_fork_in_child() {
  Forwarder& f = forwarder();
  new (&f.mu) std::mutex();
  // The child starts its own with its next line, lines the parent left queued included.
  f.thread = nullptr;
  f.idle.store(f.forward && !f.stopped);
}

py::str text(const std::string& bytes) {
  // FFmpeg prints what streams contain (metadata, names): not always UTF-8.
  PyObject* s = PyUnicode_DecodeUTF8(bytes.data(), Py_ssize_t(bytes.size()), "backslashreplace");
  if (!s) throw py::error_already_set();
  return py::reinterpret_steal<py::str>(s);
}

}  // namespace

void init_ffmpeg_log(py::module_& m) {
  pthread_atfork(&before_fork, &after_fork_in_parent, &after_fork_in_child);

  m.def("_ffmpeg_log_forward_with", &forward_with, py::arg("forward"),
        "Calls forward() on a forwarder thread, with the GIL, whenever lines are queued.");
  m.def("_ffmpeg_log_stop", &stop_forwarder,
        "Stops and joins the forwarder for good (interpreter exit); lines stay queued.");
  m.def(
      "_ffmpeg_log_take",
      [](size_t max) {
        std::vector<media::FfmpegLogLine> lines;
        media::ffmpeg_log_queue().take(lines, max);
        py::list out;
        for (const auto& line : lines)
          out.append(py::make_tuple(line.level, text(line.component), text(line.text), line.unix_ns,
                                    line.thread_id));
        return out;
      },
      py::arg("max"),
      "Up to max queued lines, oldest first: (av level, component, text, unix ns, thread id).");
  m.def("_ffmpeg_log_stats", [] {
    const media::FfmpegLogQueueStats s = media::ffmpeg_log_queue().stats();
    Forwarder& f = forwarder();
    bool running = false;
    {
      std::lock_guard<std::mutex> lock(f.mu);
      running = f.thread != nullptr;
    }
    py::dict out;
    out["level"] = media::ffmpeg_log_level();
    out["capacity"] = s.capacity;
    out["queued"] = s.queued;
    out["lines"] = s.lines;
    out["dropped"] = s.dropped;
    out["forwarder_running"] = running;
    return out;
  });
  m.def("_set_ffmpeg_log_level", &media::set_ffmpeg_log_level, py::arg("av_level"));
  m.def("_parse_ffmpeg_log_level", &media::parse_ffmpeg_log_level, py::arg("text"));
}

}  // namespace videohw::bindings
