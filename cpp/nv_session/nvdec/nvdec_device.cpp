#include "nv_session/nvdec/nvdec_device.hpp"

#include <iterator>
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

// The table's bytes into fresh device memory. The context must be current.
CUdeviceptr upload(const CudaDriver& d, const std::vector<uint8_t>& table) {
  CUdeviceptr device = 0;
  check_cuda(ErrorKind::Decode, d.cuMemAlloc(&device, table.size()), "cuMemAlloc",
             "allocating the RGB table (" + std::to_string(table.size()) + " bytes)");
  CUDA_MEMCPY2D copy{};
  copy.srcMemoryType = CU_MEMORYTYPE_HOST;
  copy.srcHost = table.data();
  copy.srcPitch = table.size();
  copy.dstMemoryType = CU_MEMORYTYPE_DEVICE;
  copy.dstDevice = device;
  copy.dstPitch = table.size();
  copy.WidthInBytes = table.size();
  copy.Height = 1;
  const CUresult copied = d.cuMemcpy2D(&copy);
  if (copied != CUDA_SUCCESS) {
    d.cuMemFree(device);
    check_cuda(ErrorKind::Decode, copied, "cuMemcpy2D",
               "uploading the RGB table (" + std::to_string(table.size()) + " bytes)");
  }
  return device;
}

struct DeviceTable {
  std::weak_ptr<const std::vector<uint8_t>> host;
  CUdeviceptr device = 0;
};

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

CUdeviceptr NvdecDevice::rgb_table(const std::shared_ptr<const std::vector<uint8_t>>& host) const {
  static std::mutex mu;
  // Kept like the kernels. Keyed by the host table's address, which stays unique while the
  // weak pointer says the table lives (the software backend keeps its tables for the
  // process, so those copies are never freed).
  static auto* tables = new std::map<std::pair<const PrimaryContext*, const void*>, DeviceTable>();
  std::lock_guard<std::mutex> lock(mu);
  ContextScope scope(context_, ErrorKind::Decode);
  // A copy whose host table died is held by no session any more (they keep the host table
  // while they use it), and its address may be the next table's.
  for (auto it = tables->begin(); it != tables->end();) {
    const bool dead = it->first.first == &context_ && it->second.host.expired();
    if (dead) cuda().cuMemFree(it->second.device);
    it = dead ? tables->erase(it) : std::next(it);
  }
  const auto key = std::make_pair(&context_, static_cast<const void*>(host->data()));
  const auto found = tables->find(key);
  if (found != tables->end()) return found->second.device;
  const CUdeviceptr device = upload(cuda(), *host);
  tables->emplace(key, DeviceTable{host, device});
  return device;
}

NvdecDevice::~NvdecDevice() {
  stream_.reset();
  if (lock_) cuvid_.cuvidCtxLockDestroy(lock_);
}

}  // namespace videohw::nv_session
