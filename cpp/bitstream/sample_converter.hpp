// Container samples of one video stream -> the bytes the decoders take.
//
// MP4 and Matroska store H.264/HEVC as length-prefixed NAL units (AVCC/HVCC) with the
// parameter sets in the stream's decoder configuration record (avcC/hvcC); MPEG-TS and raw
// streams are Annex-B with parameter sets in band. Both decode backends take Annex-B, so
// samples are converted, and the record's parameter sets go in front of the first keyframe
// and of the first keyframe after every reset (a seek lands on a keyframe that may carry
// none). AV1's configOBUs (av1C) are placed the same way; VP9 samples pass unchanged.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "contract/types.hpp"

namespace videohw::bitstream {

// The first picture (VCL) NAL unit of a sample: enough to tell whether any other picture
// may reference it.
struct PictureNal {
  bool found = false;
  int type = -1;
  int ref_idc = 0;      // H.264 nal_ref_idc
  int temporal_id = 0;  // HEVC TemporalId
};

class SampleConverter {
 public:
  // `extradata`: avcC / hvcC / av1C, Annex-B parameter sets, or nothing. A record that
  // does not parse throws Error(Decode).
  SampleConverter(Codec codec, const uint8_t* extradata, size_t size);

  Codec codec() const { return codec_; }
  bool length_prefixed() const { return length_size_ > 0; }
  EncodedLayout layout() const;

  // Replaces `out` with the decoder-ready bytes of one sample. False when a length-prefixed
  // sample is damaged: `out` then holds the units before the damage.
  bool convert(const uint8_t* sample, size_t size, bool keyframe, std::vector<uint8_t>& out);
  // The next keyframe gets the parameter sets again.
  void reset() { sets_sent_ = false; }

  // H.264 / HEVC only (found == false otherwise, and for samples with no picture).
  PictureNal first_picture_nal(const uint8_t* sample, size_t size) const;

 private:
  Codec codec_;
  int length_size_ = 0;                  // 0: samples are Annex-B (or not NAL based)
  std::vector<uint8_t> parameter_sets_;  // Annex-B (AV1: configOBUs), sent before keyframes
  bool sets_sent_ = false;
};

// Whether a picture whose first VCL unit is `nal` can be left undecoded without changing
// any other picture: H.264 nal_ref_idc == 0; HEVC sub-layer non-reference types (even
// types below 16) at the stream's highest TemporalId `max_temporal_id`.
bool is_droppable_picture(Codec codec, const PictureNal& nal, int max_temporal_id);

}  // namespace videohw::bitstream
