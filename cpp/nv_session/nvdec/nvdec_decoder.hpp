// One NVDEC decode session: the cuvid parser feeding a hardware decoder, frames handed out
// in the session's output mode.
//
// The decoder is adopted from an ended session (nvdec_decoder_cache.hpp) when one of the
// codec is parked, else created in the parser's sequence callback, sized for at least 1920x1088
// (ulMaxWidth/ulMaxHeight), so a later sequence of another coded size within that maximum,
// whose pictures are no larger than the output surfaces made at creation, is taken by
// cuvidReconfigureDecoder instead of a new decoder. Everything runs on the
// caller's thread inside cuvidParseVideoData: the callbacks fire synchronously there.
//
// Output modes:
//   MetadataOnly  - the display callback records size, pts, keyframe, colour; no frame is
//                   ever mapped (cuvidMapVideoFrame is not called).
//   NativeSurface - map, queue two cuMemcpy2DAsync of the NV12 planes (P016 for 10/12-bit
//                   streams: 16-bit samples) into a pooled device buffer (pitch = width
//                   rounded up to even, UV plane right after the Y plane); the buffer goes
//                   back to the pool when the last owner dies.
//   CpuRgb        - map, queue the NV12 -> RGB24 kernel and one device-to-host copy into a
//                   pooled page-locked buffer.
// In both pixel modes the frame then waits in NvdecFramesInFlight (up to kFramesInFlight,
// the decoder's ulNumOutputSurfaces) until an event says its copies are done; only then is
// its surface unmapped and the frame handed out. Every decode / decode_unit / flush call
// ends with nothing in flight, so a call's frames are appended by that call, pixels final.
//
// Owns, and drops in this order (the destructor does it explicitly):
//   1. end of stream to the parser (flush; frames still queued are discarded)
//   2. drain: the flush ended with nothing in flight, as every parse call does, so this
//      destroys the output stage's events (a frame still in flight would be waited for and
//      unmapped first)
//   3. release surfaces: the output pool and the RGB converter (buffers a caller still
//      holds keep their pool, and the context, alive until they die)
//   4. park the decoder for the next session of its codec (nvdec_decoder_cache.hpp), or
//      destroy it where the session ended on an error (no frame mapped by then either way)
//   5. destroy the parser
//   6. release the device (the last reference may be held by outstanding frames)
#pragma once

#include <cstdint>
#include <deque>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <tuple>
#include <unordered_set>
#include <vector>

#include "backend/decoder_backend.hpp"
#include "nv_session/nvdec/nvdec_decoder_cache.hpp"
#include "nv_session/nvdec/nvdec_device.hpp"
#include "nv_session/nvdec/nvdec_frames_in_flight.hpp"
#include "nv_session/nvdec/nvdec_rgb_converter.hpp"
#include "nv_session/nvdec/nvdec_surface_pool.hpp"

namespace videohw::nv_session {

// Extra numbers an NVDEC session reports beyond DecodeStats (tests and benchmarks).
struct NvdecSessionStats {
  int64_t decoders_created = 0;
  int64_t decoders_adopted = 0;  // taken from an ended session instead of created
  int64_t reconfigures = 0;      // cuvidReconfigureDecoder calls
  int64_t frames_mapped = 0;     // cuvidMapVideoFrame calls (0 in MetadataOnly)
  int decode_surfaces = 0;       // ulNumDecodeSurfaces of the current decoder
  int max_width = 0, max_height = 0;
  SurfacePoolStats pool;      // NativeSurface frames' device buffers
  SurfacePoolStats rgb_pool;  // CpuRgb frames' page-locked host buffers
};

class NvdecDecoder final : public DecoderBackend {
 public:
  // Frames whose copies may be queued at once, each holding a mapped output surface.
  static constexpr int kFramesInFlight = 4;
  // An output pool keeps for reuse what the session may hold at once: its ready frames
  // (CommonDecodeConfig::max_ready_frames / max_ready_bytes), those in flight, and this
  // many a caller holds beyond them. A caller who reaps nothing until flush then pays for
  // page-locked allocations once per session, not once per file; more than that comes back
  // freed.
  static constexpr size_t kHeldBeyondReady = 16;

  // Throws BackendUnavailable (no driver / device / codec) or UnsupportedConfig.
  NvdecDecoder(const CommonDecodeConfig& config, const NvidiaDecodeConfig& nvidia,
               RgbTableSource rgb_tables = {});
  ~NvdecDecoder() override;
  NvdecDecoder(const NvdecDecoder&) = delete;
  NvdecDecoder& operator=(const NvdecDecoder&) = delete;

