// The device's primary context, the one CUDA context every NVIDIA session of the process
// runs in: NVENC and NVDEC share it, so a decoded device surface can be an encoder's input,
// and PyTorch or CuPy (which use the same primary context) take device memory without
// cross-context care.
//
// Retained once per process, driver library and device, on first use, and never released
// by videohw: creating a primary context costs about 250 ms on an H200, and a retain per
// session destroyed and re-created it between a capabilities query and the session that
// follows, or between one reader and the next. Releasing at exit is not safe either: a
// session nobody closed may still run driver calls on its threads while exit handlers run.
// The driver tears the context down with the process, as it does for the CUDA runtime's.
//
// The context is current on no thread between calls: a thread that makes a driver call
// pushes it for that call (ContextScope) and pops it after, leaving the caller's own
// current context (PyTorch's, say) as it was.
#pragma once

#include <new>
#include <string>

#include "nv_session/cuda/driver.hpp"

namespace videohw::nv_session {

struct CudaDevice {
  CUdevice device = 0;
  int ordinal = 0;
  std::string name;
  int compute_major = 0, compute_minor = 0;
};

// Device `ordinal` of `driver`. Throws Error(BackendUnavailable) when there is no CUDA
// device, or Error(Config) naming `config_field` (e.g. "NvidiaEncodeConfig.device") when the
// ordinal is beyond the devices present.
CudaDevice cuda_device(const CudaDriver& driver, int ordinal, const char* config_field);

class PrimaryContext {
 public:
  // The primary context of device `ordinal` in the driver cuda_driver() loads now; the
  // reference stays valid for the life of the process. Throws as cuda_device(), and
  // Error(BackendUnavailable) when the driver cannot retain the context.
  static const PrimaryContext& of(int ordinal, const char* config_field);

  const CudaDriver& driver() const { return driver_; }
  const CudaDevice& device() const { return device_; }
  CUcontext get() const { return context_; }

  PrimaryContext(const PrimaryContext&) = delete;
  PrimaryContext& operator=(const PrimaryContext&) = delete;

 private:
  PrimaryContext(const CudaDriver& driver, CudaDevice device, CUcontext context)
      : driver_(driver), device_(std::move(device)), context_(context) {}

  const CudaDriver& driver_;
  const CudaDevice device_;
  const CUcontext context_;
};

// Makes the context current on this thread for a scope and pops it on the way out.
class ContextScope {
 public:
  // Throws CudaError(kind) when the push fails.
  ContextScope(const PrimaryContext& context, ErrorKind kind);
  // For destructors and other paths that cannot throw: check entered() before any call.
  ContextScope(const PrimaryContext& context, std::nothrow_t);
  ~ContextScope();
  ContextScope(const ContextScope&) = delete;
  ContextScope& operator=(const ContextScope&) = delete;

  bool entered() const { return entered_; }

 private:
  const CudaDriver& driver_;
  bool entered_ = false;
};

}  // namespace videohw::nv_session
