#include "bitstream/sample_converter.hpp"

#include <cstring>

#include "bitstream/annexb.hpp"
#include "bitstream/avcc.hpp"
#include "bitstream/hvcc.hpp"
#include "bitstream/length_prefixed.hpp"
#include "bitstream/nal.hpp"

namespace videohw::bitstream {

namespace {

constexpr uint8_t kStartCode[] = {0, 0, 0, 1};

bool starts_with_start_code(const uint8_t* data, size_t size) {
  return (size >= 3 && data[0] == 0 && data[1] == 0 && data[2] == 1) ||
         (size >= 4 && data[0] == 0 && data[1] == 0 && data[2] == 0 && data[3] == 1);
}

void append_unit(std::vector<uint8_t>& out, const std::vector<uint8_t>& nal) {
  out.insert(out.end(), kStartCode, kStartCode + 4);
  out.insert(out.end(), nal.begin(), nal.end());
}

template <typename Visit>
void walk_units(const uint8_t* data, size_t size, int length_size, Codec codec, Visit visit) {
  if (length_size > 0) {
    size_t pos = 0;
    while (pos + size_t(length_size) <= size) {
      size_t length = 0;
      for (int i = 0; i < length_size; ++i) length = (length << 8) | data[pos + size_t(i)];
      pos += size_t(length_size);
      if (length == 0 || length > size - pos) return;
      if (!visit(data + pos, length)) return;
      pos += length;
    }
    return;
  }
  for (const NalUnit& unit : split_annexb(data, size, codec))
    if (!visit(data + unit.offset, unit.size)) return;
}

}  // namespace

SampleConverter::SampleConverter(Codec codec, const uint8_t* extradata, size_t size)
    : codec_(codec) {
  if (!extradata || size == 0) return;
  if (codec == Codec::H264 || codec == Codec::HEVC) {
    if (starts_with_start_code(extradata, size)) {
      parameter_sets_.assign(extradata, extradata + size);
      return;
    }
    if (codec == Codec::H264) {
      const AvcDecoderConfig record = parse_avcc(extradata, size);
      length_size_ = record.length_size;
      for (const auto& nal : record.sps) append_unit(parameter_sets_, nal);
      for (const auto& nal : record.pps) append_unit(parameter_sets_, nal);
    } else {
      const HevcDecoderConfig record = parse_hvcc(extradata, size);
      length_size_ = record.length_size;
      // VPS, SPS, PPS first, then any SEI the record carries, in record order per type.
      for (int type : {hevc::kVps, hevc::kSps, hevc::kPps, hevc::kPrefixSei})
        for (const auto& nal : units_of_type(record, type)) append_unit(parameter_sets_, nal);
    }
    return;
  }
  // av1C: 4 bytes of fields, then configOBUs (sequence header, metadata) as stored OBUs.
  if (codec == Codec::AV1 && size > 4 && (extradata[0] & 0x80))
    parameter_sets_.assign(extradata + 4, extradata + size);
}

EncodedLayout SampleConverter::layout() const {
  if (length_size_ == 0) return EncodedLayout::AnnexB;
  return codec_ == Codec::HEVC ? EncodedLayout::HVCC : EncodedLayout::AVCC;
}

bool SampleConverter::convert(const uint8_t* sample, size_t size, bool keyframe,
                              std::vector<uint8_t>& out) {
  out.clear();
  if (keyframe && !sets_sent_) {
    out.insert(out.end(), parameter_sets_.begin(), parameter_sets_.end());
    sets_sent_ = true;
  }
  if (length_size_ > 0) return append_length_prefixed_as_annexb(sample, size, length_size_, out);
  out.insert(out.end(), sample, sample + size);
  return true;
}

PictureNal SampleConverter::first_picture_nal(const uint8_t* sample, size_t size) const {
  PictureNal out;
  if (codec_ != Codec::H264 && codec_ != Codec::HEVC) return out;
  walk_units(sample, size, length_size_, codec_, [&](const uint8_t* nal, size_t length) {
    NalHeader header;
    if (!parse_nal_header(codec_, nal, length, header) || !is_vcl(codec_, header.type)) return true;
    out.found = true;
    out.type = header.type;
    out.ref_idc = header.ref_idc;
    out.temporal_id = header.temporal_id;
    return false;
  });
  return out;
}

bool is_droppable_picture(Codec codec, const PictureNal& nal, int max_temporal_id) {
  if (!nal.found) return false;
  if (codec == Codec::H264) return nal.ref_idc == 0;
  if (codec == Codec::HEVC)
    return nal.type < hevc::kIrapFirst && nal.type % 2 == 0 && nal.temporal_id == max_temporal_id;
  return false;
}

}  // namespace videohw::bitstream
