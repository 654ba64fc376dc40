// The seam between the session layer and a backend adapter. The session owns one of
// these per generation; an adapter maps the common contract onto its backend and nothing
// above this interface knows which backend it is.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "contract/errors.hpp"
#include "contract/types.hpp"
#include "ring/buffer_pool.hpp"

namespace videohw {

struct EncodeStats {
  int64_t encoder_opens = 0;    // backend encoder contexts created (1 for a healthy session)
  int64_t encoder_reopens = 0;  // contexts re-created because a drain ended the stream
  // Flushes that ended the coded stream without re-creating anything (the next frame is an
  // IDR): an NVENC end-of-stream picture, for instance.
  int64_t stream_restarts = 0;
  int64_t in_place_flushes = 0;  // flushes that needed no drain at all
  int64_t frames_encoded = 0;
  int64_t borrow_leaks = 0;         // caller buffers still referenced after encode returned
  int64_t device_input_frames = 0;  // frames the encoder read from device memory, no host copy
  int64_t encode_ns = 0;
  // Lines FFmpeg logged through this encoder's codec contexts (media/ffmpeg_log_owner.hpp)
  int64_t ffmpeg_warnings = 0;
  int64_t ffmpeg_errors = 0;  // at AV_LOG_ERROR or worse
};

// What a flush did to the coded stream, so the session knows without inferring it from
// counters: whether the next frame starts a new coded stream (an IDR is due), and whether
// the backend re-created its encoder for it.
struct FlushResult {
  bool restarted_stream = false;  // the stream ended; the next frame is an IDR
  bool reopened = false;          // ... and the encoder was re-created (implies restarted)
  int64_t packets = 0;            // packets this flush appended to `out`
};

// "in_place", "end_of_stream" or "reopen": telemetry's flush_mode for a result.
inline const char* flush_mode_name(const FlushResult& r) {
  return r.reopened ? "reopen" : r.restarted_stream ? "end_of_stream" : "in_place";
}

class EncoderBackend {
 public:
  virtual ~EncoderBackend() = default;

  virtual const char* name() const = 0;

  // Encodes one frame; packets that became ready are appended to `out`. The frame's
  // memory is not referenced after the call returns. The pipeline hands over only frames
  // of the encoder's configured size in one of its provider's native_input_formats(); an
  // adapter never converts, and throws Error(Encode) on any other frame (a videohw bug).
  virtual void encode(const FrameView& frame, const FrameOptions& options,
                      std::vector<EncodedPacket>& out) = 0;

  // Appends every packet of every frame encoded so far. The backend accepts frames again
  // afterwards.
  virtual FlushResult flush(std::vector<EncodedPacket>& out) = 0;

  // End of stream: appends the remaining packets. No frame may follow.
  virtual void finish(std::vector<EncodedPacket>& out) = 0;

  virtual EncodeStats stats() const = 0;

  // Applies `to` to the running encoder from the next frame on. Called only when the
  // provider's can_reconfigure(current, to) said yes; throws when the encoder refuses.
  virtual void reconfigure(const CommonEncodeConfig& to) {
    (void)to;
    throw Error(ErrorKind::Switch, std::string(name()) + " cannot reconfigure in place");
  }

  // Ends the current stream (packets of frames still held are appended to `out`) and begins
  // another with `to`, as a newly created encoder would: parameter sets, rate control and
  // GOP start afresh, and the next frame is an IDR. The session keeps the encoder instead of
  // creating one for each file (videohw.distributed). Called only when the provider's
  // can_restart(current, to) said yes; a throw leaves the current stream running.
  virtual void restart(const CommonEncodeConfig& to, std::vector<EncodedPacket>& out) {
    (void)to;
    (void)out;
    throw Error(ErrorKind::Switch, std::string(name()) + " cannot start a new stream in place");
  }

  // Packet payloads come from this pool when set, so steady state allocates none.
  virtual void set_packet_pool(ring::PacketPool* pool) { (void)pool; }
};

}  // namespace videohw
