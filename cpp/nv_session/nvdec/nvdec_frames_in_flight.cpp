#include "nv_session/nvdec/nvdec_frames_in_flight.hpp"

#include <algorithm>
#include <exception>
#include <utility>

namespace videohw::nv_session {

NvdecFramesInFlight::NvdecFramesInFlight(std::shared_ptr<NvdecDevice> device, size_t depth)
    : device_(std::move(device)), depth_(depth) {}

NvdecFramesInFlight::~NvdecFramesInFlight() {
  if (frames_.empty() && idle_events_.empty()) return;
  ContextScope scope(device_->context(), std::nothrow);
  if (!scope.entered()) return;
  try {
    complete_all(nullptr);
  } catch (...) {
    // Destructors report nothing: the session that could act on it is going away.
  }
  for (CUevent event : idle_events_) device_->cuda().cuEventDestroy(event);
}

CUevent NvdecFramesInFlight::take_event() {
  if (!idle_events_.empty()) {
    CUevent event = idle_events_.back();
    idle_events_.pop_back();
    return event;
  }
  CUevent event = nullptr;
  // Without timing an event is only a fence, the cheapest kind to record and wait for.
  check_cuda(ErrorKind::Decode, device_->cuda().cuEventCreate(&event, CU_EVENT_DISABLE_TIMING),
             "cuEventCreate", "creating an event for the decoder's output copies");
  return event;
}

void NvdecFramesInFlight::add(CUvideodecoder decoder, int picture, unsigned long long surface,
                              DecodedFrame frame, std::shared_ptr<DeviceBuffer> keep) {
  CUevent done = nullptr;
  try {
    done = take_event();
    check_cuda(ErrorKind::Decode, device_->cuda().cuEventRecord(done, device_->stream()),
               "cuEventRecord", "marking the end of a frame's output copies");
  } catch (...) {
    if (done) idle_events_.push_back(done);  // recording again later overwrites it
    abandon(decoder, surface);
    throw;
  }
  frames_.push_back(Frame{decoder, picture, surface, done, std::move(frame), std::move(keep)});
}

void NvdecFramesInFlight::complete_oldest(std::vector<DecodedFrame>* out) {
  Frame oldest = std::move(frames_.front());
  frames_.pop_front();
  const CUresult waited = device_->cuda().cuEventSynchronize(oldest.done);
  idle_events_.push_back(oldest.done);
  // Unmapped on failure too: the decoder would otherwise run out of output surfaces.
  unmap(oldest.decoder, oldest.surface);
  check_cuda(ErrorKind::Decode, waited, "cuEventSynchronize",
             "waiting for a frame's output copies (picture pts " +
                 (oldest.frame.pts ? std::to_string(*oldest.frame.pts) : std::string("none")) +
                 ")");
  if (out) out->push_back(std::move(oldest.frame));
}

void NvdecFramesInFlight::release_picture(int picture, std::vector<DecodedFrame>* out) {
  const auto holds = [picture](const Frame& f) { return f.picture == picture; };
  while (std::any_of(frames_.begin(), frames_.end(), holds)) complete_oldest(out);
}

void NvdecFramesInFlight::complete_all(std::vector<DecodedFrame>* out) {
  std::exception_ptr first;
  while (!frames_.empty()) {
    try {
      complete_oldest(out);
    } catch (...) {
      if (!first) first = std::current_exception();
    }
  }
  if (first) std::rethrow_exception(first);
}

void NvdecFramesInFlight::abandon(CUvideodecoder decoder, unsigned long long surface) const {
  // Work queued before the failure may still read the surface. Its own failure, if any, is
  // not reported: the caller is already throwing the error that got it here.
  device_->cuda().cuStreamSynchronize(device_->stream());
  unmap(decoder, surface);
}

void NvdecFramesInFlight::unmap(CUvideodecoder decoder, unsigned long long surface) const {
  // Not checked: the surface is the decoder's whatever the result, and the caller needs the
  // frame's own outcome, not the unmap's.
  device_->cuvid().cuvidUnmapVideoFrame(decoder, surface);
}

}  // namespace videohw::nv_session
