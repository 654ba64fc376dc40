#include "backend/device_memory.hpp"

#include <atomic>

#include "contract/errors.hpp"

namespace videohw {

namespace {

std::atomic<const DeviceMemory*>& slot() {
  static std::atomic<const DeviceMemory*> memory{nullptr};
  return memory;
}

}  // namespace

bool register_device_memory(const DeviceMemory* memory) {
  slot().store(memory, std::memory_order_release);
  return true;
}

const DeviceMemory& device_memory() {
  const DeviceMemory* memory = slot().load(std::memory_order_acquire);
  if (!memory)
    throw Error(ErrorKind::BackendUnavailable,
                "frames in CUDA device memory need the NVIDIA stack, which this build of "
                "videohw does not include");
  return *memory;
}

}  // namespace videohw
