#include "nv_session/nvenc/nvenc_probe.hpp"

#include <exception>

#include "nv_session/cuda/driver.hpp"
#include "nv_session/nvenc/nvenc_api.hpp"
#include "nv_session/nvenc/nvenc_caps.hpp"

namespace videohw::nv_session {

std::string nvidia_encode_unavailable_reason() {
  try {
    probe_nvenc(0);
    return "";
  } catch (const std::exception& e) {
    return e.what();
  }
}

NvencDriverInfo nvenc_driver_info() {
  NvencDriverInfo info;
  info.header_api_text = nvenc_version_text(kHeaderNvencVersion);
  try {
    info.cuda_library = cuda_driver().library;
  } catch (const std::exception& e) {
    info.error = e.what();
  }
  try {
    // The NVENC library loads and reports its version even where CUDA has no device.
    const NvencApi& api = load_nvenc_api();
    info.nvenc_library = api.library;
    info.driver_api_version = api.driver_version;
    info.driver_api_text = nvenc_version_text(api.driver_version);
  } catch (const std::exception& e) {
    info.error += (info.error.empty() ? "" : "; ") + std::string(e.what());
  }
  return info;
}

}  // namespace videohw::nv_session
