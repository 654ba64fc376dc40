#include "bindings/bindings.hpp"

PYBIND11_MODULE(_core, m) {
  m.doc() = "videohw's C++ core. Private: use the videohw package.";
  videohw::bindings::init_errors(m);
  videohw::bindings::init_contract(m);
  videohw::bindings::init_session(m);
  videohw::bindings::init_decode(m);
  videohw::bindings::init_cuda_array(m);
  videohw::bindings::init_media_reader(m);
  videohw::bindings::init_media_writer(m);
  videohw::bindings::init_ffmpeg_log(m);
  videohw::bindings::init_transcode(m);
  videohw::bindings::init_scale(m);
  videohw::bindings::init_shutdown(m);
}
