// NV12 -> packed RGB24 on the GPU, for NVDEC's CPU_RGB output. Built to PTX at build time
// and loaded through the driver API (cuModuleLoadData), so the library needs no CUDA
// runtime. One thread converts one 2x2 block: the four luma samples that share one chroma
// pair, so each chroma pair is read once.
//
// Arithmetic (coefficients computed on the host, nvdec_rgb_converter.cpp):
//   y' = (Y - y_offset) * y_scale            limited range: y_offset 16, y_scale 255/219
//   u' = U - 128, v' = V - 128               full range:    y_offset 0,  y_scale 1
//   R = y' + cr_r * v'
//   G = y' - cb_g * u' - cr_g * v'
//   B = y' + cb_b * u'
// each rounded to nearest and clamped to 0..255. Chroma is not interpolated: the pair at
// (x/2, y/2) serves the 2x2 block, as libswscale's unscaled YUV -> RGB path does.

struct RgbCoefficients {
  float y_offset, y_scale, cr_r, cb_g, cr_g, cb_b;
};

__device__ __forceinline__ unsigned char to_byte(float v) {
  return static_cast<unsigned char>(fminf(fmaxf(rintf(v), 0.0f), 255.0f));
}

__device__ __forceinline__ void store_pixel(unsigned char* out, float y, float r_uv, float g_uv,
                                            float b_uv) {
  out[0] = to_byte(y + r_uv);
  out[1] = to_byte(y + g_uv);
  out[2] = to_byte(y + b_uv);
}

extern "C" __global__ void nv12_to_rgb24(const unsigned char* luma, int luma_pitch,
                                         const unsigned char* chroma, int chroma_pitch,
                                         unsigned char* rgb, int rgb_pitch, int width, int height,
                                         RgbCoefficients k) {
  const int bx = blockIdx.x * blockDim.x + threadIdx.x;  // 2x2 block column
  const int by = blockIdx.y * blockDim.y + threadIdx.y;  // 2x2 block row
  const int x = bx * 2, y = by * 2;
  if (x >= width || y >= height) return;

  const float u = static_cast<float>(chroma[by * chroma_pitch + x]) - 128.0f;
  const float v = static_cast<float>(chroma[by * chroma_pitch + x + 1]) - 128.0f;
  const float r_uv = k.cr_r * v;
  const float g_uv = -k.cb_g * u - k.cr_g * v;
  const float b_uv = k.cb_b * u;

  for (int dy = 0; dy < 2 && y + dy < height; ++dy) {
    const unsigned char* row = luma + (y + dy) * luma_pitch;
    unsigned char* out = rgb + (y + dy) * rgb_pitch + x * 3;
    for (int dx = 0; dx < 2 && x + dx < width; ++dx) {
      const float yv = (static_cast<float>(row[x + dx]) - k.y_offset) * k.y_scale;
      store_pixel(out + dx * 3, yv, r_uv, g_uv, b_uv);
    }
  }
}

// The formula kernel for 10/12-bit pictures (NVDEC's P016 surfaces: samples in the high
// bits of 16-bit words). Each sample is scaled to the 8-bit range first (v / 256, keeping
// the fraction), so the same coefficients apply and the result rounds once, at the end.
extern "C" __global__ void p016_to_rgb24(const unsigned char* luma, int luma_pitch,
                                         const unsigned char* chroma, int chroma_pitch,
                                         unsigned char* rgb, int rgb_pitch, int width, int height,
                                         RgbCoefficients k) {
  const int bx = blockIdx.x * blockDim.x + threadIdx.x;
  const int by = blockIdx.y * blockDim.y + threadIdx.y;
  const int x = bx * 2, y = by * 2;
  if (x >= width || y >= height) return;
  const unsigned short* uv_row =
      reinterpret_cast<const unsigned short*>(chroma + by * chroma_pitch);
  const float u = static_cast<float>(uv_row[x]) * (1.0f / 256.0f) - 128.0f;
  const float v = static_cast<float>(uv_row[x + 1]) * (1.0f / 256.0f) - 128.0f;
  const float r_uv = k.cr_r * v;
  const float g_uv = -k.cb_g * u - k.cr_g * v;
  const float b_uv = k.cb_b * u;
  for (int dy = 0; dy < 2 && y + dy < height; ++dy) {
    const unsigned short* row =
        reinterpret_cast<const unsigned short*>(luma + (y + dy) * luma_pitch);
    unsigned char* out = rgb + (y + dy) * rgb_pitch + x * 3;
    for (int dx = 0; dx < 2 && x + dx < width; ++dx) {
      const float yv = (static_cast<float>(row[x + dx]) * (1.0f / 256.0f) - k.y_offset) * k.y_scale;
      store_pixel(out + dx * 3, yv, r_uv, g_uv, b_uv);
    }
  }
}

// The same conversion as a table lookup: `table` holds the software decoder's RGB for every
// (Y, U, V) (software/rgb_table.hpp: entry ((U * 256 + V) * 256 + Y) * 3), so the result is
// that decoder's, bit for bit. Chroma is the 2x2 block's pair, as in the kernel above.
extern "C" __global__ void nv12_to_rgb24_table(const unsigned char* luma, int luma_pitch,
                                               const unsigned char* chroma, int chroma_pitch,
                                               unsigned char* rgb, int rgb_pitch, int width,
                                               int height, const unsigned char* table) {
  const int bx = blockIdx.x * blockDim.x + threadIdx.x;
  const int by = blockIdx.y * blockDim.y + threadIdx.y;
  const int x = bx * 2, y = by * 2;
  if (x >= width || y >= height) return;
  const unsigned uv = (static_cast<unsigned>(chroma[by * chroma_pitch + x]) << 8) |
                      chroma[by * chroma_pitch + x + 1];
  const unsigned char* row_table = table + (static_cast<size_t>(uv) << 8) * 3;
  for (int dy = 0; dy < 2 && y + dy < height; ++dy) {
    const unsigned char* row = luma + (y + dy) * luma_pitch;
    unsigned char* out = rgb + (y + dy) * rgb_pitch + x * 3;
    for (int dx = 0; dx < 2 && x + dx < width; ++dx) {
      const unsigned char* entry = row_table + static_cast<unsigned>(row[x + dx]) * 3;
      out[dx * 3 + 0] = entry[0];
      out[dx * 3 + 1] = entry[1];
      out[dx * 3 + 2] = entry[2];
    }
  }
}
