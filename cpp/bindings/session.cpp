// Session entry points. Every call that encodes, drains or may wait on another thread's
// encode runs with the GIL released; Python objects are only touched with it held.
#include <pybind11/stl.h>

#include <optional>

#include "backend/device_memory.hpp"
#include "backend/encoder_registry.hpp"
#include "bindings/bindings.hpp"
#include "bindings/device_frame.hpp"
#include "contract/errors.hpp"
#include "session/session_manager.hpp"

namespace py = pybind11;

namespace videohw::bindings {

namespace {

// A Py_buffer held for the duration of one submit; released with the GIL held.
class BorrowedBuffer {
 public:
  explicit BorrowedBuffer(const py::object& object) {
    if (PyObject_GetBuffer(object.ptr(), &view_, PyBUF_STRIDES | PyBUF_FORMAT) != 0) {
      PyErr_Clear();
      throw Error(ErrorKind::InvalidFrame,
                  std::string("Frame.data: a ") + Py_TYPE(object.ptr())->tp_name +
                      " does not expose a readable buffer; expected a uint8 numpy array, "
                      "bytes, bytearray or memoryview");
    }
    held_ = true;
  }
  ~BorrowedBuffer() {
    if (held_) PyBuffer_Release(&view_);
  }
  BorrowedBuffer(const BorrowedBuffer&) = delete;
  BorrowedBuffer& operator=(const BorrowedBuffer&) = delete;

  const Py_buffer& view() const { return view_; }

  void require_uint8_c_contiguous() const {
    const std::string fmt = view_.format ? view_.format : "B";
    if (view_.itemsize != 1 || (fmt != "B" && fmt != "=B" && fmt != "<B" && fmt != "|B"))
      throw Error(ErrorKind::InvalidFrame, "Frame.data: element format '" + fmt +
                                               "' with itemsize " + std::to_string(view_.itemsize) +
                                               "; expected uint8");
    if (!PyBuffer_IsContiguous(&view_, 'C'))
      throw Error(ErrorKind::InvalidFrame,
                  "Frame.data: the buffer is not C-contiguous; pass numpy.ascontiguousarray(...)"
                  " or give the row pitch of a contiguous buffer");
  }

  // Row pitch implied by the array's shape: (rows, cols, channels) -> cols*channels,
  // (rows, cols) -> cols, flat -> 0 (the minimum for the width).
  int implied_pitch() const {
    if (view_.ndim == 3) return int(view_.shape[1] * view_.shape[2]);
    if (view_.ndim == 2) return int(view_.shape[1]);
    return 0;
  }

