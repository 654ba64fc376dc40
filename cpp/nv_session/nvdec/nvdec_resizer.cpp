#include "nv_session/nvdec/nvdec_resizer.hpp"

#include <map>
#include <mutex>
#include <string>

#include "contract/errors.hpp"
#include "nv_session/nvdec/nvdec_ptx.hpp"

namespace videohw::nv_session {

namespace {

// Output buffers a resizer keeps for reuse: frames in flight through the encoders behind it.
constexpr size_t kPooled = 32;

// Loaded once per primary context and never unloaded, as the RGB kernels are: the JIT
// compile of the PTX is not paid per transcode.
CUfunction resize_kernel(const NvdecDevice& device) {
  static std::mutex mu;
  static auto* loaded = new std::map<const PrimaryContext*, CUfunction>();
  std::lock_guard<std::mutex> lock(mu);
  auto found = loaded->find(&device.context());
  if (found != loaded->end()) return found->second;
  const char* ptx = nv12_resize_ptx();
  if (!ptx)
    throw Error(ErrorKind::BackendUnavailable,
                std::string("the NV12 resize kernel: ") + nv12_resize_ptx_missing_reason());
  const CudaDriver& d = device.cuda();
  ContextScope scope(device.context(), ErrorKind::BackendUnavailable);
  CUmodule module = nullptr;
  check_cuda(ErrorKind::BackendUnavailable, d.cuModuleLoadData(&module, ptx), "cuModuleLoadData",
             "loading the NV12 resize kernel's PTX");
  CUfunction function = nullptr;
  const CUresult got = d.cuModuleGetFunction(&function, module, "nv12_resize_plane");
  if (got != CUDA_SUCCESS) {
    d.cuModuleUnload(module);
    check_cuda(ErrorKind::BackendUnavailable, got, "cuModuleGetFunction",
               "finding nv12_resize_plane in the PTX");
  }
  return loaded->emplace(&device.context(), function).first->second;
}

std::unique_ptr<DeviceResizer> make_resizer(int device) {
  return std::make_unique<NvdecResizer>(device);
}

const bool g_registered = register_device_resizer(DeviceResizerEntry{&make_resizer});

}  // namespace

NvdecResizer::NvdecResizer(int device)
    : device_(NvdecDevice::open(device)),
      pool_(NvdecSurfacePool::create(device_, kPooled, PoolMemory::Device)),
      kernel_(resize_kernel(*device_)) {}

FrameView NvdecResizer::resize_nv12(const FrameView& src, int width, int height,
                                    std::shared_ptr<const void>& owner) {
  if (src.format != PixelFormat::NV12 || src.memory != FrameMemory::CudaDevice ||
      src.plane_count < 2)
    throw Error(ErrorKind::Encode, "resize_nv12: the source is not an NV12 frame in device memory");
  if (width < 2 || height < 2 || width % 2 || height % 2)
    throw Error(ErrorKind::Encode, "resize_nv12: " + std::to_string(width) + "x" +
                                       std::to_string(height) + " is not an even size");
  const int pitch = (width + 255) / 256 * 256;
  const size_t luma_bytes = size_t(pitch) * size_t(height);
  std::shared_ptr<DeviceBuffer> out = pool_->acquire(luma_bytes + luma_bytes / 2);
  const CudaDriver& d = device_->cuda();
  ContextScope scope(device_->context(), ErrorKind::Encode);
  struct Plane {
    CUdeviceptr src;
    int src_pitch, src_w, src_h;
    CUdeviceptr dst;
    int dst_w, dst_h, channels;
  };
  const Plane planes[2] = {
      {CUdeviceptr(uintptr_t(src.planes[0])), src.strides[0], src.width, src.height, out->ptr,
       width, height, 1},
      {CUdeviceptr(uintptr_t(src.planes[1])), src.strides[1], (src.width + 1) / 2,
       (src.height + 1) / 2, out->ptr + luma_bytes, width / 2, height / 2, 2},
  };
  for (Plane p : planes) {
    int dst_pitch = pitch;
    void* args[] = {&p.src,     &p.src_pitch, &p.src_w, &p.src_h,   &p.dst,
                    &dst_pitch, &p.dst_w,     &p.dst_h, &p.channels};
    const unsigned bx = 32, by = 8;
    check_cuda(ErrorKind::Encode,
               d.cuLaunchKernel(kernel_, (unsigned(p.dst_w) + bx - 1) / bx,
                                (unsigned(p.dst_h) + by - 1) / by, 1, bx, by, 1, 0,
                                device_->stream(), args, nullptr),
               "cuLaunchKernel", "scaling an NV12 plane");
  }
  check_cuda(ErrorKind::Encode, d.cuStreamSynchronize(device_->stream()), "cuStreamSynchronize",
             "waiting for the NV12 resize");
  FrameView view;
  view.format = PixelFormat::NV12;
  view.width = width;
  view.height = height;
  view.plane_count = 2;
  view.planes[0] = reinterpret_cast<const uint8_t*>(uintptr_t(out->ptr));
  view.planes[1] = reinterpret_cast<const uint8_t*>(uintptr_t(out->ptr + luma_bytes));
  view.strides[0] = view.strides[1] = pitch;
  view.memory = FrameMemory::CudaDevice;
  view.device = src.device;
  owner = std::move(out);
  return view;
}

}  // namespace videohw::nv_session
