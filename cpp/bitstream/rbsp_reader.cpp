#include "bitstream/rbsp_reader.hpp"

#include <string>

#include "contract/errors.hpp"

namespace videohw::bitstream {

bool RbspReader::load_byte() {
  if (pos_ < size_ && zeros_ >= 2 && data_[pos_] == 3) {
    // An emulation-prevention byte: not part of the RBSP.
    ++pos_;
    zeros_ = 0;
  }
  if (pos_ >= size_) {
    overrun_ = true;
    return false;
  }
  current_ = data_[pos_++];
  zeros_ = current_ == 0 ? zeros_ + 1 : 0;
  left_ = 8;
  return true;
}

uint32_t RbspReader::bit() {
  if (left_ == 0 && !load_byte()) return 0;
  --left_;
  return (current_ >> left_) & 1u;
}

uint32_t RbspReader::bits(int count) {
  uint32_t value = 0;
  for (int i = 0; i < count; ++i) value = (value << 1) | bit();
  return value;
}

uint64_t RbspReader::bits64(int count) {
  uint64_t value = 0;
  for (int i = 0; i < count; ++i) value = (value << 1) | bit();
  return value;
}

void RbspReader::skip(int count) {
  for (int i = 0; i < count && !overrun(); ++i) bit();
}

uint32_t RbspReader::ue() {
  int leading = 0;
  while (bit() == 0) {
    if (overrun_) return 0;
    if (++leading > 31) {
      // Values beyond 2^32 - 2 do not exist in H.264/HEVC syntax: garbage.
      malformed_ = true;
      return 0;
    }
  }
  const uint64_t value = (uint64_t(1) << leading) - 1 + bits64(leading);
  return overrun_ ? 0 : uint32_t(value);
}

int32_t RbspReader::se() {
  const uint32_t k = ue();
  // k = 1, 2, 3, 4 ... maps to +1, -1, +2, -2 ...
  const int64_t magnitude = (int64_t(k) + 1) / 2;
  return int32_t((k & 1u) ? magnitude : -magnitude);
}

void RbspReader::require(const char* what) const {
  if (overrun())
    throw Error(ErrorKind::Decode, std::string(what) +
                                       " is truncated or malformed: its syntax runs past the "
                                       "end of the NAL unit (" +
                                       std::to_string(size_) + " bytes)");
}

}  // namespace videohw::bitstream
