#include "media/stream_parameters.hpp"

#include <string>

#include "bitstream/annexb.hpp"
#include "bitstream/avcc.hpp"
#include "bitstream/hvcc.hpp"
#include "bitstream/nal.hpp"
#include "bitstream/parameter_set_cache.hpp"
#include "contract/errors.hpp"

namespace videohw::media {

namespace {

Codec other_codec(Codec codec) {
  return codec == Codec::H264 ? Codec::HEVC : Codec::H264;
}

// Random-access picture and parameter-set units on the base layer, read as `codec`.
struct Scan {
  bool random_access = false;
  std::vector<bitstream::NalUnit> parameter_sets;
};

Scan scan(const uint8_t* data, size_t size, Codec codec) {
  Scan out;
  for (const bitstream::NalUnit& unit : bitstream::split_annexb(data, size, codec)) {
    bitstream::NalHeader header;
    if (!bitstream::parse_nal_header(codec, data + unit.offset, unit.size, header) ||
        header.layer_id != 0)
      continue;
    if (bitstream::is_random_access_type(codec, header.type)) out.random_access = true;
    if (bitstream::is_parameter_set(codec, header.type)) out.parameter_sets.push_back(unit);
  }
  return out;
}

std::optional<StreamParameters> read_as(const uint8_t* data, const Scan& found, Codec codec) {
  bitstream::ParameterSetCache cache(codec);
  for (const bitstream::NalUnit& unit : found.parameter_sets) {
    try {
      cache.add(data + unit.offset, unit.size);
    } catch (const Error& e) {
      throw Error(ErrorKind::Media, std::string("a keyframe's ") + to_string(codec) +
                                        " parameter set cannot be read: " + e.what());
    }
  }
  StreamParameters p;
  p.codec = codec;
  p.vps = cache.vps_units();
  p.sps = cache.sps_units();
  p.pps = cache.pps_units();
  if (p.sps.empty() || p.pps.empty() || (codec == Codec::HEVC && p.vps.empty()))
    return std::nullopt;
  // The stream's size is the first SPS's: encoders write one SPS per sequence. The cache
  // has parsed it already, so this cannot throw.
  const bitstream::SpsInfo sps = bitstream::parse_sps(codec, p.sps[0].data(), p.sps[0].size());
  p.width = sps.width;
  p.height = sps.height;
  return p;
}

}  // namespace

bool StreamParameters::operator==(const StreamParameters& other) const {
  return codec == other.codec && vps == other.vps && sps == other.sps && pps == other.pps;
}

std::optional<StreamParameters> keyframe_parameters(const uint8_t* data, size_t size,
                                                    Codec expected) {
  for (Codec codec : {expected, other_codec(expected)}) {
    const Scan found = scan(data, size, codec);
    if (found.random_access && !found.parameter_sets.empty())
      if (auto parameters = read_as(data, found, codec)) return parameters;
  }
  return std::nullopt;
}

std::vector<uint8_t> codec_configuration_record(const StreamParameters& p) {
  try {
    if (p.codec == Codec::HEVC)
      return bitstream::build_hvcc(p.vps, p.sps, p.pps, 4, /*arrays_complete=*/false);
    return bitstream::build_avcc(p.sps, p.pps, 4);
  } catch (const Error& e) {
    throw Error(ErrorKind::Media, std::string("cannot build the ") +
                                      (p.codec == Codec::HEVC ? "hvcC" : "avcC") +
                                      " record from the keyframe's parameter sets: " + e.what());
  }
}

}  // namespace videohw::media
