#include "nv_session/nvdec/nvdec_rgb_converter.hpp"

#include "nv_session/nvdec/nvdec_ptx.hpp"

namespace videohw::nv_session {

namespace {

struct Matrix {
  double kr, kb;
};

Matrix matrix_for(int code) {
  switch (code) {
    case 1:
      return {0.2126, 0.0722};  // BT.709
    case 4:
      return {0.30, 0.11};  // FCC
    case 7:
      return {0.212, 0.087};  // SMPTE 240M
    case 9:
    case 10:
      return {0.2627, 0.0593};  // BT.2020
    default:
      return {0.299, 0.114};  // BT.601 (5, 6) and unspecified, swscale's default
  }
}

}  // namespace

RgbCoefficientsHost rgb_coefficients(const ColorInfo& color) {
  const Matrix m = matrix_for(color.matrix);
  const double kg = 1.0 - m.kr - m.kb;
  const double c = color.full_range ? 1.0 : 255.0 / 224.0;
  RgbCoefficientsHost k;
  k.y_offset = color.full_range ? 0.0f : 16.0f;
  k.y_scale = static_cast<float>(color.full_range ? 1.0 : 255.0 / 219.0);
  k.cr_r = static_cast<float>(2.0 * (1.0 - m.kr) * c);
  k.cb_b = static_cast<float>(2.0 * (1.0 - m.kb) * c);
  k.cb_g = static_cast<float>(2.0 * m.kb * (1.0 - m.kb) / kg * c);
  k.cr_g = static_cast<float>(2.0 * m.kr * (1.0 - m.kr) / kg * c);
  return k;
}

std::string nvdec_rgb_unavailable_reason() {
  return nv12_to_rgb_ptx() ? "" : nv12_to_rgb_ptx_missing_reason();
}

namespace {

// Fails before the device is touched when the build has no kernel, naming the option.
const RgbKernels& kernels_of(const NvdecDevice& device) {
  if (!nv12_to_rgb_ptx())
    throw UnsupportedConfig({std::string("CommonDecodeConfig.output: CPU_RGB on nvidia: ") +
                             nv12_to_rgb_ptx_missing_reason() +
                             "; use NATIVE_SURFACE or the software backend"});
  return device.rgb_kernels();
}

}  // namespace

NvdecRgbConverter::NvdecRgbConverter(std::shared_ptr<NvdecDevice> device, RgbTableSource tables,
                                     size_t max_pooled, size_t max_pooled_bytes)
    : device_(std::move(device)), kernels_(kernels_of(*device_)), tables_(std::move(tables)) {
  host_pool_ =
      NvdecSurfacePool::create(device_, max_pooled, PoolMemory::PinnedHost, max_pooled_bytes);
  device_pool_ = NvdecSurfacePool::create(device_, max_pooled, PoolMemory::Device);
}

CUdeviceptr NvdecRgbConverter::device_table(const ColorInfo& color) {
  auto& slot = device_tables_[{color.matrix, color.full_range}];
  if (!slot.first) {
    std::shared_ptr<const std::vector<uint8_t>> table = tables_(color);
    slot.second = device_->rgb_table(table);
    slot.first = std::move(table);
  }
  return slot.second;
}

std::shared_ptr<DeviceBuffer> NvdecRgbConverter::enqueue(CUdeviceptr luma, int luma_pitch,
                                                         CUdeviceptr chroma, int chroma_pitch,
                                                         int width, int height,
                                                         int bytes_per_sample, DecodedFrame& out) {
  const CudaDriver& d = device_->cuda();
  const size_t row = static_cast<size_t>(width) * 3;
  const size_t bytes = row * height;
  std::shared_ptr<DeviceBuffer> staging = device_pool_->acquire(bytes);
  std::shared_ptr<DeviceBuffer> host = host_pool_->acquire(bytes);

  CUdeviceptr rgb = staging->ptr;
  int rgb_pitch = static_cast<int>(row);
  // The last kernel argument: the table when there is one, else the formula's coefficients.
  const bool use_table = tables_ && bytes_per_sample == 1;
  CUdeviceptr table = 0;
  RgbCoefficientsHost k{};
  if (use_table)
    table = device_table(out.color);
  else
    k = rgb_coefficients(out.color);
  void* args[] = {
      &luma,         &luma_pitch, &chroma,
      &chroma_pitch, &rgb,        &rgb_pitch,
      &width,        &height,     use_table ? static_cast<void*>(&table) : static_cast<void*>(&k)};
  CUfunction kernel = bytes_per_sample == 2 ? kernels_.wide
                      : use_table           ? kernels_.table
                                            : kernels_.formula;
  const unsigned block_x = 32, block_y = 8;
  const unsigned blocks_w = static_cast<unsigned>((width + 1) / 2);
  const unsigned blocks_h = static_cast<unsigned>((height + 1) / 2);
  check_cuda(ErrorKind::Decode,
             d.cuLaunchKernel(kernel, (blocks_w + block_x - 1) / block_x,
                              (blocks_h + block_y - 1) / block_y, 1, block_x, block_y, 1, 0,
                              device_->stream(), args, nullptr),
             "cuLaunchKernel", "converting NV12 to RGB24");
  check_cuda(ErrorKind::Decode, d.cuMemcpyDtoHAsync(host->host(), rgb, bytes, device_->stream()),
             "cuMemcpyDtoHAsync", "copying the RGB frame to the host");

  out.pixel_format = "rgb24";
  out.bytes_per_sample = 1;
  out.planes = {SurfacePlane{host->host(), static_cast<int>(row), static_cast<int>(row), height}};
  out.owner = host;
  out.on_device = false;
  out.device_id = -1;
  return staging;
}

}  // namespace videohw::nv_session
