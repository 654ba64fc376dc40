#include "nv_session/cuda/driver.hpp"

#include <dlfcn.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>

#include "nv_session/cuda/driver_library.hpp"

namespace videohw::nv_session {

namespace {

// cuda.h's value; dynlink_cuda.h (CUDA 7.5 era) lists only a few codes.
constexpr int kCudaErrorNoDevice = 100;

template <typename Fn>
void bind(const DriverLibrary& library, Fn*& slot, const char* name) {
  slot = reinterpret_cast<Fn*>(driver_symbol(library, name));
}

// A device-work entry point: left null (and named in `missing`) when absent.
template <typename Fn>
void bind_optional(const DriverLibrary& library, CudaDriver& d, Fn*& slot, const char* name) {
  slot = reinterpret_cast<Fn*>(dlsym(library.handle, name));
  if (!slot && d.missing.empty()) d.missing = name;
}

std::unique_ptr<CudaDriver> load(const DriverLibrary& library) {
  auto d = std::make_unique<CudaDriver>();
  d->library = library.path;
  bind(library, d->cuInit, "cuInit");
  bind(library, d->cuDeviceGetCount, "cuDeviceGetCount");
  bind(library, d->cuDeviceGet, "cuDeviceGet");
  bind(library, d->cuDeviceGetName, "cuDeviceGetName");
  bind(library, d->cuDeviceGetAttribute, "cuDeviceGetAttribute");
  bind(library, d->cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain");
  // cuDevicePrimaryCtxRelease became _v2 in CUDA 11; older drivers export only the first.
  d->cuDevicePrimaryCtxRelease = reinterpret_cast<tcuDevicePrimaryCtxRelease*>(
      dlsym(library.handle, "cuDevicePrimaryCtxRelease_v2"));
  if (!d->cuDevicePrimaryCtxRelease)
    bind(library, d->cuDevicePrimaryCtxRelease, "cuDevicePrimaryCtxRelease");
  bind(library, d->cuCtxPushCurrent, "cuCtxPushCurrent_v2");
  bind(library, d->cuCtxPopCurrent, "cuCtxPopCurrent_v2");
  bind(library, d->cuGetErrorName, "cuGetErrorName");
  bind(library, d->cuGetErrorString, "cuGetErrorString");

  CudaDriver& o = *d;
  bind_optional(library, o, o.cuMemAlloc, "cuMemAlloc_v2");
  bind_optional(library, o, o.cuMemFree, "cuMemFree_v2");
  bind_optional(library, o, o.cuMemAllocHost, "cuMemAllocHost_v2");
  bind_optional(library, o, o.cuMemFreeHost, "cuMemFreeHost");
  bind_optional(library, o, o.cuMemcpy2D, "cuMemcpy2D_v2");
  bind_optional(library, o, o.cuMemcpy2DAsync, "cuMemcpy2DAsync_v2");
  bind_optional(library, o, o.cuMemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2");
  bind_optional(library, o, o.cuModuleLoadData, "cuModuleLoadData");
  bind_optional(library, o, o.cuModuleUnload, "cuModuleUnload");
  bind_optional(library, o, o.cuModuleGetFunction, "cuModuleGetFunction");
  bind_optional(library, o, o.cuLaunchKernel, "cuLaunchKernel");
  bind_optional(library, o, o.cuStreamCreate, "cuStreamCreate");
  bind_optional(library, o, o.cuStreamSynchronize, "cuStreamSynchronize");
  bind_optional(library, o, o.cuStreamDestroy, "cuStreamDestroy_v2");
  bind_optional(library, o, o.cuEventCreate, "cuEventCreate");
  bind_optional(library, o, o.cuEventRecord, "cuEventRecord");
  bind_optional(library, o, o.cuEventQuery, "cuEventQuery");
  bind_optional(library, o, o.cuEventSynchronize, "cuEventSynchronize");
  bind_optional(library, o, o.cuEventDestroy, "cuEventDestroy_v2");
  return d;
}

// Set once a table is bound, so error text can name CUresults without loading anything.
std::atomic<const CudaDriver*> g_last_loaded{nullptr};

void initialise(const CudaDriver& d) {
  const CUresult init = d.cuInit(0);
  if (init == CUDA_SUCCESS) return;
  if (int(init) == kCudaErrorNoDevice)
    throw CudaError(
        ErrorKind::BackendUnavailable, init,
        "no CUDA device: " + cuda_error_text(init, "cuInit", "initialising " + d.library));
  throw CudaError(ErrorKind::BackendUnavailable, init,
                  cuda_error_text(init, "cuInit", "initialising " + d.library) +
                      "; is the NVIDIA kernel driver loaded?");
}

}  // namespace

const CudaDriver& cuda_driver() {
  static std::mutex mu;
  // One table per library path, never freed: a test may point the variable elsewhere while
  // tables and contexts of the previous path are still in use.
  static auto* tables = new std::map<std::string, std::unique_ptr<CudaDriver>>();
  const DriverLibrary library = open_driver_library("VIDEOHW_CUDA_LIBRARY", "libcuda.so.1");
  const CudaDriver* driver = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu);
    auto& slot = (*tables)[library.path];
    if (!slot) slot = load(library);  // a failure leaves the slot empty: the next call retries
    driver = slot.get();
  }
  g_last_loaded.store(driver, std::memory_order_release);
  initialise(*driver);
  return *driver;
}

void require_device_work(const CudaDriver& driver) {
  if (!driver.missing.empty())
    throw Error(ErrorKind::BackendUnavailable,
                driver.library + " lacks the entry point " + driver.missing +
                    "; expected an NVIDIA driver that exports it (driver too old?)");
}

std::string cuda_error_text(CUresult result, const char* call, const std::string& doing) {
  const CudaDriver* d = g_last_loaded.load(std::memory_order_acquire);
  const char* name = nullptr;
  const char* text = nullptr;
  if (d) {
    if (d->cuGetErrorName(result, &name) != CUDA_SUCCESS) name = nullptr;
    if (d->cuGetErrorString(result, &text) != CUDA_SUCCESS) text = nullptr;
  }
  std::string message = std::string(call) + " (" + doing + "): ";
  message += name ? name : "CUresult " + std::to_string(static_cast<int>(result));
  if (text) message += std::string(" (") + text + ")";
  return message;
}

void check_cuda(ErrorKind kind, CUresult result, const char* call, const std::string& doing) {
  if (result != CUDA_SUCCESS) throw CudaError(kind, result, cuda_error_text(result, call, doing));
}

}  // namespace videohw::nv_session
