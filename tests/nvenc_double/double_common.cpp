#include "double_common.hpp"

#include <cstdlib>
#include <stdexcept>

namespace nvdouble {

std::string env_text(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

std::vector<std::string> split_list(const std::string& text, char separator) {
  std::vector<std::string> items;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(separator, start);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(start, end - start);
    const size_t first = item.find_first_not_of(" \t");
    const size_t last = item.find_last_not_of(" \t");
    if (first != std::string::npos) items.push_back(item.substr(first, last - first + 1));
    start = end + 1;
  }
  return items;
}

void CallLog::set_file(const std::string& path) {
  file_.reset(path.empty() ? nullptr : std::fopen(path.c_str(), "a"));
}

void CallLog::add(const std::string& line) {
  lines_.push_back(line);
  if (file_) {
    std::fprintf(file_.get(), "%s\n", line.c_str());
    std::fflush(file_.get());
  }
}

std::string CallLog::joined() const {
  std::string text;
  for (const auto& line : lines_) text += line + "\n";
  return text;
}

void CallLog::clear() {
  lines_.clear();
}

FaultPlan FaultPlan::parse(const std::string& text, const std::vector<std::string>& known) {
  FaultPlan plan;
  for (const std::string& item : split_list(text)) {
    const size_t at = item.find('@');
    const std::string name = item.substr(0, at);
    bool found = false;
    for (const auto& k : known) found = found || k == name;
    if (!found) {
      std::string names;
      for (const auto& k : known) names += (names.empty() ? "" : ", ") + k;
      throw std::invalid_argument("unknown fault '" + name + "'; expected one of: " + names);
    }
    Fault fault;
    if (at == std::string::npos) {
      fault.every = true;
    } else {
      char* end = nullptr;
      const std::string count = item.substr(at + 1);
      fault.nth = std::strtol(count.c_str(), &end, 10);
      if (count.empty() || *end != '\0' || fault.nth < 1)
        throw std::invalid_argument("fault '" + item + "': expected name@N with N >= 1");
    }
    plan.faults_[name] = fault;
  }
  return plan;
}

bool FaultPlan::should_fail(const std::string& name) {
  const long call = ++calls_[name];
  auto it = faults_.find(name);
  if (it == faults_.end()) return false;
  return it->second.every || it->second.nth == call;
}

}  // namespace nvdouble
