// DecodedFrame -> Python: a dict of metadata and numpy views (host) or a device surface
// (CUDA) over the frame's own pixels, never a copy. A view's base is a capsule holding a
// copy of DecodedFrame::owner, so the pixels live exactly as long as the last view.
#pragma once

#include <pybind11/pybind11.h>

#include <vector>

#include "backend/decoder_backend.hpp"

namespace videohw::bindings {

pybind11::dict to_python(const DecodedFrame& frame);
pybind11::list to_python(const std::vector<DecodedFrame>& frames);

}  // namespace videohw::bindings
