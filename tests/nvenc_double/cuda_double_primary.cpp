// Primary contexts and the context queries NVDEC's adapter makes: one primary context per
// device, reference counted as in the driver, pushable like a created one. They are not
// counted by videohw_cuda_double_live_contexts: an application keeps its primary context
// for the life of the process (the adapter retains one for good), so "no live context left"
// stays a check on created contexts only.
#include <array>
#include <atomic>

#include "cuda_double_internal.hpp"

#define CUDA_DOUBLE_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

constexpr int kMaxDevices = 16;
constexpr uintptr_t kPrimaryBase = 0x9a1e0000u;  // apart from cuCtxCreate's tokens

std::array<std::atomic<int>, kMaxDevices>& retains() {
  static std::array<std::atomic<int>, kMaxDevices> counts{};
  return counts;
}

CUcontext primary_token(CUdevice dev) {
  return reinterpret_cast<CUcontext>(kPrimaryBase + 0x10u * uintptr_t(dev));
}

int device_of(CUcontext ctx) {
  const auto value = reinterpret_cast<uintptr_t>(ctx);
  if (value < kPrimaryBase || (value - kPrimaryBase) % 0x10u) return -1;
  const uintptr_t dev = (value - kPrimaryBase) / 0x10u;
  return dev < kMaxDevices ? int(dev) : -1;
}

CUresult finish(const std::string& call, int code) {
  const char* name = cudadouble::extra_error_name(code);
  cudadouble::log_call(call + " -> " +
                       (code == 0 ? "CUDA_SUCCESS"
                        : name    ? name
                                  : std::to_string(code)));
  return CUresult(code);
}

}  // namespace

namespace cudadouble {

bool is_primary_context(CUcontext ctx) {
  const int dev = device_of(ctx);
  return dev >= 0 && retains()[size_t(dev)].load() > 0;
}

}  // namespace cudadouble

CUDA_DOUBLE_EXPORT CUresult cuDevicePrimaryCtxRetain(CUcontext* pctx, CUdevice dev) {
  const std::string call = "cuDevicePrimaryCtxRetain dev=" + std::to_string(dev);
  if (!pctx) return finish(call, 1);
  if (const int err = cudadouble::device_error(dev)) return finish(call, err);
  if (dev >= kMaxDevices) return finish(call, cudadouble::kNotSupported);
  const int count = ++retains()[size_t(dev)];
  *pctx = primary_token(dev);
  return finish(call + " refs=" + std::to_string(count), 0);
}

static CUresult release_primary(const char* name, CUdevice dev) {
  const std::string call = std::string(name) + " dev=" + std::to_string(dev);
  if (const int err = cudadouble::device_error(dev)) return finish(call, err);
  if (dev >= kMaxDevices) return finish(call, cudadouble::kNotSupported);
  auto& count = retains()[size_t(dev)];
  int now = count.load();
  do {
    if (now == 0) {
      cudadouble::add_violation(call + ": the primary context is not retained");
      return finish(call, cudadouble::kInvalidContext);
    }
  } while (!count.compare_exchange_weak(now, now - 1));
  return finish(call + " refs=" + std::to_string(now - 1), 0);
}

CUDA_DOUBLE_EXPORT CUresult cuDevicePrimaryCtxRelease(CUdevice dev) {
  return release_primary("cuDevicePrimaryCtxRelease", dev);
}

CUDA_DOUBLE_EXPORT CUresult cuDevicePrimaryCtxRelease_v2(CUdevice dev) {
  return release_primary("cuDevicePrimaryCtxRelease_v2", dev);
}

CUDA_DOUBLE_EXPORT CUresult cuCtxGetCurrent(CUcontext* pctx) {
  if (!pctx) return CUresult(1);
  *pctx = cudadouble::current_context();
  return CUDA_SUCCESS;
}

CUDA_DOUBLE_EXPORT CUresult cuCtxSynchronize(void) {
  // Every operation of the double has finished when its call returns.
  return CUresult(cudadouble::require_context("cuCtxSynchronize"));
}

CUDA_DOUBLE_EXPORT CUresult cuDriverGetVersion(int* version) {
  if (!version) return CUresult(1);
  *version = 12040;  // CUDA 12.4: a driver that accepts the adapter's PTX ISA 7.0
  return CUDA_SUCCESS;
}

CUDA_DOUBLE_EXPORT int videohw_cuda_double_primary_retains(int dev) {
  return dev >= 0 && dev < kMaxDevices ? retains()[size_t(dev)].load() : 0;
}