 private:
  Py_buffer view_{};
  bool held_ = false;
};

py::dict to_python(const SessionStateInfo& s) {
  const auto optional = [](uint32_t value) {
    return value ? py::object(py::int_(value)) : py::object(py::none());
  };
  py::dict out;
  out["state"] = to_string(s.state);
  out["active_generation"] = s.active_generation;
  out["config_generation"] = s.config_generation;
  out["next_generation"] = s.next_generation;
  out["pending_generation"] = optional(s.pending_generation);
  out["pending_mode"] =
      s.pending_mode.empty() ? py::object(py::none()) : py::object(py::str(s.pending_mode));
  out["next_frame_activates"] = s.next_frame_activates;
  out["width"] = s.width;
  out["height"] = s.height;
  out["pending_width"] = optional(uint32_t(s.pending_width));
  out["pending_height"] = optional(uint32_t(s.pending_height));
  out["codec"] = to_string(s.codec);
  out["backend"] = s.backend;
  return out;
}

// Packets to Python, then their payload buffers back to the session's pool.
py::list hand_over(EncodeSession& session, std::vector<EncodedPacket>&& packets) {
  py::list out = packet_tuples(packets);
  session.recycle(std::move(packets));
  return out;
}

}  // namespace

EncodedPacket encoded_packet(const py::bytes& data, int64_t pts, int64_t dts, bool keyframe,
                             uint32_t generation, EncodedLayout layout) {
  EncodedPacket packet;
  char* bytes = nullptr;
  Py_ssize_t size = 0;
  if (PyBytes_AsStringAndSize(data.ptr(), &bytes, &size) != 0) throw py::error_already_set();
  packet.data.assign(reinterpret_cast<const uint8_t*>(bytes),
                     reinterpret_cast<const uint8_t*>(bytes) + size);
  packet.pts = pts;
  packet.dts = dts;
  packet.is_keyframe = keyframe;
  packet.generation = generation;
  packet.layout = layout;
  return packet;
}

py::list packet_tuples(const std::vector<EncodedPacket>& packets) {
  py::list out;
  for (const auto& p : packets) {
    py::bytes data(reinterpret_cast<const char*>(p.data.data()), p.data.size());
    out.append(py::make_tuple(data, p.pts, p.dts, p.is_keyframe, p.generation, int(p.layout)));
  }
  return out;
}

void init_session(py::module_& m) {
  py::enum_<SwitchMode>(m, "SessionSwitchMode")
      .value("IMMEDIATE", SwitchMode::Immediate)
      .value("ON_NEXT_KEYFRAME", SwitchMode::OnNextKeyframe)
      .value("DRAIN_THEN_SWAP", SwitchMode::DrainThenSwap);

  py::class_<EncoderProvider, std::shared_ptr<EncoderProvider>>(m, "EncoderProvider")
      .def_property_readonly("name", &EncoderProvider::name)
      .def("capabilities", &EncoderProvider::capabilities, py::arg("codec"));

  m.def(
      "make_encoder_provider",
      [](const std::string& backend, const SoftwareEncodeConfig& software,
         const NvidiaEncodeConfig& nvidia) {
        return std::shared_ptr<EncoderProvider>(make_encoder_provider(backend, software, nvidia));
      },
      py::arg("backend"), py::arg("software_config"),
      py::arg("nvidia_config") = NvidiaEncodeConfig{});
  m.def("nvenc_driver_info", [] {
    // The NVENC adapter's facts, through the registry: "" stands for "not known".
    py::dict out;
    for (const auto& [key, value] : encode_backend_details("nvidia")) {
      const bool maybe_unknown = key == "driver_api_version" || key == "error";
      out[py::str(key)] =
          maybe_unknown && value.empty() ? py::object(py::none()) : py::object(py::str(value));
    }
    return out;
  });
  m.def("encode_backend_availability", &encode_backend_availability);
  m.def(
      "resolve_encode_backend",
      [](const std::string& requested) {
        std::string reason;
        std::string name = resolve_encode_backend(requested, &reason);
        return py::make_tuple(
            name, reason.empty() ? py::object(py::none()) : py::object(py::str(reason)));
      },
      py::arg("requested"));

  py::class_<SessionManager>(m, "SessionManager")
      .def(py::init<>())
      .def(
          "start_encode",
          [](SessionManager& self, const CommonEncodeConfig& config,
             std::shared_ptr<EncoderProvider> provider) {
            SessionHandle h;
            {
              GilRelease release;
              h = self.start_encode(config, std::move(provider));
            }
            return py::make_tuple(h.id, h.generation);
          },
          py::arg("config"), py::arg("provider"))
      .def(
          "submit",
          [](SessionManager& self, uint64_t id, uint32_t generation, const py::object& data,
             PixelFormat format, std::optional<int64_t> pts, bool force_keyframe, int pitch,
             bool block) {
            auto session = self.encode_session(id);
            FrameOptions options;
            options.pts = pts;
            options.force_keyframe = force_keyframe;
            bool interrupted = false;
            if (has_cuda_array_interface(data)) {
              const DeviceFrameSource source = device_frame_source(data);
              if (pitch == 0) pitch = source.pitch;
              {
                GilRelease release;
                if (source.stream) device_memory().synchronize(source.device, source.stream);
                session->submit_device(generation, format, source.address, source.device,
                                       source.bytes, pitch, options, block, python_signalled,
                                       &interrupted);
              }
              if (interrupted) throw py::error_already_set();
              return;
            }
            BorrowedBuffer buffer(data);
            buffer.require_uint8_c_contiguous();
            if (pitch == 0) pitch = buffer.implied_pitch();
            const auto* bytes = static_cast<const uint8_t*>(buffer.view().buf);
            const size_t size = size_t(buffer.view().len);
            {
              GilRelease release;
              session->submit(generation, format, bytes, size, pitch, options, block,
                              python_signalled, &interrupted);
            }
            if (interrupted) throw py::error_already_set();  // the frame was not taken
          },
          py::arg("id"), py::arg("generation"), py::arg("data"), py::arg("format"), py::arg("pts"),
          py::arg("force_keyframe"), py::arg("pitch"), py::arg("block"))
      .def(
          "reap",
          [](SessionManager& self, uint64_t id, uint32_t generation, size_t min_packets,
             int64_t timeout_ns) {
            auto session = self.encode_session(id);
            std::vector<EncodedPacket> packets;
            bool interrupted = false;
            {
              GilRelease release;
              packets = session->reap(generation, min_packets, timeout_ns, python_signalled,
                                      &interrupted);
            }
            if (interrupted) throw py::error_already_set();
            return hand_over(*session, std::move(packets));
          },
          py::arg("id"), py::arg("generation"), py::arg("min_packets"), py::arg("timeout_ns"))
      .def(
          "flush",
          [](SessionManager& self, uint64_t id, uint32_t generation) {
            auto session = self.encode_session(id);
            std::vector<EncodedPacket> packets;
            bool interrupted = false;
            {
              GilRelease release;
              packets = session->flush(generation, python_signalled, &interrupted);
            }
            // The flush goes on; its packets come out of the next reap.
            if (interrupted) throw py::error_already_set();
            return hand_over(*session, std::move(packets));
          },
          py::arg("id"), py::arg("generation"))
      .def(
          "switch_encode",
          [](SessionManager& self, uint64_t id, uint32_t generation,
             const CommonEncodeConfig& target, std::shared_ptr<EncoderProvider> provider,
             SwitchMode mode, bool force_idr_on_activate) {
            auto session = self.encode_session(id);
            uint32_t to = 0;
            bool interrupted = false;
            {
              GilRelease release;
              to = session->switch_to(generation, target, std::move(provider), mode,
                                      force_idr_on_activate, python_signalled, &interrupted);
            }
            // Nothing switched; a drain already asked for goes on like an interrupted flush.
            if (interrupted) throw py::error_already_set();
            return to;
          },
          py::arg("id"), py::arg("generation"), py::arg("target"), py::arg("provider"),
          py::arg("mode"), py::arg("force_idr_on_activate"))
      .def("close_all",
           [](SessionManager& self) {
             GilRelease release;
             self.close_all();
           })
      .def("open_counts", &SessionManager::open_counts)
      .def(
          "close_dropped",
          [](SessionManager& self, uint64_t id, bool decode) {
            GilRelease release;
            return self.close_dropped(id, decode);
          },
          py::arg("id"), py::arg("decode"))
      .def(
          "close_encode",
          [](SessionManager& self, uint64_t id, uint32_t generation) {
            auto session = self.encode_session(id);
            std::vector<EncodedPacket> packets;
            bool interrupted = false;
            {
              GilRelease release;
              packets =
                  self.close_encode(SessionHandle{id, generation}, python_signalled, &interrupted);
            }
            // The stream keeps ending; close again finishes it.
            if (interrupted) throw py::error_already_set();
            return hand_over(*session, std::move(packets));
          },
          py::arg("id"), py::arg("generation"))
      .def(
          "telemetry",
          [](SessionManager& self, uint64_t id, uint32_t generation) {
            TelemetryMap t;
            {
              GilRelease release;
              t = self.telemetry(SessionHandle{id, generation});
            }
            return telemetry_dict(t);
          },
          py::arg("id"), py::arg("generation"))
      .def(
          "state",
          [](SessionManager& self, uint64_t id, uint32_t generation) {
            return to_python(self.state(SessionHandle{id, generation}));
          },
          py::arg("id"), py::arg("generation"));
}

}  // namespace videohw::bindings
