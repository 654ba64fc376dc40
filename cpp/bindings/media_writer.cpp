// The container writer (media/muxer.hpp) for videohw.writer. Writing and closing run with
// the GIL released; a packet's bytes are copied out of the Python object first.
#include <pybind11/stl.h>

#include <optional>
#include <string>

#include "bindings/bindings.hpp"
#include "media/muxer.hpp"

namespace py = pybind11;

namespace videohw::bindings {

namespace {

py::dict to_python(const media::SegmentInfo& s) {
  py::dict out;
  out["path"] = s.path;
  out["temp_path"] = s.temp_path;
  out["codec"] = to_string(s.codec);
  out["width"] = s.width;
  out["height"] = s.height;
  out["first_generation"] = s.first_generation;
  out["packets"] = s.packets;
  out["first_pts"] = s.first_pts;
  out["last_pts"] = s.last_pts;
  out["finished"] = s.finished;
  return out;
}

}  // namespace

void init_media_writer(py::module_& m) {
  py::class_<media::MuxerConfig>(m, "MuxerConfig")
      .def(py::init<>())
      .def_readwrite("codec", &media::MuxerConfig::codec)
      .def_readwrite("width", &media::MuxerConfig::width)
      .def_readwrite("height", &media::MuxerConfig::height)
      .def_readwrite("fps_num", &media::MuxerConfig::fps_num)
      .def_readwrite("fps_den", &media::MuxerConfig::fps_den)
      .def_readwrite("time_base_num", &media::MuxerConfig::time_base_num)
      .def_readwrite("time_base_den", &media::MuxerConfig::time_base_den)
      .def_readwrite("faststart", &media::MuxerConfig::faststart)
      .def_readwrite("fragment_ms", &media::MuxerConfig::fragment_ms)
      .def_property(
          "format",
          [](const media::MuxerConfig& c) -> std::optional<std::string> {
            if (!c.format) return std::nullopt;
            return std::string(media::to_string(*c.format));
          },
          [](media::MuxerConfig& c, const std::optional<std::string>& name) {
            c.format = name ? std::optional(media::parse_container_format(*name)) : std::nullopt;
          });

  m.def(
      "container_for_path",
      [](const std::string& path) {
        return std::string(media::to_string(media::container_for_path(path)));
      },
      py::arg("path"));

  py::class_<media::Muxer>(m, "Muxer")
      .def(py::init<const std::string&, const media::MuxerConfig&>(), py::arg("path"),
           py::arg("config"))
      .def(
          "write",
          [](media::Muxer& self, const py::bytes& data, int64_t pts, int64_t dts, bool is_keyframe,
             uint32_t generation, EncodedLayout layout) {
            const EncodedPacket packet =
                encoded_packet(data, pts, dts, is_keyframe, generation, layout);
            GilRelease release;
            self.write(packet);
          },
          py::arg("data"), py::arg("pts"), py::arg("dts"), py::arg("is_keyframe"),
          py::arg("generation"), py::arg("layout"))
      .def("close", &media::Muxer::close, py::call_guard<GilRelease>())
      .def("abort", &media::Muxer::abort, py::call_guard<GilRelease>())
      .def_property_readonly(
          "format",
          [](const media::Muxer& self) { return std::string(media::to_string(self.format())); })
      .def_property_readonly("closed", &media::Muxer::closed)
      .def("segments", [](const media::Muxer& self) {
        py::list out;
        for (const auto& s : self.segments()) out.append(to_python(s));
        return out;
      });
}

}  // namespace videohw::bindings
