#include "nv_session/cuda/context.hpp"

#include <map>
#include <memory>
#include <mutex>
#include <utility>

namespace videohw::nv_session {

namespace {

// cuda.h's value; dynlink_cuda.h (CUDA 7.5 era) lists only a few codes.
constexpr int kCudaErrorNoDevice = 100;

int attribute(const CudaDriver& d, CUdevice device, CUdevice_attribute which) {
  int value = 0;
  check_cuda(ErrorKind::BackendUnavailable, d.cuDeviceGetAttribute(&value, which, device),
             "cuDeviceGetAttribute", "reading the compute capability");
  return value;
}

}  // namespace

CudaDevice cuda_device(const CudaDriver& d, int ordinal, const char* config_field) {
  int count = 0;
  const CUresult counted = d.cuDeviceGetCount(&count);
  if (int(counted) == kCudaErrorNoDevice || (counted == CUDA_SUCCESS && count == 0))
    throw CudaError(
        ErrorKind::BackendUnavailable, counted,
        "no CUDA device: the driver (" + d.library + ") reports none; an NVIDIA GPU was expected");
  check_cuda(ErrorKind::BackendUnavailable, counted, "cuDeviceGetCount", "counting devices");
  if (ordinal < 0 || ordinal >= count)
    throw Error(ErrorKind::Config, std::string(config_field) + ": " + std::to_string(ordinal) +
                                       " is not a CUDA device here; expected 0.." +
                                       std::to_string(count - 1));
  CudaDevice device;
  device.ordinal = ordinal;
  check_cuda(ErrorKind::BackendUnavailable, d.cuDeviceGet(&device.device, ordinal), "cuDeviceGet",
             "opening device " + std::to_string(ordinal));
  char name[256] = {};
  check_cuda(ErrorKind::BackendUnavailable,
             d.cuDeviceGetName(name, int(sizeof(name)) - 1, device.device), "cuDeviceGetName",
             "naming device " + std::to_string(ordinal));
  device.name = name;
  device.compute_major = attribute(d, device.device, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
  device.compute_minor = attribute(d, device.device, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
  return device;
}

const PrimaryContext& PrimaryContext::of(int ordinal, const char* config_field) {
  const CudaDriver& d = cuda_driver();
  // Looked up on every call, so a device that went away (or a test double told to report
  // none) is reported instead of a context kept from before.
  CudaDevice found = cuda_device(d, ordinal, config_field);
  static std::mutex mu;
  // Never destroyed: see the header. Keyed by table too: a test may switch driver libraries.
  static auto* contexts =
      new std::map<std::pair<const CudaDriver*, CUdevice>, std::unique_ptr<PrimaryContext>>();
  std::lock_guard<std::mutex> lock(mu);
  auto& slot = (*contexts)[{&d, found.device}];
  if (!slot) {
    CUcontext context = nullptr;
    check_cuda(ErrorKind::BackendUnavailable, d.cuDevicePrimaryCtxRetain(&context, found.device),
               "cuDevicePrimaryCtxRetain",
               "retaining the primary context of device " + std::to_string(ordinal) + " (" +
                   found.name + ")");
    slot.reset(new PrimaryContext(d, std::move(found), context));
  }
  return *slot;
}

ContextScope::ContextScope(const PrimaryContext& context, ErrorKind kind)
    : driver_(context.driver()) {
  check_cuda(
      kind, driver_.cuCtxPushCurrent(context.get()), "cuCtxPushCurrent",
      "making device " + std::to_string(context.device().ordinal) + "'s primary context current");
  entered_ = true;
}

ContextScope::ContextScope(const PrimaryContext& context, std::nothrow_t)
    : driver_(context.driver()),
      entered_(driver_.cuCtxPushCurrent(context.get()) == CUDA_SUCCESS) {}

ContextScope::~ContextScope() {
  if (!entered_) return;
  CUcontext popped = nullptr;
  driver_.cuCtxPopCurrent(&popped);
}

}  // namespace videohw::nv_session
