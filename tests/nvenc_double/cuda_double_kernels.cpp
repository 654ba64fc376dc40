// Modules and kernel launches for the kernels the NVDEC adapter loads
// (cpp/nv_session/nvdec/kernels/nv12_to_rgb.cu, nv12_resize.cu): cuModuleLoadData keeps the PTX
// text, cuModuleGetFunction finds an entry by name in it, and cuLaunchKernel runs the kernel's
// arithmetic on the CPU, thread by thread over the launched grid, so a grid that does not
// cover the picture leaves pixels unwritten as it would on a GPU. Any other kernel is
// CUDA_ERROR_NOT_FOUND: the double cannot run PTX.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <set>

#include "cuda_double_internal.hpp"

#define CUDA_DOUBLE_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

enum class Kernel { Nv12Formula, Nv12Table, P016Formula, Nv12Resize };

const std::map<std::string, Kernel>& known_kernels() {
  static const std::map<std::string, Kernel> kernels = {{"nv12_to_rgb24", Kernel::Nv12Formula},
                                                        {"nv12_to_rgb24_table", Kernel::Nv12Table},
                                                        {"p016_to_rgb24", Kernel::P016Formula},
                                                        {"nv12_resize_plane", Kernel::Nv12Resize}};
  return kernels;
}

struct Function {
  CUmodule module;
  Kernel kernel;
};

struct Modules {
  std::mutex mutex;
  std::map<CUmodule, std::string> ptx;
  std::map<CUfunction, Function> functions;
  uintptr_t next = 1;
};

Modules& modules() {
  static Modules* m = new Modules();
  return *m;
}

CUresult finish(const std::string& call, int code) {
  const char* name = code == 0 ? "CUDA_SUCCESS" : cudadouble::extra_error_name(code);
  cudadouble::log_call(call + " -> " + (name ? name : std::to_string(code)));
  return CUresult(code);
}

CUresult misuse(const std::string& call, const std::string& why, int code) {
  cudadouble::add_violation(call + ": " + why);
  return finish(call, code);
}

struct Coefficients {  // RgbCoefficients of nv12_to_rgb.cu
  float y_offset, y_scale, cr_r, cb_g, cr_g, cb_b;
};

// The kernel's parameters, in its order.
struct Args {
  const uint8_t* luma;
  int luma_pitch;
  const uint8_t* chroma;
  int chroma_pitch;
  uint8_t* rgb;
  int rgb_pitch;
  int width, height;
};

uint8_t to_byte(float v) {
  return uint8_t(std::fmin(std::fmax(std::nearbyint(v), 0.0f), 255.0f));
}

// One GPU thread: the 2x2 block at block coordinates (bx, by).
void run_thread(Kernel kernel, const Args& a, const Coefficients& k, const uint8_t* table, int bx,
                int by) {
  const int x = bx * 2, y = by * 2;
  if (x >= a.width || y >= a.height) return;
  const bool wide = kernel == Kernel::P016Formula;
  const auto sample = [wide](const uint8_t* row, int i) {
    if (!wide) return float(row[i]);
    uint16_t v;
    std::memcpy(&v, row + 2 * i, 2);
    return float(v) * (1.0f / 256.0f);
  };
  const uint8_t* uv_row = a.chroma + by * a.chroma_pitch;
  for (int dy = 0; dy < 2 && y + dy < a.height; ++dy) {
    const uint8_t* row = a.luma + (y + dy) * a.luma_pitch;
    uint8_t* out = a.rgb + (y + dy) * a.rgb_pitch + x * 3;
    for (int dx = 0; dx < 2 && x + dx < a.width; ++dx) {
      uint8_t* px = out + dx * 3;
      if (kernel == Kernel::Nv12Table) {
        const unsigned uv = (unsigned(uv_row[x]) << 8) | uv_row[x + 1];
        const uint8_t* entry = table + ((size_t(uv) << 8) + row[x + dx]) * 3;
        std::memcpy(px, entry, 3);
        continue;
      }
      const float u = sample(uv_row, x) - 128.0f, v = sample(uv_row, x + 1) - 128.0f;
      const float yv = (sample(row, x + dx) - k.y_offset) * k.y_scale;
      px[0] = to_byte(yv + k.cr_r * v);
      px[1] = to_byte(yv + (-k.cb_g * u - k.cr_g * v));
      px[2] = to_byte(yv + k.cb_b * u);
    }
  }
}

// Whether every buffer the kernel touches lies in device memory the double handed out.
std::string buffer_problem(Kernel kernel, const Args& a, const uint8_t* table) {
  const int bps = kernel == Kernel::P016Formula ? 2 : 1;
  const auto span = [](int pitch, int row_bytes, int rows) {
    return rows <= 0 ? size_t(0) : size_t(pitch) * size_t(rows - 1) + size_t(row_bytes);
  };
  const int chroma_bytes = ((a.width + 1) & ~1) * bps;
  struct Check {
    const void* p;
    size_t bytes;
    const char* what;
  } checks[] = {{a.luma, span(a.luma_pitch, a.width * bps, a.height), "luma"},
                {a.chroma, span(a.chroma_pitch, chroma_bytes, (a.height + 1) / 2), "chroma"},
                {a.rgb, span(a.rgb_pitch, a.width * 3, a.height), "rgb"},
                {table, kernel == Kernel::Nv12Table ? size_t(256) * 256 * 256 * 3 : 0, "table"}};
  for (const Check& c : checks)
    if (c.bytes &&
        !cudadouble::device_span_ok(CUdeviceptr(reinterpret_cast<uintptr_t>(c.p)), c.bytes))
      return std::string(c.what) + " buffer " + cudadouble::hex(reinterpret_cast<uintptr_t>(c.p)) +
             " + " + std::to_string(c.bytes) + " bytes is outside device memory";
  return "";
}

