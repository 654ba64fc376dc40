// Small helpers of the decoder suites: a session config, and a whole stream through a
// backend with its flush.
#pragma once

#include <vector>

#include "backend/decoder_backend.hpp"

namespace vhtest {

videohw::CommonDecodeConfig decode_config(videohw::Codec codec, videohw::DecodeOutputMode mode,
                                          bool low_latency = false);

// Every packet (with its pts), then a flush: every frame, in output order.
std::vector<videohw::DecodedFrame> decode_all(videohw::DecoderBackend& decoder,
                                              const std::vector<videohw::EncodedPacket>& packets);

}  // namespace vhtest
