// The NVDEC (cuvid) and CUDA driver doubles' control surfaces (nvcuvid_double_control.h,
// nvenc_double_control.h), from the same loaded copies the adapter uses: the first get()
// points VIDEOHW_CUDA_LIBRARY and VIDEOHW_NVCUVID_LIBRARY at the built doubles, so the
// adapter reaches them as it would reach the real driver. For the suites that run NVDEC
// sessions on the doubles (test_nvdec_double, test_decode_pipeline, test_nvdec_caches).
#pragma once

#include <memory>
#include <string>

#include "nv_session/nvdec/nvdec_decoder.hpp"

namespace vhtest {

class NvdecDoubles {
 public:
  static NvdecDoubles& get();

  // Clears faults, capabilities overrides, logs and violations of both doubles.
  void reset(const std::string& faults = "", const std::string& caps = "");
  // False when the fault plan does not parse.
  bool set_faults(const std::string& faults);
  bool set_cuda_faults(const std::string& faults);

  std::string log() const { return log_(); }
  std::string cuda_log() const { return cuda_log_(); }
  int mapped_frames() const { return mapped_frames_(); }
  int max_mapped() const { return max_mapped_(); }
  int live_events() const { return live_events_(); }
  std::string violations() const { return std::string(nvcuvid_violations_()) + cuda_violations_(); }
  int open_decoders() const { return open_decoders_(); }
  int open_parsers() const { return open_parsers_(); }
  int live_allocations() const { return live_allocations_(); }

 private:
  NvdecDoubles();

  void (*nvcuvid_reset_)() = nullptr;
  int (*set_faults_)(const char*) = nullptr;
  const char* (*log_)() = nullptr;
  const char* (*nvcuvid_violations_)() = nullptr;
  int (*open_decoders_)() = nullptr;
  int (*open_parsers_)() = nullptr;
  int (*mapped_frames_)() = nullptr;
  int (*max_mapped_)() = nullptr;
  void (*cuda_reset_)() = nullptr;
  int (*cuda_set_faults_)(const char*) = nullptr;
  const char* (*cuda_log_)() = nullptr;
  int (*live_events_)() = nullptr;
  const char* (*cuda_violations_)() = nullptr;
  int (*live_allocations_)() = nullptr;
};

// An NVDEC session on device 0 with the software decoder's RGB table (CPU_RGB bit-exact).
std::unique_ptr<videohw::nv_session::NvdecDecoder> nvdec_session(
    const videohw::CommonDecodeConfig& config);

}  // namespace vhtest
