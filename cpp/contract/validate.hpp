// Config validation and capability negotiation. The Python dataclasses validate on
// construction too; the core re-checks because it cannot trust what crosses the binding.
#pragma once

#include <string>
#include <vector>

#include "contract/types.hpp"

namespace videohw {

// Throws Error(Config) naming the first invalid field, its value and the accepted range.
void validate(const CommonEncodeConfig& config);
void validate(const SoftwareEncodeConfig& config);

// Every field of `config` that `caps` cannot do, one message each; empty when supported.
std::vector<std::string> unsupported_fields(const Capabilities& caps,
                                            const CommonEncodeConfig& config);

// validate + unsupported_fields + `extra` (backend-specific problems); throws
// UnsupportedConfig listing all of them.
void negotiate(const Capabilities& caps, const CommonEncodeConfig& config,
               const std::vector<std::string>& extra = {});

}  // namespace videohw
