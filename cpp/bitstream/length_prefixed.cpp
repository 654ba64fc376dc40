#include "bitstream/length_prefixed.hpp"

#include <string>

#include "bitstream/nal.hpp"
#include "contract/errors.hpp"

namespace videohw::bitstream {

namespace {

[[noreturn]] void fail(const std::string& what) {
  throw Error(ErrorKind::Decode, what);
}

void put_length(std::vector<uint8_t>& out, size_t length, int length_size) {
  for (int i = length_size - 1; i >= 0; --i) out.push_back(uint8_t(length >> (8 * i)));
}

// Visits each unit as (offset, size); throws on a length that does not fit.
template <typename Visit>
void walk_length_prefixed(const uint8_t* data, size_t size, int length_size, Visit visit) {
  check_length_size(length_size);
  size_t pos = 0;
  while (pos < size) {
    if (size - pos < size_t(length_size))
      fail("length-prefixed NAL data: " + std::to_string(size - pos) +
           " byte(s) left at "
           "offset " +
           std::to_string(pos) + ", expected a " + std::to_string(length_size) + "-byte length");
    size_t length = 0;
    for (int i = 0; i < length_size; ++i) length = (length << 8) | data[pos + size_t(i)];
    pos += size_t(length_size);
    if (length == 0)
      fail("length-prefixed NAL data: zero-length NAL unit at offset " +
           std::to_string(pos - size_t(length_size)));
    if (length > size - pos)
      fail("length-prefixed NAL data: NAL unit at offset " + std::to_string(pos) + " claims " +
           std::to_string(length) + " bytes, only " + std::to_string(size - pos) +
           " remain (wrong length size, or truncated)");
    visit(pos, length);
    pos += length;
  }
}

}  // namespace

void check_length_size(int length_size) {
  if (length_size != 1 && length_size != 2 && length_size != 4)
    throw Error(ErrorKind::Config,
                "NAL length size is " + std::to_string(length_size) + ", expected 1, 2 or 4");
}

std::vector<NalUnit> split_length_prefixed(const uint8_t* data, size_t size, int length_size,
                                           Codec codec) {
  std::vector<NalUnit> units;
  walk_length_prefixed(data, size, length_size, [&](size_t offset, size_t length) {
    NalUnit unit;
    unit.offset = offset;
    unit.size = length;
    NalHeader header;
    unit.type = parse_nal_header(codec, data + offset, length, header) ? header.type : -1;
    units.push_back(unit);
  });
  return units;
}

std::vector<uint8_t> length_prefixed_to_annexb(const uint8_t* data, size_t size, int length_size) {
  std::vector<uint8_t> out;
  out.reserve(size + size / 8);
  walk_length_prefixed(data, size, length_size, [&](size_t offset, size_t length) {
    static constexpr uint8_t kStartCode[] = {0, 0, 0, 1};
    out.insert(out.end(), kStartCode, kStartCode + 4);
    out.insert(out.end(), data + offset, data + offset + length);
  });
  return out;
}

bool append_length_prefixed_as_annexb(const uint8_t* data, size_t size, int length_size,
                                      std::vector<uint8_t>& out) {
  static constexpr uint8_t kStartCode[] = {0, 0, 0, 1};
  if (length_size != 1 && length_size != 2 && length_size != 4) return false;
  out.reserve(out.size() + size + 16);
  size_t pos = 0;
  while (pos < size) {
    if (size - pos < size_t(length_size)) return false;
    size_t length = 0;
    for (int i = 0; i < length_size; ++i) length = (length << 8) | data[pos + size_t(i)];
    pos += size_t(length_size);
    if (length == 0 || length > size - pos) return false;
    out.insert(out.end(), kStartCode, kStartCode + 4);
    out.insert(out.end(), data + pos, data + pos + length);
    pos += length;
  }
  return true;
}

std::vector<uint8_t> annexb_to_length_prefixed(const uint8_t* data, size_t size, int length_size) {
  check_length_size(length_size);
  std::vector<uint8_t> out;
  if (size == 0) return out;
  // The Codec only decides NalUnit::type, which is not used here.
  const std::vector<NalUnit> units = split_annexb(data, size, Codec::H264);
  if (units.empty())
    fail("Annex-B data (" + std::to_string(size) + " bytes) holds no start code (00 00 01)");
  const size_t first_code = units.front().offset - 3;
  for (size_t i = 0; i < first_code; ++i)
    if (data[i] != 0)
      fail("Annex-B data: byte " + std::to_string(i) + " before the first start code is " +
           std::to_string(data[i]) + ", expected only zero bytes there");
  const uint64_t max_length = length_size == 4 ? 0xffffffffull : (1ull << (8 * length_size)) - 1;
  out.reserve(size + units.size() * size_t(length_size));
  for (const NalUnit& unit : units) {
    size_t length = unit.size;
    while (length > 0 && data[unit.offset + length - 1] == 0) --length;
    if (length == 0) continue;  // back-to-back start codes carry no unit
    if (uint64_t(length) > max_length)
      fail("NAL unit of " + std::to_string(length) + " bytes does not fit a " +
           std::to_string(length_size) + "-byte length field");
    put_length(out, length, length_size);
    out.insert(out.end(), data + unit.offset, data + unit.offset + length);
  }
  return out;
}

}  // namespace videohw::bitstream
