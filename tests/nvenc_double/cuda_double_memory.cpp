// Device memory of the CUDA double: host memory whose address is the CUdeviceptr, so a
// test reads "device" pixels directly, and a table of what was handed out, so every copy
// and free is checked against it. Streams and events are tokens: work runs when it is
// submitted, so a synchronize has nothing left to wait for and an event is complete once
// recorded.
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <vector>

#include "cuda_double_internal.hpp"
#include "cuda_double_surfaces.h"

#define CUDA_DOUBLE_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

enum class Kind { Device, PinnedHost, Surface };

const char* kind_name(Kind kind) {
  switch (kind) {
    case Kind::Device:
      return "device allocation";
    case Kind::PinnedHost:
      return "page-locked host allocation";
    case Kind::Surface:
      return "mapped decoder surface";
  }
  return "?";
}

struct Range {
  size_t bytes = 0;
  Kind kind = Kind::Device;
};

struct Memory {
  std::mutex mutex;
  std::map<uintptr_t, Range> ranges;  // by base address
  std::set<CUstream> streams;
  uintptr_t next_stream = 1;
  std::set<CUevent> events;
  uintptr_t next_event = 1;
  std::vector<std::string> violations;
  std::string snapshot;
};

Memory& memory() {
  static Memory* m = new Memory();  // outlives static teardown: frames may be freed late
  return *m;
}

// The range holding [p, p + bytes), or nullptr.
const Range* containing(Memory& m, uintptr_t p, size_t bytes) {
  auto it = m.ranges.upper_bound(p);
  if (it == m.ranges.begin()) return nullptr;
  --it;
  if (p + bytes > it->first + it->second.bytes) return nullptr;
  return &it->second;
}

constexpr int kInvalidValue = 1;

CUresult finish(const std::string& call, int code) {
  const char* name = code == 0 ? "CUDA_SUCCESS" : cudadouble::extra_error_name(code);
  cudadouble::log_call(call + " -> " + (name ? name : std::to_string(code)));
  return CUresult(code);
}

CUresult misuse(const std::string& call, const std::string& why, int code) {
  cudadouble::add_violation(call + ": " + why);
  return finish(call, code);
}

size_t span(size_t pitch, size_t width, size_t height) {
  return height == 0 ? 0 : pitch * (height - 1) + width;
}

void* allocate(size_t bytes, Kind kind) {
  void* p = std::aligned_alloc(256, (bytes + 255) / 256 * 256);
  if (!p) return nullptr;
  // Fresh device memory is not zero on a GPU either: a pattern shows what was never written.
  std::memset(p, 0xcd, bytes);
  std::lock_guard<std::mutex> lock(memory().mutex);
  memory().ranges[reinterpret_cast<uintptr_t>(p)] = Range{bytes, kind};
  return p;
}

// "" when `p` is the start of a live allocation of `kind`, else why not.
std::string release(uintptr_t p, Kind kind) {
  Memory& m = memory();
  std::lock_guard<std::mutex> lock(m.mutex);
  auto it = m.ranges.find(p);
  if (it == m.ranges.end()) return "not the start of a live allocation (double free?)";
  if (it->second.kind != kind)
    return std::string("a ") + kind_name(it->second.kind) + ", freed as a " + kind_name(kind);
  m.ranges.erase(it);
  std::free(reinterpret_cast<void*>(p));
  return "";
}

// One side of a copy: device memory must lie inside what the double handed out.
std::string side_problem(CUmemorytype type, uintptr_t p, size_t bytes, const char* side) {
  if (type == CU_MEMORYTYPE_HOST)
    return p || !bytes ? "" : std::string(side) + " host pointer is null";
  if (type != CU_MEMORYTYPE_DEVICE)
    return std::string(side) + " memory type " + std::to_string(int(type)) + " is not emulated";
  if (cudadouble::device_span_ok(p, bytes)) return "";
  return std::string(side) + " " + cudadouble::hex(p) + " + " + std::to_string(bytes) +
         " bytes is outside every allocation and mapped surface";
}

