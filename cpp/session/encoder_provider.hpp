// What the session layer needs from a backend before any session exists: its name, what it
// can do, and a way to create an encoder. Tests inject their own provider here.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "session/encoder_backend.hpp"

namespace videohw {

class EncoderProvider {
 public:
  virtual ~EncoderProvider() = default;
  virtual std::string name() const = 0;
  virtual Capabilities capabilities(Codec codec) const = 0;
  // Backend-specific limits a Capabilities record cannot express; one message per problem.
  virtual std::vector<std::string> config_problems(const CommonEncodeConfig&) const {
    return {};
  }
  virtual std::unique_ptr<EncoderBackend> create(const CommonEncodeConfig& config) const = 0;
};

}  // namespace videohw
