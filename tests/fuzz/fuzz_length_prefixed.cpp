// libFuzzer target: AVCC/HVCC <-> Annex-B conversion and avcC/hvcC records.
// Byte 0: bit 0 codec, bits 1..2 length size (1, 2, 4, 4); the rest is parsed as
// length-prefixed units, as Annex-B, and as a decoder configuration record. Only
// Error(Decode) may come out; every successful conversion must round-trip exactly.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "bitstream/avcc.hpp"
#include "bitstream/hvcc.hpp"
#include "bitstream/length_prefixed.hpp"
#include "bitstream/nal.hpp"
#include "contract/errors.hpp"

using namespace videohw;
using namespace videohw::bitstream;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

// Annex-B can carry a unit unchanged only if it holds no start-code-like 00 00 0x (x <= 2)
// and does not end in 0x00 (trailing zeros belong to the byte stream).
bool annexb_safe(const uint8_t* unit, size_t size) {
  if (unit[size - 1] == 0) return false;
  for (size_t i = 0; i + 2 < size; ++i)
    if (unit[i] == 0 && unit[i + 1] == 0 && unit[i + 2] <= 2) return false;
  return true;
}

template <typename F>
void decode_errors_only(F f) {
  try {
    f();
  } catch (const Error& e) {
    check(e.kind() == ErrorKind::Decode);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const Codec codec = (data[0] & 1) ? Codec::HEVC : Codec::H264;
  static const int kLengthSizes[] = {1, 2, 4, 4};
  const int length_size = kLengthSizes[(data[0] >> 1) & 3];
  const uint8_t* body = data + 1;
  const size_t body_size = size - 1;

  decode_errors_only([&] {
    const std::vector<uint8_t> annexb = length_prefixed_to_annexb(body, body_size, length_size);
    // Units that Annex-B can carry come back as the same bytes.
    const auto units = split_length_prefixed(body, body_size, length_size, codec);
    bool representable = true;
    for (const auto& u : units) representable &= annexb_safe(body + u.offset, u.size);
    if (representable) {
      const std::vector<uint8_t> back =
          annexb_to_length_prefixed(annexb.data(), annexb.size(), length_size);
      check(back == std::vector<uint8_t>(body, body + body_size));
    }
  });

  decode_errors_only([&] {
    const std::vector<uint8_t> lp = annexb_to_length_prefixed(body, body_size, length_size);
    const std::vector<uint8_t> annexb =
        length_prefixed_to_annexb(lp.data(), lp.size(), length_size);
    check(annexb_to_length_prefixed(annexb.data(), annexb.size(), length_size) == lp);
  });

  decode_errors_only([&] {
    if (codec == Codec::H264) {
      const AvcDecoderConfig c = parse_avcc(body, body_size);
      check(c.length_size == 1 || c.length_size == 2 || c.length_size == 4);
      if (!c.sps.empty() && !c.pps.empty() && c.sps.size() <= 31) {
        // A record rebuilt from parsed units must parse back to the same units.
        const std::vector<uint8_t> rebuilt = build_avcc(c.sps, c.pps, c.length_size);
        const AvcDecoderConfig again = parse_avcc(rebuilt.data(), rebuilt.size());
        check(again.sps == c.sps && again.pps == c.pps && again.length_size == c.length_size);
      }
    } else {
      const HevcDecoderConfig c = parse_hvcc(body, body_size);
      const auto vps = units_of_type(c, hevc::kVps), sps = units_of_type(c, hevc::kSps),
                 pps = units_of_type(c, hevc::kPps);
      if (!vps.empty() && !sps.empty() && !pps.empty()) {
        const std::vector<uint8_t> rebuilt = build_hvcc(vps, sps, pps, c.length_size);
        const HevcDecoderConfig again = parse_hvcc(rebuilt.data(), rebuilt.size());
        check(units_of_type(again, hevc::kSps) == sps && again.length_size == c.length_size);
      }
    }
  });
  return 0;
}
