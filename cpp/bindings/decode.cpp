// Decode entry points. Every call runs with the GIL released (decoding itself runs on the
// session's worker or, for the calls that pause it, on the calling thread); frames
// become Python values only with it held. Pixels are never copied here: a numpy array's
// base is a capsule holding a copy of DecodedFrame::owner, so the decoder's buffer (or the
// RGB buffer) lives exactly as long as the last array that views it.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <optional>

#include "backend/decoder_registry.hpp"
#include "bindings/bindings.hpp"
#include "bindings/decoded_frames.hpp"
#include "contract/errors.hpp"
#include "session/session_manager.hpp"

namespace py = pybind11;

namespace videohw::bindings {

py::dict telemetry_dict(const TelemetryMap& telemetry) {
  py::dict out;
  for (const auto& [key, value] : telemetry) {
    if (const auto* number = std::get_if<int64_t>(&value))
      out[py::str(key)] = *number;
    else
      out[py::str(key)] = std::get<std::string>(value);
  }
  return out;
}

namespace {

// A readable byte buffer of any exporter, held for one push.
class ReadBuffer {
 public:
  explicit ReadBuffer(const py::object& object) {
    if (PyObject_GetBuffer(object.ptr(), &view_, PyBUF_C_CONTIGUOUS) != 0) {
      PyErr_Clear();
      throw Error(ErrorKind::Config,
                  std::string("push_bitstream: data is a ") + Py_TYPE(object.ptr())->tp_name +
                      "; expected a C-contiguous bytes-like object (bytes, bytearray, "
                      "memoryview, uint8 numpy array)");
    }
  }
  ~ReadBuffer() { PyBuffer_Release(&view_); }
  ReadBuffer(const ReadBuffer&) = delete;
  ReadBuffer& operator=(const ReadBuffer&) = delete;
  const uint8_t* data() const { return static_cast<const uint8_t*>(view_.buf); }
  size_t size() const { return size_t(view_.len); }

