// A CUDA driver double: the device and context entry points of videohw's CUDA driver table
// (cuda/driver.hpp), with contexts that are plain tokens. It exists so the adapter's
// device/context code runs on a machine without a GPU; it does no device work at all.
#include <ffnvcodec/dynlink_cuda.h>

#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "cuda_double_internal.hpp"
#include "double_common.hpp"
#include "nvenc_double_control.h"

#define CUDA_DOUBLE_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

// Real driver values; dynlink_cuda.h declares only a few of them.
constexpr int kInvalidValue = 1, kNotInitialized = 3, kNoDevice = 100, kInvalidDevice = 101,
              kInvalidContext = 201;

struct ContextStack {
  std::vector<CUcontext> entries;
};

struct CudaState {
  std::mutex mutex;
  bool env_read = false;
  bool initialized = false;
  int devices = 1;
  nvdouble::FaultPlan faults;
  nvdouble::CallLog log;
  std::set<CUcontext> live;
  uintptr_t next_context = 1;
  std::string snapshot;
};

CudaState& state() {
  static CudaState s;
  return s;
}

// The current-context stack is per thread, as in the real driver.
ContextStack& thread_stack() {
  thread_local ContextStack stack;
  return stack;
}

// copy_async fails cuMemcpy2DAsync / cuMemcpyDtoHAsync, event_record cuEventRecord,
// event_sync cuEventSynchronize / cuEventQuery (cuda_double_memory.cpp).
const std::vector<std::string> kFaultNames = {"init", "ctx_create", "copy_async", "event_record",
                                              "event_sync"};

void read_env(CudaState& s) {
  s.env_read = true;
  const std::string devices = nvdouble::env_text("VIDEOHW_CUDA_DOUBLE_DEVICES");
  s.devices = devices.empty() ? 1 : std::atoi(devices.c_str());
  try {
    s.faults =
        nvdouble::FaultPlan::parse(nvdouble::env_text("VIDEOHW_CUDA_DOUBLE_FAULTS"), kFaultNames);
  } catch (const std::invalid_argument& e) {
    s.log.add(std::string("VIDEOHW_CUDA_DOUBLE_FAULTS ignored: ") + e.what());
    s.faults = {};
  }
  s.log.set_file(nvdouble::env_text("VIDEOHW_CUDA_DOUBLE_LOG"));
}

std::unique_lock<std::mutex> enter() {
  std::unique_lock<std::mutex> lock(state().mutex);
  if (!state().env_read) read_env(state());
  return lock;
}

const char* error_name(int code) {
  switch (code) {
    case 0:
      return "CUDA_SUCCESS";
    case kInvalidValue:
      return "CUDA_ERROR_INVALID_VALUE";
    case kNotInitialized:
      return "CUDA_ERROR_NOT_INITIALIZED";
    case kNoDevice:
      return "CUDA_ERROR_NO_DEVICE";
    case kInvalidDevice:
      return "CUDA_ERROR_INVALID_DEVICE";
    case kInvalidContext:
      return "CUDA_ERROR_INVALID_CONTEXT";
    default:
      return cudadouble::extra_error_name(code);
  }
}

const char* error_text(int code) {
  switch (code) {
    case 0:
      return "no error";
    case kInvalidValue:
      return "invalid argument";
    case kNotInitialized:
      return "initialization error";
    case kNoDevice:
      return "no CUDA-capable device is detected";
    case kInvalidDevice:
      return "invalid device ordinal";
    case kInvalidContext:
      return "invalid device context";
    default:
      return cudadouble::extra_error_text(code);
  }
}

CUresult finish(CudaState& s, const std::string& call, int code) {
  s.log.add(call + " -> " + error_name(code));
  return CUresult(code);
}

std::string ptr_text(const void* p) {
  char text[32];
  std::snprintf(text, sizeof(text), "%p", p);
  return text;
}

// Created contexts, and the primary ones (cuda_double_primary.cpp).
bool context_live(const CudaState& s, CUcontext ctx) {
  return s.live.count(ctx) > 0 || cudadouble::is_primary_context(ctx);
}

// Device calls need cuInit first and a valid ordinal, as in the real driver.
int check_device(const CudaState& s, CUdevice dev) {
  if (!s.initialized) return kNotInitialized;
  if (dev < 0 || dev >= s.devices) return kInvalidDevice;
  return 0;
}

}  // namespace

