// The backend-neutral contract, mirrored from python/videohw/contract.py.
// Plain values only: adapters map these onto their backend, nothing here knows a backend.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace videohw {

enum class Codec { H264, HEVC, AV1, VP9 };
enum class PixelFormat { ARGB8888, BGRA, RGB24, NV12, I420 };
enum class EncodedLayout { AnnexB, AVCC, HVCC };
enum class RateControlMode { CBR, VBR, ConstQP };
enum class SwitchMode { Immediate, OnNextKeyframe, DrainThenSwap };
enum class DecodeOutputMode { MetadataOnly, NativeSurface, CpuRgb };

const char* to_string(Codec codec);
const char* to_string(PixelFormat format);
const char* to_string(RateControlMode mode);
const char* to_string(SwitchMode mode);
const char* to_string(DecodeOutputMode mode);

struct RateControl {
  RateControlMode mode = RateControlMode::CBR;
  int64_t bitrate_bps = 4'000'000;                      // CBR target, VBR average
  int64_t max_bitrate_bps = 0;                          // VBR peak; CBR: equals bitrate
  int64_t vbv_buffer_bits = 0;                          // 0: one second of the peak rate
  int qp_intra = -1, qp_inter_p = -1, qp_inter_b = -1;  // ConstQP only
};

struct CommonEncodeConfig {
  Codec codec = Codec::H264;
  int width = 0, height = 0;
  int fps_num = 30, fps_den = 1;
  bool low_latency = false;
  int gop_length = 60;
  int frame_interval_p = 1;  // b_frames + 1
  int b_frames = 0;
  RateControl rate_control;
  bool force_idr = false;  // IDR when the config takes effect and after each flush
};

struct SoftwareEncodeConfig {
  std::string preset = "veryfast";
  std::string tune;  // empty: none
  int threads = 0;   // 0: encoder's automatic choice
  int max_in_flight = 4;
};

struct NvidiaEncodeConfig {
  int max_in_flight_outputs = 4;  // input and bitstream buffers in the NVENC ring
  std::string preset;             // "p1".."p7"; empty: p4
  std::string tuning;  // "hq", "ll", "ull", "lossless"; empty: ll when low_latency, else hq
  int device = 0;      // CUDA device ordinal
};

// Where a frame's planes live. CudaDevice planes are device addresses (CUdeviceptr values)
// on CUDA device `FrameView::device`, valid in its primary context; host code must never
// read through them.
enum class FrameMemory { Host, CudaDevice };

// One plane-addressed view of caller memory; valid only for the duration of a call.
struct FrameView {
  PixelFormat format = PixelFormat::I420;
  int width = 0, height = 0;
  const uint8_t* planes[3] = {nullptr, nullptr, nullptr};
  int strides[3] = {0, 0, 0};
  int plane_count = 0;
  FrameMemory memory = FrameMemory::Host;
  int device = 0;  // CUDA device ordinal of CudaDevice planes
};

struct FrameOptions {
  std::optional<int64_t> pts;
  bool force_keyframe = false;
};

struct EncodedPacket {
  std::vector<uint8_t> data;
  int64_t pts = 0;
  int64_t dts = 0;
  bool is_keyframe = false;
  uint32_t generation = 0;
  EncodedLayout layout = EncodedLayout::AnnexB;
};

struct Capabilities {
  std::string backend;
  Codec codec = Codec::H264;
  int min_width = 0, min_height = 0, max_width = 0, max_height = 0;
  int max_b_frames = 0;
  int max_gop_length = 0;
  std::vector<RateControlMode> rate_control_modes;
  std::vector<PixelFormat> input_formats;
  bool low_latency = false;
  bool dynamic_bitrate = false;
  bool dynamic_resolution = false;
  std::vector<std::string> presets;
  std::vector<std::string> tunes;
};

// Decode side: what every decoder backend is told (CommonDecodeConfig in contract.py).
struct CommonDecodeConfig {
  Codec codec = Codec::H264;
  bool low_latency = false;
  std::optional<int> max_display_delay;  // frames; empty: the backend's default
  bool prefer_zero_copy = true;
  DecodeOutputMode output = DecodeOutputMode::MetadataOnly;
  // AVCC / HVCC: each push is one length-prefixed sample (a container's packet) and
  // `extradata` its avcC / hvcC record; the session makes them Annex-B for the decoder.
  EncodedLayout input_layout = EncodedLayout::AnnexB;
  std::vector<uint8_t> extradata;
  // Limits against hostile streams. A picture larger than max_width x max_height (0: the
  // backend's maximum) is refused with a decode error before anything is allocated for it;
  // an access unit that grows past max_access_unit_bytes without ending is dropped.
  int max_width = 0, max_height = 0;
  int64_t max_access_unit_bytes = int64_t(64) << 20;
  // Decoded frames waiting to be reaped: once either bound is reached, the decode stage
  // leaves the queued bytes undecoded until a reap makes room (the session's backpressure).
  // Bytes are the frames' pixel bytes, host or device.
  int64_t max_ready_frames = 1024;
  int64_t max_ready_bytes = int64_t(1) << 30;
  // Pushed bytes waiting for the decode stage. A push that finds push_ahead_bytes queued
  // waits while the stage works them down, so a caller who pushes a file in chunks and reaps
  // between pushes never has more than about a chunk and this much decoded at once (page-locked
  // RGB frames are 6 MB each at 1080p); its own chunk is then taken whole. A chunk larger
  // than max_backlog_bytes is not copied but decoded from the caller's memory while the push
  // waits.
  int64_t push_ahead_bytes = int64_t(1) << 20;
  int64_t max_backlog_bytes = int64_t(64) << 20;
};

struct SoftwareDecodeConfig {
  int threads = 0;  // 0: decoder's automatic choice
};

struct NvidiaDecodeConfig {
  int device = 0;  // CUDA device ordinal
};

// Colour description as ITU-T H.273 code points (the numbers the bitstream's VUI carries;
// FFmpeg's AVColor* enums use the same values). 2 = unspecified. Names for display come
// from session/color_names.hpp.
struct ColorInfo {
  int primaries = 2;
  int transfer = 2;
  int matrix = 2;
  bool full_range = false;  // false: limited ("tv") range, the default of H.264/HEVC
};

struct DecodeCapabilities {
  std::string backend;
  Codec codec = Codec::H264;
  bool supported = false;
  int max_width = 0, max_height = 0;
  std::vector<DecodeOutputMode> output_modes;
  bool device_surfaces = false;     // NATIVE_SURFACE planes live in device memory
  bool dynamic_resolution = false;  // a size change mid-stream needs no new session
};

}  // namespace videohw
