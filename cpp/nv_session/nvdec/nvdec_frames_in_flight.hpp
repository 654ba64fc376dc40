// The output stage of an NVDEC session: frames whose copies (NATIVE_SURFACE) or conversion
// (CPU_RGB) are queued on the device's stream while their decoded pictures stay mapped.
//
// The display callback maps a picture, queues the work that reads it and add()s the frame:
// an event is recorded behind the work and the frame waits here, in display order, instead
// of the parser waiting for a stream synchronize per frame. A frame leaves only once its
// event completed: its surface is unmapped then (never earlier: the work reads it) and the
// frame is appended to the caller's list, its pixels final. Up to `depth` frames are in
// flight; the decoder is created with that many output surfaces (ulNumOutputSurfaces).
// The map's own work (post-processing into the output surface) runs on the stream too, so a
// decode surface whose picture is in flight must not be decoded into until its frame left:
// release_picture() is for the decode callback.
//
// Events come from a small pool owned here and are destroyed with it, inside the context.
// Not thread-safe: the session calls it from one thread at a time.
#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <vector>

#include "backend/decoder_backend.hpp"
#include "nv_session/nvdec/nvdec_device.hpp"
#include "nv_session/nvdec/nvdec_surface_pool.hpp"

namespace videohw::nv_session {

class NvdecFramesInFlight {
 public:
  NvdecFramesInFlight(std::shared_ptr<NvdecDevice> device, size_t depth);
  // Waits for and unmaps whatever is still in flight (a decoder that drained finds nothing
  // here), then destroys the events.
  ~NvdecFramesInFlight();
  NvdecFramesInFlight(const NvdecFramesInFlight&) = delete;
  NvdecFramesInFlight& operator=(const NvdecFramesInFlight&) = delete;

  size_t size() const { return frames_.size(); }
  bool full() const { return frames_.size() >= depth_; }

  // Takes `frame`, mapped from decode surface `picture` into the output `surface` of
  // `decoder`, whose work is queued on the device's stream; `keep` is held until that work
  // completed (a staging buffer it reads). The context must be current and the set not
  // full. When the event cannot be recorded, the surface is unmapped, the frame dropped and
  // Error(Decode) thrown.
  void add(CUvideodecoder decoder, int picture, unsigned long long surface, DecodedFrame frame,
           std::shared_ptr<DeviceBuffer> keep);

  // Waits for the oldest frame, unmaps its surface and appends it to `out` (when not null).
  // A failed wait unmaps the surface, drops the frame and throws Error(Decode).
  void complete_oldest(std::vector<DecodedFrame>* out);

  // Completes frames, oldest first, until none in flight was mapped from decode surface
  // `picture`. Errors as complete_oldest().
  void release_picture(int picture, std::vector<DecodedFrame>* out);

  // Completes every frame in order; a failed one is dropped and the rest still completed,
  // so nothing is left mapped. Throws the first failure once all are done.
  void complete_all(std::vector<DecodedFrame>* out);

  // For a frame that never got here: its work could not be queued in full. Waits for what
  // was queued (which may read the surface; a failure there is the caller's error already)
  // and unmaps. The context must be current.
  void abandon(CUvideodecoder decoder, unsigned long long surface) const;

 private:
  struct Frame {
    CUvideodecoder decoder;
    int picture;
    unsigned long long surface;
    CUevent done;
    DecodedFrame frame;
    std::shared_ptr<DeviceBuffer> keep;
  };
  CUevent take_event();
  void unmap(CUvideodecoder decoder, unsigned long long surface) const;

  std::shared_ptr<NvdecDevice> device_;
  size_t depth_;
  std::deque<Frame> frames_;          // display order
  std::vector<CUevent> idle_events_;  // created once, reused
};

}  // namespace videohw::nv_session
