// One picture on its way through the NVDEC double: cut from the bitstream by the parser,
// handed to cuvidDecodePicture by the client, filled by libavcodec, mapped by the client.
// The parser and the decoder are separate objects in NVIDIA's API, joined only by the
// CUVIDPICPARAMS the client passes on: pBitstreamData points into `slices`, which is how
// the decoder finds the picture (picture_registry).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

extern "C" {
#include <libavutil/frame.h>
}

namespace nvdecdouble {

struct FrameFree {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
using FramePtr = std::unique_ptr<AVFrame, FrameFree>;

struct Picture {
  int64_t id = 0;               // decode order, also the pts libavcodec carries it by
  std::vector<uint8_t> slices;  // the VCL NAL units with start codes, as NVDEC passes them
  std::vector<unsigned> slice_offsets;
  int surface = -1;  // CurrPicIdx
  long long timestamp = 0;
  FramePtr frame;  // set once libavcodec outputs it
};

// pBitstreamData -> picture, for the decode callback's duration.
void register_picture(const std::shared_ptr<Picture>& picture);
void unregister_picture(const Picture& picture);
std::shared_ptr<Picture> find_picture(const unsigned char* bitstream);

}  // namespace nvdecdouble
