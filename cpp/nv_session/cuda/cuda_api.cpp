#include "nv_session/cuda/cuda_api.hpp"

#include <map>
#include <memory>
#include <mutex>

#include "contract/errors.hpp"
#include "nv_session/cuda/driver_library.hpp"

namespace videohw::nv_session {

namespace {

// cuda.h's value; dynlink_cuda.h (CUDA 7.5 era) lists only a few codes.
constexpr int kCudaErrorNoDevice = 100;

template <typename Fn>
void bind(const DriverLibrary& library, Fn*& slot, const char* name) {
  slot = reinterpret_cast<Fn*>(driver_symbol(library, name));
}

std::unique_ptr<CudaApi> load(const DriverLibrary& library) {
  auto api = std::make_unique<CudaApi>();
  api->library = library.path;
  bind(library, api->cuInit, "cuInit");
  bind(library, api->cuDeviceGetCount, "cuDeviceGetCount");
  bind(library, api->cuDeviceGet, "cuDeviceGet");
  bind(library, api->cuDeviceGetName, "cuDeviceGetName");
  bind(library, api->cuDeviceComputeCapability, "cuDeviceComputeCapability");
  bind(library, api->cuDeviceGetAttribute, "cuDeviceGetAttribute");
  bind(library, api->cuCtxCreate, "cuCtxCreate_v2");
  bind(library, api->cuCtxDestroy, "cuCtxDestroy_v2");
  bind(library, api->cuCtxPushCurrent, "cuCtxPushCurrent_v2");
  bind(library, api->cuCtxPopCurrent, "cuCtxPopCurrent_v2");
  bind(library, api->cuGetErrorName, "cuGetErrorName");
  bind(library, api->cuGetErrorString, "cuGetErrorString");
  return api;
}

// cuInit is idempotent and cheap once done; calling it on every use keeps a driver that
// was reset (or a double that forgets its state) initialised.
void initialise(const CudaApi& api) {
  const CUresult init = api.cuInit(0);
  if (int(init) == kCudaErrorNoDevice)
    throw Error(ErrorKind::BackendUnavailable,
                "no CUDA device: cuInit reports " + cuda_error_text(api, init));
  check_cuda(api, init, "cuInit (is the NVIDIA kernel driver loaded?)");
}

}  // namespace

const CudaApi& load_cuda_api() {
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<CudaApi>> tables;  // one per library path
  const DriverLibrary library = open_driver_library("VIDEOHW_CUDA_LIBRARY", "libcuda.so.1");
  std::lock_guard<std::mutex> lock(mu);
  auto& slot = tables[library.path];
  if (!slot) slot = load(library);  // a failure leaves the slot empty: the next call retries
  initialise(*slot);
  return *slot;
}

std::string cuda_error_text(const CudaApi& api, CUresult status) {
  const char* name = nullptr;
  const char* text = nullptr;
  if (api.cuGetErrorName) api.cuGetErrorName(status, &name);
  if (api.cuGetErrorString) api.cuGetErrorString(status, &text);
  std::string out = name ? name : "CUDA error " + std::to_string(int(status));
  if (text) out += std::string(" (") + text + ")";
  return out;
}

void check_cuda(const CudaApi& api, CUresult status, const std::string& what) {
  if (status != CUDA_SUCCESS)
    throw Error(ErrorKind::BackendUnavailable, what + " failed: " + cuda_error_text(api, status));
}

CudaDevice cuda_device(const CudaApi& api, int ordinal) {
  int count = 0;
  const CUresult status = api.cuDeviceGetCount(&count);
  if (int(status) == kCudaErrorNoDevice || (status == CUDA_SUCCESS && count == 0))
    throw Error(ErrorKind::BackendUnavailable, "no CUDA device: the driver (" + api.library +
                                                   ") reports none");
  check_cuda(api, status, "cuDeviceGetCount");
  if (ordinal < 0 || ordinal >= count)
    throw Error(ErrorKind::Config, "NvidiaEncodeConfig.device: " + std::to_string(ordinal) +
                                       " is not a CUDA device here; expected 0.." +
                                       std::to_string(count - 1));
  CudaDevice device;
  device.ordinal = ordinal;
  check_cuda(api, api.cuDeviceGet(&device.device, ordinal), "cuDeviceGet");
  char name[256] = {};
  check_cuda(api, api.cuDeviceGetName(name, int(sizeof(name)) - 1, device.device),
             "cuDeviceGetName");
  device.name = name;
  check_cuda(api, api.cuDeviceComputeCapability(&device.compute_major, &device.compute_minor,
                                                device.device),
             "cuDeviceComputeCapability");
  return device;
}

}  // namespace videohw::nv_session
