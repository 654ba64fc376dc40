#include "nv_session/nvdec/nvdec_device.hpp"

#include <map>
#include <mutex>
#include <utility>

#include "nv_session/nvdec/nvdec_ptx.hpp"

namespace videohw::nv_session {

namespace {

// The context must be current. A failure after the load unloads the module again, so a
// retry starts clean.
RgbKernels load_rgb_kernels(const CudaDriver& d) {
  const char* ptx = nv12_to_rgb_ptx();
  if (!ptx)
    throw Error(ErrorKind::Decode,
                std::string("the NV12->RGB kernel: ") + nv12_to_rgb_ptx_missing_reason());
  CUmodule module = nullptr;
  check_cuda(ErrorKind::Decode, d.cuModuleLoadData(&module, ptx), "cuModuleLoadData",
             "loading the NV12->RGB kernel's PTX");
  RgbKernels kernels;
  for (auto [name, function] : {std::pair{"nv12_to_rgb24", &kernels.formula},
                                std::pair{"nv12_to_rgb24_table", &kernels.table},
                                std::pair{"p016_to_rgb24", &kernels.wide}}) {
    const CUresult found = d.cuModuleGetFunction(function, module, name);
    if (found != CUDA_SUCCESS) {
      d.cuModuleUnload(module);
      check_cuda(ErrorKind::Decode, found, "cuModuleGetFunction",
                 std::string("finding ") + name + " in the PTX");
    }
  }
  return kernels;
}

}  // namespace

std::shared_ptr<NvdecDevice> NvdecDevice::open(int ordinal) {
  // Both libraries before the context: a machine without NVDEC's library is told so without
  // a primary context being made for nothing.
  require_device_work(cuda_driver());
  const CuvidApi& cuvid = cuvid_api();
  const PrimaryContext& context = PrimaryContext::of(ordinal, "NvidiaDecodeConfig.device");
  return std::shared_ptr<NvdecDevice>(new NvdecDevice(context, cuvid));
}

NvdecDevice::NvdecDevice(const PrimaryContext& context, const CuvidApi& cuvid)
    : context_(context), cuvid_(cuvid), stream_(std::make_unique<CudaStream>(context)) {
  ContextScope scope(context_, ErrorKind::BackendUnavailable);
  check_cuda(ErrorKind::BackendUnavailable, cuvid_.cuvidCtxLockCreate(&lock_, context_.get()),
             "cuvidCtxLockCreate", "creating the decoder's context lock");
}

const RgbKernels& NvdecDevice::rgb_kernels() const {
  static std::mutex mu;
  // Never freed, as the contexts they live in (cuda/context.cpp), and keyed by context: a
  // test may switch driver libraries. The lock is held through the load, so sessions that
  // start together wait for one load instead of each doing their own.
  static auto* loaded = new std::map<const PrimaryContext*, RgbKernels>();
  std::lock_guard<std::mutex> lock(mu);
  auto found = loaded->find(&context_);
  if (found != loaded->end()) return found->second;
  ContextScope scope(context_, ErrorKind::Decode);
  return loaded->emplace(&context_, load_rgb_kernels(cuda())).first->second;
}

NvdecDevice::~NvdecDevice() {
  stream_.reset();
  if (lock_) cuvid_.cuvidCtxLockDestroy(lock_);
}

}  // namespace videohw::nv_session
