// Incremental Annex-B parser that cuts a byte stream into access units (one coded picture
// with its parameter sets and SEI), for H.264 and HEVC.
//
// Any chunking works, down to one byte per push: start codes split across pushes,
// 3- and 4-byte start codes. The output depends only on the bytes, never on how they were
// chunked. Each byte is scanned once (a scan position survives across pushes), and memory
// holds the access unit in progress plus units not yet taken; `max_access_unit_bytes`
// bounds the former.
//
// An access unit's bytes are the stream's own bytes, from the start code of its first NAL
// unit (with the zero_byte of a 4-byte start code) up to the next access unit's, so the
// access units concatenated give back the stream from its first start code on. Bytes
// before the first start code are dropped and counted.
//
// Boundaries follow H.264 7.4.1.2.3 and HEVC 7.4.2.4.4: after a VCL unit, an AUD,
// parameter set, (prefix) SEI, or the first slice of a picture opens the next access unit.
// An access unit ends only when the next one begins, or at finish().
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "bitstream/annexb.hpp"
#include "bitstream/nal.hpp"
#include "contract/types.hpp"

namespace videohw::bitstream {

struct AccessUnit {
  std::vector<uint8_t> data;  // Annex-B bytes, start codes included
  // Offsets into `data` of each unit's header; sizes exclude trailing zero bytes.
  std::vector<NalUnit> nals;
  bool is_keyframe = false;  // holds an H.264 IDR slice / HEVC IRAP picture
  bool has_picture = false;  // holds at least one VCL unit
};

struct AssemblerStats {
  uint64_t bytes_in = 0;
  uint64_t bytes_skipped = 0;  // before the first start code, or dropped on overflow
  uint64_t nal_units = 0;
  uint64_t malformed_nal_units = 0;  // header unreadable: kept in the current access unit
  uint64_t access_units = 0;
};

class AccessUnitAssembler {
 public:
  static constexpr size_t kDefaultMaxAccessUnitBytes = size_t(64) << 20;

  explicit AccessUnitAssembler(Codec codec,
                               size_t max_access_unit_bytes = kDefaultMaxAccessUnitBytes);

  // Throws Error(Decode) when the access unit in progress would exceed the maximum; its
  // bytes are dropped and parsing resumes at the next start code.
  void push(const uint8_t* data, size_t size);
  // End of stream: the access unit in progress is complete. The assembler then starts over.
  void finish();

  bool has_access_unit() const { return !ready_.empty(); }
  // The oldest complete access unit, if any.
  std::optional<AccessUnit> next();
  size_t buffered_bytes() const { return buffer_.size() - au_begin_; }
  const AssemblerStats& stats() const { return stats_; }
  Codec codec() const { return codec_; }

 private:
  void scan();
  void on_start_code(size_t code_begin, size_t payload_begin);
  void end_nal(size_t end);
  void classify_current(size_t available_end, bool complete);
  void emit(size_t end);
  void reset_stream();
  void compact();

  Codec codec_;
  size_t max_au_bytes_;
  std::vector<uint8_t> buffer_;
  size_t au_begin_ = 0;        // first byte of the access unit in progress
  size_t scan_ = 0;            // no start code begins before this index
  bool in_nal_ = false;        // a start code has been seen
  size_t nal_code_begin_ = 0;  // its start code (with zero_byte)
  size_t nal_begin_ = 0;       // first payload byte of the unit in progress
  bool nal_classified_ = false;
  NalHeader nal_header_;
  bool nal_header_valid_ = false;
  std::vector<NalUnit> au_nals_;
  bool au_has_vcl_ = false;
  bool au_keyframe_ = false;
  std::deque<AccessUnit> ready_;
  AssemblerStats stats_;
};

}  // namespace videohw::bitstream
