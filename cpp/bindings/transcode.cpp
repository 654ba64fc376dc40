// TranscodeGraph behind vh.transcode / vh.Transcoder. Translation only: the graph runs on
// its own threads; wait() releases the GIL, and Python's progress loop polls progress().
#include <pybind11/stl.h>

#include "bindings/bindings.hpp"
#include "contract/errors.hpp"
#include "media/segment_join.hpp"
#include "pipeline/transcode_graph.hpp"

namespace py = pybind11;

namespace videohw::bindings {

namespace {

using pipeline::TranscodeGraph;

py::dict progress_dict(const pipeline::TranscodeProgress& p) {
  py::dict out;
  out["packets_read"] = p.packets_read;
  out["bytes_read"] = p.bytes_read;
  out["copied_read"] = p.copied_read;
  out["frames_decoded"] = p.frames_decoded;
  out["frames_discarded"] = p.frames_discarded;
  out["frames_dispatched"] = p.frames_dispatched;
  out["seconds_done"] = p.seconds_done;
  out["duration_seconds"] = p.duration_seconds;
  out["packets_out"] = p.packets_out;
  out["finished"] = p.finished;
  return out;
}

py::dict output_dict(const pipeline::TranscodeOutputReport& r) {
  py::dict out;
  out["path"] = r.path;
  out["files"] = r.files;
  out["frames"] = r.frames;
  out["packets"] = r.packets;
  out["bytes"] = r.bytes;
  out["keyframes"] = r.keyframes;
  py::dict generations;
  for (const auto& [generation, count] : r.packets_per_generation)
    generations[py::int_(generation)] = count;
  out["packets_per_generation"] = generations;
  out["copied_packets"] = r.copied_packets;
  out["copied_dropped"] = r.copied_dropped;
  out["copied_queue_peak"] = r.copied_queue_peak;
  out["switches"] = r.switches;
  out["submit_wait_ns"] = r.submit_wait_ns;
  out["mux_ns"] = r.mux_ns;
  out["encode"] = telemetry_dict(r.encode);
  return out;
}

py::dict report_dict(const pipeline::TranscodeReport& r) {
  py::dict out;
  py::list outputs;
  for (const auto& o : r.outputs) outputs.append(output_dict(o));
  out["outputs"] = outputs;
  out["progress"] = progress_dict(r.progress);
  out["decode"] = telemetry_dict(r.decode);
  out["decode_errors"] = r.decode_errors;
  out["last_decode_error"] = r.last_decode_error;
  out["input_warning"] = r.input_warning;
  out["timestamps_repaired"] = r.timestamps_repaired;
  out["frames_repeated"] = r.frames_repeated;
  out["frames_dropped"] = r.frames_dropped;
  out["ingress_ns"] = r.ingress_ns;
  out["dispatch_ns"] = r.dispatch_ns;
  out["wall_ns"] = r.wall_ns;
  out["audio"] = r.audio;
  out["transform"] = r.transform;
  out["gpu_resizes"] = r.gpu_resizes;
  return out;
}

// (path, config, provider, container or None, faststart)
using OutputTuple = std::tuple<std::string, CommonEncodeConfig, std::shared_ptr<EncoderProvider>,
                               std::optional<std::string>, bool>;
// (output, at_frame, at_seconds, config, provider, mode, force_idr)
using SwitchTuple = std::tuple<int, int64_t, double, CommonEncodeConfig,
                               std::shared_ptr<EncoderProvider>, SwitchMode, bool>;

std::vector<pipeline::TranscodeOutput> to_outputs(const std::vector<OutputTuple>& outputs) {
  std::vector<pipeline::TranscodeOutput> outs;
  for (const auto& [path, config, provider, container, faststart] : outputs) {
    pipeline::TranscodeOutput o;
    o.path = path;
    o.config = config;
    o.provider = provider;
    if (container) o.muxer.format = media::parse_container_format(*container);
    o.muxer.faststart = faststart;
    outs.push_back(std::move(o));
  }
  return outs;
}

std::vector<pipeline::TranscodeSwitch> to_switches(const std::vector<SwitchTuple>& switches) {
  std::vector<pipeline::TranscodeSwitch> out;
  for (const auto& [output, at_frame, at_seconds, config, provider, mode, force_idr] : switches) {
    pipeline::TranscodeSwitch s;
    s.output = output;
    s.at_frame = at_frame;
    s.at_seconds = at_seconds;
    s.config = config;
    s.provider = provider;
    s.mode = mode;
    s.force_idr = force_idr;
    out.push_back(std::move(s));
  }
  return out;
}

std::unique_ptr<TranscodeGraph> make_graph(
    const std::string& source, std::shared_ptr<DecoderProvider> decoder,
    const std::vector<OutputTuple>& outputs, const std::vector<SwitchTuple>& switches,
    int video_stream, const std::string& audio, int64_t max_frames, int64_t decoded_frames,
    int64_t access_unit_bytes, bool gpu_transform, int fps_num, int fps_den,
    std::shared_ptr<pipeline::TranscodeSessions> sessions, std::optional<py::tuple> range) {
  std::vector<pipeline::TranscodeOutput> outs = to_outputs(outputs);
  std::vector<pipeline::TranscodeSwitch> sw = to_switches(switches);
  pipeline::TranscodeOptions options;
  options.video_stream = video_stream;
  if (audio == "copy")
    options.audio = pipeline::AudioMode::Copy;
  else if (audio == "none")
    options.audio = pipeline::AudioMode::None;
  else
    throw Error(ErrorKind::Config, "audio: '" + audio + "'; expected 'copy' or 'none'");
  options.max_frames = max_frames;
  options.decoded_frames = decoded_frames;
  options.access_unit_bytes = access_unit_bytes;
  options.gpu_transform = gpu_transform;
  options.fps_num = fps_num;
  options.fps_den = fps_den;
  options.sessions = std::move(sessions);
  if (range) {
    // (start_pts, start_dts, start_pos, end_pts); None: open.
    if (range->size() != 4)
      throw Error(ErrorKind::Config, "range: (start_pts, start_dts, start_pos, end_pts)");
    const auto tick = [&](size_t i) {
      return (*range)[i].is_none() ? media::kNoTimestamp : (*range)[i].cast<int64_t>();
    };
    options.range.start_pts = tick(0);
    options.range.start_dts = tick(1);
    options.range.start_pos = (*range)[2].is_none() ? -1 : (*range)[2].cast<int64_t>();
    options.range.end_pts = tick(3);
  }
  GilRelease release;
  return std::make_unique<TranscodeGraph>(media::Demuxer::open_path(source), std::move(decoder),
                                          std::move(outs), std::move(sw), options);
}

// A pushed source: one video stream described by the caller.
std::unique_ptr<TranscodeGraph> make_pushed_graph(
    Codec codec, EncodedLayout layout, const py::bytes& extradata, int time_base_num,
    int time_base_den, int fps_num, int fps_den, std::shared_ptr<DecoderProvider> decoder,
    const std::vector<OutputTuple>& outputs, const std::vector<SwitchTuple>& switches,
    int64_t decoded_frames, bool gpu_transform, size_t queue_packets) {
  if (time_base_num <= 0 || time_base_den <= 0 || fps_num <= 0 || fps_den <= 0)
    throw Error(ErrorKind::Config, "Transcoder: time_base and fps must be positive");
  media::VideoStreamInfo video;
  video.index = 0;
  video.codec = codec;
  video.codec_name = codec == Codec::HEVC ? "hevc" : "h264";
  video.time_base = media::Rational{time_base_num, time_base_den};
  video.avg_frame_rate = media::Rational{fps_num, fps_den};
  video.layout = layout;
  const std::string record = extradata;
  video.extradata.assign(record.begin(), record.end());
  std::vector<pipeline::TranscodeOutput> outs = to_outputs(outputs);
  std::vector<pipeline::TranscodeSwitch> sw = to_switches(switches);
  pipeline::TranscodeOptions options;
  options.audio = pipeline::AudioMode::None;
  options.decoded_frames = decoded_frames;
  options.gpu_transform = gpu_transform;
  options.pulled_packets = queue_packets;
  auto source = std::make_unique<pipeline::PushedSource>("pushed input", video, queue_packets);
  GilRelease release;
  return std::make_unique<TranscodeGraph>(std::move(source), std::move(decoder), std::move(outs),
                                          std::move(sw), options);
}

pipeline::PushedSource& pushed_source(TranscodeGraph& graph) {
  auto* source = dynamic_cast<pipeline::PushedSource*>(&graph.source());
  if (!source) throw Error(ErrorKind::Config, "this transcode reads a file; nothing can be pushed");
  return *source;
}

}  // namespace

void init_transcode(py::module_& m) {
  py::class_<pipeline::TranscodeSessions, std::shared_ptr<pipeline::TranscodeSessions>>(
      m, "TranscodeSessions")
      .def(py::init<>())
      .def("counts",
           [](const pipeline::TranscodeSessions& self) {
             const pipeline::TranscodeSessions::Counts c = self.snapshot();
             py::dict out;
             out["files"] = c.files;
             out["decode_inits"] = c.decode_inits;
             out["encode_inits"] = c.encode_inits;
             out["session_inits"] = c.decode_inits + c.encode_inits;
             out["decode_switches"] = c.decode_switches;
             out["encode_restarts"] = c.encode_restarts;
             out["discarded"] = c.discarded;
             return out;
           })
      .def("in_use", &pipeline::TranscodeSessions::in_use)
      .def("close", [](pipeline::TranscodeSessions& self) {
        GilRelease release;
        self.close();
      });

  py::class_<media::SegmentJoin>(m, "SegmentJoin")
      .def(py::init([](const std::string& path, const std::string& format, Codec codec, int width,
                       int height, int fps_num, int fps_den, int time_base_num, int time_base_den,
                       std::optional<double> rotation, const std::string& audio_from) {
             media::MuxerConfig config;
             if (!format.empty()) config.format = media::parse_container_format(format);
             config.codec = codec;
             config.width = width;
             config.height = height;
             config.fps_num = fps_num;
             config.fps_den = fps_den;
             config.time_base_num = time_base_num;
             config.time_base_den = time_base_den;
             config.rotation = rotation;
             GilRelease release;
             return std::make_unique<media::SegmentJoin>(path, config, audio_from);
           }),
           py::arg("path"), py::arg("format"), py::arg("codec"), py::arg("width"),
           py::arg("height"), py::arg("fps_num"), py::arg("fps_den"), py::arg("time_base_num"),
           py::arg("time_base_den"), py::arg("rotation"), py::arg("audio_from"))
      .def(
          "write",
          [](media::SegmentJoin& self, const py::bytes& data, int64_t pts, int64_t dts,
             bool keyframe) {
            const EncodedPacket packet = encoded_packet(data, pts, dts, keyframe);
            GilRelease release;
            self.write(packet);
          },
          py::arg("data"), py::arg("pts"), py::arg("dts"), py::arg("keyframe"))
      .def("close",
           [](media::SegmentJoin& self) {
             GilRelease release;
             return self.close();
           })
      .def("abort", &media::SegmentJoin::abort)
      .def_property_readonly("video_packets", &media::SegmentJoin::video_packets)
      .def_property_readonly("audio_packets", &media::SegmentJoin::audio_packets)
      .def_property_readonly("audio", &media::SegmentJoin::audio);

  py::class_<TranscodeGraph>(m, "TranscodeGraph")
      .def(py::init(&make_graph), py::arg("source"), py::arg("decoder"), py::arg("outputs"),
           py::arg("switches"), py::arg("video_stream") = -1, py::arg("audio") = "copy",
           py::arg("max_frames") = -1, py::arg("decoded_frames") = 8,
           py::arg("access_unit_bytes") = int64_t(1) << 20, py::arg("gpu_transform") = true,
           py::arg("fps_num") = 0, py::arg("fps_den") = 0, py::arg("sessions") = nullptr,
           py::arg("range") = py::none())
      .def("start", &TranscodeGraph::start)
      .def(
          "wait",
          [](TranscodeGraph& self, double timeout_s) {
            GilRelease release;
            return self.wait(timeout_s < 0 ? -1 : int64_t(timeout_s * 1e9));
          },
          py::arg("timeout"))
      .def_static("pushed", &make_pushed_graph, py::arg("codec"), py::arg("layout"),
                  py::arg("extradata"), py::arg("time_base_num"), py::arg("time_base_den"),
                  py::arg("fps_num"), py::arg("fps_den"), py::arg("decoder"), py::arg("outputs"),
                  py::arg("switches"), py::arg("decoded_frames") = 8,
                  py::arg("gpu_transform") = true, py::arg("queue_packets") = 128)
      .def(
          "push",
          [](TranscodeGraph& self, const py::bytes& data, std::optional<int64_t> pts,
             std::optional<int64_t> dts, bool keyframe, double timeout_s) {
            pipeline::PushedSource& source = pushed_source(self);
            char* bytes = nullptr;
            Py_ssize_t size = 0;
            if (PyBytes_AsStringAndSize(data.ptr(), &bytes, &size) != 0)
              throw py::error_already_set();
            bool taken = false;
            {
              GilRelease release;
              // A failed or cancelled graph drains nothing more: the wait ends with it.
              taken = source.push(reinterpret_cast<const uint8_t*>(bytes), size_t(size), pts, dts,
                                  keyframe, timeout_s < 0 ? -1 : int64_t(timeout_s * 1e9),
                                  [&self] { return self.stopping() || python_signalled(); });
            }
            if (PyErr_Occurred()) throw py::error_already_set();
            return taken;
          },
          py::arg("data"), py::arg("pts"), py::arg("dts"), py::arg("keyframe"), py::arg("timeout"))
      .def("end_input", [](TranscodeGraph& self) { pushed_source(self).end(); })
      .def("stopping", &TranscodeGraph::stopping)
      .def(
          "pull",
          [](TranscodeGraph& self, int output, size_t max, double timeout_s) {
            pipeline::PulledSink* sink = self.pulled(output);
            if (!sink)
              throw Error(ErrorKind::Config,
                          "output " + std::to_string(output) + " is a file or does not exist");
            bool ended = false;
            std::vector<EncodedPacket> packets;
            {
              GilRelease release;
              packets = sink->pull(max, timeout_s <= 0 ? 0 : int64_t(timeout_s * 1e9), &ended);
            }
            return py::make_tuple(packet_tuples(packets), ended);
          },
          py::arg("output"), py::arg("max"), py::arg("timeout"))
      .def("cancel", &TranscodeGraph::cancel)
      .def("progress", [](const TranscodeGraph& self) { return progress_dict(self.progress()); })
      .def("finish", [](TranscodeGraph& self) {
        pipeline::TranscodeReport report;
        {
          GilRelease release;
          report = self.finish();
        }
        return report_dict(report);
      });
}

}  // namespace videohw::bindings
