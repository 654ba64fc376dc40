#include "nv_session/nvenc/nvenc_device_input.hpp"

#include <string>

#include "contract/errors.hpp"

namespace videohw::nv_session {

namespace {

// Row alignment of the inputs: NVENC wants a multiple of 4; 256 also keeps IYUV's half
// pitch aligned and matches what cuMemAllocPitch picks on current GPUs.
constexpr uint32_t kPitchAlignment = 256;

NV_ENC_BUFFER_FORMAT buffer_format(PixelFormat format) {
  if (format == PixelFormat::NV12) return NV_ENC_BUFFER_FORMAT_NV12;
  if (format == PixelFormat::I420) return NV_ENC_BUFFER_FORMAT_IYUV;
  throw Error(ErrorKind::Encode, std::string("internal: NVENC device input of format ") +
                                     to_string(format) + "; the pipeline prepares I420 or NV12");
}

}  // namespace

DeviceInput::DeviceInput(const NvencHandle& handle, const PrimaryContext& context, int width,
                         int height, PixelFormat format)
    : handle_(handle), context_(context), width_(width), height_(height), format_(format) {
  const NV_ENC_BUFFER_FORMAT nv_format = buffer_format(format);
  pitch_ = (uint32_t(width) + kPitchAlignment - 1) / kPitchAlignment * kPitchAlignment;
  const size_t rows = size_t(height) + size_t((height + 1) / 2);
  const CudaDriver& cuda = context_.driver();
  require_device_work(cuda);
  ContextScope scope(context_, ErrorKind::Encode);
  check_cuda(ErrorKind::Encode, cuda.cuMemAlloc(&memory_, size_t(pitch_) * rows), "cuMemAlloc",
             "allocating an NVENC device input of " + std::to_string(width) + "x" +
                 std::to_string(height));
  NV_ENC_REGISTER_RESOURCE reg{};
  reg.version = NV_ENC_REGISTER_RESOURCE_VER;
  reg.resourceType = NV_ENC_INPUT_RESOURCE_TYPE_CUDADEVICEPTR;
  reg.width = uint32_t(width);
  reg.height = uint32_t(height);
  reg.pitch = pitch_;
  reg.resourceToRegister = reinterpret_cast<void*>(memory_);
  reg.bufferFormat = nv_format;
  reg.bufferUsage = NV_ENC_INPUT_IMAGE;
  const NVENCSTATUS status = handle_.fn().nvEncRegisterResource(handle_.get(), &reg);
  if (status != NV_ENC_SUCCESS) {
    cuda.cuMemFree(memory_);
    handle_.check(status, "nvEncRegisterResource");
  }
  registered_ = reg.registeredResource;
}

DeviceInput::~DeviceInput() {
  unmap();
  if (registered_) handle_.fn().nvEncUnregisterResource(handle_.get(), registered_);
  ContextScope scope(context_, std::nothrow);
  if (scope.entered()) context_.driver().cuMemFree(memory_);
}

void DeviceInput::copy_plane(CUdeviceptr dst, size_t dst_pitch, const uint8_t* src, int src_pitch,
                             size_t row_bytes, int rows) const {
  CUDA_MEMCPY2D copy{};
  copy.srcMemoryType = CU_MEMORYTYPE_DEVICE;
  copy.srcDevice = CUdeviceptr(reinterpret_cast<uintptr_t>(src));
  copy.srcPitch = size_t(src_pitch);
  copy.dstMemoryType = CU_MEMORYTYPE_DEVICE;
  copy.dstDevice = dst;
  copy.dstPitch = dst_pitch;
  copy.WidthInBytes = row_bytes;
  copy.Height = size_t(rows);
  check_cuda(ErrorKind::Encode, context_.driver().cuMemcpy2D(&copy), "cuMemcpy2D",
             "copying a device frame into NVENC's input");
}

NV_ENC_INPUT_PTR DeviceInput::write_and_map(const FrameView& view) {
  if (view.memory != FrameMemory::CudaDevice || !holds(view.width, view.height, view.format))
    throw Error(ErrorKind::Encode, "internal: NVENC device input given a frame it does not hold");
  const int w = width_, h = height_, cw = (w + 1) / 2, ch = (h + 1) / 2;
  {
    ContextScope scope(context_, ErrorKind::Encode);
    copy_plane(memory_, pitch_, view.planes[0], view.strides[0], size_t(w), h);
    const CUdeviceptr chroma = memory_ + CUdeviceptr(size_t(pitch_) * size_t(h));
    if (format_ == PixelFormat::NV12) {
      copy_plane(chroma, pitch_, view.planes[1], view.strides[1], size_t(2 * cw), ch);
    } else {
      // NVENC's IYUV: U then V, each with half the luma pitch.
      const size_t half = pitch_ / 2;
      copy_plane(chroma, half, view.planes[1], view.strides[1], size_t(cw), ch);
      copy_plane(chroma + CUdeviceptr(half * size_t(ch)), half, view.planes[2], view.strides[2],
                 size_t(cw), ch);
    }
  }
  NV_ENC_MAP_INPUT_RESOURCE map{};
  map.version = NV_ENC_MAP_INPUT_RESOURCE_VER;
  map.registeredResource = registered_;
  handle_.check(handle_.fn().nvEncMapInputResource(handle_.get(), &map), "nvEncMapInputResource");
  mapped_ = map.mappedResource;
  mapped_format_ = map.mappedBufferFmt;
  return mapped_;
}

NVENCSTATUS DeviceInput::unmap() {
  if (!mapped_) return NV_ENC_SUCCESS;
  const NVENCSTATUS status = handle_.fn().nvEncUnmapInputResource(handle_.get(), mapped_);
  mapped_ = nullptr;
  return status;
}

}  // namespace videohw::nv_session