// `stream_copy`: an Async variant, which the "copy_async" fault fails.
CUresult copy_2d(const std::string& name, const CUDA_MEMCPY2D* c, CUstream stream,
                 bool stream_copy) {
  if (!c) return finish(name, kInvalidValue);
  const std::string call =
      name + " " + std::to_string(c->WidthInBytes) + "x" + std::to_string(c->Height);
  if (const int err = cudadouble::require_context(call)) return finish(call, err);
  if (!cudadouble::stream_ok(stream))
    return misuse(call, "unknown or destroyed stream", cudadouble::kInvalidHandle);
  if (c->srcXInBytes || c->srcY || c->dstXInBytes || c->dstY)
    return misuse(call, "offsets (srcXInBytes/srcY/dstXInBytes/dstY) are not emulated",
                  cudadouble::kNotSupported);
  if (c->WidthInBytes > c->srcPitch || c->WidthInBytes > c->dstPitch)
    return misuse(call, "WidthInBytes exceeds a pitch", kInvalidValue);
  if (stream_copy && cudadouble::should_fail("copy_async"))
    return finish(call, cudadouble::kLaunchFailed);
  const uintptr_t src = c->srcMemoryType == CU_MEMORYTYPE_HOST
                            ? reinterpret_cast<uintptr_t>(c->srcHost)
                            : uintptr_t(c->srcDevice);
  const uintptr_t dst = c->dstMemoryType == CU_MEMORYTYPE_HOST
                            ? reinterpret_cast<uintptr_t>(c->dstHost)
                            : uintptr_t(c->dstDevice);
  for (const std::string& problem :
       {side_problem(c->srcMemoryType, src, span(c->srcPitch, c->WidthInBytes, c->Height),
                     "source"),
        side_problem(c->dstMemoryType, dst, span(c->dstPitch, c->WidthInBytes, c->Height),
                     "destination")})
    if (!problem.empty()) return misuse(call, problem, kInvalidValue);
  for (size_t row = 0; row < c->Height; ++row)
    std::memmove(reinterpret_cast<void*>(dst + row * c->dstPitch),
                 reinterpret_cast<const void*>(src + row * c->srcPitch), c->WidthInBytes);
  return finish(call, 0);
}

CUresult device_to_host(const std::string& name, void* dst, CUdeviceptr src, size_t bytes,
                        CUstream stream, bool stream_copy) {
  const std::string call = name + " " + std::to_string(bytes) + " bytes";
  if (const int err = cudadouble::require_context(call)) return finish(call, err);
  if (!cudadouble::stream_ok(stream))
    return misuse(call, "unknown or destroyed stream", cudadouble::kInvalidHandle);
  const std::string problem = side_problem(CU_MEMORYTYPE_DEVICE, uintptr_t(src), bytes, "source");
  if (!problem.empty()) return misuse(call, problem, kInvalidValue);
  if (!dst && bytes) return misuse(call, "destination host pointer is null", kInvalidValue);
  if (stream_copy && cudadouble::should_fail("copy_async"))
    return finish(call, cudadouble::kLaunchFailed);
  std::memmove(dst, reinterpret_cast<const void*>(uintptr_t(src)), bytes);
  return finish(call, 0);
}

bool event_ok(CUevent event) {
  std::lock_guard<std::mutex> lock(memory().mutex);
  return memory().events.count(event) > 0;
}

// Both report the "event_sync" fault as CUDA_ERROR_LAUNCH_FAILED: how a failure of the work
// queued before the event reaches the client on a GPU.
CUresult wait_for(const std::string& name, CUevent event) {
  const std::string call = name + " event=" + cudadouble::hex(reinterpret_cast<uintptr_t>(event));
  if (const int err = cudadouble::require_context(call)) return finish(call, err);
  if (!event_ok(event))
    return misuse(call, "unknown or destroyed event", cudadouble::kInvalidHandle);
  if (cudadouble::should_fail("event_sync")) return finish(call, cudadouble::kLaunchFailed);
  return finish(call, 0);
}

}  // namespace

