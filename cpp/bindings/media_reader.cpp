// Reading media: probe, MediaSource (a demuxer, with packets for vh.MediaReader) and the
// FrameReader behind vh.VideoReader. Translation only: demuxing and decoding run with the
// GIL released; a Python file object is read through a ByteSource that takes the GIL back
// for each call.
#include <pybind11/stl.h>

#include <cstring>
#include <memory>
#include <optional>

#include "bindings/bindings.hpp"
#include "bindings/decoded_frames.hpp"
#include "bitstream/sample_converter.hpp"
#include "contract/color_names.hpp"
#include "media/demuxer.hpp"
#include "media/probe.hpp"
#include "pipeline/frame_reader.hpp"
#include "session/session_manager.hpp"

namespace py = pybind11;

namespace videohw::bindings {

namespace {

// A binary Python file object as a ByteSource. Errors raised by the object become I/O
// errors of the read, with the Python message kept for the exception that follows.
class PyFileSource final : public media::ByteSource {
 public:
  explicit PyFileSource(py::object file) : file_(std::move(file)) {
    if (!py::hasattr(file_, "read"))
      throw Error(ErrorKind::Config, std::string("VideoReader: the source is a ") +
                                         Py_TYPE(file_.ptr())->tp_name +
                                         "; expected a path or a binary file object with read()");
    readinto_ = py::hasattr(file_, "readinto");
    seekable_ = py::hasattr(file_, "seek");
    if (seekable_ && py::hasattr(file_, "seekable"))
      seekable_ = file_.attr("seekable")().cast<bool>();
  }
  ~PyFileSource() override {
    py::gil_scoped_acquire gil;
    file_ = py::object();
  }

  int read(uint8_t* buffer, int size) override {
    py::gil_scoped_acquire gil;
    try {
      if (readinto_) {
        py::object n = file_.attr("readinto")(py::memoryview::from_memory(buffer, size));
        return n.is_none() ? 0 : n.cast<int>();
      }
      py::object data = file_.attr("read")(size);
      char* bytes = nullptr;
      Py_ssize_t length = 0;
      if (PyBytes_AsStringAndSize(data.ptr(), &bytes, &length) != 0) throw py::error_already_set();
      length = std::min<Py_ssize_t>(length, size);
      std::memcpy(buffer, bytes, size_t(length));
      return int(length);
    } catch (py::error_already_set& e) {
      return AVERROR(EIO);
    }
  }

  int64_t seek(int64_t offset, int whence) override {
    py::gil_scoped_acquire gil;
    try {
      return file_.attr("seek")(offset, whence).cast<int64_t>();
    } catch (py::error_already_set& e) {
      return AVERROR(EIO);
    }
  }

  int64_t size() override {
    if (!seekable_) return -1;
    py::gil_scoped_acquire gil;
    try {
      const auto here = file_.attr("tell")().cast<int64_t>();
      const auto end = file_.attr("seek")(0, 2).cast<int64_t>();
      file_.attr("seek")(here, 0);
      return end;
    } catch (py::error_already_set& e) {
      return -1;
    }
  }

  bool seekable() const override { return seekable_; }

