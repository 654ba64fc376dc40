#include "cuda_link.hpp"

#include <dlfcn.h>

#include "double_common.hpp"

namespace nvdouble {

namespace {

// A reference to the loaded driver, taken with RTLD_NOLOAD and dropped again on scope exit:
// the adapter's own handle keeps the library loaded, and a test may unload and reload it
// between sessions, so nothing is cached.
class LoadedCuda {
 public:
  LoadedCuda() : handle_(find()) {}
  ~LoadedCuda() {
    if (handle_) dlclose(handle_);
  }
  LoadedCuda(const LoadedCuda&) = delete;
  LoadedCuda& operator=(const LoadedCuda&) = delete;

  explicit operator bool() const { return handle_ != nullptr; }
  template <typename Fn>
  Fn* get(const char* name) const {
    return handle_ ? reinterpret_cast<Fn*>(dlsym(handle_, name)) : nullptr;
  }

 private:
  static void* find() {
    // The adapter loads VIDEOHW_CUDA_LIBRARY when set, else libcuda.so.1: the same order.
    const std::string path = env_text("VIDEOHW_CUDA_LIBRARY");
    if (!path.empty())
      if (void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_NOLOAD)) return h;
    if (void* h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_NOLOAD)) return h;
    // A test that dlopens the CUDA double itself, without naming it in the environment.
    void* probe = dlsym(RTLD_DEFAULT, "videohw_cuda_double_context_is_live");
    Dl_info info{};
    if (probe && dladdr(probe, &info) && info.dli_fname)
      return dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD);
    return nullptr;
  }

  void* handle_;
};

using IsLive = int(const void*);
using GetApiVersion = CUresult(CUcontext, unsigned int*);

std::string error_text(const LoadedCuda& cuda, CUresult r) {
  const char* name = nullptr;
  if (auto fn = cuda.get<tcuGetErrorName>("cuGetErrorName"); fn && fn(r, &name) == 0 && name)
    return name;
  return "CUresult " + std::to_string(int(r));
}

}  // namespace

bool cuda_context_live(void* ctx) {
  LoadedCuda cuda;
  if (auto fn = cuda.get<IsLive>("videohw_cuda_double_context_is_live")) return fn(ctx) == 1;
  // The real driver validates the handle: a destroyed context gives CUDA_ERROR_INVALID_CONTEXT.
  auto version = cuda.get<GetApiVersion>("cuCtxGetApiVersion");
  unsigned int v = 0;
  return version && ctx && version(static_cast<CUcontext>(ctx), &v) == 0;
}

std::string copy_from_device(void* ctx, const std::vector<DevicePlaneCopy>& planes) {
  LoadedCuda cuda;
  if (!cuda) return "no CUDA driver loaded in the process (VIDEOHW_CUDA_LIBRARY, libcuda.so.1)";
  auto push = cuda.get<tcuCtxPushCurrent_v2>("cuCtxPushCurrent_v2");
  auto pop = cuda.get<tcuCtxPopCurrent_v2>("cuCtxPopCurrent_v2");
  auto copy = cuda.get<tcuMemcpy2D_v2>("cuMemcpy2D_v2");
  if (!push || !pop || !copy)
    return "the loaded CUDA driver lacks cuCtxPushCurrent_v2, cuCtxPopCurrent_v2 or "
           "cuMemcpy2D_v2";
  if (const CUresult r = push(static_cast<CUcontext>(ctx)))
    return "cuCtxPushCurrent_v2: " + error_text(cuda, r);
  std::string error;
  for (const DevicePlaneCopy& plane : planes) {
    CUDA_MEMCPY2D c{};
    c.srcMemoryType = CU_MEMORYTYPE_DEVICE;
    c.srcDevice = plane.src;
    c.srcPitch = plane.src_pitch;
    c.dstMemoryType = CU_MEMORYTYPE_HOST;
    c.dstHost = plane.dst;
    c.dstPitch = plane.dst_pitch;
    c.WidthInBytes = plane.width_bytes;
    c.Height = plane.rows;
    if (const CUresult r = copy(&c)) {
      char where[64];
      std::snprintf(where, sizeof(where),
                    "cuMemcpy2D_v2 from 0x%llx: ", static_cast<unsigned long long>(plane.src));
      error = where + error_text(cuda, r);
      break;
    }
  }
  CUcontext popped = nullptr;
  pop(&popped);
  return error;
}

}  // namespace nvdouble
