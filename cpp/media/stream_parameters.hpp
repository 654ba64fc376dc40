// What a keyframe says about the stream that follows it: codec, picture size and the
// parameter sets that MP4 and Matroska carry as avcC/hvcC. The Muxer compares these from
// keyframe to keyframe to decide where a segment must start.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "contract/types.hpp"

namespace videohw::media {

struct StreamParameters {
  Codec codec = Codec::H264;
  int width = 0, height = 0;                        // displayed size (SPS cropping applied)
  std::vector<std::vector<uint8_t>> vps, sps, pps;  // NAL units, header included, id order

  // Same codec and byte-identical parameter sets.
  bool operator==(const StreamParameters& other) const;
  bool operator!=(const StreamParameters& other) const { return !(*this == other); }
};

// The parameter sets of an Annex-B access unit that holds a random-access picture (H.264
// IDR, HEVC IRAP) together with a complete set (H.264: SPS and PPS; HEVC: VPS, SPS and PPS).
// The bytes are read as `expected` first and then as the other codec: base-layer H.264 and
// HEVC headers never look like each other's parameter sets and random-access pictures, so
// a codec switch is recognised from the bytes. Empty when the unit is no such keyframe.
// A malformed parameter set throws Error(Media).
std::optional<StreamParameters> keyframe_parameters(const uint8_t* data, size_t size,
                                                    Codec expected);

// avcC / hvcC for MP4 and Matroska. HEVC arrays are marked incomplete: the samples keep
// their in-band copies ('hev1', as FFmpeg's muxers write it).
std::vector<uint8_t> codec_configuration_record(const StreamParameters& parameters);

}  // namespace videohw::media
