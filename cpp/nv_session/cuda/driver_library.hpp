// dlopen of the NVIDIA driver libraries. Nothing links against the driver: one build runs on
// machines with and without it, and tests point the loader at a driver double instead.
#pragma once

#include <string>

namespace videohw::nv_session {

struct DriverLibrary {
  void* handle = nullptr;
  std::string path;  // what was passed to dlopen
};

// Opens the library named by the environment variable `env_var` (a full path) or, when that
// is unset or empty, `default_name`. Handles are kept for the life of the process (driver
// libraries do not support being unloaded while their threads run), one per path, so a
// test that changes the variable gets the library it names. Throws
// Error(BackendUnavailable) with dlerror's text when the library cannot be loaded.
DriverLibrary open_driver_library(const char* env_var, const char* default_name);

// The address of `name` in `library`; throws Error(BackendUnavailable) when it is missing
// (a library too old, or not the driver at all).
void* driver_symbol(const DriverLibrary& library, const char* name);

}  // namespace videohw::nv_session
