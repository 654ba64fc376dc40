#include "support/decode_helpers.hpp"

namespace vhtest {

videohw::CommonDecodeConfig decode_config(videohw::Codec codec, videohw::DecodeOutputMode mode,
                                          bool low_latency) {
  videohw::CommonDecodeConfig c;
  c.codec = codec;
  c.output = mode;
  c.low_latency = low_latency;
  return c;
}

std::vector<videohw::DecodedFrame> decode_all(videohw::DecoderBackend& decoder,
                                              const std::vector<videohw::EncodedPacket>& packets) {
  std::vector<videohw::DecodedFrame> out;
  for (const auto& p : packets) decoder.decode(p.data.data(), p.data.size(), p.pts, out);
  decoder.flush(out);
  return out;
}

}  // namespace vhtest
