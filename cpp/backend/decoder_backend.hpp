// The seam between decode sessions and a decode adapter (software: libavcodec, nvidia:
// NVDEC). The session owns one DecoderBackend per generation and stamps generations; the
// adapter turns bitstream bytes into DecodedFrames. Nothing above this interface knows
// which backend it is. Backends are found by name in session/decoder_registry.hpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "contract/errors.hpp"
#include "contract/types.hpp"

namespace videohw {

// One plane of a decoded picture. `width_bytes` is the meaningful bytes of a row (for NV12's
// interleaved UV plane: the full width); `pitch` may exceed it.
struct SurfacePlane {
  uint8_t* data = nullptr;
  int pitch = 0;
  int width_bytes = 0;
  int height = 0;
};

// One decoded picture.
//
// Pixels by `output`:
//   MetadataOnly  - `planes` is empty, `owner` is null: the backend copied nothing.
//   NativeSurface - the backend's own planes in its native layout (`pixel_format`, e.g.
//                   "yuv420p" from libavcodec, "nv12" from NVDEC); no conversion, no copy.
//   CpuRgb        - one plane, host memory, packed R,G,B bytes: height x width x 3,
//                   `pixel_format` "rgb24".
//
// Ownership: `planes[i].data` stays valid exactly as long as some copy of `owner` lives.
// The owner's deleter gives the memory back (an AVFrame unref, an NVDEC surface returned to
// its pool, a host buffer freed), so it may run on any thread, after the session and even
// the backend are gone: a backend whose memory depends on a context (CUDA) keeps that
// context alive from inside the owner. Copying a DecodedFrame shares the pixels; nothing
// is ever written through `planes` after the frame is handed out.
//
// `on_device`: planes are device pointers (CUDA) on device `device_id`, to be read only
// through device APIs (DLPack, __cuda_array_interface__); false: ordinary host memory.
struct DecodedFrame {
  int width = 0, height = 0;
  std::optional<int64_t> pts;  // the pts pushed with the access unit, if any
  // Set by a file reader (pipeline/frame_reader.hpp), not by decoders: the frame's index
  // in display order and its time in seconds.
  std::optional<int64_t> index;
  std::optional<double> seconds;
  uint32_t generation = 0;   // set by the session, not the backend
  bool is_keyframe = false;  // IDR / IRAP picture
  bool damaged = false;      // decoded with errors or concealment: pixels are unreliable
  ColorInfo color;
  DecodeOutputMode output = DecodeOutputMode::MetadataOnly;

  std::string pixel_format;  // "" for MetadataOnly
  int bytes_per_sample = 1;  // 1 for 8-bit formats, 2 for 10/12-bit ones
  std::vector<SurfacePlane> planes;
  std::shared_ptr<void> owner;
  bool on_device = false;
  int device_id = -1;
};

struct DecodeStats {
  int64_t decoder_opens = 0;  // decoder contexts created (1 for a healthy session)
  int64_t frames_decoded = 0;
  int64_t damaged_frames = 0;
  int64_t decode_errors = 0;  // packets the decoder rejected (each one a DecodeError)
  int64_t bytes_in = 0;
  int64_t access_units = 0;  // access units (packets) handed to the decoder
  int64_t size_changes = 0;  // mid-stream picture size changes handled in place
  int64_t decode_ns = 0;
  // Creating or resizing the decoder itself (NVDEC: cuvidCreateDecoder, cuvidReconfigureDecoder;
  // 0 where a backend sets its decoder up with the session).
  int64_t decoder_setup_ns = 0;
  int64_t convert_ns = 0;      // CPU_RGB conversion
  int64_t frames_skipped = 0;  // decoded for reference only (DecodeUnit::skip_output)
  int64_t resets = 0;          // reset() calls (seeks and new streams)
  // Output buffers (pixels, RGB staging) the backend's pools had to allocate: flat once
  // the pools reached the stream's steady state.
  int64_t pool_allocations = 0;
  // Lines FFmpeg logged through this decoder's codec contexts (media/ffmpeg_log_owner.hpp)
  int64_t ffmpeg_warnings = 0;
  int64_t ffmpeg_errors = 0;  // at AV_LOG_ERROR or worse
};

// One whole access unit (a container sample made Annex-B, or one VP9/AV1 packet), pushed
// past the backend's own access-unit assembly so that its tag comes back exactly on its
// picture. skip_output: decode it for reference only; its picture is never handed out
// (not mapped, not converted).
struct DecodeUnit {
  const uint8_t* data = nullptr;
  size_t size = 0;
  int64_t tag = 0;  // becomes DecodedFrame::pts of its picture
  bool skip_output = false;
};

class DecoderBackend {
 public:
  virtual ~DecoderBackend() = default;

  virtual const char* name() const = 0;

  // Takes one chunk of Annex-B bytes of any size (one byte up to a whole stream; access
  // units may span chunks). `pts`, when given, belongs to the access unit that starts in
  // this chunk; frames whose access unit had none carry no pts. Frames that became ready
  // are appended to `out`. The bytes are not referenced after the call returns.
  // Throws Error(Decode) when the decoder rejects data; the backend stays usable and
  // resumes at the next random access point (IDR / IRAP). Frames appended before the
  // throw are kept in `out`.
  virtual void decode(const uint8_t* data, size_t size, std::optional<int64_t> pts,
                      std::vector<DecodedFrame>& out) = 0;

  // One access unit (see DecodeUnit). Bytes pushed by decode() and not yet decoded are
  // decoded first. Errors as decode().
  virtual void decode_unit(const DecodeUnit& unit, std::vector<DecodedFrame>& out) = 0;

  // Forgets everything pushed so far without handing out a frame of it: the next data
  // starts at a random access point. A seek keeps what the decoder learnt of the stream
  // (parameter sets); `new_stream` (the next file on a reused session) forgets that too,
  // so nothing of the last stream (its colour description, its reorder depth) carries over.
  virtual void reset(bool new_stream) = 0;

  // Decodes whatever is buffered (including a final access unit without a following start
  // code) and appends every remaining frame. The backend accepts data again afterwards,
  // starting at a random access point. A flush with nothing pushed appends nothing.
  virtual void flush(std::vector<DecodedFrame>& out) = 0;

  // Applies a new output mode (same codec) from the next frame on; only called after a
  // flush and only when DecoderProvider::can_reconfigure said yes.
  virtual void reconfigure(const CommonDecodeConfig& to) {
    (void)to;
    throw Error(ErrorKind::Switch, std::string(name()) + " cannot reconfigure in place");
  }

  virtual DecodeStats stats() const = 0;
};

// What the session layer needs from a decode backend before any session exists.
class DecoderProvider {
 public:
  virtual ~DecoderProvider() = default;
  virtual std::string name() const = 0;
  virtual DecodeCapabilities capabilities(Codec codec) const = 0;
  // Every reason `config` cannot be decoded here, one message each; empty: fine.
  virtual std::vector<std::string> config_problems(const CommonDecodeConfig& config) const {
    (void)config;
    return {};
  }
  virtual std::unique_ptr<DecoderBackend> create(const CommonDecodeConfig& config) const = 0;
  // Whether a flushed decoder running `from` can take `to` in place.
  virtual bool can_reconfigure(const CommonDecodeConfig& from, const CommonDecodeConfig& to) const {
    (void)from;
    (void)to;
    return false;
  }
};

}  // namespace videohw