 private:
  py::object file_;
  bool readinto_ = false, seekable_ = false;
};

py::object optional_float(const std::optional<double>& v) {
  return v ? py::object(py::float_(*v)) : py::object(py::none());
}

py::object rational(const media::Rational& r) {
  return r.valid() ? py::object(py::make_tuple(r.num, r.den)) : py::object(py::none());
}

const char* layout_name(EncodedLayout layout) {
  switch (layout) {
    case EncodedLayout::AVCC:
      return "avcc";
    case EncodedLayout::HVCC:
      return "hvcc";
    case EncodedLayout::AnnexB:
      break;
  }
  return "annexb";
}

py::dict video_dict(const media::VideoStreamInfo& v) {
  py::dict d;
  d["index"] = v.index;
  d["codec_name"] = v.codec_name;
  d["codec"] = v.codec ? py::object(py::str(to_string(*v.codec))) : py::object(py::none());
  d["width"] = v.width;
  d["height"] = v.height;
  d["pixel_format"] = v.pixel_format;
  d["bit_depth"] = v.bit_depth;
  d["avg_fps"] = rational(v.avg_frame_rate);
  d["real_fps"] = rational(v.real_frame_rate);
  d["time_base"] = rational(v.time_base);
  d["sample_aspect_ratio"] = rational(v.sample_aspect_ratio);
  d["start_pts"] = v.start_pts ? py::object(py::int_(*v.start_pts)) : py::object(py::none());
  d["duration_seconds"] = optional_float(v.duration_seconds);
  d["frame_count"] = v.frame_count;
  d["frame_count_exact"] = v.frame_count_exact;
  d["keyframe_count"] = v.keyframe_count;
  d["primaries"] = color_primaries_name(v.color.primaries);
  d["transfer"] = color_transfer_name(v.color.transfer);
  d["matrix"] = color_matrix_name(v.color.matrix);
  d["full_range"] = v.color.full_range;
  d["rotation"] = optional_float(v.rotation);
  d["layout"] = layout_name(v.layout);
  d["timed"] = v.timed;
  d["extradata"] = py::bytes(reinterpret_cast<const char*>(v.extradata.data()), v.extradata.size());
  return d;
}

py::dict container_dict(const media::ContainerInfo& c) {
  py::dict d;
  d["name"] = c.name;
  d["format_name"] = c.format_name;
  d["format_long_name"] = c.format_long_name;
  d["duration_seconds"] = optional_float(c.duration_seconds);
  d["bit_rate"] = c.bit_rate;
  d["size_bytes"] = c.size_bytes;
  py::list streams;
  for (const auto& s : c.streams) {
    py::dict sd;
    sd["index"] = s.index;
    sd["kind"] = s.kind;
    sd["codec_name"] = s.codec_name;
    sd["duration_seconds"] = optional_float(s.duration_seconds);
    streams.append(sd);
  }
  d["streams"] = streams;
  py::list video;
  for (const auto& v : c.video_streams) video.append(video_dict(v));
  d["video_streams"] = video;
  d["best_video_stream"] = c.best_video_stream;
  return d;
}

std::unique_ptr<media::Demuxer> open_demuxer(const py::object& source, const std::string& name) {
  if (py::isinstance<py::str>(source)) {
    const std::string path = source.cast<std::string>();
    GilRelease release;
    return media::Demuxer::open_path(path);
  }
  auto file = std::make_unique<PyFileSource>(source);
  GilRelease release;
  return media::Demuxer::open_source(std::move(file), name);
}

// A demuxer a Python object holds until a FrameReader takes it; also vh.MediaReader's
// packet source.
struct MediaSource {
  std::unique_ptr<media::Demuxer> demuxer;
  std::unique_ptr<bitstream::SampleConverter> converter;

