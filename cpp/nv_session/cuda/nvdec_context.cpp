#include "nv_session/cuda/nvdec_context.hpp"

#include <mutex>
#include <set>

#include "contract/errors.hpp"

namespace videohw::nv_session {

namespace {

// One extra retain of a device's primary context, never released: the context is then
// created once per process instead of each time the last session of a moment goes (a
// probe, a capabilities query, a reader closed before the next opens), which costs a
// quarter of a second on an H200. The CUDA runtime keeps its primary contexts the same way.
void keep_primary_context(const NvdecDriver& driver, CUdevice device) {
  static std::mutex mu;
  static std::set<CUdevice>* kept = new std::set<CUdevice>();  // outlives static teardown
  std::lock_guard<std::mutex> lock(mu);
  if (kept->count(device)) return;
  CUcontext context = nullptr;
  if (driver.cuDevicePrimaryCtxRetain(&context, device) == CUDA_SUCCESS) kept->insert(device);
}

}  // namespace

std::shared_ptr<NvdecContext> NvdecContext::open(int ordinal) {
  const NvdecDriver& driver = nvdec_driver();
  return std::shared_ptr<NvdecContext>(new NvdecContext(driver, ordinal));
}

NvdecContext::NvdecContext(const NvdecDriver& driver, int ordinal)
    : driver_(driver), ordinal_(ordinal) {
  int count = 0;
  const CUresult counted = driver_.cuDeviceGetCount(&count);
  if (counted != CUDA_SUCCESS || count == 0)
    throw Error(ErrorKind::BackendUnavailable,
                "no CUDA device found (" + cuda_error_text(counted, "cuDeviceGetCount",
                                                           "counting devices") +
                    ", count " + std::to_string(count) + "); an NVIDIA GPU was expected");
  if (ordinal < 0 || ordinal >= count)
    throw Error(ErrorKind::Config, "NvidiaDecodeConfig.device: " + std::to_string(ordinal) +
                                       " is not a CUDA device; this machine has devices 0.." +
                                       std::to_string(count - 1));
  const auto unavailable = [](CUresult r, const char* call, const char* doing) {
    if (r != CUDA_SUCCESS)
      throw Error(ErrorKind::BackendUnavailable, cuda_error_text(r, call, doing));
  };
  unavailable(driver_.cuDeviceGet(&device_, ordinal), "cuDeviceGet", "opening the device");
  char name[256] = {};
  if (driver_.cuDeviceGetName(name, sizeof(name), device_) == CUDA_SUCCESS) device_name_ = name;
  unavailable(driver_.cuDevicePrimaryCtxRetain(&context_, device_), "cuDevicePrimaryCtxRetain",
              "retaining the primary context");
  keep_primary_context(driver_, device_);
  try {
    ContextScope scope(*this);
    check_cuda(driver_.cuStreamCreate(&stream_, 0), "cuStreamCreate", "creating the copy stream");
    check_cuda(driver_.cuvidCtxLockCreate(&lock_, context_), "cuvidCtxLockCreate",
               "creating the decoder's context lock");
  } catch (...) {
    if (stream_) driver_.cuStreamDestroy(stream_);
    driver_.cuDevicePrimaryCtxRelease(device_);
    throw;
  }
}

NvdecContext::~NvdecContext() {
  // Destructors report nothing: by now there is no caller left to act on a failure.
  if (driver_.cuCtxPushCurrent(context_) == CUDA_SUCCESS) {
    if (stream_) driver_.cuStreamDestroy(stream_);
    CUcontext popped = nullptr;
    driver_.cuCtxPopCurrent(&popped);
  }
  if (lock_) driver_.cuvidCtxLockDestroy(lock_);
  driver_.cuDevicePrimaryCtxRelease(device_);
}

ContextScope::ContextScope(const NvdecContext& context) : driver_(context.driver()) {
  check_cuda(driver_.cuCtxPushCurrent(context.context()), "cuCtxPushCurrent",
             "making the decoder's context current");
}

ContextScope::~ContextScope() {
  CUcontext popped = nullptr;
  driver_.cuCtxPopCurrent(&popped);
}

}  // namespace videohw::nv_session
