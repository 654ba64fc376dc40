// What an NVDEC session needs of its device: the process's primary context (cuda/context),
// the cuvid table, a stream for copies and kernels, a cuvid context lock, and the NV12 ->
// RGB24 kernels.
//
// Shared (shared_ptr) by the session and by every pooled buffer, so the stream and the lock
// outlive the last frame a caller still holds. Drop order in the destructor: stream ->
// context lock; the primary context itself stays for the process (cuda/context.hpp), and so
// do the kernels' module and the RGB tables in device memory, which live in that context and
// are shared by every session on it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nv_session/cuda/context.hpp"
#include "nv_session/cuda/stream.hpp"
#include "nv_session/nvdec/cuvid_api.hpp"

namespace videohw::nv_session {

// The kernels of kernels/nv12_to_rgb.cu in one primary context.
struct RgbKernels {
  CUfunction formula = nullptr;  // nv12_to_rgb24: arithmetic
  CUfunction table = nullptr;    // nv12_to_rgb24_table: lookup
  CUfunction wide = nullptr;     // p016_to_rgb24: the formula on 16-bit samples
};

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

  // The RGB kernels, loaded from the embedded PTX by the first caller in the process for
  // this primary context and never unloaded: cuModuleLoadData JIT-compiles the PTX, which a
  // new CPU_RGB session should not pay again, and a session on another thread may launch
  // them at any time. Thread-safe. Throws Error(Decode) when the build has no PTX or the
  // load fails; the next call tries again.
  const RgbKernels& rgb_kernels() const;

  // The RGB table `host` (an RgbTableSource's, 48 MiB) in device memory, uploaded by the
  // first caller in the process that asks for it on this primary context: a new CPU_RGB
  // session does not allocate and upload it again. Keyed by the host table itself, which
  // the caller must keep while it uses the returned copy; a copy whose host table has died
  // is freed by a later call. Thread-safe. Throws Error(Decode) when allocating or
  // uploading fails.
  CUdeviceptr rgb_table(const std::shared_ptr<const std::vector<uint8_t>>& host) const;

 private:
  NvdecDevice(const PrimaryContext& context, const CuvidApi& cuvid);

  const PrimaryContext& context_;
  const CuvidApi& cuvid_;
  std::unique_ptr<CudaStream> stream_;
  CUvideoctxlock lock_ = nullptr;
};

}  // namespace videohw::nv_session
