// The NVDEC adapter's kernels as PTX text, embedded at build time.
#pragma once

namespace videohw::nv_session {

// nullptr when the build had no nvcc (or VIDEOHW_NVDEC_PTX=OFF): CPU_RGB on NVDEC is then
// unsupported, for the reason below.
const char* nv12_to_rgb_ptx();
const char* nv12_to_rgb_ptx_missing_reason();

// The NV12 resize kernel (kernels/nv12_resize.cu); nullptr as above.
const char* nv12_resize_ptx();
const char* nv12_resize_ptx_missing_reason();

}  // namespace videohw::nv_session