namespace cudadouble {

void add_violation(const std::string& line) {
  std::lock_guard<std::mutex> lock(memory().mutex);
  memory().violations.push_back(line);
}

void reset_rules() {
  std::lock_guard<std::mutex> lock(memory().mutex);
  memory().violations.clear();
}

const char* extra_error_name(int code) {
  switch (code) {
    case 1:
      return "CUDA_ERROR_INVALID_VALUE";
    case kOutOfMemory:
      return "CUDA_ERROR_OUT_OF_MEMORY";
    case kInvalidImage:
      return "CUDA_ERROR_INVALID_IMAGE";
    case kInvalidContext:
      return "CUDA_ERROR_INVALID_CONTEXT";
    case kMapFailed:
      return "CUDA_ERROR_MAP_FAILED";
    case kInvalidHandle:
      return "CUDA_ERROR_INVALID_HANDLE";
    case kNotFound:
      return "CUDA_ERROR_NOT_FOUND";
    case kLaunchFailed:
      return "CUDA_ERROR_LAUNCH_FAILED";
    case kNotSupported:
      return "CUDA_ERROR_NOT_SUPPORTED";
    case 999:
      return "CUDA_ERROR_UNKNOWN";
    default:
      return nullptr;
  }
}

const char* extra_error_text(int code) {
  switch (code) {
    case kOutOfMemory:
      return "out of memory";
    case kInvalidImage:
      return "device kernel image is invalid";
    case kMapFailed:
      return "mapping of buffer object failed";
    case kInvalidHandle:
      return "invalid resource handle";
    case kNotFound:
      return "named symbol not found";
    case kLaunchFailed:
      return "unspecified launch failure";
    case kNotSupported:
      return "operation not supported";
    case 999:
      return "unknown error";
    default:
      return nullptr;
  }
}

bool device_span_ok(CUdeviceptr p, size_t bytes) {
  Memory& m = memory();
  std::lock_guard<std::mutex> lock(m.mutex);
  const Range* range = containing(m, uintptr_t(p), bytes);
  return range && range->kind != Kind::PinnedHost;
}

int require_context(const std::string& call) {
  if (current_context()) return 0;
  add_violation(call + " without a current context");
  return kInvalidContext;
}

bool stream_ok(CUstream stream) {
  if (!stream) return true;  // the legacy default stream
  std::lock_guard<std::mutex> lock(memory().mutex);
  return memory().streams.count(stream) > 0;
}

std::string hex(unsigned long long value) {
  char text[24];
  std::snprintf(text, sizeof(text), "0x%llx", value);
  return text;
}

}  // namespace cudadouble

CUDA_DOUBLE_EXPORT CUresult cuMemAlloc_v2(CUdeviceptr* dptr, size_t bytes) {
  const std::string call = "cuMemAlloc_v2 " + std::to_string(bytes) + " bytes";
  if (!dptr || !bytes) return finish(call, kInvalidValue);
  if (const int err = cudadouble::require_context(call)) return finish(call, err);
  void* p = allocate(bytes, Kind::Device);
  if (!p) return finish(call, cudadouble::kOutOfMemory);
  *dptr = CUdeviceptr(reinterpret_cast<uintptr_t>(p));
  return finish(call + " ptr=" + cudadouble::hex(*dptr), 0);
}

// The pitch is the row rounded up to 512 bytes, the alignment real devices report, so a
// client that assumes pitch == width is caught.
CUDA_DOUBLE_EXPORT CUresult cuMemAllocPitch_v2(CUdeviceptr* dptr, size_t* pitch, size_t width,
                                               size_t height, unsigned int element_bytes) {
  const std::string call = "cuMemAllocPitch_v2 " + std::to_string(width) + "x" +
                           std::to_string(height) + " element=" + std::to_string(element_bytes);
  if (!dptr || !pitch || !width || !height ||
      (element_bytes != 4 && element_bytes != 8 && element_bytes != 16))
    return finish(call, kInvalidValue);
  if (const int err = cudadouble::require_context(call)) return finish(call, err);
  const size_t row = (width + 511) / 512 * 512;
  void* p = allocate(row * height, Kind::Device);
  if (!p) return finish(call, cudadouble::kOutOfMemory);
  *dptr = CUdeviceptr(reinterpret_cast<uintptr_t>(p));
  *pitch = row;
  return finish(call + " ptr=" + cudadouble::hex(*dptr) + " pitch=" + std::to_string(row), 0);
}

CUDA_DOUBLE_EXPORT CUresult cuMemFree_v2(CUdeviceptr dptr) {
  const std::string call = "cuMemFree_v2 ptr=" + cudadouble::hex(dptr);
  if (const int err = cudadouble::require_context(call)) return finish(call, err);
  const std::string problem = release(uintptr_t(dptr), Kind::Device);
  return problem.empty() ? finish(call, 0) : misuse(call, problem, kInvalidValue);
}

