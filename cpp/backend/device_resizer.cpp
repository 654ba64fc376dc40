#include "backend/device_resizer.hpp"

#include <mutex>

#include "contract/errors.hpp"

namespace videohw {

namespace {

struct Registry {
  std::mutex mu;
  DeviceResizerEntry entry;
};

Registry& registry() {
  static Registry* r = new Registry();  // registrars run at static initialisation
  return *r;
}

}  // namespace

bool register_device_resizer(DeviceResizerEntry entry) {
  std::lock_guard<std::mutex> lock(registry().mu);
  registry().entry = std::move(entry);
  return true;
}

std::unique_ptr<DeviceResizer> make_device_resizer(int device, std::string* why_not) {
  DeviceResizerEntry entry;
  {
    std::lock_guard<std::mutex> lock(registry().mu);
    entry = registry().entry;
  }
  if (!entry.make) {
    if (why_not)
      *why_not = "this build of videohw has no GPU resizer (built without the NVIDIA stack)";
    return nullptr;
  }
  try {
    return entry.make(device);
  } catch (const Error& e) {
    if (why_not) *why_not = e.what();
    return nullptr;
  }
}

}  // namespace videohw
