// GPU check of the NVDEC adapter against libavcodec's decode (vectors from
// make_vectors.sh, gunzipped): every vector in every output mode, frame by frame.
//   NATIVE_SURFACE: NV12 bit-exact against libavcodec's yuv420p interleaved to NV12.
//   CPU_RGB: against libswscale's RGB24, max |diff| <= kRgbTolerance per channel.
//   METADATA_ONLY: frame count and sizes; no frame mapped.
// Plus: chunking down to 1 byte, pts, flush-and-continue, pool reuse, corrupt and garbage
// input, low latency. Prints one line per check and a summary; exits 1 on any failure,
// 2 when NVDEC is unavailable (the reason is printed).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "contract/errors.hpp"
#include "nv_session/nvdec/nvdec_decoder.hpp"
#include "nv_session/nvdec/nvdec_device.hpp"
#include "nv_session/nvdec/nvdec_provider.hpp"

using namespace videohw;
using namespace videohw::nv_session;

namespace {

constexpr int kRgbTolerance = 3;
int g_failed = 0, g_passed = 0;

void report(bool ok, const std::string& name, const std::string& detail) {
  (ok ? g_passed : g_failed)++;
  std::printf("%s %-44s %s\n", ok ? "PASS" : "FAIL", name.c_str(), detail.c_str());
  std::fflush(stdout);
}

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

struct Vector {
  std::string name;
  Codec codec;
  std::vector<uint8_t> stream, nv12, rgb;
  std::vector<std::pair<int, int>> sizes;
};

Vector load(const std::string& dir, const std::string& name, const std::string& codec) {
  Vector v;
  v.name = name;
  v.codec = codec == "hevc" ? Codec::HEVC : Codec::H264;
  v.stream = read_file(dir + "/" + name + "." + codec);
  v.nv12 = read_file(dir + "/" + name + ".nv12");
  // The RGB reference is optional: the largest ones may be left behind to fit the
  // carried tree; the Python GPU tests compare RGB against the software decoder instead.
  if (std::ifstream(dir + "/" + name + ".rgb").good()) v.rgb = read_file(dir + "/" + name + ".rgb");
  std::ifstream sizes(dir + "/" + name + ".sizes");
  int w, h;
  while (sizes >> w >> h) v.sizes.push_back({w, h});
  return v;
}

struct Run {
  std::vector<DecodedFrame> frames;
  int errors = 0;
  NvdecSessionStats nv;
  DecodeStats stats;
  double seconds = 0;
};

Run decode(const Vector& v, DecodeOutputMode mode, size_t chunk, bool low_latency = false,
           bool keep = true) {
  CommonDecodeConfig config;
  config.codec = v.codec;
  config.output = mode;
  config.low_latency = low_latency;
  NvdecDecoder session(config, NvidiaDecodeConfig{});
  Run run;
  const auto start = std::chrono::steady_clock::now();
  std::vector<DecodedFrame> out;
  for (size_t at = 0; at < v.stream.size(); at += chunk) {
    try {
      session.decode(v.stream.data() + at, std::min(chunk, v.stream.size() - at), std::nullopt,
                     out);
    } catch (const Error& e) {
      ++run.errors;
    }
    if (keep) {
      for (auto& f : out) run.frames.push_back(std::move(f));
    } else {
      for (auto& f : out) run.frames.push_back(DecodedFrame{f.width, f.height});
    }
    out.clear();
  }
  session.flush(out);
  for (auto& f : out) run.frames.push_back(keep ? std::move(f) : DecodedFrame{f.width, f.height});
  out.clear();
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  run.nv = session.nvdec_stats();
  run.stats = session.stats();
  return run;
}

std::string sizes_problem(const Vector& v, const Run& r) {
  if (r.frames.size() != v.sizes.size())
    return "frames " + std::to_string(r.frames.size()) + ", expected " +
           std::to_string(v.sizes.size());
  for (size_t i = 0; i < r.frames.size(); ++i)
    if (r.frames[i].width != v.sizes[i].first || r.frames[i].height != v.sizes[i].second)
      return "frame " + std::to_string(i) + " is " + std::to_string(r.frames[i].width) + "x" +
             std::to_string(r.frames[i].height) + ", expected " + std::to_string(v.sizes[i].first) +
             "x" + std::to_string(v.sizes[i].second);
  return "";
}

std::vector<uint8_t> download_plane(const NvdecDevice& ctx, const SurfacePlane& p) {
  std::vector<uint8_t> host(static_cast<size_t>(p.width_bytes) * p.height);
  CUDA_MEMCPY2D c{};
  c.srcMemoryType = CU_MEMORYTYPE_DEVICE;
  c.srcDevice = reinterpret_cast<CUdeviceptr>(p.data);
  c.srcPitch = p.pitch;
  c.dstMemoryType = CU_MEMORYTYPE_HOST;
  c.dstHost = host.data();
  c.dstPitch = p.width_bytes;
  c.WidthInBytes = p.width_bytes;
  c.Height = p.height;
  ContextScope scope(ctx.context(), ErrorKind::Decode);
  check_cuda(ErrorKind::Decode, ctx.cuda().cuMemcpy2D(&c), "cuMemcpy2D", "downloading a plane");
  return host;
}

void check_native(const Vector& v, const NvdecDevice& ctx) {
  const Run r = decode(v, DecodeOutputMode::NativeSurface, 4096);
  std::string problem = sizes_problem(v, r);
  size_t offset = 0, mismatched = 0, first_bad = SIZE_MAX;
  for (size_t i = 0; problem.empty() && i < r.frames.size(); ++i) {
    const DecodedFrame& f = r.frames[i];
    if (!f.on_device || f.pixel_format != "nv12" || f.planes.size() != 2) {
      problem = "frame " + std::to_string(i) + " is not a device NV12 surface";
      break;
    }
    const size_t w = f.width, h = f.height, ch = (h + 1) / 2, cw = (w + 1) & ~size_t(1);
    const auto y = download_plane(ctx, f.planes[0]);
    const auto uv = download_plane(ctx, f.planes[1]);
    bool same = offset + w * h + cw * ch <= v.nv12.size() &&
                std::memcmp(y.data(), v.nv12.data() + offset, w * h) == 0;
    for (size_t row = 0; same && row < ch; ++row)
      same = std::memcmp(uv.data() + row * f.planes[1].width_bytes,
                         v.nv12.data() + offset + w * h + row * cw, cw) == 0;
    if (!same) {
      ++mismatched;
      first_bad = std::min(first_bad, i);
    }
    offset += w * h + cw * ch;
  }
  if (problem.empty() && mismatched)
    problem = std::to_string(mismatched) + " frames differ, first " + std::to_string(first_bad);
  report(problem.empty(), v.name + " native nv12 bit-exact",
         problem.empty() ? std::to_string(r.frames.size()) + " frames, decoders " +
                               std::to_string(r.nv.decoders_created) + ", reconfigures " +
                               std::to_string(r.nv.reconfigures)
                         : problem);
}

void check_rgb(const Vector& v) {
  if (v.rgb.empty()) {
    std::printf("SKIP %s rgb: no reference carried\n", v.name.c_str());
    return;
  }
  const Run r = decode(v, DecodeOutputMode::CpuRgb, 4096);
  std::string problem = sizes_problem(v, r);
  size_t offset = 0;
  int max_diff = 0;
  double sum = 0;
  size_t count = 0, over = 0, exact = 0;
  for (size_t i = 0; problem.empty() && i < r.frames.size(); ++i) {
    const DecodedFrame& f = r.frames[i];
    const size_t bytes = size_t(f.width) * f.height * 3;
    if (f.on_device || f.planes.size() != 1 || offset + bytes > v.rgb.size()) {
      problem = "frame " + std::to_string(i) + " is not a host RGB24 frame of the right size";
      break;
    }
    const uint8_t* got = f.planes[0].data;
    const uint8_t* want = v.rgb.data() + offset;
    for (size_t k = 0; k < bytes; ++k) {
      const int d = std::abs(int(got[k]) - int(want[k]));
      max_diff = std::max(max_diff, d);
      sum += d;
      over += d > kRgbTolerance;
      exact += d == 0;
    }
    count += bytes;
    offset += bytes;
  }
  if (problem.empty() && max_diff > kRgbTolerance)
    problem = "max |diff| " + std::to_string(max_diff) + " > " + std::to_string(kRgbTolerance) +
              " in " + std::to_string(over) + " samples";
  char detail[160];
  std::snprintf(detail, sizeof(detail), "max |diff| %d, mean %.4f, exact %.2f%%", max_diff,
                count ? sum / count : 0.0, count ? 100.0 * exact / count : 0.0);
  report(problem.empty(), v.name + " rgb within " + std::to_string(kRgbTolerance),
         problem.empty() ? detail : problem + " (" + detail + ")");
}

void check_metadata(const Vector& v) {
  const Run r = decode(v, DecodeOutputMode::MetadataOnly, 4096);
  std::string problem = sizes_problem(v, r);
  if (problem.empty() && r.nv.frames_mapped != 0)
    problem = std::to_string(r.nv.frames_mapped) + " frames were mapped";
  for (const auto& f : r.frames)
    if (problem.empty() && (!f.planes.empty() || f.owner)) problem = "a frame carries pixels";
  if (problem.empty() && (r.frames.empty() || !r.frames[0].is_keyframe))
    problem = "first frame not flagged as keyframe";
  report(problem.empty(), v.name + " metadata", problem.empty() ? "ok" : problem);
}

void check_chunking(const Vector& v) {
  std::string problem;
  for (size_t chunk : {size_t(1), size_t(7), size_t(1000), v.stream.size()}) {
    const Run r = decode(v, DecodeOutputMode::MetadataOnly, chunk);
    const std::string p = sizes_problem(v, r);
    if (!p.empty() && problem.empty()) problem = "chunk " + std::to_string(chunk) + ": " + p;
  }
  report(problem.empty(), v.name + " chunking 1/7/1000/all", problem.empty() ? "ok" : problem);
}

void check_low_latency(const Vector& v) {
  const Run r = decode(v, DecodeOutputMode::MetadataOnly, 4096, true);
  const std::string p = sizes_problem(v, r);
  report(p.empty(), v.name + " low latency (chunked)", p.empty() ? "ok" : p);
}

void check_pool_reuse(const Vector& v) {
  const Run r = decode(v, DecodeOutputMode::NativeSurface, 4096, false, false);
  // Frames dropped as they come back: buffers are reused, so allocations stay at the few
  // frames one call hands out together (a flush hands out the display queue) per size.
  std::vector<std::pair<int, int>> sizes = v.sizes;
  std::sort(sizes.begin(), sizes.end());
  const auto distinct = std::unique(sizes.begin(), sizes.end()) - sizes.begin();
  const bool ok = r.nv.pool.allocations <= 6 * distinct && r.nv.pool.outstanding == 0 &&
                  r.nv.pool.reuses + r.nv.pool.allocations == int64_t(v.sizes.size());
  report(ok, v.name + " pool reuse (frames dropped at once)",
         "allocations " + std::to_string(r.nv.pool.allocations) + ", reuses " +
             std::to_string(r.nv.pool.reuses) + ", outstanding " +
             std::to_string(r.nv.pool.outstanding));
}

void check_pts_and_flush(const Vector& v) {
  // Push whole stream chunks with pts on the first; flush twice; then the whole stream again:
  // the session must decode it again in full after a flush.
  CommonDecodeConfig config;
  config.codec = v.codec;
  NvdecDecoder session(config, NvidiaDecodeConfig{});
  std::vector<DecodedFrame> out;
  session.decode(v.stream.data(), v.stream.size(), 1234, out);
  session.flush(out);
  const size_t first = out.size();
  std::vector<DecodedFrame> empty;
  session.flush(empty);
  session.decode(v.stream.data(), v.stream.size(), std::nullopt, out);
  session.flush(out);
  const bool pts_ok = !out.empty() && out[0].pts && *out[0].pts == 1234;
  const bool ok =
      first == v.sizes.size() && out.size() == 2 * v.sizes.size() && empty.empty() && pts_ok;
  report(ok, v.name + " pts + flush keeps session alive",
         "first pass " + std::to_string(first) + ", both " + std::to_string(out.size()) +
             ", empty flush " + std::to_string(empty.size()) + ", pts " +
             (out.empty() || !out[0].pts ? "none" : std::to_string(*out[0].pts)));
}

void check_corrupt(const Vector& v) {
  std::mt19937 rng(7);
  std::vector<uint8_t> bad = v.stream;
  for (size_t i = bad.size() / 4; i < bad.size() / 2; i += 97) bad[i] ^= uint8_t(rng() | 1);
  Vector corrupt = v;
  corrupt.stream = bad;
  const Run r = decode(corrupt, DecodeOutputMode::NativeSurface, 4096);
  int damaged = 0;
  for (const auto& f : r.frames) damaged += f.damaged;
  Vector garbage = v;
  garbage.stream.resize(200000);
  for (auto& b : garbage.stream) b = uint8_t(rng());
  const Run g = decode(garbage, DecodeOutputMode::CpuRgb, 4096);
  // Then the clean stream in a fresh session decodes in full: nothing leaked into the device.
  const Run clean = decode(v, DecodeOutputMode::MetadataOnly, 4096);
  const bool ok = sizes_problem(v, clean).empty() && r.frames.size() > 0;
  report(ok, v.name + " corrupt / garbage input, no crash",
         "corrupt: " + std::to_string(r.frames.size()) + " frames, " + std::to_string(damaged) +
             " damaged, " + std::to_string(r.errors) + " errors; garbage: " +
             std::to_string(g.frames.size()) + " frames, " + std::to_string(g.errors) + " errors");
}

void timing(const Vector& v) {
  for (auto mode : {DecodeOutputMode::MetadataOnly, DecodeOutputMode::NativeSurface,
                    DecodeOutputMode::CpuRgb}) {
    const Run r = decode(v, mode, 1 << 20, false, false);
    std::printf("INFO %-44s %s: %zu frames in %.1f ms (%.0f fps, session creation included)\n",
                v.name.c_str(), to_string(mode), r.frames.size(), r.seconds * 1e3,
                r.frames.size() / r.seconds);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: nvdec_check VECTORS_DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  const std::string reason = nvidia_decode_unavailable_reason();
  if (!reason.empty()) {
    std::printf("NVDEC unavailable: %s\n", reason.c_str());
    return 2;
  }
  try {
    auto ctx = NvdecDevice::open(0);
    std::printf("device: %s\n", ctx->device_name().c_str());
    std::ifstream manifest(dir + "/manifest.txt");
    std::string name, codec;
    std::vector<Vector> vectors;
    while (manifest >> name >> codec) vectors.push_back(load(dir, name, codec));
    for (const Vector& v : vectors) {
      const auto guarded = [&](const char* what, const std::function<void()>& fn) {
        try {
          fn();
        } catch (const std::exception& e) {
          report(false, v.name + " " + what, std::string("threw: ") + e.what());
        }
      };
      guarded("metadata", [&] { check_metadata(v); });
      guarded("native", [&] { check_native(v, *ctx); });
      guarded("rgb", [&] { check_rgb(v); });
      guarded("chunking", [&] { check_chunking(v); });
      guarded("low latency", [&] { check_low_latency(v); });
      guarded("pool", [&] { check_pool_reuse(v); });
      guarded("pts/flush", [&] { check_pts_and_flush(v); });
      guarded("corrupt", [&] { check_corrupt(v); });
    }
    for (const Vector& v : vectors)
      if (v.name.find("1920x1080") != std::string::npos) timing(v);
  } catch (const std::exception& e) {
    report(false, "setup", e.what());
  }
  std::printf("SUMMARY: %d passed, %d failed\n", g_passed, g_failed);
  return g_failed ? 1 : 0;
}
