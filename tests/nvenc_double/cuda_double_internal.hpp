// What the CUDA double's source files share inside libvideohw_cuda_double.so (hidden from
// its exports). cuda_double.cpp owns devices, created contexts and the per-thread context
// stack; cuda_double_primary.cpp the primary contexts; cuda_double_memory.cpp memory,
// copies and streams; cuda_double_kernels.cpp modules and kernel launches.
//
// Lock order: cuda_double.cpp's mutex may be held while calling into the other files
// (is_primary_context is lock-free, reset_rules takes the memory mutex); the other files
// never hold their own mutex while calling log_call or device_error.
#pragma once

#include <ffnvcodec/dynlink_cuda.h>

#include <string>

namespace cudadouble {

// Real driver codes the double returns beyond cuda_double.cpp's own.
constexpr int kOutOfMemory = 2, kInvalidImage = 200, kInvalidContext = 201, kMapFailed = 205,
              kInvalidHandle = 400, kNotFound = 500, kLaunchFailed = 719, kNotSupported = 801;

// cuda_double.cpp
CUcontext current_context();     // top of this thread's stack; nullptr when none
int device_error(CUdevice dev);  // 0, or the code cuDeviceGet gives for `dev`
void log_call(const std::string& line);
// Counts one call of fault `name` (VIDEOHW_CUDA_DOUBLE_FAULTS) and says whether it must fail.
bool should_fail(const std::string& name);

// cuda_double_primary.cpp: retained at least once and not released since.
bool is_primary_context(CUcontext ctx);

// cuda_double_memory.cpp
void add_violation(const std::string& line);
void reset_rules();  // forgets violations; allocations, streams and modules stay
const char* extra_error_name(int code);
const char* extra_error_text(int code);
// Whether [p, p + bytes) lies inside device memory the double handed out (an allocation or
// a mapped decoder surface).
bool device_span_ok(CUdeviceptr p, size_t bytes);
// A context must be current for memory, stream and module calls; on failure records
// "<call> without a current context" and returns kInvalidContext.
int require_context(const std::string& call);
bool stream_ok(CUstream stream);

// "0x7f..." for a log line.
std::string hex(unsigned long long value);

}  // namespace cudadouble
