#include "bitstream/annexb.hpp"

namespace videohw::bitstream {

namespace {

// Returns the index just past the next 00 00 01 at or after `from`, or `size`.
size_t next_start(const uint8_t* data, size_t size, size_t from) {
  for (size_t i = from; i + 2 < size; ++i) {
    if (data[i + 2] > 1) {
      i += 2;  // no start code can end at i+2, skip ahead (classic Annex-B scan)
    } else if (data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1) {
      return i + 3;
    }
  }
  return size;
}

int nal_type(const uint8_t* nal, size_t size, Codec codec) {
  if (size == 0) return -1;
  if (codec == Codec::HEVC) return (nal[0] >> 1) & 0x3f;
  return nal[0] & 0x1f;
}

}  // namespace

std::vector<NalUnit> split_annexb(const uint8_t* data, size_t size, Codec codec) {
  std::vector<NalUnit> units;
  size_t start = next_start(data, size, 0);
  while (start < size) {
    size_t next = next_start(data, size, start);
    // The next unit's start code (3 bytes, or 4 with a leading zero) is not ours.
    size_t end = next < size ? next - 3 : size;
    NalUnit unit;
    unit.offset = start;
    unit.size = end - start;
    unit.type = nal_type(data + start, unit.size, codec);
    units.push_back(unit);
    start = next;
  }
  return units;
}

bool is_random_access_type(Codec codec, int nal_type) {
  if (codec == Codec::HEVC) return nal_type >= 16 && nal_type <= 23;
  return nal_type == 5;
}

bool contains_random_access_picture(const uint8_t* data, size_t size, Codec codec) {
  for (const auto& unit : split_annexb(data, size, codec))
    if (is_random_access_type(codec, unit.type)) return true;
  return false;
}

}  // namespace videohw::bitstream
