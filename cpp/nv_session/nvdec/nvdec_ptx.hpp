// The NV12 -> RGB24 kernel (kernels/nv12_to_rgb.cu) as PTX text, embedded at build time.
#pragma once

namespace videohw::nv_session {

// nullptr when the build had no nvcc (or VIDEOHW_NVDEC_PTX=OFF): CPU_RGB on NVDEC is then
// unsupported, for the reason below.
const char* nv12_to_rgb_ptx();
const char* nv12_to_rgb_ptx_missing_reason();

}  // namespace videohw::nv_session
