// NVDEC decoders whose sessions ended, kept for the next session of the same codec.
//
// cuvidCreateDecoder is most of a new session's time to its first frame (it allocates the
// decode surfaces and sets up the engine); a decoder whose session ended cleanly holds no
// state of that session once its last picture was displayed, and a later sequence it fits
// (nvdec_decoder.hpp says when) is taken by cuvidReconfigureDecoder, as within a session.
// So a session that ends parks its decoder here, with the device (stream and context lock)
// it was created with, and the next session of that codec on that device adopts both.
//
// A parked decoder holds its decode surfaces (about 60 MB for 1080p). The cache keeps at most
// `limit` decoders in the process (default 32: as many sessions as run at once on a GPU with
// several NVDEC engines, which otherwise create and destroy decoders, each a stall for
// every session running beside it), destroying the oldest beyond that; release()
// destroys them all (tests that count the driver's live decoders, a caller who wants the
// memory back). Never destroyed itself: at exit the driver tears its decoders down with
// the context.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>

#include "nv_session/nvdec/nvdec_device.hpp"

namespace videohw::nv_session {

struct ParkedDecoder {
  std::shared_ptr<NvdecDevice> device;  // the decoder's context lock is this device's
  CUvideodecoder decoder = nullptr;
  CUVIDEOFORMAT format{};  // the sequence it was last set up for
  int surfaces = 0;        // ulNumDecodeSurfaces
  int max_width = 0, max_height = 0;
  int output_width = 0, output_height = 0;  // its output surfaces' size, fixed at creation
};

struct DecoderCacheStats {
  int64_t parked = 0;     // decoders kept now
  int64_t adopted = 0;    // taken by a new session instead of a cuvidCreateDecoder
  int64_t destroyed = 0;  // over the limit, or by release()
  int64_t limit = 0;
};

class NvdecDecoderCache {
 public:
  static constexpr int kDefaultLimit = 32;

  static NvdecDecoderCache& get();

  // The most recently parked decoder of `codec` on device `ordinal` of `driver`, if any.
  std::optional<ParkedDecoder> take(const CudaDriver& driver, int ordinal, cudaVideoCodec codec);
  // Keeps `parked` (nothing of it may be mapped); destroys the oldest beyond the limit.
  // Throws only with `parked` not taken (out of memory): the caller still owns it.
  void park(ParkedDecoder parked);
  void release();
  void set_limit(int decoders);
  DecoderCacheStats stats() const;

 private:
  NvdecDecoderCache() = default;
  static void destroy(ParkedDecoder& parked);
  std::deque<ParkedDecoder> over_limit_locked();

  mutable std::mutex mutex_;
  std::deque<ParkedDecoder> parked_;  // oldest first
  int limit_ = kDefaultLimit;
  DecoderCacheStats counts_;
};

}  // namespace videohw::nv_session