  const char* name() const override { return "nvidia"; }
  void decode(const uint8_t* data, size_t size, std::optional<int64_t> pts,
              std::vector<DecodedFrame>& out) override;
  void decode_unit(const DecodeUnit& unit, std::vector<DecodedFrame>& out) override;
  void reset(bool new_stream) override;
  void flush(std::vector<DecodedFrame>& out) override;
  void reconfigure(const CommonDecodeConfig& to) override;
  DecodeStats stats() const override;
  NvdecSessionStats nvdec_stats() const;

 private:
  static int CUDAAPI on_sequence(void* self, CUVIDEOFORMAT* format);
  static int CUDAAPI on_decode(void* self, CUVIDPICPARAMS* picture);
  static int CUDAAPI on_display(void* self, CUVIDPARSERDISPINFO* info);
  int handle_sequence(const CUVIDEOFORMAT& format);
  int handle_decode(CUVIDPICPARAMS& picture);
  int handle_display(const CUVIDPARSERDISPINFO& info);

  void create_parser();
  void create_decoder(const CUVIDEOFORMAT& format, int surfaces);
  void reconfigure_decoder(const CUVIDEOFORMAT& format, int surfaces);
  void adopt_decoder(const ParkedDecoder& parked);
  void set_up_for(const CUVIDEOFORMAT& format, int surfaces, int max_width, int max_height,
                  int output_width, int output_height);
  void destroy_decoder();
  void park_or_destroy_decoder(bool ended_clean);
  void parse(const uint8_t* data, size_t size, unsigned long flags, int64_t timestamp,
             std::vector<DecodedFrame>& out);
  std::exception_ptr drain_in_flight(std::vector<DecodedFrame>* out);
  void count_conversion(int64_t since);
  void map_and_queue(const CUVIDPARSERDISPINFO& info, DecodedFrame frame);
  bool picture_damaged(int index);
  std::shared_ptr<DeviceBuffer> queue_output(unsigned long long surface, unsigned pitch,
                                             DecodedFrame& frame);
  void queue_surface_copy(CUdeviceptr luma, CUdeviceptr chroma, unsigned pitch,
                          DecodedFrame& frame);
  void ensure_output_resources();

  CommonDecodeConfig config_;
  std::shared_ptr<NvdecDevice> device_;
  std::shared_ptr<NvdecSurfacePool> pool_;
  std::unique_ptr<NvdecRgbConverter> rgb_;
  std::unique_ptr<NvdecFramesInFlight> in_flight_;
  RgbTableSource rgb_tables_;
  CUvideoparser parser_ = nullptr;
  CUvideodecoder decoder_ = nullptr;

  // The current sequence as the decoder was set up for it.
  CUVIDEOFORMAT format_{};
  int surfaces_ = 0;
  int max_width_ = 0, max_height_ = 0;
  // The output surfaces' size, fixed at creation: a reconfigure may shrink the output, never
  // grow it (the H200's driver took a growing reconfigure, then every copy out failed).
  int output_width_ = 0, output_height_ = 0;
  int width_ = 0, height_ = 0;  // display size
  int bytes_per_sample_ = 1;    // 2 for P016 surfaces (10/12-bit streams)
  ColorInfo color_;

  // Parser timestamps are ids (1, 2, ...) standing for the caller's pts; 0 means "none".
  // pts are matched to pictures in decode order (the parser's display timestamps came back
  // in decode order with B-frames on the H200's driver): each push with a pts queues it, each
  // decoded picture takes the oldest, and its display reports the one of its surface.
  std::deque<int64_t> pending_pts_;
  std::vector<std::optional<int64_t>> pts_by_surface_;
  std::vector<uint8_t> keyframe_by_surface_;  // from the decode callback, by CurrPicIdx
  std::unordered_set<int64_t> skip_tags_;     // DecodeUnit tags whose pictures stay unmapped
  bool discard_all_ = false;                  // reset(): display callbacks map nothing

  std::map<std::tuple<int, int, int>, CUVIDDECODECAPS> caps_;  // by codec, chroma, bit depth
  std::vector<DecodedFrame>* out_ = nullptr;                   // where display callbacks put frames
  std::exception_ptr callback_error_;  // thrown once cuvidParseVideoData returns
  bool pushed_since_flush_ = false;
  bool adopted_unused_ = false;  // an adopted decoder no sequence of this session has set up

  DecodeStats stats_;
  NvdecSessionStats nv_stats_;
};

}  // namespace videohw::nv_session
