// Core mirrors of the contract types. python/videohw/_convert.py fills them from the
// public dataclasses; enum member names match the Python enums.
#include <pybind11/stl.h>

#include "bindings/bindings.hpp"
#include "contract/types.hpp"

namespace py = pybind11;

namespace videohw::bindings {

void init_contract(py::module_& m) {
  py::enum_<Codec>(m, "Codec")
      .value("H264", Codec::H264)
      .value("HEVC", Codec::HEVC)
      .value("AV1", Codec::AV1)
      .value("VP9", Codec::VP9);
  py::enum_<PixelFormat>(m, "PixelFormat")
      .value("ARGB8888", PixelFormat::ARGB8888)
      .value("BGRA", PixelFormat::BGRA)
      .value("RGB24", PixelFormat::RGB24)
      .value("NV12", PixelFormat::NV12)
      .value("I420", PixelFormat::I420);
  py::enum_<RateControlMode>(m, "RateControlMode")
      .value("CBR", RateControlMode::CBR)
      .value("VBR", RateControlMode::VBR)
      .value("CONST_QP", RateControlMode::ConstQP);
  py::enum_<EncodedLayout>(m, "EncodedLayout")
      .value("ANNEX_B", EncodedLayout::AnnexB)
      .value("AVCC", EncodedLayout::AVCC)
      .value("HVCC", EncodedLayout::HVCC);

  py::class_<RateControl>(m, "RateControl")
      .def(py::init<>())
      .def_readwrite("mode", &RateControl::mode)
      .def_readwrite("bitrate_bps", &RateControl::bitrate_bps)
      .def_readwrite("max_bitrate_bps", &RateControl::max_bitrate_bps)
      .def_readwrite("vbv_buffer_bits", &RateControl::vbv_buffer_bits)
      .def_readwrite("qp_intra", &RateControl::qp_intra)
      .def_readwrite("qp_inter_p", &RateControl::qp_inter_p)
      .def_readwrite("qp_inter_b", &RateControl::qp_inter_b);

  py::class_<CommonEncodeConfig>(m, "CommonEncodeConfig")
      .def(py::init<>())
      .def_readwrite("codec", &CommonEncodeConfig::codec)
      .def_readwrite("width", &CommonEncodeConfig::width)
      .def_readwrite("height", &CommonEncodeConfig::height)
      .def_readwrite("fps_num", &CommonEncodeConfig::fps_num)
      .def_readwrite("fps_den", &CommonEncodeConfig::fps_den)
      .def_readwrite("low_latency", &CommonEncodeConfig::low_latency)
      .def_readwrite("gop_length", &CommonEncodeConfig::gop_length)
      .def_readwrite("frame_interval_p", &CommonEncodeConfig::frame_interval_p)
      .def_readwrite("b_frames", &CommonEncodeConfig::b_frames)
      .def_readwrite("rate_control", &CommonEncodeConfig::rate_control)
      .def_readwrite("force_idr", &CommonEncodeConfig::force_idr);

  py::class_<SoftwareEncodeConfig>(m, "SoftwareEncodeConfig")
      .def(py::init<>())
      .def_readwrite("preset", &SoftwareEncodeConfig::preset)
      .def_readwrite("tune", &SoftwareEncodeConfig::tune)
      .def_readwrite("threads", &SoftwareEncodeConfig::threads)
      .def_readwrite("max_in_flight", &SoftwareEncodeConfig::max_in_flight);

  py::class_<NvidiaEncodeConfig>(m, "NvidiaEncodeConfig")
      .def(py::init<>())
      .def_readwrite("max_in_flight_outputs", &NvidiaEncodeConfig::max_in_flight_outputs)
      .def_readwrite("preset", &NvidiaEncodeConfig::preset)
      .def_readwrite("tuning", &NvidiaEncodeConfig::tuning)
      .def_readwrite("device", &NvidiaEncodeConfig::device);

  py::class_<Capabilities>(m, "Capabilities")
      .def_readonly("backend", &Capabilities::backend)
      .def_readonly("codec", &Capabilities::codec)
      .def_readonly("min_width", &Capabilities::min_width)
      .def_readonly("min_height", &Capabilities::min_height)
      .def_readonly("max_width", &Capabilities::max_width)
      .def_readonly("max_height", &Capabilities::max_height)
      .def_readonly("max_b_frames", &Capabilities::max_b_frames)
      .def_readonly("max_gop_length", &Capabilities::max_gop_length)
      .def_readonly("rate_control_modes", &Capabilities::rate_control_modes)
      .def_readonly("input_formats", &Capabilities::input_formats)
      .def_readonly("low_latency", &Capabilities::low_latency)
      .def_readonly("dynamic_bitrate", &Capabilities::dynamic_bitrate)
      .def_readonly("dynamic_resolution", &Capabilities::dynamic_resolution)
      .def_readonly("presets", &Capabilities::presets)
      .def_readonly("tunes", &Capabilities::tunes);
}

}  // namespace videohw::bindings
