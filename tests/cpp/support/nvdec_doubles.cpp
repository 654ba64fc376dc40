#include "support/nvdec_doubles.hpp"

#include <dlfcn.h>

#include <cstdlib>
#include <stdexcept>

#include "backend/rgb_reference.hpp"

namespace vhtest {

namespace {

template <typename Fn>
void bind(void* lib, Fn*& fn, const char* name) {
  fn = reinterpret_cast<Fn*>(dlsym(lib, name));
  if (!fn) throw std::runtime_error(std::string("driver double lacks ") + name);
}

}  // namespace

NvdecDoubles& NvdecDoubles::get() {
  static NvdecDoubles d;
  return d;
}

NvdecDoubles::NvdecDoubles() {
  setenv("VIDEOHW_CUDA_LIBRARY", VIDEOHW_CUDA_DOUBLE_PATH, 1);
  setenv("VIDEOHW_NVCUVID_LIBRARY", VIDEOHW_NVCUVID_DOUBLE_PATH, 1);
  void* cuda = dlopen(VIDEOHW_CUDA_DOUBLE_PATH, RTLD_NOW | RTLD_LOCAL);
  void* cuvid = dlopen(VIDEOHW_NVCUVID_DOUBLE_PATH, RTLD_NOW | RTLD_LOCAL);
  if (!cuda || !cuvid) throw std::runtime_error(std::string("driver double: ") + dlerror());
  bind(cuvid, nvcuvid_reset_, "videohw_nvcuvid_double_reset");
  bind(cuvid, set_faults_, "videohw_nvcuvid_double_set_faults");
  bind(cuvid, log_, "videohw_nvcuvid_double_call_log");
  bind(cuvid, nvcuvid_violations_, "videohw_nvcuvid_double_violations");
  bind(cuvid, open_decoders_, "videohw_nvcuvid_double_open_decoders");
  bind(cuvid, open_parsers_, "videohw_nvcuvid_double_open_parsers");
  bind(cuvid, mapped_frames_, "videohw_nvcuvid_double_mapped_frames");
  bind(cuvid, max_mapped_, "videohw_nvcuvid_double_max_mapped");
  bind(cuda, cuda_reset_, "videohw_cuda_double_reset");
  bind(cuda, cuda_set_faults_, "videohw_cuda_double_set_faults");
  bind(cuda, cuda_log_, "videohw_cuda_double_call_log");
  bind(cuda, live_events_, "videohw_cuda_double_live_events");
  bind(cuda, cuda_violations_, "videohw_cuda_double_violations");
  bind(cuda, live_allocations_, "videohw_cuda_double_live_allocations");
}

void NvdecDoubles::reset(const std::string& faults, const std::string& caps) {
  setenv("VIDEOHW_NVCUVID_DOUBLE_FAULTS", faults.c_str(), 1);
  setenv("VIDEOHW_NVCUVID_DOUBLE_CAPS", caps.c_str(), 1);
  nvcuvid_reset_();
  cuda_reset_();
}

bool NvdecDoubles::set_faults(const std::string& faults) {
  return set_faults_(faults.c_str()) == 0;
}

bool NvdecDoubles::set_cuda_faults(const std::string& faults) {
  return cuda_set_faults_(faults.c_str()) == 0;
}

std::unique_ptr<videohw::nv_session::NvdecDecoder> nvdec_session(
    const videohw::CommonDecodeConfig& config) {
  return std::make_unique<videohw::nv_session::NvdecDecoder>(config, videohw::NvidiaDecodeConfig{},
                                                             videohw::reference_rgb_table());
}

}  // namespace vhtest