 private:
  Py_buffer view_{};
};

template <typename Call>
std::vector<DecodedFrame> released(Call&& call) {
  GilRelease release;
  return call();
}

}  // namespace

void init_decode(py::module_& m) {
  py::enum_<DecodeOutputMode>(m, "DecodeOutputMode")
      .value("METADATA_ONLY", DecodeOutputMode::MetadataOnly)
      .value("NATIVE_SURFACE", DecodeOutputMode::NativeSurface)
      .value("CPU_RGB", DecodeOutputMode::CpuRgb);

  py::class_<CommonDecodeConfig>(m, "CommonDecodeConfig")
      .def(py::init<>())
      .def_readwrite("codec", &CommonDecodeConfig::codec)
      .def_readwrite("low_latency", &CommonDecodeConfig::low_latency)
      .def_readwrite("max_display_delay", &CommonDecodeConfig::max_display_delay)
      .def_readwrite("prefer_zero_copy", &CommonDecodeConfig::prefer_zero_copy)
      .def_readwrite("output", &CommonDecodeConfig::output)
      .def_readwrite("input_layout", &CommonDecodeConfig::input_layout)
      .def_readwrite("max_width", &CommonDecodeConfig::max_width)
      .def_readwrite("max_height", &CommonDecodeConfig::max_height)
      .def_readwrite("max_access_unit_bytes", &CommonDecodeConfig::max_access_unit_bytes)
      .def_readwrite("max_ready_frames", &CommonDecodeConfig::max_ready_frames)
      .def_readwrite("max_ready_bytes", &CommonDecodeConfig::max_ready_bytes)
      .def_readwrite("push_ahead_bytes", &CommonDecodeConfig::push_ahead_bytes)
      .def_readwrite("max_backlog_bytes", &CommonDecodeConfig::max_backlog_bytes)
      .def_property(
          "extradata",
          [](const CommonDecodeConfig& c) {
            return py::bytes(reinterpret_cast<const char*>(c.extradata.data()), c.extradata.size());
          },
          [](CommonDecodeConfig& c, const py::bytes& data) {
            const std::string bytes = data;
            c.extradata.assign(bytes.begin(), bytes.end());
          });
  py::class_<SoftwareDecodeConfig>(m, "SoftwareDecodeConfig")
      .def(py::init<>())
      .def_readwrite("threads", &SoftwareDecodeConfig::threads);
  py::class_<NvidiaDecodeConfig>(m, "NvidiaDecodeConfig")
      .def(py::init<>())
      .def_readwrite("device", &NvidiaDecodeConfig::device);

  py::class_<DecodeCapabilities>(m, "DecodeCapabilities")
      .def_readonly("backend", &DecodeCapabilities::backend)
      .def_readonly("codec", &DecodeCapabilities::codec)
      .def_readonly("supported", &DecodeCapabilities::supported)
      .def_readonly("max_width", &DecodeCapabilities::max_width)
      .def_readonly("max_height", &DecodeCapabilities::max_height)
      .def_readonly("output_modes", &DecodeCapabilities::output_modes)
      .def_readonly("device_surfaces", &DecodeCapabilities::device_surfaces)
      .def_readonly("dynamic_resolution", &DecodeCapabilities::dynamic_resolution);

  py::class_<DecoderProvider, std::shared_ptr<DecoderProvider>>(m, "DecoderProvider")
      .def_property_readonly("name", &DecoderProvider::name)
      .def("capabilities", &DecoderProvider::capabilities, py::arg("codec"));

  m.def(
      "make_decoder_provider",
      [](const std::string& backend, const SoftwareDecodeConfig& software,
         const NvidiaDecodeConfig& nvidia) {
        return std::shared_ptr<DecoderProvider>(make_decoder_provider(backend, software, nvidia));
      },
      py::arg("backend"), py::arg("software_config"), py::arg("nvidia_config"));
  m.def("decode_backend_availability", &decode_backend_availability);
  m.def("decode_backend_cache", &decode_backend_cache, py::arg("backend"));
  m.def(
      "set_decode_backend_cache_limit",
      [](const std::string& backend, const std::string& name, int64_t value) {
        GilRelease unlocked;  // may destroy decoders and free memory in the driver
        set_decode_backend_cache_limit(backend, name, value);
      },
      py::arg("backend"), py::arg("name"), py::arg("value"));
  m.def(
      "release_decode_backend_caches",
      [](const std::string& backend) {
        GilRelease unlocked;
        release_decode_backend_caches(backend);
      },
      py::arg("backend") = "");
  m.def(
      "resolve_decode_backend",
      [](const std::string& requested) {
        std::string reason;
        std::string name = resolve_decode_backend(requested, &reason);
        return py::make_tuple(
            name, reason.empty() ? py::object(py::none()) : py::object(py::str(reason)));
      },
      py::arg("requested"));

  // Decode methods on the one SessionManager class bound in session.cpp.
  auto manager = py::reinterpret_borrow<py::class_<SessionManager>>(m.attr("SessionManager"));
  manager
      .def(
          "start_decode",
          [](SessionManager& self, const CommonDecodeConfig& config,
             std::shared_ptr<DecoderProvider> provider) {
            SessionHandle h;
            {
              GilRelease release;
              h = self.start_decode(config, std::move(provider));
            }
            return py::make_tuple(h.id, h.generation);
          },
          py::arg("config"), py::arg("provider"))
      .def(
          "push_bitstream",
          [](SessionManager& self, uint64_t id, uint32_t generation, const py::object& data,
             std::optional<int64_t> pts, int64_t wait_ns) {
            auto session = self.decode_session(id);
            ReadBuffer buffer(data);
            bool interrupted = false;
            {
              GilRelease release;
              session->push(generation, buffer.data(), buffer.size(), pts, wait_ns,
                            python_signalled, &interrupted);
            }
            if (interrupted) throw py::error_already_set();  // the chunk was not taken
          },
          py::arg("id"), py::arg("generation"), py::arg("data"), py::arg("pts"),
          py::arg("wait_ns") = 0)
      .def(
          "reap_decoded",
          [](SessionManager& self, uint64_t id, uint32_t generation, size_t min_frames,
             int64_t timeout_ns) {
            auto session = self.decode_session(id);
            bool interrupted = false;
            auto frames = released([&] {
              return session->reap(generation, min_frames, timeout_ns, python_signalled,
                                   &interrupted);
            });
            if (interrupted) throw py::error_already_set();  // frames stay ready
            return to_python(std::move(frames));
          },
          py::arg("id"), py::arg("generation"), py::arg("min_frames") = 0,
          py::arg("timeout_ns") = -1)
      .def(
          "flush_decode",
          [](SessionManager& self, uint64_t id, uint32_t generation) {
            auto session = self.decode_session(id);
            return to_python(released([&] { return session->flush(generation); }));
          },
          py::arg("id"), py::arg("generation"))
      .def(
          "switch_decode",
          [](SessionManager& self, uint64_t id, uint32_t generation,
             const CommonDecodeConfig& target, std::shared_ptr<DecoderProvider> provider) {
            auto session = self.decode_session(id);
            GilRelease release;
            return session->switch_to(generation, target, std::move(provider));
          },
          py::arg("id"), py::arg("generation"), py::arg("target"), py::arg("provider"))
      .def(
          "reset_decode",
          [](SessionManager& self, uint64_t id, uint32_t generation) {
            auto session = self.decode_session(id);
            GilRelease release;
            session->reset(generation, /*new_stream=*/true);
          },
          py::arg("id"), py::arg("generation"))
      .def(
          "close_decode",
          [](SessionManager& self, uint64_t id, uint32_t generation) {
            return to_python(released([&] {
              return self.close_decode(SessionHandle{id, generation});
            }));
          },
          py::arg("id"), py::arg("generation"))
      .def(
          "decode_telemetry",
          [](SessionManager& self, uint64_t id, uint32_t generation) {
            return telemetry_dict(self.decode_telemetry(SessionHandle{id, generation}));
          },
          py::arg("id"), py::arg("generation"))
      .def(
          "decode_state",
          [](SessionManager& self, uint64_t id, uint32_t generation) {
            const DecodeStateInfo s = self.decode_state(SessionHandle{id, generation});
            py::dict out;
            out["state"] = s.closed ? "closed" : "running";
            out["active_generation"] = s.active_generation;
            out["next_generation"] = s.next_generation;
            out["codec"] = to_string(s.codec);
            out["output"] = to_string(s.output);
            out["backend"] = s.backend;
            return out;
          },
          py::arg("id"), py::arg("generation"));
}

}  // namespace videohw::bindings
