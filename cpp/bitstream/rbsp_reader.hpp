// Bit reader over a NAL unit's payload that removes emulation-prevention bytes (00 00 03)
// as it goes, so callers read RBSP syntax directly from Annex-B or AVCC bytes without a copy.
//
// Running past the end never reads out of bounds: reads return 0 and set a sticky flag.
// Callers check `overrun()` (or call `require`) after a group of reads, the way
// FFmpeg's GetBitContext is used, so a truncated unit costs one check instead of a
// branch per field.
#pragma once

#include <cstddef>
#include <cstdint>

namespace videohw::bitstream {

class RbspReader {
 public:
  RbspReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  uint32_t bit();              // u(1)
  uint32_t bits(int count);    // u(n), count <= 32
  uint64_t bits64(int count);  // u(n), count <= 64
  void skip(int count);
  uint32_t ue();  // ue(v); more than 31 leading zeros marks the reader bad
  int32_t se();   // se(v)

  // True once a read needed bits past the end or an Exp-Golomb code was malformed.
  bool overrun() const { return overrun_ || malformed_; }
  // True once an Exp-Golomb code had more than 31 leading zeros: no further bytes help.
  bool malformed() const { return malformed_; }
  // Throws Error(Decode) naming `what` when a read has failed so far.
  void require(const char* what) const;

 private:
  bool load_byte();

  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;        // next payload byte to load
  int zeros_ = 0;         // consecutive 0x00 payload bytes just loaded
  uint32_t current_ = 0;  // the byte being read
  int left_ = 0;          // bits of current_ not yet read
  bool overrun_ = false;
  bool malformed_ = false;
};

}  // namespace videohw::bitstream
