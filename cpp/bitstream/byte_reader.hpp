// Bounds-checked big-endian reads for byte-aligned structures (avcC, hvcC): every read
// past the end throws Error(Decode) naming the structure, the field and the offset.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "contract/errors.hpp"

namespace videohw::bitstream {

class ByteReader {
 public:
  ByteReader(const uint8_t* data, size_t size, const char* structure)
      : data_(data), size_(size), structure_(structure) {}

  uint64_t read(int bytes, const char* field) {
    need(size_t(bytes), field);
    uint64_t value = 0;
    for (int i = 0; i < bytes; ++i) value = (value << 8) | data_[pos_++];
    return value;
  }
  const uint8_t* take(size_t bytes, const char* field) {
    need(bytes, field);
    const uint8_t* p = data_ + pos_;
    pos_ += bytes;
    return p;
  }
  size_t remaining() const { return size_ - pos_; }

 private:
  void need(size_t bytes, const char* field) const {
    if (bytes > size_ - pos_)
      throw Error(ErrorKind::Decode, std::string(structure_) + " is truncated: " + field +
                                         " needs " + std::to_string(bytes) + " byte(s) at offset " +
                                         std::to_string(pos_) + ", only " +
                                         std::to_string(size_ - pos_) + " remain");
  }

  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  const char* structure_;
};

// Appends `value` as `bytes` big-endian bytes.
template <typename Vec>
void put_be(Vec& out, uint64_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(uint8_t(value >> (8 * i)));
}

}  // namespace videohw::bitstream
