// scale_rgb behind videohw.distributed.read_frames(size=...): libswscale's bilinear scaling
// of an RGB picture, the filter the transcode's CPU transform uses.
#include <pybind11/numpy.h>

#include "bindings/bindings.hpp"
#include "contract/errors.hpp"
#include "transform/pixel_converter.hpp"

namespace py = pybind11;

namespace videohw::bindings {

void init_scale(py::module_& m) {
  m.def(
      "scale_rgb",
      [](py::array_t<uint8_t, py::array::c_style> rgb, int width, int height) {
        if (rgb.ndim() != 3 || rgb.shape(2) != 3)
          throw Error(ErrorKind::InvalidFrame, "scale_rgb: expected an (h, w, 3) uint8 array");
        if (width < 2 || height < 2 || width > 16384 || height > 16384)
          throw Error(ErrorKind::Config, "scale_rgb: size must be 2..16384 on each side");
        FrameView src;
        src.format = PixelFormat::RGB24;
        src.width = int(rgb.shape(1));
        src.height = int(rgb.shape(0));
        src.planes[0] = rgb.data();
        src.strides[0] = int(rgb.strides(0));
        src.plane_count = 1;
        py::array_t<uint8_t> out({size_t(height), size_t(width), size_t(3)});
        FrameView dst;
        dst.format = PixelFormat::RGB24;
        dst.width = width;
        dst.height = height;
        dst.planes[0] = out.mutable_data();
        dst.strides[0] = width * 3;
        dst.plane_count = 1;
        {
          GilRelease release;
          transform::PixelConverter converter;
          converter.convert(src, dst, /*src_has_slack=*/false);
        }
        return out;
      },
      py::arg("rgb"), py::arg("width"), py::arg("height"));
}

}  // namespace videohw::bindings