CUDA_DOUBLE_EXPORT CUresult cuInit(unsigned int flags) {
  auto lock = enter();
  CudaState& s = state();
  const std::string call = "cuInit flags=" + std::to_string(flags);
  if (s.faults.should_fail("init")) return finish(s, call, kNotInitialized);
  if (flags != 0) return finish(s, call, kInvalidValue);
  s.initialized = true;
  return finish(s, call, 0);
}

CUDA_DOUBLE_EXPORT CUresult cuDeviceGetCount(int* count) {
  auto lock = enter();
  CudaState& s = state();
  if (!count) return finish(s, "cuDeviceGetCount", kInvalidValue);
  if (!s.initialized) return finish(s, "cuDeviceGetCount", kNotInitialized);
  *count = s.devices;
  return finish(s, "cuDeviceGetCount count=" + std::to_string(s.devices), 0);
}

CUDA_DOUBLE_EXPORT CUresult cuDeviceGet(CUdevice* device, int ordinal) {
  auto lock = enter();
  CudaState& s = state();
  const std::string call = "cuDeviceGet ordinal=" + std::to_string(ordinal);
  if (!device) return finish(s, call, kInvalidValue);
  if (const int err = check_device(s, ordinal)) return finish(s, call, err);
  *device = ordinal;
  return finish(s, call, 0);
}

CUDA_DOUBLE_EXPORT CUresult cuDeviceGetName(char* name, int len, CUdevice dev) {
  auto lock = enter();
  CudaState& s = state();
  const std::string call = "cuDeviceGetName dev=" + std::to_string(dev);
  if (!name || len <= 0) return finish(s, call, kInvalidValue);
  if (const int err = check_device(s, dev)) return finish(s, call, err);
  std::snprintf(name, size_t(len), "videohw CUDA double %d", dev);
  return finish(s, call, 0);
}

CUDA_DOUBLE_EXPORT CUresult cuDeviceComputeCapability(int* major, int* minor, CUdevice dev) {
  auto lock = enter();
  CudaState& s = state();
  const std::string call = "cuDeviceComputeCapability dev=" + std::to_string(dev);
  if (!major || !minor) return finish(s, call, kInvalidValue);
  if (const int err = check_device(s, dev)) return finish(s, call, err);
  *major = 8;  // an Ampere-class part: the generation NVENC's 11.x API targets
  *minor = 6;
  return finish(s, call, 0);
}

CUDA_DOUBLE_EXPORT CUresult cuDeviceGetAttribute(int* value, CUdevice_attribute attrib,
                                                 CUdevice dev) {
  auto lock = enter();
  CudaState& s = state();
  const std::string call =
      "cuDeviceGetAttribute attrib=" + std::to_string(int(attrib)) + " dev=" + std::to_string(dev);
  if (!value) return finish(s, call, kInvalidValue);
  if (const int err = check_device(s, dev)) return finish(s, call, err);
  switch (attrib) {
    case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR:
      *value = 8;
      break;
    case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR:
      *value = 6;
      break;
    case CU_DEVICE_ATTRIBUTE_PCI_BUS_ID:
      *value = 1 + dev;
      break;
    case CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID:
    case CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID:
      *value = 0;
      break;
    case CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT:
      *value = 2;
      break;
    case CU_DEVICE_ATTRIBUTE_INTEGRATED:
      *value = 0;
      break;
    case CU_DEVICE_ATTRIBUTE_UNIFIED_ADDRESSING:
      *value = 1;
      break;
    default:
      return finish(s, call, kInvalidValue);
  }
  return finish(s, call + " value=" + std::to_string(*value), 0);
}

CUDA_DOUBLE_EXPORT CUresult cuCtxCreate_v2(CUcontext* pctx, unsigned int flags, CUdevice dev) {
  auto lock = enter();
  CudaState& s = state();
  const std::string call =
      "cuCtxCreate_v2 flags=" + std::to_string(flags) + " dev=" + std::to_string(dev);
  if (!pctx) return finish(s, call, kInvalidValue);
  if (const int err = check_device(s, dev)) return finish(s, call, err);
  if (s.faults.should_fail("ctx_create")) return finish(s, call, kInvalidDevice);
  // Tokens, never dereferenced; aligned like real handles and never null.
  CUcontext ctx = reinterpret_cast<CUcontext>(0xc0de0000u + 0x10u * s.next_context++);
  s.live.insert(ctx);
  thread_stack().entries.push_back(ctx);  // the new context becomes current, as in CUDA
  *pctx = ctx;
  return finish(s, call + " ctx=" + ptr_text(ctx), 0);
}