CUDA_DOUBLE_EXPORT CUresult cuMemAllocHost_v2(void** pp, size_t bytes) {
  const std::string call = "cuMemAllocHost_v2 " + std::to_string(bytes) + " bytes";
  if (!pp || !bytes) return finish(call, kInvalidValue);
  if (const int err = cudadouble::require_context(call)) return finish(call, err);
  *pp = allocate(bytes, Kind::PinnedHost);
  return *pp ? finish(call, 0) : finish(call, cudadouble::kOutOfMemory);
}

CUDA_DOUBLE_EXPORT CUresult cuMemFreeHost(void* p) {
  const std::string call = "cuMemFreeHost ptr=" + cudadouble::hex(reinterpret_cast<uintptr_t>(p));
  if (const int err = cudadouble::require_context(call)) return finish(call, err);
  const std::string problem = release(reinterpret_cast<uintptr_t>(p), Kind::PinnedHost);
  return problem.empty() ? finish(call, 0) : misuse(call, problem, kInvalidValue);
}

CUDA_DOUBLE_EXPORT CUresult cuMemcpy2D_v2(const CUDA_MEMCPY2D* copy) {
  return copy_2d("cuMemcpy2D_v2", copy, nullptr, false);
}

CUDA_DOUBLE_EXPORT CUresult cuMemcpy2DAsync_v2(const CUDA_MEMCPY2D* copy, CUstream stream) {
  return copy_2d("cuMemcpy2DAsync_v2", copy, stream, true);
}

CUDA_DOUBLE_EXPORT CUresult cuMemcpyDtoH_v2(void* dst, CUdeviceptr src, size_t bytes) {
  return device_to_host("cuMemcpyDtoH_v2", dst, src, bytes, nullptr, false);
}

CUDA_DOUBLE_EXPORT CUresult cuMemcpyDtoHAsync_v2(void* dst, CUdeviceptr src, size_t bytes,
                                                 CUstream stream) {
  return device_to_host("cuMemcpyDtoHAsync_v2", dst, src, bytes, stream, true);
}

CUDA_DOUBLE_EXPORT CUresult cuMemcpyHtoD_v2(CUdeviceptr dst, const void* src, size_t bytes) {
  const std::string call = "cuMemcpyHtoD_v2 " + std::to_string(bytes) + " bytes";
  if (const int err = cudadouble::require_context(call)) return finish(call, err);
  const std::string problem =
      side_problem(CU_MEMORYTYPE_DEVICE, uintptr_t(dst), bytes, "destination");
  if (!problem.empty()) return misuse(call, problem, kInvalidValue);
  if (!src && bytes) return misuse(call, "source host pointer is null", kInvalidValue);
  std::memmove(reinterpret_cast<void*>(uintptr_t(dst)), src, bytes);
  return finish(call, 0);
}

CUDA_DOUBLE_EXPORT CUresult cuStreamCreate(CUstream* stream, unsigned int flags) {
  const std::string call = "cuStreamCreate flags=" + std::to_string(flags);
  if (!stream) return finish(call, kInvalidValue);
  if (const int err = cudadouble::require_context(call)) return finish(call, err);
  Memory& m = memory();
  {
    std::lock_guard<std::mutex> lock(m.mutex);
    *stream = reinterpret_cast<CUstream>(0x57e0000u + 0x10u * m.next_stream++);
    m.streams.insert(*stream);
  }
  return finish(call + " stream=" + cudadouble::hex(reinterpret_cast<uintptr_t>(*stream)), 0);
}

CUDA_DOUBLE_EXPORT CUresult cuStreamSynchronize(CUstream stream) {
  const std::string call =
      "cuStreamSynchronize stream=" + cudadouble::hex(reinterpret_cast<uintptr_t>(stream));
  if (const int err = cudadouble::require_context(call)) return finish(call, err);
  if (!cudadouble::stream_ok(stream))
    return misuse(call, "unknown or destroyed stream", cudadouble::kInvalidHandle);
  return finish(call, 0);
}

