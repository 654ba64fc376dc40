// One exception type with a kind: the bindings map each kind onto its Python class in one
// place (bindings/errors.cpp), so C++ code never needs to know the Python hierarchy.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace videohw {

enum class ErrorKind {
  Generic,
  Config,
  InvalidFrame,
  UnsupportedConfig,
  BackendUnavailable,
  StaleSession,
  SessionClosed,
  Switch,
  Backpressure,
  Decode,
  Encode,
  Media,    // a container could not be opened, read or written (input at fault)
  MediaIo,  // an operating-system I/O failure while reading or writing a file
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const noexcept { return kind_; }

 private:
  ErrorKind kind_;
};

// Carries every problem found, so a user fixes a config in one round trip.
class UnsupportedConfig : public Error {
 public:
  explicit UnsupportedConfig(std::vector<std::string> problems);
  const std::vector<std::string>& problems() const noexcept { return problems_; }

 private:
  std::vector<std::string> problems_;
};

}  // namespace videohw
