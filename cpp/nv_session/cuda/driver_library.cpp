#include "nv_session/cuda/driver_library.hpp"

#include <dlfcn.h>

#include <cstdlib>
#include <map>
#include <mutex>

#include "contract/errors.hpp"

namespace videohw::nv_session {

DriverLibrary open_driver_library(const char* env_var, const char* default_name) {
  static std::mutex mu;
  static std::map<std::string, void*> opened;  // never dlclosed: see the header

  const char* override_path = std::getenv(env_var);
  DriverLibrary library;
  library.path = override_path && *override_path ? override_path : default_name;

  std::lock_guard<std::mutex> lock(mu);
  if (auto it = opened.find(library.path); it != opened.end()) {
    library.handle = it->second;
    return library;
  }
  dlerror();  // clear any stale message so the one reported is ours
  void* handle = dlopen(library.path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* err = dlerror();
    std::string message = err ? err : library.path + ": dlopen failed";
    if (override_path && *override_path) message += " (path from " + std::string(env_var) + ")";
    throw Error(ErrorKind::BackendUnavailable, "driver library missing: " + message);
  }
  opened.emplace(library.path, handle);
  library.handle = handle;
  return library;
}

void* driver_symbol(const DriverLibrary& library, const char* name) {
  dlerror();
  void* address = dlsym(library.handle, name);
  if (!address)
    throw Error(ErrorKind::BackendUnavailable,
                library.path + " lacks the entry point " + name +
                    "; expected an NVIDIA driver that exports it (driver too old?)");
  return address;
}

}  // namespace videohw::nv_session