  media::Demuxer& get() {
    if (!demuxer) throw Error(ErrorKind::SessionClosed, "the media source was handed to a reader");
    return *demuxer;
  }
};

py::dict stats_dict(const pipeline::FrameReaderStats& s) {
  py::dict d;
  d["requests"] = s.requests;
  d["seeks"] = s.seeks;
  d["packets_read"] = s.packets_read;
  d["units_pushed"] = s.units_pushed;
  d["units_skipped"] = s.units_skipped;
  d["units_dropped"] = s.units_dropped;
  d["frames_returned"] = s.frames_returned;
  d["cache_hits"] = s.cache_hits;
  d["scan_ns"] = s.scan_ns;
  d["damaged_packets"] = s.damaged_packets;
  return d;
}

}  // namespace

void init_media_reader(py::module_& m) {
  m.def(
      "probe",
      [](const py::object& source, const std::string& name) {
        std::unique_ptr<media::Demuxer> demuxer = open_demuxer(source, name);
        media::ContainerInfo info;
        {
          GilRelease release;
          info = media::probe(*demuxer);
        }
        return container_dict(info);
      },
      py::arg("source"), py::arg("name"));

  py::class_<MediaSource>(m, "MediaSource")
      .def(py::init([](const py::object& source, const std::string& name) {
             auto s = std::make_unique<MediaSource>();
             s->demuxer = open_demuxer(source, name);
             return s;
           }),
           py::arg("source"), py::arg("name"))
      .def("info", [](MediaSource& s) { return container_dict(s.get().info()); })
      .def(
          "select",
          [](MediaSource& s, int stream) {
            media::Demuxer& d = s.get();
            d.select(stream);
            const media::VideoStreamInfo& v = d.selected_info();
            s.converter.reset();
            if (v.codec)
              s.converter = std::make_unique<bitstream::SampleConverter>(
                  *v.codec, v.extradata.data(), v.extradata.size());
          },
          py::arg("stream"))
      .def(
          "read_packet",
          [](MediaSource& s, bool annexb) -> py::object {
            media::Demuxer& d = s.get();
            media::PacketView p;
            std::vector<uint8_t> converted;
            bool ok = true;
            {
              GilRelease release;
              if (!d.read(p)) return py::none();
              if (annexb && s.converter)
                ok = s.converter->convert(p.data, p.size, p.keyframe, converted);
            }
            py::dict out;
            if (annexb && s.converter)
              out["data"] =
                  py::bytes(reinterpret_cast<const char*>(converted.data()), converted.size());
            else
              out["data"] = py::bytes(reinterpret_cast<const char*>(p.data), p.size);
            auto ts = [](int64_t v) {
              return v == media::kNoTimestamp ? py::object(py::none()) : py::object(py::int_(v));
            };
            out["pts"] = ts(p.pts);
            out["dts"] = ts(p.dts);
            out["duration"] = p.duration;
            out["pos"] = p.pos;
            out["is_keyframe"] = p.keyframe;
            out["discard"] = p.discard;
            out["corrupt"] = p.corrupt || !ok;
            return out;
          },
          py::arg("annexb") = true)
      .def("last_error", [](MediaSource& s) { return s.get().last_error(); })
      .def("rewind", [](MediaSource& s) {
        GilRelease release;
        if (s.converter) s.converter->reset();
        return s.get().rewind();
      });

  py::class_<pipeline::FrameReader>(m, "FrameReader")
      .def(py::init([](MediaSource& source, int stream, SessionManager& manager, uint64_t id,
                       uint32_t generation) {
             auto session = manager.decode_session(id);
             source.get();
             return std::make_unique<pipeline::FrameReader>(std::move(source.demuxer), stream,
                                                            std::move(session), generation);
           }),
           py::arg("source"), py::arg("stream"), py::arg("manager"), py::arg("id"),
           py::arg("generation"))
      .def("info", [](const pipeline::FrameReader& r) { return video_dict(r.info()); })
      .def("container",
           [](const pipeline::FrameReader& r) { return container_dict(r.container()); })
      .def("frame_count",
           [](pipeline::FrameReader& r) {
             GilRelease release;
             return r.frame_count();
           })
      .def(
          "frames_at",
          [](pipeline::FrameReader& r, const std::vector<int64_t>& indices) {
            std::vector<DecodedFrame> frames;
            {
              GilRelease release;
              frames = r.frames_at(indices);
            }
            return to_python(frames);
          },
          py::arg("indices"))
      .def(
          "indices_played_at",
          [](pipeline::FrameReader& r, const std::vector<double>& seconds) {
            GilRelease release;
            return r.indices_played_at(seconds);
          },
          py::arg("seconds"))
      .def(
          "next",
          [](pipeline::FrameReader& r, int max_frames) {
            std::vector<DecodedFrame> frames;
            {
              GilRelease release;
              frames = r.next(max_frames);
            }
            return to_python(frames);
          },
          py::arg("max_frames"))
      .def("restart", &pipeline::FrameReader::restart)
      .def(
          "frame_near",
          [](pipeline::FrameReader& r, double seconds) {
            DecodedFrame frame;
            {
              GilRelease release;
              frame = r.frame_near(seconds);
            }
            return to_python(frame);
          },
          py::arg("seconds"))
      .def(
          "rebind",
          [](pipeline::FrameReader& r, SessionManager& manager, uint64_t id, uint32_t generation) {
            r.rebind(manager.decode_session(id), generation);
          },
          py::arg("manager"), py::arg("id"), py::arg("generation"))
      .def("stats", [](const pipeline::FrameReader& r) { return stats_dict(r.stats()); });
}

}  // namespace videohw::bindings
