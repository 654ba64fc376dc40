// The CUDA context an NVDEC session runs in: the device's primary context, so memory handed
// to PyTorch or CuPy (which use the same primary context) needs no cross-context care.
//
// Owns: one retain of the primary context, one CUDA stream for copies and kernels, one cuvid
// context lock. Shared (shared_ptr) by the session and by every pooled device buffer, so the
// context outlives the last frame a caller still holds. Drop order in the destructor:
// stream -> context lock -> primary-context release.
#pragma once

#include <memory>
#include <string>

#include "nv_session/cuda/nvdec_driver.hpp"

namespace videohw::nv_session {

class NvdecContext {
 public:
  // Throws BackendUnavailable when the driver, or device `ordinal`, is not there.
  static std::shared_ptr<NvdecContext> open(int ordinal);
  ~NvdecContext();
  NvdecContext(const NvdecContext&) = delete;
  NvdecContext& operator=(const NvdecContext&) = delete;

  const NvdecDriver& driver() const { return driver_; }
  CUcontext context() const { return context_; }
  CUstream stream() const { return stream_; }
  CUvideoctxlock lock() const { return lock_; }
  int ordinal() const { return ordinal_; }
  const std::string& device_name() const { return device_name_; }

 private:
  NvdecContext(const NvdecDriver& driver, int ordinal);

  const NvdecDriver& driver_;
  int ordinal_ = 0;
  CUdevice device_ = 0;
  CUcontext context_ = nullptr;
  CUstream stream_ = nullptr;
  CUvideoctxlock lock_ = nullptr;
  std::string device_name_;
};

// Makes the context current on this thread for a scope; pops it on the way out so the
// caller's own current context (PyTorch's, say) is left as it was.
class ContextScope {
 public:
  explicit ContextScope(const NvdecContext& context);
  ~ContextScope();
  ContextScope(const ContextScope&) = delete;
  ContextScope& operator=(const ContextScope&) = delete;

 private:
  const NvdecDriver& driver_;
};

}  // namespace videohw::nv_session
