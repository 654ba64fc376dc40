// Device memory for frames that arrive on a GPU. The session copies a caller's device frame
// into memory it owns (the caller may reuse its tensor as soon as submit returns) and, for an
// encoder that takes host memory only, copies it down once; it does both through this
// interface, so session/ never names a driver. The NVIDIA stack registers the one
// implementation (nv_session/cuda/device_memory.cpp), as backends register themselves.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace videohw {

// One device allocation; freed by its destructor.
class DeviceBuffer {
 public:
  virtual ~DeviceBuffer() = default;
  virtual uintptr_t address() const = 0;
  virtual size_t bytes() const = 0;
  virtual int device() const = 0;
};

class DeviceMemory {
 public:
  virtual ~DeviceMemory() = default;
  // Throws Error(BackendUnavailable) without a usable driver or device, Error(Encode) when
  // the allocation fails.
  virtual std::unique_ptr<DeviceBuffer> allocate(int device, size_t bytes) const = 0;
  // Waits until the work queued on `stream` (a CUstream of `device`; 0: the legacy default
  // stream) is done: the producer of a frame says which stream wrote it.
  virtual void synchronize(int device, uintptr_t stream) const = 0;
  // Synchronous pitched copies of `rows` rows of `row_bytes`. `src` is a device address of
  // `device`. Throw Error(InvalidFrame) when the driver refuses the source address (not
  // device memory of `device`), Error(Encode) for other failures.
  virtual void copy_to_device(int device, uintptr_t dst, size_t dst_pitch, uintptr_t src,
                              size_t src_pitch, size_t row_bytes, size_t rows) const = 0;
  virtual void copy_to_host(int device, uint8_t* dst, size_t dst_pitch, uintptr_t src,
                            size_t src_pitch, size_t row_bytes, size_t rows) const = 0;
};

// For the NVIDIA stack's registrar; returns true.
bool register_device_memory(const DeviceMemory* memory);

// The registered implementation. Throws Error(BackendUnavailable) when the library was built
// without one.
const DeviceMemory& device_memory();

}  // namespace videohw
