// cuvidCreateDecoder's object: decode surfaces that hold the pictures the client decoded
// into them, and output surfaces that cuvidMapVideoFrame64 fills with NV12 (P016 for more
// than 8 bits: samples in the high bits) at the target size, with a pitch. A mapped output
// surface is device memory to the CUDA double until it is unmapped.
//
// Every call returns 0 or the CUresult NVDEC gives; a broken API rule also sets `problem`
// (a violation line). Not thread-safe: the caller serialises.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <ffnvcodec/dynlink_cuda.h>
#include <ffnvcodec/dynlink_cuviddec.h>

#include "picture.hpp"

namespace nvdecdouble {

class VideoDecoder {
 public:
  VideoDecoder(const CUVIDDECODECREATEINFO& info, CUcontext context);
  ~VideoDecoder();
  VideoDecoder(const VideoDecoder&) = delete;
  VideoDecoder& operator=(const VideoDecoder&) = delete;

  CUcontext context() const { return context_; }
  int decode(const CUVIDPICPARAMS& params, std::shared_ptr<Picture> picture, std::string& problem);
  // `fail`: report the picture as not decoded (an injected fault).
  int status(int index, CUVIDGETDECODESTATUS& status, bool fail, std::string& problem);
  int reconfigure(const CUVIDRECONFIGUREDECODERINFO& info, std::string& problem);
  int map(int index, unsigned long long& pointer, unsigned& pitch, std::string& problem);
  int unmap(unsigned long long pointer, std::string& problem);
  int mapped() const;

 private:
  struct Output {
    uint8_t* memory = nullptr;
    size_t bytes = 0;
    bool mapped = false;
    int index = -1;
  };
  bool in_range(int index) const { return index >= 0 && size_t(index) < surfaces_.size(); }

  CUVIDDECODECREATEINFO info_;
  // The output surfaces' size, fixed at creation: a reconfigure may not grow past it.
  unsigned long created_target_width_ = 0, created_target_height_ = 0;
  CUcontext context_;
  std::vector<std::shared_ptr<Picture>> surfaces_;  // by CurrPicIdx
  std::vector<Output> outputs_;                     // ulNumOutputSurfaces
};

// "" when the double can create this decoder, else why not.
std::string unsupported_decoder(const CUVIDDECODECREATEINFO& info);

}  // namespace nvdecdouble
