// Whether this machine can encode with NVENC, and why not: the reason "auto" falls back to
// software, `videohw caps` prints and BackendUnavailableError carries.
#pragma once

#include <cstdint>
#include <string>

namespace videohw::nv_session {

// "" when device 0 can open an NVENC encoder; else the cause (library missing with
// dlerror's text, no CUDA device, no encode engine, driver too old).
std::string nvidia_encode_unavailable_reason();

// What the loader finds without opening an encoder: library paths and the driver's NVENC
// API version. `error` is set (and the rest may be empty) when loading fails.
struct NvencDriverInfo {
  std::string cuda_library, nvenc_library;
  uint32_t driver_api_version = 0;  // (major << 4) | minor
  std::string driver_api_text;      // "12.2"
  std::string header_api_text;      // the version this build was compiled against
  std::string error;
};
NvencDriverInfo nvenc_driver_info();

}  // namespace videohw::nv_session
