#include "bitstream/access_unit_assembler.hpp"

#include <algorithm>
#include <string>

#include "contract/errors.hpp"

namespace videohw::bitstream {

namespace {

// Enough payload for any slice-header prefix the first-slice test reads (an H.264 ue(v)
// of at most 63 bits, plus emulation-prevention bytes). Bounding it keeps the retry on
// every push O(1) for a unit that is still arriving.
constexpr size_t kClassifyWindow = 32;

}  // namespace

AccessUnitAssembler::AccessUnitAssembler(Codec codec, size_t max_access_unit_bytes)
    : codec_(codec), max_au_bytes_(max_access_unit_bytes) {
  if (codec != Codec::H264 && codec != Codec::HEVC)
    throw Error(ErrorKind::Config, std::string("access-unit assembly supports H.264 and HEVC, "
                                               "not ") +
                                       to_string(codec));
}

void AccessUnitAssembler::push(const uint8_t* data, size_t size) {
  if (size == 0) return;
  compact();
  buffer_.insert(buffer_.end(), data, data + size);
  stats_.bytes_in += size;
  scan();
  if (in_nal_ && buffer_.size() - au_begin_ > max_au_bytes_) {
    const size_t dropped = buffer_.size() - au_begin_;
    stats_.bytes_skipped += dropped;
    reset_stream();
    throw Error(ErrorKind::Decode, "access unit exceeds " + std::to_string(max_au_bytes_) +
                                       " bytes without a "
                                       "boundary (" +
                                       std::to_string(dropped) +
                                       " bytes dropped); expected an "
                                       "Annex-B stream of coded pictures");
  }
}

void AccessUnitAssembler::finish() {
  if (in_nal_) {
    end_nal(buffer_.size());
    if (!au_nals_.empty())
      emit(buffer_.size());
    else
      stats_.bytes_skipped += buffer_.size() - au_begin_;
  } else {
    stats_.bytes_skipped += buffer_.size() - au_begin_;
  }
  reset_stream();
}

std::optional<AccessUnit> AccessUnitAssembler::next() {
  if (ready_.empty()) return std::nullopt;
  AccessUnit au = std::move(ready_.front());
  ready_.pop_front();
  return au;
}

void AccessUnitAssembler::scan() {
  const uint8_t* b = buffer_.data();
  const size_t size = buffer_.size();
  while (scan_ + 3 <= size) {
    // Skips as far as the third byte allows: no start code can cover a byte > 1 except
    // as its final 01, and a non-zero middle byte rules out two positions.
    if (b[scan_ + 2] > 1) {
      scan_ += 3;
    } else if (b[scan_ + 1] != 0) {
      scan_ += 2;
    } else if (b[scan_] != 0 || b[scan_ + 2] != 1) {
      scan_ += 1;
    } else {
      const size_t code = scan_;
      const size_t lower = in_nal_ ? nal_begin_ : au_begin_;
      const size_t code_begin = code > lower && b[code - 1] == 0 ? code - 1 : code;
      on_start_code(code_begin, code + 3);
      scan_ = code + 3;
    }
  }
  if (in_nal_) {
    if (!nal_classified_) classify_current(scan_, false);
  } else if (scan_ > au_begin_ + 1) {
    // No start code yet: keep only a possible zero_byte before the unscanned tail.
    stats_.bytes_skipped += scan_ - 1 - au_begin_;
    au_begin_ = scan_ - 1;
  }
}

void AccessUnitAssembler::on_start_code(size_t code_begin, size_t payload_begin) {
  if (in_nal_) {
    end_nal(code_begin);
  } else {
    stats_.bytes_skipped += code_begin - au_begin_;
    au_begin_ = code_begin;
  }
  in_nal_ = true;
  nal_code_begin_ = code_begin;
  nal_begin_ = payload_begin;
  nal_classified_ = false;
  nal_header_valid_ = false;
}

void AccessUnitAssembler::end_nal(size_t end) {
  // A unit never ends in 0x00 (rbsp_trailing_bits, cabac_zero_words are escaped): the
  // zeros before a start code are trailing_zero_8bits.
  while (end > nal_begin_ && buffer_[end - 1] == 0) --end;
  if (end == nal_begin_) return;  // two start codes in a row: no unit between them
  if (!nal_classified_) classify_current(end, true);
  NalUnit unit;
  unit.offset = nal_begin_ - au_begin_;
  unit.size = end - nal_begin_;
  unit.type = nal_header_valid_ ? nal_header_.type : -1;
  au_nals_.push_back(unit);
  stats_.nal_units++;
}

// Decides, as early as the bytes allow, whether the unit in progress opens a new access
// unit. The same bytes give the same answer however they arrived: a prefix answers only
// when it holds everything the test reads.
void AccessUnitAssembler::classify_current(size_t available_end, bool complete) {
  size_t end = std::min(available_end, nal_begin_ + kClassifyWindow);
  // Zeros at the end of what is known may be the next start code's; the rest is payload.
  while (end > nal_begin_ && buffer_[end - 1] == 0) --end;
  const uint8_t* nal = buffer_.data() + nal_begin_;
  const size_t size = end - nal_begin_;
  if (size < nal_header_size(codec_) && !complete) return;

  NalHeader header;
  bool valid = parse_nal_header(codec_, nal, size, header);
  bool opens = false;
  if (valid && is_vcl(codec_, header.type)) {
    const FirstSlice first = first_slice_of_picture(codec_, nal, size);
    if (first == FirstSlice::NeedMoreData && !complete) return;
    valid = first == FirstSlice::Yes || first == FirstSlice::No;
    opens = first == FirstSlice::Yes;
  } else if (valid) {
    opens = opens_access_unit(codec_, header);
  }

  nal_classified_ = true;
  nal_header_valid_ = valid;
  nal_header_ = header;
  if (!valid) {
    // Kept inside the current access unit: a damaged unit is the decoder's to judge.
    stats_.malformed_nal_units++;
    return;
  }
  if (opens && au_has_vcl_) emit(nal_code_begin_);
  if (is_vcl(codec_, header.type)) au_has_vcl_ = true;
  if (is_random_access_type(codec_, header.type)) au_keyframe_ = true;
}

void AccessUnitAssembler::emit(size_t end) {
  AccessUnit au;
  au.data.assign(buffer_.begin() + ptrdiff_t(au_begin_), buffer_.begin() + ptrdiff_t(end));
  au.nals = std::move(au_nals_);
  au.is_keyframe = au_keyframe_;
  au.has_picture = au_has_vcl_;
  ready_.push_back(std::move(au));
  stats_.access_units++;
  au_nals_.clear();
  au_has_vcl_ = false;
  au_keyframe_ = false;
  au_begin_ = end;
}

void AccessUnitAssembler::reset_stream() {
  buffer_.clear();
  au_begin_ = scan_ = nal_begin_ = nal_code_begin_ = 0;
  in_nal_ = false;
  nal_classified_ = false;
  nal_header_valid_ = false;
  au_nals_.clear();
  au_has_vcl_ = false;
  au_keyframe_ = false;
}

// Drops bytes already handed out, but only once they are at least half the buffer, so
// each byte is moved O(1) times on average even when pushes are one byte long.
void AccessUnitAssembler::compact() {
  if (au_begin_ == 0 || au_begin_ < buffer_.size() - au_begin_) return;
  buffer_.erase(buffer_.begin(), buffer_.begin() + ptrdiff_t(au_begin_));
  scan_ -= au_begin_;
  if (in_nal_) {
    nal_begin_ -= au_begin_;
    nal_code_begin_ -= au_begin_;
  }
  au_begin_ = 0;
}

}  // namespace videohw::bitstream
