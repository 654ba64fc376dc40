// Session counters and timings, flattened to name/value pairs at the edge so the bindings
// turn them into a dict without knowing any field.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace videohw {

using TelemetryValue = std::variant<int64_t, std::string>;
using TelemetryMap = std::vector<std::pair<std::string, TelemetryValue>>;

struct SessionCounters {
  int64_t session_inits = 0;
  int64_t frames_submitted = 0;
  int64_t packets_out = 0;
  int64_t bytes_out = 0;
  int64_t keyframes_out = 0;
  int64_t flushes = 0;
  int64_t init_ns = 0;
  int64_t last_flush_ns = 0;
};

}  // namespace videohw
