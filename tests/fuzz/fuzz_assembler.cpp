// libFuzzer target: the incremental access-unit assembler.
// Byte 0 picks the codec (bit 0) and the chunk size (bits 1..7); the rest is the stream.
// Besides memory errors, it checks the assembler's promises and aborts when one breaks:
// the output is the same whatever the chunking, access units hold their NAL units, and the
// access units concatenated are a suffix of the input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "bitstream/access_unit_assembler.hpp"
#include "bitstream/parameter_set_cache.hpp"
#include "contract/errors.hpp"

using namespace videohw;
using namespace videohw::bitstream;

namespace {

std::vector<AccessUnit> run(Codec codec, const uint8_t* data, size_t size, size_t chunk) {
  AccessUnitAssembler assembler(codec);
  std::vector<AccessUnit> out;
  for (size_t pos = 0; pos < size; pos += chunk) {
    const size_t n = size - pos < chunk ? size - pos : chunk;
    assembler.push(data + pos, n);
    while (auto au = assembler.next()) out.push_back(std::move(*au));
  }
  assembler.finish();
  while (auto au = assembler.next()) out.push_back(std::move(*au));
  return out;
}

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const Codec codec = (data[0] & 1) ? Codec::HEVC : Codec::H264;
  static const size_t kChunks[] = {1, 2, 3, 4, 5, 7, 13, 64, 4096};
  const size_t chunk = kChunks[(data[0] >> 1) % (sizeof kChunks / sizeof kChunks[0])];
  const uint8_t* stream = data + 1;
  const size_t stream_size = size - 1;

  const std::vector<AccessUnit> chunked = run(codec, stream, stream_size, chunk);
  const std::vector<AccessUnit> whole = run(codec, stream, stream_size, stream_size + 1);
  check(chunked.size() == whole.size());
  size_t total = 0;
  for (size_t i = 0; i < whole.size(); ++i) {
    check(chunked[i].data == whole[i].data);
    check(chunked[i].is_keyframe == whole[i].is_keyframe);
    check(chunked[i].nals.size() == whole[i].nals.size());
    for (size_t n = 0; n < whole[i].nals.size(); ++n) {
      check(chunked[i].nals[n].offset == whole[i].nals[n].offset);
      check(chunked[i].nals[n].size == whole[i].nals[n].size);
      check(chunked[i].nals[n].type == whole[i].nals[n].type);
      check(whole[i].nals[n].offset + whole[i].nals[n].size <= whole[i].data.size());
    }
    total += whole[i].data.size();
  }
  check(total <= stream_size);
  // The units joined are the input from its first start code on.
  size_t pos = stream_size - total;
  for (const auto& au : whole) {
    for (uint8_t b : au.data) check(stream[pos++] == b);
  }

  // Whatever the assembler lets through, the parameter-set cache must survive.
  ParameterSetCache cache(codec);
  for (const auto& au : whole) {
    try {
      cache.add_access_unit(au);
    } catch (const Error& e) {
      check(e.kind() == ErrorKind::Decode);
    }
  }
  return 0;
}
