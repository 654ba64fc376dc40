#include "nv_session/driver_probe.hpp"

#include <dlfcn.h>

#include <cstdlib>

namespace videohw::nv_session {

namespace {

bool try_load(const char* name, std::string& detail) {
  void* handle = dlopen(name, RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* err = dlerror();
    if (!detail.empty()) detail += "; ";
    detail += err ? err : name;
    return false;
  }
  dlclose(handle);
  return true;
}

}  // namespace

DriverProbe probe_driver() {
  DriverProbe probe;
  const char* override_path = std::getenv("VIDEOHW_NVENC_LIBRARY");
  probe.encode_library_path = override_path && *override_path ? override_path
                                                               : "libnvidia-encode.so.1";
  probe.cuda_library = try_load("libcuda.so.1", probe.detail);
  probe.encode_library = try_load(probe.encode_library_path.c_str(), probe.detail);
  return probe;
}

std::string nvidia_encode_unavailable_reason() {
  const DriverProbe probe = probe_driver();
  std::string reason = "the NVENC session adapter is not part of this build yet";
  if (!probe.cuda_library || !probe.encode_library)
    reason += "; driver libraries missing: " + probe.detail;
  else
    reason += "; the NVIDIA driver libraries (libcuda.so.1, " + probe.encode_library_path +
              ") are present";
  return reason;
}

}  // namespace videohw::nv_session
