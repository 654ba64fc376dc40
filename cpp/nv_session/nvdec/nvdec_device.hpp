// What an NVDEC session needs of its device: the process's primary context (cuda/context),
// the cuvid table, a stream for copies and kernels, and a cuvid context lock.
//
// Shared (shared_ptr) by the session and by every pooled buffer, so the stream and the lock
// outlive the last frame a caller still holds. Drop order in the destructor: stream ->
// context lock; the primary context itself stays for the process (cuda/context.hpp).
#pragma once

#include <memory>
#include <string>

#include "nv_session/cuda/context.hpp"
#include "nv_session/cuda/stream.hpp"
#include "nv_session/nvdec/cuvid_api.hpp"

namespace videohw::nv_session {

class NvdecDevice {
 public:
  // Throws BackendUnavailable when the driver, NVDEC's library or device `ordinal` is not
  // there, Config when `ordinal` is beyond the devices present.
  static std::shared_ptr<NvdecDevice> open(int ordinal);
  ~NvdecDevice();
  NvdecDevice(const NvdecDevice&) = delete;
  NvdecDevice& operator=(const NvdecDevice&) = delete;

  const PrimaryContext& context() const { return context_; }
  const CudaDriver& cuda() const { return context_.driver(); }
  const CuvidApi& cuvid() const { return cuvid_; }
  CUstream stream() const { return stream_->get(); }
  CUvideoctxlock lock() const { return lock_; }
  int ordinal() const { return context_.device().ordinal; }
  const std::string& device_name() const { return context_.device().name; }

 private:
  NvdecDevice(const PrimaryContext& context, const CuvidApi& cuvid);

  const PrimaryContext& context_;
  const CuvidApi& cuvid_;
  std::unique_ptr<CudaStream> stream_;
  CUvideoctxlock lock_ = nullptr;
};

}  // namespace videohw::nv_session
