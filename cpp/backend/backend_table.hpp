// The registry both directions share: named entries kept in registration order, looked up
// by name, walked in preference order for "auto". Internal to backend/.
#pragma once

#include <algorithm>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "contract/errors.hpp"

namespace videohw::backend_detail {

template <typename Entry>
class BackendTable {
 public:
  void add(Entry entry) {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& e : entries_) {
      if (e.name == entry.name) {
        e = std::move(entry);
        return;
      }
    }
    entries_.push_back(std::move(entry));
  }

  // Entries by preference (then name): a copy, so callers run backend code unlocked.
  std::vector<Entry> by_preference() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<Entry> out = entries_;
    std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) {
      return a.preference != b.preference ? a.preference < b.preference : a.name < b.name;
    });
    return out;
  }

  Entry find(const std::string& name, const char* direction) const {
    const auto all = by_preference();
    for (const auto& e : all)
      if (e.name == name) return e;
    std::string known = "auto";
    for (const auto& e : all) known += ", " + e.name;
    throw Error(ErrorKind::Config,
                std::string(direction) + "backend: '" + name + "' is not one of " + known);
  }

  std::map<std::string, std::string> availability() const {
    std::map<std::string, std::string> out;
    for (const auto& e : by_preference()) out[e.name] = e.unavailable_reason();
    return out;
  }

  std::string resolve(const std::string& requested, std::string* fallback_reason,
                      const char* direction) const {
    if (requested != "auto") return requested;
    std::string passed_over, all_reasons;
    for (const auto& e : by_preference()) {
      const std::string reason = e.unavailable_reason();
      if (reason.empty()) {
        if (fallback_reason && !passed_over.empty()) *fallback_reason = passed_over;
        return e.name;
      }
      passed_over += (passed_over.empty() ? "" : "; ") + e.name + ": " + reason;
    }
    throw Error(ErrorKind::BackendUnavailable,
                std::string("no ") + direction + "backend is usable: " +
                    (passed_over.empty() ? std::string("none is built in") : passed_over));
  }

 private:
  mutable std::mutex mu_;
  std::vector<Entry> entries_;
};

}  // namespace videohw::backend_detail
