// The CUDA implementation of backend/device_memory.hpp, registered at load time. Every call
// runs with the device's primary context pushed (cuda/context.hpp), the context NVENC and
// NVDEC use, so memory allocated here is valid for both.
#include "backend/device_memory.hpp"

#include <string>

#include "contract/errors.hpp"
#include "nv_session/cuda/context.hpp"
#include "nv_session/cuda/driver.hpp"

namespace videohw::nv_session {

namespace {

const PrimaryContext& device_context(int device) {
  const PrimaryContext& context = PrimaryContext::of(device, "the frame's CUDA device");
  require_device_work(context.driver());
  return context;
}

class CudaBuffer final : public DeviceBuffer {
 public:
  CudaBuffer(const PrimaryContext& context, size_t bytes) : context_(context), bytes_(bytes) {
    ContextScope scope(context_, ErrorKind::Encode);
    check_cuda(ErrorKind::Encode, context_.driver().cuMemAlloc(&address_, bytes), "cuMemAlloc",
               "allocating " + std::to_string(bytes) + " bytes for a device frame");
  }
  ~CudaBuffer() override {
    ContextScope scope(context_, std::nothrow);
    if (scope.entered()) context_.driver().cuMemFree(address_);
  }
  uintptr_t address() const override { return uintptr_t(address_); }
  size_t bytes() const override { return bytes_; }
  int device() const override { return context_.device().ordinal; }

 private:
  const PrimaryContext& context_;
  CUdeviceptr address_ = 0;
  size_t bytes_;
};

// CUDA_ERROR_INVALID_VALUE from a copy means the driver did not recognise an address: for a
// caller's frame that is the caller's mistake (a host pointer, memory of another device).
void check_copy(CUresult result, const std::string& doing) {
  constexpr int kInvalidValue = 1;
  check_cuda(int(result) == kInvalidValue ? ErrorKind::InvalidFrame : ErrorKind::Encode, result,
             "cuMemcpy2D", doing);
}

class CudaDeviceMemory final : public DeviceMemory {
 public:
  std::unique_ptr<DeviceBuffer> allocate(int device, size_t bytes) const override {
    return std::make_unique<CudaBuffer>(device_context(device), bytes);
  }

  void synchronize(int device, uintptr_t stream) const override {
    const PrimaryContext& context = device_context(device);
    ContextScope scope(context, ErrorKind::Encode);
    check_cuda(ErrorKind::Encode,
               context.driver().cuStreamSynchronize(reinterpret_cast<CUstream>(stream)),
               "cuStreamSynchronize", "waiting for the stream that wrote a device frame");
  }

  void copy_to_device(int device, uintptr_t dst, size_t dst_pitch, uintptr_t src, size_t src_pitch,
                      size_t row_bytes, size_t rows) const override {
    CUDA_MEMCPY2D copy = from_device(src, src_pitch, row_bytes, rows);
    copy.dstMemoryType = CU_MEMORYTYPE_DEVICE;
    copy.dstDevice = CUdeviceptr(dst);
    copy.dstPitch = dst_pitch;
    run(device, copy, "copying a device frame on the device");
  }

  void copy_to_host(int device, uint8_t* dst, size_t dst_pitch, uintptr_t src, size_t src_pitch,
                    size_t row_bytes, size_t rows) const override {
    CUDA_MEMCPY2D copy = from_device(src, src_pitch, row_bytes, rows);
    copy.dstMemoryType = CU_MEMORYTYPE_HOST;
    copy.dstHost = dst;
    copy.dstPitch = dst_pitch;
    run(device, copy, "copying a device frame to the host");
  }

 private:
  static CUDA_MEMCPY2D from_device(uintptr_t src, size_t src_pitch, size_t row_bytes, size_t rows) {
    CUDA_MEMCPY2D copy{};
    copy.srcMemoryType = CU_MEMORYTYPE_DEVICE;
    copy.srcDevice = CUdeviceptr(src);
    copy.srcPitch = src_pitch;
    copy.WidthInBytes = row_bytes;
    copy.Height = rows;
    return copy;
  }

  static void run(int device, const CUDA_MEMCPY2D& copy, const char* doing) {
    const PrimaryContext& context = device_context(device);
    ContextScope scope(context, ErrorKind::Encode);
    check_copy(context.driver().cuMemcpy2D(&copy), doing);
  }
};

const CudaDeviceMemory g_memory;
const bool g_registered = register_device_memory(&g_memory);

}  // namespace

}  // namespace videohw::nv_session