CUDA_DOUBLE_EXPORT CUresult cuCtxDestroy_v2(CUcontext ctx) {
  auto lock = enter();
  CudaState& s = state();
  const std::string call = "cuCtxDestroy_v2 ctx=" + ptr_text(ctx);
  if (!s.live.erase(ctx)) return finish(s, call, kInvalidContext);
  // Destroying a context that is current on this thread also pops it (CUDA does the same).
  auto& stack = thread_stack().entries;
  for (auto it = stack.begin(); it != stack.end();) it = *it == ctx ? stack.erase(it) : it + 1;
  return finish(s, call, 0);
}

CUDA_DOUBLE_EXPORT CUresult cuCtxPushCurrent_v2(CUcontext ctx) {
  auto lock = enter();
  CudaState& s = state();
  const std::string call = "cuCtxPushCurrent_v2 ctx=" + ptr_text(ctx);
  if (!context_live(s, ctx)) return finish(s, call, kInvalidContext);
  thread_stack().entries.push_back(ctx);
  return finish(s, call, 0);
}

CUDA_DOUBLE_EXPORT CUresult cuCtxPopCurrent_v2(CUcontext* pctx) {
  auto lock = enter();
  CudaState& s = state();
  auto& stack = thread_stack().entries;
  if (stack.empty()) return finish(s, "cuCtxPopCurrent_v2 (empty stack)", kInvalidContext);
  CUcontext ctx = stack.back();
  stack.pop_back();
  if (pctx) *pctx = ctx;
  return finish(s, "cuCtxPopCurrent_v2 ctx=" + ptr_text(ctx), 0);
}

CUDA_DOUBLE_EXPORT CUresult cuGetErrorName(CUresult error, const char** pstr) {
  if (!pstr) return CUresult(kInvalidValue);
  *pstr = error_name(int(error));
  return *pstr ? CUDA_SUCCESS : CUresult(kInvalidValue);
}

CUDA_DOUBLE_EXPORT CUresult cuGetErrorString(CUresult error, const char** pstr) {
  if (!pstr) return CUresult(kInvalidValue);
  *pstr = error_text(int(error));
  return *pstr ? CUDA_SUCCESS : CUresult(kInvalidValue);
}

CUDA_DOUBLE_EXPORT void videohw_cuda_double_reset(void) {
  std::lock_guard<std::mutex> lock(state().mutex);
  CudaState& s = state();
  // cuInit's effect stays, as it does for the life of a process: the NVDEC adapter calls
  // cuInit once, when it loads the driver, and a test's reset must not undo that.
  s.live.clear();
  s.log.clear();
  thread_stack().entries.clear();
  cudadouble::reset_rules();
  read_env(s);
}

CUDA_DOUBLE_EXPORT int videohw_cuda_double_set_faults(const char* faults) {
  auto lock = enter();
  try {
    state().faults = nvdouble::FaultPlan::parse(faults ? faults : "", kFaultNames);
  } catch (const std::invalid_argument&) {
    return -1;
  }
  return 0;
}

CUDA_DOUBLE_EXPORT const char* videohw_cuda_double_call_log(void) {
  auto lock = enter();
  state().snapshot = state().log.joined();
  return state().snapshot.c_str();
}

CUDA_DOUBLE_EXPORT int videohw_cuda_double_live_contexts(void) {
  auto lock = enter();
  return int(state().live.size());
}

CUDA_DOUBLE_EXPORT int videohw_cuda_double_context_is_live(const void* ctx) {
  auto lock = enter();
  return context_live(state(), static_cast<CUcontext>(const_cast<void*>(ctx))) ? 1 : 0;
}

namespace cudadouble {

CUcontext current_context() {
  const auto& stack = thread_stack().entries;
  return stack.empty() ? nullptr : stack.back();
}

int device_error(CUdevice dev) {
  auto lock = enter();
  return check_device(state(), dev);
}

void log_call(const std::string& line) {
  auto lock = enter();
  state().log.add(line);
}

bool should_fail(const std::string& name) {
  auto lock = enter();
  return state().faults.should_fail(name);
}

}  // namespace cudadouble