CUDA_DOUBLE_EXPORT CUresult cuStreamDestroy_v2(CUstream stream) {
  const std::string call =
      "cuStreamDestroy_v2 stream=" + cudadouble::hex(reinterpret_cast<uintptr_t>(stream));
  if (const int err = cudadouble::require_context(call)) return finish(call, err);
  bool erased;
  {
    std::lock_guard<std::mutex> lock(memory().mutex);
    erased = stream && memory().streams.erase(stream) > 0;
  }
  return erased ? finish(call, 0)
                : misuse(call, "unknown or destroyed stream", cudadouble::kInvalidHandle);
}

CUDA_DOUBLE_EXPORT CUresult cuEventCreate(CUevent* event, unsigned int flags) {
  const std::string call = "cuEventCreate flags=" + std::to_string(flags);
  if (!event) return finish(call, kInvalidValue);
  if (const int err = cudadouble::require_context(call)) return finish(call, err);
  Memory& m = memory();
  {
    std::lock_guard<std::mutex> lock(m.mutex);
    *event = reinterpret_cast<CUevent>(0xe7e0000u + 0x10u * m.next_event++);
    m.events.insert(*event);
  }
  return finish(call + " event=" + cudadouble::hex(reinterpret_cast<uintptr_t>(*event)), 0);
}

CUDA_DOUBLE_EXPORT CUresult cuEventRecord(CUevent event, CUstream stream) {
  const std::string call =
      "cuEventRecord event=" + cudadouble::hex(reinterpret_cast<uintptr_t>(event)) +
      " stream=" + cudadouble::hex(reinterpret_cast<uintptr_t>(stream));
  if (const int err = cudadouble::require_context(call)) return finish(call, err);
  if (!event_ok(event))
    return misuse(call, "unknown or destroyed event", cudadouble::kInvalidHandle);
  if (!cudadouble::stream_ok(stream))
    return misuse(call, "unknown or destroyed stream", cudadouble::kInvalidHandle);
  if (cudadouble::should_fail("event_record")) return finish(call, cudadouble::kLaunchFailed);
  return finish(call, 0);
}

CUDA_DOUBLE_EXPORT CUresult cuEventQuery(CUevent event) {
  return wait_for("cuEventQuery", event);
}

CUDA_DOUBLE_EXPORT CUresult cuEventSynchronize(CUevent event) {
  return wait_for("cuEventSynchronize", event);
}

CUDA_DOUBLE_EXPORT CUresult cuEventDestroy_v2(CUevent event) {
  const std::string call =
      "cuEventDestroy_v2 event=" + cudadouble::hex(reinterpret_cast<uintptr_t>(event));
  if (const int err = cudadouble::require_context(call)) return finish(call, err);
  bool erased;
  {
    std::lock_guard<std::mutex> lock(memory().mutex);
    erased = memory().events.erase(event) > 0;
  }
  return erased ? finish(call, 0)
                : misuse(call, "unknown or destroyed event", cudadouble::kInvalidHandle);
}

CUDA_DOUBLE_EXPORT int videohw_cuda_double_live_events(void) {
  std::lock_guard<std::mutex> lock(memory().mutex);
  return int(memory().events.size());
}

CUDA_DOUBLE_EXPORT void videohw_cuda_double_expose_surface(const void* base, size_t bytes) {
  std::lock_guard<std::mutex> lock(memory().mutex);
  memory().ranges[reinterpret_cast<uintptr_t>(base)] = Range{bytes, Kind::Surface};
}

CUDA_DOUBLE_EXPORT void videohw_cuda_double_withdraw_surface(const void* base) {
  std::lock_guard<std::mutex> lock(memory().mutex);
  memory().ranges.erase(reinterpret_cast<uintptr_t>(base));
}

CUDA_DOUBLE_EXPORT const char* videohw_cuda_double_violations(void) {
  Memory& m = memory();
  std::lock_guard<std::mutex> lock(m.mutex);
  m.snapshot.clear();
  for (const auto& line : m.violations) m.snapshot += line + "\n";
  return m.snapshot.c_str();
}

CUDA_DOUBLE_EXPORT int videohw_cuda_double_live_allocations(void) {
  Memory& m = memory();
  std::lock_guard<std::mutex> lock(m.mutex);
  int n = 0;
  for (const auto& [base, range] : m.ranges) n += range.kind != Kind::Surface;
  return n;
}
