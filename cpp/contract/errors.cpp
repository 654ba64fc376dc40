#include "contract/errors.hpp"

namespace videohw {

namespace {
std::string join_problems(const std::vector<std::string>& problems) {
  std::string text = "unsupported configuration (" + std::to_string(problems.size()) +
                     (problems.size() == 1 ? " problem): " : " problems): ");
  for (size_t i = 0; i < problems.size(); ++i) {
    if (i) text += "; ";
    text += problems[i];
  }
  return text;
}
}  // namespace

UnsupportedConfig::UnsupportedConfig(std::vector<std::string> problems)
    : Error(ErrorKind::UnsupportedConfig, join_problems(problems)),
      problems_(std::move(problems)) {}

}  // namespace videohw
