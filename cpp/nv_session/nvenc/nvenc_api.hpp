// The NVENC entry points, loaded from libnvidia-encode.so.1 (or VIDEOHW_NVENC_LIBRARY) at
// run time, with the API version negotiated against the header this build uses.
#pragma once

#include <ffnvcodec/nvEncodeAPI.h>

#include <cstdint>
#include <string>

namespace videohw::nv_session {

struct NvencApi {
  NV_ENCODE_API_FUNCTION_LIST fn{};
  uint32_t driver_version = 0;  // NvEncodeAPIGetMaxSupportedVersion: (major << 4) | minor
  std::string library;
  NVENCSTATUS(NVENCAPI* get_max_supported_version)(uint32_t*) = nullptr;
};

// The header's API version in NvEncodeAPIGetMaxSupportedVersion's encoding.
constexpr uint32_t kHeaderNvencVersion = (NVENCAPI_MAJOR_VERSION << 4) | NVENCAPI_MINOR_VERSION;

// "11.1" for a version in that encoding.
std::string nvenc_version_text(uint32_t version);

// Whether a driver reporting `driver_version` can serve this build's header.
bool driver_supports_header(uint32_t driver_version);

// Loads the function table once per library path; negotiates the version on every call
// (cheap), so a driver replaced under a running process is judged by what it says now.
// Throws Error(BackendUnavailable): library missing (dlerror text), entry points missing,
// or the driver too old for this header.
const NvencApi& load_nvenc_api();

// NV_ENC_ERR_NO_ENCODE_DEVICE -> "NV_ENC_ERR_NO_ENCODE_DEVICE".
const char* nvenc_status_name(NVENCSTATUS status);

// The error for a failed call: BackendUnavailable for device-level failures (no encode
// engine, unsupported device), Encode otherwise; the message names the call, the status and
// the driver's last-error text when an encoder handle is known.
[[noreturn]] void throw_nvenc(const NvencApi& api, void* encoder, NVENCSTATUS status,
                              const std::string& what);

inline void check_nvenc(const NvencApi& api, void* encoder, NVENCSTATUS status,
                        const std::string& what) {
  if (status != NV_ENC_SUCCESS) throw_nvenc(api, encoder, status, what);
}

}  // namespace videohw::nv_session
