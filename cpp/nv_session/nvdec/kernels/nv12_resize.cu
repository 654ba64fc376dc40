// Scaling of one plane of an NV12 picture on the GPU, for a transcode's outputs of another
// size: the luma plane (1 channel) and the interleaved chroma plane (2 channels) are each
// one launch. Built to PTX and loaded through the driver API like nv12_to_rgb.cu.
//
// The filter is libswscale's SWS_BILINEAR, so a GPU transcode and a CPU one scale alike: a
// triangle ("tent") over the source samples around the output sample's centre, as wide as
// one source sample when enlarging and as one output sample (in source samples) when
// shrinking, so a shrink averages every source sample it covers instead of skipping some.
// Per axis: centre c = (o + 0.5) * scale - 0.5, radius r = max(1, scale), weight of source
// sample s = max(0, 1 - |s - c| / r), indices clamped to the plane, weights normalised. One
// thread writes one output sample (all its channels).

__device__ __forceinline__ int clamp_index(int i, int n) {
  return i < 0 ? 0 : (i >= n ? n - 1 : i);
}

extern "C" __global__ void nv12_resize_plane(const unsigned char* src, int src_pitch, int src_w,
                                             int src_h, unsigned char* dst, int dst_pitch,
                                             int dst_w, int dst_h, int channels) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  const int y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x >= dst_w || y >= dst_h) return;
  const float sx = static_cast<float>(src_w) / dst_w, sy = static_cast<float>(src_h) / dst_h;
  const float cx = (x + 0.5f) * sx - 0.5f, cy = (y + 0.5f) * sy - 0.5f;
  const float rx = fmaxf(1.0f, sx), ry = fmaxf(1.0f, sy);
  const int x0 = static_cast<int>(floorf(cx - rx)) + 1, x1 = static_cast<int>(floorf(cx + rx));
  const int y0 = static_cast<int>(floorf(cy - ry)) + 1, y1 = static_cast<int>(floorf(cy + ry));
  float sum[2] = {0.0f, 0.0f};
  float total = 0.0f;
  for (int j = y0; j <= y1; ++j) {
    const float wy = fmaxf(0.0f, 1.0f - fabsf(j - cy) / ry);
    if (wy == 0.0f) continue;
    const unsigned char* row = src + clamp_index(j, src_h) * src_pitch;
    for (int i = x0; i <= x1; ++i) {
      const float w = wy * fmaxf(0.0f, 1.0f - fabsf(i - cx) / rx);
      if (w == 0.0f) continue;
      const int at = clamp_index(i, src_w) * channels;
      for (int c = 0; c < channels; ++c) sum[c] += w * row[at + c];
      total += w;
    }
  }
  unsigned char* out = dst + y * dst_pitch + x * channels;
  for (int c = 0; c < channels; ++c)
    out[c] = static_cast<unsigned char>(fminf(fmaxf(rintf(sum[c] / total), 0.0f), 255.0f));
}
