// The one clock every timing in videohw uses (telemetry, benchmarks' counterparts): steady,
// so intervals never go backwards when the wall clock is set.
#pragma once

#include <chrono>
#include <cstdint>

namespace videohw {

inline int64_t monotonic_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace videohw