template <typename T>
T arg(void** params, int i) {
  T value;
  std::memcpy(&value, params[i], sizeof(T));
  return value;
}

// nv12_resize_plane's parameters, in its order.
struct ResizeArgs {
  const uint8_t* src;
  int src_pitch, src_w, src_h;
  uint8_t* dst;
  int dst_pitch, dst_w, dst_h, channels;
};

int clamp_index(int i, int n) {
  return i < 0 ? 0 : (i >= n ? n - 1 : i);
}

// One GPU thread of nv12_resize_plane: output sample (x, y), the kernel's arithmetic in the
// same float operations.
void run_resize_thread(const ResizeArgs& a, int x, int y) {
  if (x >= a.dst_w || y >= a.dst_h) return;
  const float sx = float(a.src_w) / a.dst_w, sy = float(a.src_h) / a.dst_h;
  const float cx = (x + 0.5f) * sx - 0.5f, cy = (y + 0.5f) * sy - 0.5f;
  const float rx = std::fmax(1.0f, sx), ry = std::fmax(1.0f, sy);
  const int x0 = int(std::floor(cx - rx)) + 1, x1 = int(std::floor(cx + rx));
  const int y0 = int(std::floor(cy - ry)) + 1, y1 = int(std::floor(cy + ry));
  float sum[2] = {0.0f, 0.0f};
  float total = 0.0f;
  for (int j = y0; j <= y1; ++j) {
    const float wy = std::fmax(0.0f, 1.0f - std::fabs(j - cy) / ry);
    if (wy == 0.0f) continue;
    const uint8_t* row = a.src + size_t(clamp_index(j, a.src_h)) * size_t(a.src_pitch);
    for (int i = x0; i <= x1; ++i) {
      const float w = wy * std::fmax(0.0f, 1.0f - std::fabs(i - cx) / rx);
      if (w == 0.0f) continue;
      const int at = clamp_index(i, a.src_w) * a.channels;
      for (int c = 0; c < a.channels; ++c) sum[c] += w * row[at + c];
      total += w;
    }
  }
  uint8_t* out = a.dst + size_t(y) * size_t(a.dst_pitch) + size_t(x) * size_t(a.channels);
  for (int c = 0; c < a.channels; ++c)
    out[c] = uint8_t(std::fmin(std::fmax(std::nearbyint(sum[c] / total), 0.0f), 255.0f));
}

std::string resize_problem(const ResizeArgs& a) {
  if (a.channels < 1 || a.channels > 2 || a.src_w < 1 || a.src_h < 1 || a.dst_w < 1 || a.dst_h < 1)
    return "nv12_resize_plane: bad sizes or channels";
  const auto span = [](int pitch, int row_bytes, int rows) {
    return size_t(pitch) * size_t(rows - 1) + size_t(row_bytes);
  };
  if (!cudadouble::device_span_ok(CUdeviceptr(reinterpret_cast<uintptr_t>(a.src)),
                                  span(a.src_pitch, a.src_w * a.channels, a.src_h)))
    return "source plane " + cudadouble::hex(reinterpret_cast<uintptr_t>(a.src)) +
           " is outside device memory";
  if (!cudadouble::device_span_ok(CUdeviceptr(reinterpret_cast<uintptr_t>(a.dst)),
                                  span(a.dst_pitch, a.dst_w * a.channels, a.dst_h)))
    return "destination plane " + cudadouble::hex(reinterpret_cast<uintptr_t>(a.dst)) +
           " is outside device memory";
  return "";
}

}  // namespace

CUDA_DOUBLE_EXPORT CUresult cuModuleLoadData(CUmodule* module, const void* image) {
  const std::string call = "cuModuleLoadData";
  if (!module || !image) return finish(call, 1);
  if (const int err = cudadouble::require_context(call)) return finish(call, err);
  const std::string text = static_cast<const char*>(image);
  if (text.find(".entry") == std::string::npos) return finish(call, cudadouble::kInvalidImage);
  Modules& m = modules();
  std::lock_guard<std::mutex> lock(m.mutex);
  *module = reinterpret_cast<CUmodule>(0x30d0000u + 0x10u * m.next++);
  m.ptx[*module] = text;
  return finish(call + " module=" + cudadouble::hex(reinterpret_cast<uintptr_t>(*module)), 0);
}

