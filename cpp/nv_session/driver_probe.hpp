// Finds out, without linking against anything, whether this machine has the NVIDIA driver
// libraries an NVENC session needs. Used to say *why* the NVIDIA backend is unavailable.
#pragma once

#include <string>

namespace videohw::nv_session {

struct DriverProbe {
  bool cuda_library = false;    // libcuda.so.1 loads
  bool encode_library = false;  // libnvidia-encode.so.1 (or VIDEOHW_NVENC_LIBRARY) loads
  std::string encode_library_path;
  std::string detail;           // dlerror() text for what failed
};

DriverProbe probe_driver();

// Human-readable reason the NVIDIA encode backend cannot be used here.
std::string nvidia_encode_unavailable_reason();

}  // namespace videohw::nv_session
