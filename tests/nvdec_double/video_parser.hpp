// cuvidCreateVideoParser's object: cuts the bitstream into access units and drives the
// client's callbacks as NVDEC's parser does, with libavcodec doing the decoding:
//
//   per access unit, in decode order: the sequence callback when the format (codec, coded
//   and display size, chroma format, bit depth, colour) differs from the last one reported,
//   then the decode callback with CurrPicIdx a free surface and pBitstreamData the
//   picture's slice NAL units; then a display callback for every picture libavcodec
//   outputs (output order), held back by ulMaxDisplayDelay pictures.
//
// A surface is busy from its decode callback until its display callback returns. Before
// the sequence callback of a new coded size or format, every picture of the old sequence
// is displayed (libavcodec is drained), as NVDEC's parser does.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <ffnvcodec/dynlink_cuda.h>
#include <ffnvcodec/dynlink_cuviddec.h>
#include <ffnvcodec/dynlink_nvcuvid.h>

#include "av_stream.hpp"

namespace nvdecdouble {

class VideoParser {
 public:
  // Throws std::runtime_error for a codec the double does not parse.
  // `lowest_surface`: hand out the lowest free decode surface instead of cycling through
  // them, so a picture just displayed (and maybe still mapped) is the next one's surface.
  VideoParser(const CUVIDPARSERPARAMS& params, bool lowest_surface);

  // What cuvidParseVideoData returns; `note` says why when it is not CUDA_SUCCESS.
  CUresult parse(const CUVIDSOURCEDATAPACKET& packet, std::string& note);

 private:
  struct Sequence {
    CUVIDEOFORMAT format{};
    bool valid = false;
  };

  bool process(const AccessUnit& unit, std::string& note);
  bool send(const AccessUnit& unit, int64_t id);
  void collect();  // libavcodec's output -> the ready queue
  bool display(size_t keep, std::string& note);
  bool drain(std::string& note);  // everything libavcodec holds, displayed
  CUVIDEOFORMAT current_format(const UnitInfo& info) const;
  int take_surface();
  void release(const std::shared_ptr<Picture>& picture);

  CUVIDPARSERPARAMS params_;
  AvStream av_;
  Sequence reported_;       // the last format the sequence callback accepted
  int surfaces_ = 0;        // decode surfaces the client asked for
  std::vector<bool> busy_;  // by CurrPicIdx
  int last_surface_ = -1;   // the surface taken last: the next search starts after it
  bool lowest_surface_;
  int64_t next_id_ = 1;
  std::map<int64_t, std::shared_ptr<Picture>> in_flight_;  // sent to libavcodec, by id
  std::deque<std::shared_ptr<Picture>> ready_;             // output order, not yet displayed
};

}  // namespace nvdecdouble