CUDA_DOUBLE_EXPORT CUresult cuModuleUnload(CUmodule module) {
  const std::string call =
      "cuModuleUnload module=" + cudadouble::hex(reinterpret_cast<uintptr_t>(module));
  if (const int err = cudadouble::require_context(call)) return finish(call, err);
  Modules& m = modules();
  {
    std::lock_guard<std::mutex> lock(m.mutex);
    if (m.ptx.erase(module)) {
      for (auto it = m.functions.begin(); it != m.functions.end();)
        it = it->second.module == module ? m.functions.erase(it) : std::next(it);
      module = nullptr;
    }
  }
  return module ? misuse(call, "unknown or unloaded module", cudadouble::kInvalidHandle)
                : finish(call, 0);
}

CUDA_DOUBLE_EXPORT CUresult cuModuleGetFunction(CUfunction* function, CUmodule module,
                                                const char* name) {
  const std::string call = std::string("cuModuleGetFunction ") + (name ? name : "(null)");
  if (!function || !name) return finish(call, 1);
  if (const int err = cudadouble::require_context(call)) return finish(call, err);
  Modules& m = modules();
  int code = 0;
  {
    std::lock_guard<std::mutex> lock(m.mutex);
    auto it = m.ptx.find(module);
    const auto kernel = known_kernels().find(name);
    if (it == m.ptx.end()) {
      code = cudadouble::kInvalidHandle;
    } else if (it->second.find(std::string(".entry ") + name + "(") == std::string::npos ||
               kernel == known_kernels().end()) {
      code = cudadouble::kNotFound;
    } else {
      *function = reinterpret_cast<CUfunction>(0xf0c0000u + 0x10u * m.next++);
      m.functions[*function] = Function{module, kernel->second};
    }
  }
  if (code == cudadouble::kInvalidHandle) return misuse(call, "unknown or unloaded module", code);
  return finish(call, code);
}

CUDA_DOUBLE_EXPORT CUresult cuLaunchKernel(CUfunction f, unsigned gx, unsigned gy, unsigned gz,
                                           unsigned bx, unsigned by, unsigned bz, unsigned shared,
                                           CUstream stream, void** params, void** extra) {
  std::string call = "cuLaunchKernel grid=" + std::to_string(gx) + "x" + std::to_string(gy) + "x" +
                     std::to_string(gz) + " block=" + std::to_string(bx) + "x" +
                     std::to_string(by) + "x" + std::to_string(bz);
  if (const int err = cudadouble::require_context(call)) return finish(call, err);
  if (!cudadouble::stream_ok(stream))
    return misuse(call, "unknown or destroyed stream", cudadouble::kInvalidHandle);
  Kernel kernel;
  {
    std::lock_guard<std::mutex> lock(modules().mutex);
    auto it = modules().functions.find(f);
    if (it == modules().functions.end())
      kernel = Kernel(-1);
    else
      kernel = it->second.kernel;
  }
  if (kernel == Kernel(-1))
    return misuse(call, "unknown function (module unloaded?)", cudadouble::kInvalidHandle);
  if (!params || extra || shared) return misuse(call, "expected kernelParams only", 1);
  if (bx * by * bz > 1024 || !gx || !gy || !gz || !bx || !by || !bz)
    return misuse(call, "invalid launch configuration", 1);
  if (kernel == Kernel::Nv12Resize) {
    const ResizeArgs r{arg<const uint8_t*>(params, 0),
                       arg<int>(params, 1),
                       arg<int>(params, 2),
                       arg<int>(params, 3),
                       arg<uint8_t*>(params, 4),
                       arg<int>(params, 5),
                       arg<int>(params, 6),
                       arg<int>(params, 7),
                       arg<int>(params, 8)};
    call += " resize " + std::to_string(r.src_w) + "x" + std::to_string(r.src_h) + "->" +
            std::to_string(r.dst_w) + "x" + std::to_string(r.dst_h);
    const std::string problem = resize_problem(r);
    if (!problem.empty()) return misuse(call, problem, cudadouble::kLaunchFailed);
    for (unsigned y = 0; y < gy * by; ++y)
      for (unsigned x = 0; x < gx * bx; ++x) run_resize_thread(r, int(x), int(y));
    return finish(call, 0);
  }
  const Args a{arg<const uint8_t*>(params, 0),
               arg<int>(params, 1),
               arg<const uint8_t*>(params, 2),
               arg<int>(params, 3),
               arg<uint8_t*>(params, 4),
               arg<int>(params, 5),
               arg<int>(params, 6),
               arg<int>(params, 7)};
  Coefficients k{};
  const uint8_t* table = nullptr;
  if (kernel == Kernel::Nv12Table)
    table = arg<const uint8_t*>(params, 8);
  else
    k = arg<Coefficients>(params, 8);
  call += " " + std::to_string(a.width) + "x" + std::to_string(a.height);
  const std::string problem = buffer_problem(kernel, a, table);
  if (!problem.empty()) return misuse(call, problem, cudadouble::kLaunchFailed);
  for (unsigned z = 0; z < gz * bz; ++z)
    for (unsigned y = 0; y < gy * by; ++y)
      for (unsigned x = 0; x < gx * bx; ++x) run_thread(kernel, a, k, table, int(x), int(y));
  return finish(call, 0);
}
