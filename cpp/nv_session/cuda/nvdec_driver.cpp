#include "nv_session/cuda/nvdec_driver.hpp"

#include <dlfcn.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>

#include "contract/errors.hpp"

namespace videohw::nv_session {

namespace {

std::string library_path(const char* env, const char* soname) {
  const char* path = std::getenv(env);
  return path && *path ? path : soname;
}

void* open_library(const std::string& path, const char* what) {
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* err = dlerror();
    throw Error(ErrorKind::BackendUnavailable,
                std::string(what) + " could not be loaded (" + (err ? err : path) +
                    "); expected the NVIDIA driver's " + path);
  }
  return handle;
}

template <typename Fn>
void bind(void* library, const std::string& library_name, Fn*& slot, const char* symbol) {
  slot = reinterpret_cast<Fn*>(dlsym(library, symbol));
  if (!slot)
    throw Error(ErrorKind::BackendUnavailable,
                library_name + " lacks " + symbol + ": the NVIDIA driver is too old");
}

// cuDevicePrimaryCtxRelease became _v2 in CUDA 11; older drivers export only the first.
template <typename Fn>
void bind_either(void* library, const std::string& library_name, Fn*& slot, const char* first,
                 const char* second) {
  slot = reinterpret_cast<Fn*>(dlsym(library, first));
  if (!slot) bind(library, library_name, slot, second);
}

NvdecDriver load() {
  NvdecDriver d;
  d.cuda_library = library_path("VIDEOHW_CUDA_LIBRARY", "libcuda.so.1");
  d.nvcuvid_library = library_path("VIDEOHW_NVCUVID_LIBRARY", "libnvcuvid.so.1");
  void* cuda = open_library(d.cuda_library, "the CUDA driver library");
  void* cuvid = open_library(d.nvcuvid_library, "the NVDEC library");
  const std::string& cu = d.cuda_library;
  bind(cuda, cu, d.cuInit, "cuInit");
  bind(cuda, cu, d.cuDriverGetVersion, "cuDriverGetVersion");
  bind(cuda, cu, d.cuDeviceGetCount, "cuDeviceGetCount");
  bind(cuda, cu, d.cuDeviceGet, "cuDeviceGet");
  bind(cuda, cu, d.cuDeviceGetName, "cuDeviceGetName");
  bind(cuda, cu, d.cuDeviceGetAttribute, "cuDeviceGetAttribute");
  bind(cuda, cu, d.cuCtxCreate, "cuCtxCreate_v2");
  bind(cuda, cu, d.cuCtxDestroy, "cuCtxDestroy_v2");
  bind(cuda, cu, d.cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain");
  bind_either(cuda, cu, d.cuDevicePrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2",
              "cuDevicePrimaryCtxRelease");
  bind(cuda, cu, d.cuCtxPushCurrent, "cuCtxPushCurrent_v2");
  bind(cuda, cu, d.cuCtxPopCurrent, "cuCtxPopCurrent_v2");
  bind(cuda, cu, d.cuCtxSynchronize, "cuCtxSynchronize");
  bind(cuda, cu, d.cuMemAlloc, "cuMemAlloc_v2");
  bind(cuda, cu, d.cuMemFree, "cuMemFree_v2");
  bind(cuda, cu, d.cuMemAllocHost, "cuMemAllocHost_v2");
  bind(cuda, cu, d.cuMemFreeHost, "cuMemFreeHost");
  bind(cuda, cu, d.cuMemcpy2D, "cuMemcpy2D_v2");
  bind(cuda, cu, d.cuMemcpy2DAsync, "cuMemcpy2DAsync_v2");
  bind(cuda, cu, d.cuMemcpyDtoH, "cuMemcpyDtoH_v2");
  bind(cuda, cu, d.cuMemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2");
  bind(cuda, cu, d.cuModuleLoadData, "cuModuleLoadData");
  bind(cuda, cu, d.cuModuleUnload, "cuModuleUnload");
  bind(cuda, cu, d.cuModuleGetFunction, "cuModuleGetFunction");
  bind(cuda, cu, d.cuLaunchKernel, "cuLaunchKernel");
  bind(cuda, cu, d.cuStreamCreate, "cuStreamCreate");
  bind(cuda, cu, d.cuStreamSynchronize, "cuStreamSynchronize");
  bind(cuda, cu, d.cuStreamDestroy, "cuStreamDestroy_v2");
  bind(cuda, cu, d.cuGetErrorName, "cuGetErrorName");
  bind(cuda, cu, d.cuGetErrorString, "cuGetErrorString");

  const std::string& nv = d.nvcuvid_library;
  bind(cuvid, nv, d.cuvidGetDecoderCaps, "cuvidGetDecoderCaps");
  bind(cuvid, nv, d.cuvidCreateDecoder, "cuvidCreateDecoder");
  bind(cuvid, nv, d.cuvidDestroyDecoder, "cuvidDestroyDecoder");
  bind(cuvid, nv, d.cuvidDecodePicture, "cuvidDecodePicture");
  bind(cuvid, nv, d.cuvidGetDecodeStatus, "cuvidGetDecodeStatus");
  bind(cuvid, nv, d.cuvidReconfigureDecoder, "cuvidReconfigureDecoder");
  bind(cuvid, nv, d.cuvidMapVideoFrame, "cuvidMapVideoFrame64");
  bind(cuvid, nv, d.cuvidUnmapVideoFrame, "cuvidUnmapVideoFrame64");
  bind(cuvid, nv, d.cuvidCtxLockCreate, "cuvidCtxLockCreate");
  bind(cuvid, nv, d.cuvidCtxLockDestroy, "cuvidCtxLockDestroy");
  bind(cuvid, nv, d.cuvidCreateVideoParser, "cuvidCreateVideoParser");
  bind(cuvid, nv, d.cuvidParseVideoData, "cuvidParseVideoData");
  bind(cuvid, nv, d.cuvidDestroyVideoParser, "cuvidDestroyVideoParser");

  const CUresult init = d.cuInit(0);
  if (init != CUDA_SUCCESS) {
    const char* name = nullptr;
    d.cuGetErrorName(init, &name);
    throw Error(ErrorKind::BackendUnavailable,
                std::string("cuInit failed (") + (name ? name : std::to_string(init).c_str()) +
                    "): no usable NVIDIA GPU; a CUDA device and a working driver were expected");
  }
  return d;
}

// Set once the driver is loaded, so error text can name CUresults without loading anything.
std::atomic<const NvdecDriver*> g_loaded{nullptr};

}  // namespace

const NvdecDriver& nvdec_driver() {
  // One driver per pair of library paths, kept for the process: a test that points
  // VIDEOHW_CUDA_LIBRARY / VIDEOHW_NVCUVID_LIBRARY elsewhere gets the libraries it names
  // (as open_driver_library gives NVENC), while contexts and buffers of the libraries
  // loaded before stay valid. A failed load is retried on the next call: the cause (a
  // missing library, an override path) may be fixed while the process runs.
  static std::mutex mutex;
  static auto* loaded =
      new std::map<std::pair<std::string, std::string>, std::unique_ptr<NvdecDriver>>();
  std::lock_guard<std::mutex> lock(mutex);
  auto& slot = (*loaded)[{library_path("VIDEOHW_CUDA_LIBRARY", "libcuda.so.1"),
                          library_path("VIDEOHW_NVCUVID_LIBRARY", "libnvcuvid.so.1")}];
  if (!slot) slot = std::make_unique<NvdecDriver>(load());
  g_loaded.store(slot.get(), std::memory_order_release);
  return *slot;
}

std::string cuda_error_text(CUresult result, const char* call, const std::string& doing) {
  const NvdecDriver* d = g_loaded.load(std::memory_order_acquire);
  const char* name = nullptr;
  const char* text = nullptr;
  if (d) {
    d->cuGetErrorName(result, &name);
    d->cuGetErrorString(result, &text);
  }
  std::string message = std::string(call) + " (" + doing + "): ";
  message += name ? name : "CUresult " + std::to_string(static_cast<int>(result));
  if (text) message += std::string(" (") + text + ")";
  return message;
}

void check_cuda(CUresult result, const char* call, const std::string& doing) {
  if (result != CUDA_SUCCESS) throw Error(ErrorKind::Decode, cuda_error_text(result, call, doing));
}

}  // namespace videohw::nv_session
