// What both driver doubles share: the call log, the fault plan and environment parsing.
// Each double links its own copy, so the NVENC and CUDA doubles keep separate state.
#pragma once

#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace nvdouble {

// Value of an environment variable, "" when unset.
std::string env_text(const char* name);

// Splits "a,b,,c" into {"a","b","c"} (empty items dropped, spaces trimmed).
std::vector<std::string> split_list(const std::string& text, char separator = ',');

// One line per API call, kept in memory and, when a path is set, appended to a file as it
// happens (so a crashing client still leaves its call sequence behind).
class CallLog {
 public:
  void set_file(const std::string& path);
  void add(const std::string& line);
  std::string joined() const;
  void clear();

 private:
  struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  std::vector<std::string> lines_;
  std::unique_ptr<std::FILE, FileCloser> file_;
};

// "name" fails every call of that function; "name@N" only its N-th call (1-based).
class FaultPlan {
 public:
  // Throws std::invalid_argument naming the first unknown or malformed item.
  static FaultPlan parse(const std::string& text, const std::vector<std::string>& known);
  // Counts one call of `name` and says whether it must fail.
  bool should_fail(const std::string& name);

 private:
  struct Fault {
    bool every = false;
    long nth = 0;
  };
  std::map<std::string, Fault> faults_;
  std::map<std::string, long> calls_;
};

}  // namespace nvdouble
