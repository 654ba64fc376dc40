#include "nv_session/nvenc/nvenc_api.hpp"

#include <map>
#include <memory>
#include <mutex>

#include "contract/errors.hpp"
#include "nv_session/cuda/driver_library.hpp"

namespace videohw::nv_session {

namespace {

using GetMaxSupportedVersion = NVENCSTATUS(NVENCAPI*)(uint32_t*);
using CreateInstance = NVENCSTATUS(NVENCAPI*)(NV_ENCODE_API_FUNCTION_LIST*);

uint32_t negotiate(const NvencApi& api) {
  uint32_t version = 0;
  const NVENCSTATUS status = api.get_max_supported_version(&version);
  if (status != NV_ENC_SUCCESS)
    throw Error(ErrorKind::BackendUnavailable,
                api.library + ": NvEncodeAPIGetMaxSupportedVersion failed with " +
                    nvenc_status_name(status));
  if (!driver_supports_header(version))
    throw Error(ErrorKind::BackendUnavailable,
                "NVIDIA driver too old: it supports NVENC API " + nvenc_version_text(version) +
                    ", this build needs " + nvenc_version_text(kHeaderNvencVersion) +
                    " or newer; update the driver");
  return version;
}

std::unique_ptr<NvencApi> load(const DriverLibrary& library) {
  auto api = std::make_unique<NvencApi>();
  api->library = library.path;
  api->get_max_supported_version = reinterpret_cast<GetMaxSupportedVersion>(
      driver_symbol(library, "NvEncodeAPIGetMaxSupportedVersion"));
  auto create =
      reinterpret_cast<CreateInstance>(driver_symbol(library, "NvEncodeAPICreateInstance"));
  api->driver_version = negotiate(*api);
  api->fn.version = NV_ENCODE_API_FUNCTION_LIST_VER;
  const NVENCSTATUS create_status = create(&api->fn);
  if (create_status != NV_ENC_SUCCESS)
    throw Error(ErrorKind::BackendUnavailable, library.path +
                                                   ": NvEncodeAPICreateInstance failed with " +
                                                   nvenc_status_name(create_status));
  if (!api->fn.nvEncOpenEncodeSessionEx || !api->fn.nvEncDestroyEncoder)
    throw Error(ErrorKind::BackendUnavailable,
                library.path + ": NvEncodeAPICreateInstance left the function list empty");
  return api;
}

}  // namespace

std::string nvenc_version_text(uint32_t version) {
  return std::to_string(version >> 4) + "." + std::to_string(version & 0xF);
}

bool driver_supports_header(uint32_t driver_version) {
  return driver_version >= kHeaderNvencVersion;
}

const NvencApi& load_nvenc_api() {
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<NvencApi>> tables;
  const DriverLibrary library =
      open_driver_library("VIDEOHW_NVENC_LIBRARY", "libnvidia-encode.so.1");
  std::lock_guard<std::mutex> lock(mu);
  auto& slot = tables[library.path];
  if (!slot) {
    slot = load(library);  // a failure leaves the slot empty: the next call retries
  } else {
    negotiate(*slot);
  }
  return *slot;
}

const char* nvenc_status_name(NVENCSTATUS status) {
  switch (status) {
#define VIDEOHW_NVENC_STATUS(name) \
  case name:                       \
    return #name;
    VIDEOHW_NVENC_STATUS(NV_ENC_SUCCESS)
    VIDEOHW_NVENC_STATUS(NV_ENC_ERR_NO_ENCODE_DEVICE)
    VIDEOHW_NVENC_STATUS(NV_ENC_ERR_UNSUPPORTED_DEVICE)
    VIDEOHW_NVENC_STATUS(NV_ENC_ERR_INVALID_ENCODERDEVICE)
    VIDEOHW_NVENC_STATUS(NV_ENC_ERR_INVALID_DEVICE)
    VIDEOHW_NVENC_STATUS(NV_ENC_ERR_DEVICE_NOT_EXIST)
    VIDEOHW_NVENC_STATUS(NV_ENC_ERR_INVALID_PTR)
    VIDEOHW_NVENC_STATUS(NV_ENC_ERR_INVALID_EVENT)
    VIDEOHW_NVENC_STATUS(NV_ENC_ERR_INVALID_PARAM)
    VIDEOHW_NVENC_STATUS(NV_ENC_ERR_INVALID_CALL)
    VIDEOHW_NVENC_STATUS(NV_ENC_ERR_OUT_OF_MEMORY)
    VIDEOHW_NVENC_STATUS(NV_ENC_ERR_ENCODER_NOT_INITIALIZED)
    VIDEOHW_NVENC_STATUS(NV_ENC_ERR_UNSUPPORTED_PARAM)
    VIDEOHW_NVENC_STATUS(NV_ENC_ERR_LOCK_BUSY)
    VIDEOHW_NVENC_STATUS(NV_ENC_ERR_NOT_ENOUGH_BUFFER)
    VIDEOHW_NVENC_STATUS(NV_ENC_ERR_INVALID_VERSION)
    VIDEOHW_NVENC_STATUS(NV_ENC_ERR_MAP_FAILED)
    VIDEOHW_NVENC_STATUS(NV_ENC_ERR_NEED_MORE_INPUT)
    VIDEOHW_NVENC_STATUS(NV_ENC_ERR_ENCODER_BUSY)
    VIDEOHW_NVENC_STATUS(NV_ENC_ERR_EVENT_NOT_REGISTERD)
    VIDEOHW_NVENC_STATUS(NV_ENC_ERR_GENERIC)
    VIDEOHW_NVENC_STATUS(NV_ENC_ERR_INCOMPATIBLE_CLIENT_KEY)
    VIDEOHW_NVENC_STATUS(NV_ENC_ERR_UNIMPLEMENTED)
    VIDEOHW_NVENC_STATUS(NV_ENC_ERR_RESOURCE_REGISTER_FAILED)
    VIDEOHW_NVENC_STATUS(NV_ENC_ERR_RESOURCE_NOT_REGISTERED)
    VIDEOHW_NVENC_STATUS(NV_ENC_ERR_RESOURCE_NOT_MAPPED)
#undef VIDEOHW_NVENC_STATUS
  }
  return "NV_ENC_ERR_(unknown)";
}

void throw_nvenc(const NvencApi& api, void* encoder, NVENCSTATUS status, const std::string& what) {
  std::string message = what + " failed: " + nvenc_status_name(status);
  if (encoder && api.fn.nvEncGetLastErrorString) {
    const char* detail = api.fn.nvEncGetLastErrorString(encoder);
    if (detail && *detail) message += std::string(" (") + detail + ")";
  }
  if (status == NV_ENC_ERR_NO_ENCODE_DEVICE)
    throw Error(ErrorKind::BackendUnavailable,
                message +
                    ": this GPU has no encode engine (NVENC), e.g. H100/H200, which have "
                    "NVDEC only; use backend='software' or 'auto'");
  // Measured on an H200 with driver NVENC API 13.0: nvEncOpenEncodeSessionEx answers
  // UNSUPPORTED_DEVICE, not NO_ENCODE_DEVICE, on a GPU without NVENC.
  if (status == NV_ENC_ERR_UNSUPPORTED_DEVICE)
    throw Error(ErrorKind::BackendUnavailable,
                message +
                    ": this GPU has no encode engine (NVENC) this driver can use (H100/H200 "
                    "answer so); use backend='software' or 'auto'");
  if (status == NV_ENC_ERR_DEVICE_NOT_EXIST || status == NV_ENC_ERR_INVALID_DEVICE ||
      status == NV_ENC_ERR_INVALID_ENCODERDEVICE)
    throw Error(ErrorKind::BackendUnavailable, message + ": the device cannot run NVENC");
  throw Error(ErrorKind::Encode, message);
}

}  // namespace videohw::nv_session
