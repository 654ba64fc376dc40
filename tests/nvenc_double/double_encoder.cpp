#include "double_encoder.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "cuda_link.hpp"

namespace nvdouble {

namespace {

// Each kind of handle has its own range (encoders are at 0x3c000000, nvenc_api.cpp), so a
// handle of one kind passed where another is expected is recognised and named.
constexpr uintptr_t kInputBase = 0x1a000000, kBitstreamBase = 0x2b000000,
                    kRegisteredBase = 0x4d000000, kMappedBase = 0x5e000000, kStride = 0x10;
constexpr int kPitchAlignment = 256;  // like the driver: the client must honour the pitch

bool planar(NV_ENC_BUFFER_FORMAT f) {
  return f == NV_ENC_BUFFER_FORMAT_IYUV || f == NV_ENC_BUFFER_FORMAT_YV12;
}

std::string size_text(int w, int h) {
  return std::to_string(w) + "x" + std::to_string(h);
}

uintptr_t base_of(uintptr_t value) {
  return value >= kMappedBase       ? kMappedBase
         : value >= kRegisteredBase ? kRegisteredBase
         : value >= kBitstreamBase  ? kBitstreamBase
                                    : kInputBase;
}

// Ranges are open-ended upwards to the next base, so a long soak's ids stay in theirs.
bool in_range(void* handle, uintptr_t base) {
  const auto v = reinterpret_cast<uintptr_t>(handle);
  return base_of(v) == base && v > base && (v - base) % kStride == 0;
}

}  // namespace

const char* status_name(NVENCSTATUS status) {
  switch (status) {
#define NAME(s) \
  case s:       \
    return #s
    NAME(NV_ENC_SUCCESS);
    NAME(NV_ENC_ERR_NO_ENCODE_DEVICE);
    NAME(NV_ENC_ERR_UNSUPPORTED_DEVICE);
    NAME(NV_ENC_ERR_INVALID_ENCODERDEVICE);
    NAME(NV_ENC_ERR_INVALID_DEVICE);
    NAME(NV_ENC_ERR_DEVICE_NOT_EXIST);
    NAME(NV_ENC_ERR_INVALID_PTR);
    NAME(NV_ENC_ERR_INVALID_EVENT);
    NAME(NV_ENC_ERR_INVALID_PARAM);
    NAME(NV_ENC_ERR_INVALID_CALL);
    NAME(NV_ENC_ERR_OUT_OF_MEMORY);
    NAME(NV_ENC_ERR_ENCODER_NOT_INITIALIZED);
    NAME(NV_ENC_ERR_UNSUPPORTED_PARAM);
    NAME(NV_ENC_ERR_LOCK_BUSY);
    NAME(NV_ENC_ERR_NOT_ENOUGH_BUFFER);
    NAME(NV_ENC_ERR_INVALID_VERSION);
    NAME(NV_ENC_ERR_MAP_FAILED);
    NAME(NV_ENC_ERR_NEED_MORE_INPUT);
    NAME(NV_ENC_ERR_ENCODER_BUSY);
    NAME(NV_ENC_ERR_EVENT_NOT_REGISTERD);
    NAME(NV_ENC_ERR_GENERIC);
    NAME(NV_ENC_ERR_INCOMPATIBLE_CLIENT_KEY);
    NAME(NV_ENC_ERR_UNIMPLEMENTED);
    NAME(NV_ENC_ERR_RESOURCE_REGISTER_FAILED);
    NAME(NV_ENC_ERR_RESOURCE_NOT_REGISTERED);
    NAME(NV_ENC_ERR_RESOURCE_NOT_MAPPED);
#undef NAME
  }
  return "NVENCSTATUS(unknown)";
}

void* DoubleEncoder::input_handle(uint64_t id) {
  return reinterpret_cast<void*>(kInputBase + kStride * id);
}
void* DoubleEncoder::bitstream_handle(uint64_t id) {
  return reinterpret_cast<void*>(kBitstreamBase + kStride * id);
}
void* DoubleEncoder::registered_handle(uint64_t id) {
  return reinterpret_cast<void*>(kRegisteredBase + kStride * id);
}
void* DoubleEncoder::mapped_handle(uint64_t id) {
  return reinterpret_cast<void*>(kMappedBase + kStride * id);
}
uint64_t DoubleEncoder::handle_id(void* handle) {
  const auto value = reinterpret_cast<uintptr_t>(handle);
  const uintptr_t base = base_of(value);
  return value >= base ? (value - base) / kStride : 0;
}

std::string buffer_format_text(NV_ENC_BUFFER_FORMAT f) {
  switch (f) {
    case NV_ENC_BUFFER_FORMAT_NV12:
      return "NV12";
    case NV_ENC_BUFFER_FORMAT_YV12:
      return "YV12";
    case NV_ENC_BUFFER_FORMAT_IYUV:
      return "IYUV";
    case NV_ENC_BUFFER_FORMAT_YUV444:
      return "YUV444";
    case NV_ENC_BUFFER_FORMAT_YUV420_10BIT:
      return "YUV420_10BIT";
    case NV_ENC_BUFFER_FORMAT_YUV444_10BIT:
      return "YUV444_10BIT";
    case NV_ENC_BUFFER_FORMAT_ARGB:
      return "ARGB";
    case NV_ENC_BUFFER_FORMAT_ARGB10:
      return "ARGB10";
    case NV_ENC_BUFFER_FORMAT_AYUV:
      return "AYUV";
    case NV_ENC_BUFFER_FORMAT_ABGR:
      return "ABGR";
    case NV_ENC_BUFFER_FORMAT_ABGR10:
      return "ABGR10";
    case NV_ENC_BUFFER_FORMAT_UNDEFINED:
      return "UNDEFINED";
    default: {
      char text[16];
      std::snprintf(text, sizeof(text), "0x%08x", unsigned(f));
      return text;
    }
  }
}

DoubleEncoder::DoubleEncoder(uint64_t id, void* cuda_context, Report violation)
    : id_(id), cuda_context_(cuda_context), report_(std::move(violation)) {}

NVENCSTATUS DoubleEncoder::fail(NVENCSTATUS status, const std::string& message) {
  last_error_ = message;
  return status;
}

NVENCSTATUS DoubleEncoder::violate(NVENCSTATUS status, const std::string& message) {
  report_("encoder " + std::to_string(id_) + ": " + message);
  return fail(status, message);
}

NVENCSTATUS DoubleEncoder::require_initialized(const char* call) {
  if (initialized_) return NV_ENC_SUCCESS;
  return violate(NV_ENC_ERR_ENCODER_NOT_INITIALIZED,
                 std::string(call) + " before nvEncInitializeEncoder");
}

DoubleEncoder::InputBuffer* DoubleEncoder::find_input(void* handle, const char* call,
                                                      NVENCSTATUS& status) {
  const uint64_t id = handle_id(handle);
  auto it = inputs_.find(id);
  if (it != inputs_.end() && handle == input_handle(id)) return &it->second;
  status = violate(NV_ENC_ERR_INVALID_PARAM,
                   std::string(call) + ": input buffer " +
                       (destroyed_inputs_.count(id) && handle == input_handle(id)
                            ? std::to_string(id) + " was already destroyed"
                            : "handle is not one nvEncCreateInputBuffer returned"));
  return nullptr;
}

DoubleEncoder::BitstreamBuffer* DoubleEncoder::find_bitstream(void* handle, const char* call,
                                                              NVENCSTATUS& status) {
  const uint64_t id = handle_id(handle);
  auto it = bitstreams_.find(id);
  if (it != bitstreams_.end() && handle == bitstream_handle(id)) return &it->second;
  status = violate(NV_ENC_ERR_INVALID_PARAM,
                   std::string(call) + ": bitstream buffer " +
                       (destroyed_bitstreams_.count(id) && handle == bitstream_handle(id)
                            ? std::to_string(id) + " was already destroyed"
                            : "handle is not one nvEncCreateBitstreamBuffer returned"));
  return nullptr;
}

NVENCSTATUS DoubleEncoder::initialize(const NV_ENC_INITIALIZE_PARAMS& p, const Caps& caps) {
  if (initialized_)
    return violate(NV_ENC_ERR_INVALID_CALL, "nvEncInitializeEncoder called a second time");
  EncodeSettings s;
  std::string error;
  const NVENCSTATUS status = read_settings(p, caps.get(NV_ENC_CAPS_NUM_MAX_BFRAMES), s, error);
  if (status != NV_ENC_SUCCESS) return fail(status, "nvEncInitializeEncoder: " + error);
  if ((s.codec == CodecKind::H264 && !caps.h264) || (s.codec == CodecKind::HEVC && !caps.hevc))
    return violate(NV_ENC_ERR_INVALID_PARAM,
                   "nvEncInitializeEncoder: codec not in nvEncGetEncodeGUIDs");
  if (p.enableEncodeAsync && !caps.get(NV_ENC_CAPS_ASYNC_ENCODE_SUPPORT))
    return violate(
        NV_ENC_ERR_UNSUPPORTED_PARAM,
        "nvEncInitializeEncoder: enableEncodeAsync=1 but NV_ENC_CAPS_ASYNC_ENCODE_SUPPORT is 0");
  if (p.enableEncodeAsync)
    return fail(NV_ENC_ERR_UNIMPLEMENTED, "the double emulates synchronous mode only");
  if (!p.enablePTD) return fail(NV_ENC_ERR_UNIMPLEMENTED, "the double emulates enablePTD=1 only");
  const int max_w = caps.get(NV_ENC_CAPS_WIDTH_MAX), max_h = caps.get(NV_ENC_CAPS_HEIGHT_MAX);
  if (s.max_width > max_w || s.max_height > max_h)
    return violate(NV_ENC_ERR_INVALID_PARAM,
                   "nvEncInitializeEncoder: size " + size_text(s.max_width, s.max_height) +
                       " exceeds NV_ENC_CAPS_WIDTH_MAX/HEIGHT_MAX " + size_text(max_w, max_h));
  if (s.width < caps.get(NV_ENC_CAPS_WIDTH_MIN) || s.height < caps.get(NV_ENC_CAPS_HEIGHT_MIN))
    return violate(
        NV_ENC_ERR_INVALID_PARAM,
        "nvEncInitializeEncoder: size " + size_text(s.width, s.height) + " below the minimum");
  if (s.b_frames() > caps.get(NV_ENC_CAPS_NUM_MAX_BFRAMES))
    return violate(NV_ENC_ERR_INVALID_PARAM,
                   "nvEncInitializeEncoder: frameIntervalP " + std::to_string(s.frame_interval_p) +
                       " needs more B-frames than NV_ENC_CAPS_NUM_MAX_BFRAMES " +
                       std::to_string(caps.get(NV_ENC_CAPS_NUM_MAX_BFRAMES)));
  settings_ = s;
  schedule_.configure(s.gop_length, s.idr_period, s.frame_interval_p);
  schedule_.restart();
  initialized_ = true;
  return ensure_engine();
}

NVENCSTATUS DoubleEncoder::ensure_engine() {
  if (engine_) return NV_ENC_SUCCESS;
  try {
    engine_ = std::make_unique<AvEncoder>(settings_);
  } catch (const std::exception& e) {
    return fail(NV_ENC_ERR_GENERIC, std::string("libavcodec: ") + e.what());
  }
  return NV_ENC_SUCCESS;
}

NVENCSTATUS DoubleEncoder::sequence_params(NV_ENC_SEQUENCE_PARAM_PAYLOAD& p) {
  if (NVENCSTATUS s = require_initialized("nvEncGetSequenceParams")) return s;
  if (!p.spsppsBuffer || !p.outSPSPPSPayloadSize)
    return violate(NV_ENC_ERR_INVALID_PTR,
                   "nvEncGetSequenceParams: spsppsBuffer and "
                   "outSPSPPSPayloadSize must be set");
  if (headers_.empty()) {
    try {
      headers_ = sequence_headers(settings_);
    } catch (const std::exception& e) {
      return fail(NV_ENC_ERR_GENERIC, std::string("libavcodec: ") + e.what());
    }
  }
  if (p.inBufferSize < headers_.size())
    return fail(NV_ENC_ERR_NOT_ENOUGH_BUFFER, "nvEncGetSequenceParams: inBufferSize " +
                                                  std::to_string(p.inBufferSize) + " < " +
                                                  std::to_string(headers_.size()) + " bytes");
  std::memcpy(p.spsppsBuffer, headers_.data(), headers_.size());
  *p.outSPSPPSPayloadSize = uint32_t(headers_.size());
  return NV_ENC_SUCCESS;
}

NVENCSTATUS DoubleEncoder::create_input(NV_ENC_CREATE_INPUT_BUFFER& p, const Caps& caps,
                                        uint64_t id) {
  if (NVENCSTATUS s = require_initialized("nvEncCreateInputBuffer")) return s;
  const int w = int(p.width), h = int(p.height);
  if (w <= 0 || h <= 0 || w > caps.get(NV_ENC_CAPS_WIDTH_MAX) ||
      h > caps.get(NV_ENC_CAPS_HEIGHT_MAX))
    return violate(NV_ENC_ERR_INVALID_PARAM, "nvEncCreateInputBuffer: size " + size_text(w, h) +
                                                 " outside 1..NV_ENC_CAPS_WIDTH_MAX/HEIGHT_MAX");
  if (p.bufferFmt != NV_ENC_BUFFER_FORMAT_NV12 && !planar(p.bufferFmt))
    return fail(NV_ENC_ERR_UNSUPPORTED_PARAM,
                "nvEncCreateInputBuffer: the double emulates NV12, IYUV and YV12 input only");
  InputBuffer b;
  b.width = w;
  b.height = h;
  b.format = p.bufferFmt;
  b.pitch = (w + kPitchAlignment - 1) / kPitchAlignment * kPitchAlignment;
  // Chroma follows the luma plane of the buffer's own height: NV12 one plane at the luma
  // pitch, IYUV/YV12 two planes at half the pitch.
  b.memory.assign(size_t(b.pitch) * size_t(h) + size_t(b.pitch) * size_t((h + 1) / 2), 0);
  inputs_[id] = std::move(b);
  p.inputBuffer = input_handle(id);
  return NV_ENC_SUCCESS;
}

NVENCSTATUS DoubleEncoder::destroy_input(void* handle) {
  NVENCSTATUS status = NV_ENC_SUCCESS;
  InputBuffer* b = find_input(handle, "nvEncDestroyInputBuffer", status);
  if (!b) return status;
  if (b->locked)
    return violate(NV_ENC_ERR_INVALID_CALL, "nvEncDestroyInputBuffer: buffer " +
                                                std::to_string(handle_id(handle)) + " is locked");
  if (b->in_flight)
    report_("encoder " + std::to_string(id_) + ": nvEncDestroyInputBuffer: buffer " +
            std::to_string(handle_id(handle)) + " destroyed while its picture is still pending");
  inputs_.erase(handle_id(handle));
  destroyed_inputs_.insert(handle_id(handle));
  return NV_ENC_SUCCESS;
}

NVENCSTATUS DoubleEncoder::lock_input(NV_ENC_LOCK_INPUT_BUFFER& p) {
  NVENCSTATUS status = NV_ENC_SUCCESS;
  InputBuffer* b = find_input(p.inputBuffer, "nvEncLockInputBuffer", status);
  if (!b) return status;
  const std::string which =
      "nvEncLockInputBuffer: buffer " + std::to_string(handle_id(p.inputBuffer));
  if (b->locked) return violate(NV_ENC_ERR_INVALID_CALL, which + " is already locked");
  if (b->in_flight)
    return violate(NV_ENC_ERR_INVALID_CALL,
                   which +
                       " still holds a picture the encoder has not finished (nvEncEncodePicture "
                       "returned NV_ENC_ERR_NEED_MORE_INPUT and no SUCCESS/EOS followed)");
  b->locked = true;
  p.bufferDataPtr = b->memory.data();
  p.pitch = uint32_t(b->pitch);
  return NV_ENC_SUCCESS;
}

NVENCSTATUS DoubleEncoder::unlock_input(void* handle) {
  NVENCSTATUS status = NV_ENC_SUCCESS;
  InputBuffer* b = find_input(handle, "nvEncUnlockInputBuffer", status);
  if (!b) return status;
  if (!b->locked)
    return violate(
        NV_ENC_ERR_INVALID_CALL,
        "nvEncUnlockInputBuffer: buffer " + std::to_string(handle_id(handle)) + " is not locked");
  b->locked = false;
  return NV_ENC_SUCCESS;
}

NVENCSTATUS DoubleEncoder::create_bitstream(NV_ENC_CREATE_BITSTREAM_BUFFER& p, uint64_t id) {
  if (NVENCSTATUS s = require_initialized("nvEncCreateBitstreamBuffer")) return s;
  bitstreams_[id] = BitstreamBuffer{};
  p.bitstreamBuffer = bitstream_handle(id);
  p.bitstreamBufferPtr = nullptr;
  return NV_ENC_SUCCESS;
}

NVENCSTATUS DoubleEncoder::destroy_bitstream(void* handle) {
  NVENCSTATUS status = NV_ENC_SUCCESS;
  BitstreamBuffer* b = find_bitstream(handle, "nvEncDestroyBitstreamBuffer", status);
  if (!b) return status;
  const uint64_t id = handle_id(handle);
  if (b->locked)
    return violate(NV_ENC_ERR_INVALID_CALL,
                   "nvEncDestroyBitstreamBuffer: buffer " + std::to_string(id) + " is locked");
  // Later output must not land in a buffer that no longer exists, nor shift into the next one.
  for (auto& slot : awaiting_data_)
    if (slot == id) slot = 0;
  unreleased_.erase(std::remove(unreleased_.begin(), unreleased_.end(), id), unreleased_.end());
  if (b->mapping) {
    // Its output will never be locked: the input no longer has a reader.
    auto m = mappings_.find(b->mapping);
    if (m != mappings_.end()) --m->second.unlocked_outputs;
  }
  bitstreams_.erase(id);
  destroyed_bitstreams_.insert(id);
  return NV_ENC_SUCCESS;
}

NVENCSTATUS DoubleEncoder::lock_bitstream(NV_ENC_LOCK_BITSTREAM& p, bool& wait) {
  wait = false;
  NVENCSTATUS status = NV_ENC_SUCCESS;
  BitstreamBuffer* b = find_bitstream(p.outputBitstream, "nvEncLockBitstream", status);
  if (!b) return status;
  const std::string which =
      "nvEncLockBitstream: buffer " + std::to_string(handle_id(p.outputBitstream));
  if (b->locked) return violate(NV_ENC_ERR_INVALID_CALL, which + " is already locked");
  if (b->state == OutputState::Idle)
    return violate(NV_ENC_ERR_INVALID_CALL, which +
                                                " holds no encoded picture (not given to "
                                                "nvEncEncodePicture since its last unlock)");
  if (b->state == OutputState::Pending)
    return violate(NV_ENC_ERR_INVALID_CALL,
                   which +
                       " locked before an nvEncEncodePicture returned NV_ENC_SUCCESS for it "
                       "(its picture returned NV_ENC_ERR_NEED_MORE_INPUT)");
  if (!b->has_data) {
    wait = true;
    return NV_ENC_ERR_LOCK_BUSY;
  }
  b->locked = true;
  if (b->mapping) {
    auto m = mappings_.find(b->mapping);
    if (m != mappings_.end()) --m->second.unlocked_outputs;
    b->mapping = 0;
  }
  p.bitstreamBufferPtr = b->unit.data.data();
  p.bitstreamSizeInBytes = uint32_t(b->unit.data.size());
  p.outputTimeStamp = b->time_stamp;
  p.outputDuration = b->duration;
  p.frameIdx = b->frame_idx;
  p.pictureType = b->unit.type;
  p.pictureStruct = NV_ENC_PIC_STRUCT_FRAME;
  p.frameAvgQP = uint32_t(b->unit.average_qp);
  p.hwEncodeStatus = 0;
  p.numSlices = 1;
  p.ltrFrame = 0;
  return NV_ENC_SUCCESS;
}

NVENCSTATUS DoubleEncoder::unlock_bitstream(void* handle) {
  NVENCSTATUS status = NV_ENC_SUCCESS;
  BitstreamBuffer* b = find_bitstream(handle, "nvEncUnlockBitstream", status);
  if (!b) return status;
  if (!b->locked)
    return violate(
        NV_ENC_ERR_INVALID_CALL,
        "nvEncUnlockBitstream: buffer " + std::to_string(handle_id(handle)) + " is not locked");
  b->locked = false;
  b->state = OutputState::Idle;
  b->has_data = false;
  b->unit = EncodedUnit{};
  return NV_ENC_SUCCESS;
}

void DoubleEncoder::deliver(std::vector<EncodedUnit>& units) {
  for (EncodedUnit& unit : units) {
    if (awaiting_data_.empty()) break;  // cannot happen: one output per submitted picture
    const uint64_t id = awaiting_data_.front();
    awaiting_data_.pop_front();
    auto it = bitstreams_.find(id);
    auto info = frames_.find(unit.pts);
    if (it != bitstreams_.end()) {
      BitstreamBuffer& b = it->second;
      if (info != frames_.end()) {
        b.time_stamp = info->second.time_stamp;
        b.duration = info->second.duration;
        b.frame_idx = info->second.frame_idx;
      }
      b.unit = std::move(unit);
      b.has_data = true;
    }
    if (info != frames_.end()) frames_.erase(info);
  }
  units.clear();
}

void DoubleEncoder::release_pending() {
  for (uint64_t id : unreleased_) {
    auto it = bitstreams_.find(id);
    if (it == bitstreams_.end()) continue;
    it->second.state = OutputState::Released;
    auto in = inputs_.find(it->second.input);
    if (in != inputs_.end()) in->second.in_flight = false;
  }
  unreleased_.clear();
}

void DoubleEncoder::drain_engine() {
  if (!engine_) return;
  std::vector<EncodedUnit> units;
  try {
    engine_->drain(units);
  } catch (const std::exception& e) {
    last_error_ = std::string("libavcodec: ") + e.what();
  }
  deliver(units);
  engine_.reset();
  schedule_.restart();
}

NVENCSTATUS DoubleEncoder::end_of_stream() {
  drain_engine();
  release_pending();
  return NV_ENC_SUCCESS;
}

void DoubleEncoder::copy_picture(const uint8_t* base, int pitch, int buffer_height,
                                 NV_ENC_BUFFER_FORMAT format) {
  AVFrame* f = engine_->picture();
  const int w = settings_.width, h = settings_.height, cw = (w + 1) / 2, ch = (h + 1) / 2;
  for (int y = 0; y < h; ++y)
    std::memcpy(f->data[0] + ptrdiff_t(y) * f->linesize[0], base + size_t(y) * pitch, size_t(w));
  const uint8_t* chroma = base + size_t(pitch) * size_t(buffer_height);
  if (format == NV_ENC_BUFFER_FORMAT_NV12) {
    for (int y = 0; y < ch; ++y) {
      const uint8_t* row = chroma + size_t(y) * pitch;
      uint8_t* u = f->data[1] + ptrdiff_t(y) * f->linesize[1];
      uint8_t* v = f->data[2] + ptrdiff_t(y) * f->linesize[2];
      for (int x = 0; x < cw; ++x) {
        u[x] = row[2 * x];
        v[x] = row[2 * x + 1];
      }
    }
    return;
  }
  const int cpitch = pitch / 2;
  const uint8_t* first = chroma;
  const uint8_t* second = chroma + size_t(cpitch) * size_t((buffer_height + 1) / 2);
  const uint8_t* u_plane = format == NV_ENC_BUFFER_FORMAT_IYUV ? first : second;
  const uint8_t* v_plane = format == NV_ENC_BUFFER_FORMAT_IYUV ? second : first;
  for (int y = 0; y < ch; ++y) {
    std::memcpy(f->data[1] + ptrdiff_t(y) * f->linesize[1], u_plane + size_t(y) * cpitch,
                size_t(cw));
    std::memcpy(f->data[2] + ptrdiff_t(y) * f->linesize[2], v_plane + size_t(y) * cpitch,
                size_t(cw));
  }
}

// ---- device input: registered CUDA device pointers ---------------------------------------

int DoubleEncoder::mapped_resources() const {
  int n = 0;
  for (const auto& [id, r] : registrations_) n += r.mapping != 0;
  return n;
}

NVENCSTATUS DoubleEncoder::register_resource(NV_ENC_REGISTER_RESOURCE& p, const Caps& caps,
                                             uint64_t id) {
  if (NVENCSTATUS s = require_initialized("nvEncRegisterResource")) return s;
  const std::string call = "nvEncRegisterResource: ";
  if (p.resourceType != NV_ENC_INPUT_RESOURCE_TYPE_CUDADEVICEPTR)
    return violate(NV_ENC_ERR_INVALID_PARAM,
                   call + "resourceType " + std::to_string(int(p.resourceType)) +
                       " is not NV_ENC_INPUT_RESOURCE_TYPE_CUDADEVICEPTR (the session's device "
                       "is a CUcontext)");
  if (!p.resourceToRegister)
    return violate(NV_ENC_ERR_INVALID_PTR, call + "resourceToRegister is NULL");
  if (p.bufferFormat != NV_ENC_BUFFER_FORMAT_NV12 && !planar(p.bufferFormat))
    return violate(NV_ENC_ERR_INVALID_PARAM, call + "bufferFormat " +
                                                 buffer_format_text(p.bufferFormat) +
                                                 " is not one nvEncGetInputFormats reports "
                                                 "(NV12, YV12, IYUV)");
  const int w = int(p.width), h = int(p.height), pitch = int(p.pitch);
  if (w <= 0 || h <= 0 || w > caps.get(NV_ENC_CAPS_WIDTH_MAX) ||
      h > caps.get(NV_ENC_CAPS_HEIGHT_MAX))
    return violate(NV_ENC_ERR_INVALID_PARAM, call + "size " + size_text(w, h) +
                                                 " outside 1..NV_ENC_CAPS_WIDTH_MAX/HEIGHT_MAX");
  if (pitch < w)
    return violate(NV_ENC_ERR_INVALID_PARAM, call + "pitch " + std::to_string(pitch) +
                                                 " is smaller than a row of " + std::to_string(w) +
                                                 " bytes");
  // nvEncodeAPI.h: the pitch of a CUDADEVICEPTR resource "must be a multiple of 4".
  if (pitch % 4)
    return violate(NV_ENC_ERR_INVALID_PARAM,
                   call + "pitch " + std::to_string(pitch) + " is not a multiple of 4");
  if (p.bufferUsage != NV_ENC_INPUT_IMAGE)
    return fail(NV_ENC_ERR_UNIMPLEMENTED,
                call + "the double emulates bufferUsage NV_ENC_INPUT_IMAGE only");
  Registration r;
  r.ptr = CUdeviceptr(reinterpret_cast<uintptr_t>(p.resourceToRegister));
  r.width = w;
  r.height = h;
  r.pitch = pitch;
  r.format = p.bufferFormat;
  registrations_[id] = r;
  p.registeredResource = registered_handle(id);
  return NV_ENC_SUCCESS;
}

NVENCSTATUS DoubleEncoder::unregister_resource(void* handle) {
  const uint64_t id = handle_id(handle);
  const std::string call = "nvEncUnregisterResource: ";
  auto it = registrations_.find(id);
  if (it == registrations_.end() || handle != registered_handle(id))
    return violate(
        NV_ENC_ERR_RESOURCE_NOT_REGISTERED,
        call + (unregistered_.count(id) && handle == registered_handle(id)
                    ? "registered resource " + std::to_string(id) + " was already unregistered"
                    : "handle is not one nvEncRegisterResource returned"));
  if (it->second.mapping)
    return violate(NV_ENC_ERR_INVALID_CALL,
                   call + "registered resource " + std::to_string(id) + " is still mapped (as " +
                       std::to_string(it->second.mapping) + "; unmap it first)");
  registrations_.erase(it);
  unregistered_.insert(id);
  return NV_ENC_SUCCESS;
}

NVENCSTATUS DoubleEncoder::map_resource(NV_ENC_MAP_INPUT_RESOURCE& p, uint64_t id) {
  const std::string call = "nvEncMapInputResource: ";
  const uint64_t reg = handle_id(p.registeredResource);
  auto it = registrations_.find(reg);
  if (it == registrations_.end() || p.registeredResource != registered_handle(reg))
    return violate(
        NV_ENC_ERR_RESOURCE_NOT_REGISTERED,
        call + (unregistered_.count(reg) && p.registeredResource == registered_handle(reg)
                    ? "registered resource " + std::to_string(reg) + " was already unregistered"
                    : "registeredResource is not one nvEncRegisterResource returned"));
  if (it->second.mapping)
    return violate(NV_ENC_ERR_INVALID_CALL,
                   call + "registered resource " + std::to_string(reg) + " is already mapped (as " +
                       std::to_string(it->second.mapping) + "; unmap it first)");
  it->second.mapping = id;
  mappings_[id] = Mapping{reg, true, 0};
  p.mappedResource = mapped_handle(id);
  p.mappedBufferFmt = it->second.format;
  return NV_ENC_SUCCESS;
}

DoubleEncoder::Mapping* DoubleEncoder::find_mapping(void* handle, const char* call,
                                                    NVENCSTATUS& status) {
  const uint64_t id = handle_id(handle);
  auto it = mappings_.find(id);
  if (it == mappings_.end() || handle != mapped_handle(id)) {
    status = violate(NV_ENC_ERR_RESOURCE_NOT_MAPPED,
                     std::string(call) + ": handle is not one nvEncMapInputResource returned");
    return nullptr;
  }
  if (!it->second.mapped) {
    status =
        violate(NV_ENC_ERR_RESOURCE_NOT_MAPPED, std::string(call) + ": mapped resource " +
                                                    std::to_string(id) + " was already unmapped");
    return nullptr;
  }
  return &it->second;
}

NVENCSTATUS DoubleEncoder::unmap_resource(void* handle) {
  NVENCSTATUS status = NV_ENC_SUCCESS;
  Mapping* m = find_mapping(handle, "nvEncUnmapInputResource", status);
  if (!m) return status;
  const uint64_t id = handle_id(handle);
  // NVENC reads a mapped input until the picture's output is locked; unmapping earlier is a
  // race on the GPU. The double already holds the pixels, so it reports and goes on.
  if (m->unlocked_outputs > 0)
    report_("encoder " + std::to_string(id_) + ": nvEncUnmapInputResource: mapped resource " +
            std::to_string(id) +
            " unmapped before the output of the picture that used it was locked");
  m->mapped = false;
  auto r = registrations_.find(m->registration);
  if (r != registrations_.end()) r->second.mapping = 0;
  return NV_ENC_SUCCESS;
}

NVENCSTATUS DoubleEncoder::read_device(const Registration& r, uint64_t mapping, std::string& note) {
  const size_t pitch = size_t(r.pitch), luma = pitch * size_t(r.height);
  const size_t w = size_t(settings_.width), h = size_t(settings_.height);
  const size_t cw = (w + 1) / 2, ch = (h + 1) / 2, chroma_rows = size_t(r.height + 1) / 2;
  staging_.resize(luma + pitch * chroma_rows);
  // Only the encode-size region of each plane: a tensor view's last row may end at its width.
  std::vector<DevicePlaneCopy> planes = {{r.ptr, pitch, staging_.data(), pitch, w, h}};
  if (r.format == NV_ENC_BUFFER_FORMAT_NV12) {
    planes.push_back({r.ptr + luma, pitch, staging_.data() + luma, pitch, 2 * cw, ch});
  } else {
    const size_t cpitch = pitch / 2, second = luma + cpitch * chroma_rows;
    planes.push_back({r.ptr + luma, cpitch, staging_.data() + luma, cpitch, cw, ch});
    planes.push_back({r.ptr + second, cpitch, staging_.data() + second, cpitch, cw, ch});
  }
  const std::string error = copy_from_device(cuda_context_, planes);
  if (error.empty()) return NV_ENC_SUCCESS;
  note = "reading mapped resource " + std::to_string(mapping) + " through CUDA failed: " + error;
  return fail(NV_ENC_ERR_GENERIC, "nvEncEncodePicture: " + note);
}

// ---- encode ------------------------------------------------------------------------------

NVENCSTATUS DoubleEncoder::encode(const NV_ENC_PIC_PARAMS& p, EncodeReport& report) {
  report = EncodeReport{};
  if (NVENCSTATUS s = require_initialized("nvEncEncodePicture")) return s;
  if (p.encodePicFlags & NV_ENC_PIC_FLAG_EOS) return end_of_stream();

  NVENCSTATUS status = NV_ENC_SUCCESS;
  const uint64_t in_id = handle_id(p.inputBuffer);
  InputBuffer* in = nullptr;
  Mapping* mapping = nullptr;
  const Registration* reg = nullptr;
  std::string in_name;
  if (in_range(p.inputBuffer, kRegisteredBase)) {
    return violate(NV_ENC_ERR_RESOURCE_NOT_MAPPED,
                   "nvEncEncodePicture: inputBuffer is registered resource " +
                       std::to_string(in_id) +
                       " itself; pass the mappedResource nvEncMapInputResource returned");
  } else if (in_range(p.inputBuffer, kMappedBase)) {
    mapping = find_mapping(p.inputBuffer, "nvEncEncodePicture", status);
    if (!mapping) return status;
    reg = &registrations_.at(mapping->registration);
    in_name = "mapped resource " + std::to_string(in_id);
  } else {
    in = find_input(p.inputBuffer, "nvEncEncodePicture", status);
    if (!in) return status;
    in_name = "input buffer " + std::to_string(in_id);
  }
  BitstreamBuffer* out = find_bitstream(p.outputBitstream, "nvEncEncodePicture", status);
  if (!out) return status;
  const std::string out_name = "bitstream buffer " + std::to_string(handle_id(p.outputBitstream));
  if (in && in->locked)
    return violate(NV_ENC_ERR_INVALID_CALL, "nvEncEncodePicture: " + in_name + " is still locked");
  if (in && in->in_flight)
    return violate(NV_ENC_ERR_INVALID_CALL,
                   "nvEncEncodePicture: " + in_name + " still holds a pending picture");
  if (out->locked)
    return violate(NV_ENC_ERR_INVALID_CALL, "nvEncEncodePicture: " + out_name + " is locked");
  if (out->state != OutputState::Idle)
    return violate(NV_ENC_ERR_INVALID_CALL, "nvEncEncodePicture: " + out_name +
                                                " still holds output not yet locked and unlocked");
  const NV_ENC_BUFFER_FORMAT format = in ? in->format : reg->format;
  const int buffer_width = in ? in->width : reg->width,
            buffer_height = in ? in->height : reg->height;
  if (p.bufferFmt != format)
    return violate(NV_ENC_ERR_INVALID_PARAM,
                   "nvEncEncodePicture: bufferFmt " + buffer_format_text(p.bufferFmt) + " but " +
                       in_name + (in ? " was created as " : " is (mappedBufferFmt) ") +
                       buffer_format_text(format));
  // 0 (or inputWidth, which the header allows when the pitch is unknown) leaves the
  // registration's pitch in force; any other value must be it.
  if (reg && p.inputPitch && p.inputPitch != p.inputWidth && int(p.inputPitch) != reg->pitch)
    return violate(NV_ENC_ERR_INVALID_PARAM,
                   "nvEncEncodePicture: inputPitch " + std::to_string(p.inputPitch) + " but " +
                       in_name + " was registered with pitch " + std::to_string(reg->pitch));
  if (int(p.inputWidth) != settings_.width || int(p.inputHeight) != settings_.height)
    return violate(NV_ENC_ERR_INVALID_PARAM, "nvEncEncodePicture: inputWidth/Height " +
                                                 size_text(int(p.inputWidth), int(p.inputHeight)) +
                                                 " but the session encodes " +
                                                 size_text(settings_.width, settings_.height));
  if (buffer_width < settings_.width || buffer_height < settings_.height)
    return violate(NV_ENC_ERR_INVALID_PARAM, "nvEncEncodePicture: " + in_name + " is " +
                                                 size_text(buffer_width, buffer_height) +
                                                 (in ? "" : " (its registration)") +
                                                 ", smaller than the encode size");
  if (NVENCSTATUS s = ensure_engine()) return s;
  // The device read comes first: a failed copy takes no frame and changes no state.
  if (reg)
    if (NVENCSTATUS s = read_device(*reg, in_id, report.note)) return s;

  const bool force = (p.encodePicFlags & (NV_ENC_PIC_FLAG_FORCEIDR | NV_ENC_PIC_FLAG_FORCEINTRA)) ||
                     force_idr_next_;
  const NV_ENC_PIC_TYPE type = schedule_.next(force);
  force_idr_next_ = false;
  if (in)
    copy_picture(in->memory.data(), in->pitch, in->height, in->format);
  else
    copy_picture(staging_.data(), reg->pitch, reg->height, reg->format);
  report.input = in ? InputKind::Host : InputKind::Device;
  const int64_t pts = next_pts_++;
  frames_[pts] = FrameInfo{p.inputTimeStamp, p.inputDuration, p.frameIdx};
  const uint64_t out_id = handle_id(p.outputBitstream);
  out->state = OutputState::Pending;
  out->input = in_id;
  if (in) {
    in->in_flight = true;
  } else {
    out->mapping = in_id;
    ++mapping->unlocked_outputs;
  }
  awaiting_data_.push_back(out_id);
  unreleased_.push_back(out_id);

  std::vector<EncodedUnit> units;
  try {
    engine_->send(type, pts, units);
  } catch (const std::exception& e) {
    return fail(NV_ENC_ERR_GENERIC, std::string("libavcodec: ") + e.what());
  }
  deliver(units);
  if (type == NV_ENC_PIC_TYPE_B) return NV_ENC_ERR_NEED_MORE_INPUT;
  release_pending();
  return NV_ENC_SUCCESS;
}

NVENCSTATUS DoubleEncoder::check_reconfigure(const EncodeSettings& to, const Caps& caps) {
  const std::string call = "nvEncReconfigureEncoder: ";
  if (to.codec != settings_.codec)
    return violate(NV_ENC_ERR_INVALID_PARAM, call + "encodeGUID differs from the session's codec");
  const bool resized = to.width != settings_.width || to.height != settings_.height;
  if (to.width > settings_.max_width || to.height > settings_.max_height)
    return violate(NV_ENC_ERR_INVALID_PARAM,
                   call + "size " + size_text(to.width, to.height) +
                       " exceeds the session maximum " +
                       size_text(settings_.max_width, settings_.max_height) +
                       " (maxEncodeWidth/Height at initialize)");
  if (resized && !caps.get(NV_ENC_CAPS_SUPPORT_DYN_RES_CHANGE))
    return violate(NV_ENC_ERR_UNSUPPORTED_PARAM,
                   call + "size change but NV_ENC_CAPS_SUPPORT_DYN_RES_CHANGE is 0");
  const bool rate_change =
      to.average_bitrate != settings_.average_bitrate || to.max_bitrate != settings_.max_bitrate;
  if (rate_change && !caps.get(NV_ENC_CAPS_SUPPORT_DYN_BITRATE_CHANGE))
    return violate(NV_ENC_ERR_UNSUPPORTED_PARAM,
                   call + "bitrate change but NV_ENC_CAPS_SUPPORT_DYN_BITRATE_CHANGE is 0");
  if (to.rc_mode != settings_.rc_mode && !caps.get(NV_ENC_CAPS_SUPPORT_DYN_RCMODE_CHANGE))
    return violate(
        NV_ENC_ERR_UNSUPPORTED_PARAM,
        call + "rate-control mode change but NV_ENC_CAPS_SUPPORT_DYN_RCMODE_CHANGE is 0");
  if (to.frame_interval_p != settings_.frame_interval_p)
    return fail(NV_ENC_ERR_UNSUPPORTED_PARAM,
                call + "frameIntervalP cannot change in place (GOP structure change)");
  return NV_ENC_SUCCESS;
}

NVENCSTATUS DoubleEncoder::reconfigure(const NV_ENC_RECONFIGURE_PARAMS& p, const Caps& caps) {
  if (NVENCSTATUS s = require_initialized("nvEncReconfigureEncoder")) return s;
  NV_ENC_INITIALIZE_PARAMS init = p.reInitEncodeParams;
  if (int(init.encodeWidth) > settings_.max_width || int(init.encodeHeight) > settings_.max_height)
    return violate(NV_ENC_ERR_INVALID_PARAM,
                   "nvEncReconfigureEncoder: size " +
                       size_text(int(init.encodeWidth), int(init.encodeHeight)) +
                       " exceeds the session maximum " +
                       size_text(settings_.max_width, settings_.max_height) +
                       " (maxEncodeWidth/Height at initialize)");
  // The maximum is fixed for the session's life; reconfigure cannot raise it.
  init.maxEncodeWidth = uint32_t(settings_.max_width);
  init.maxEncodeHeight = uint32_t(settings_.max_height);
  EncodeSettings to;
  std::string error;
  NVENCSTATUS status = read_settings(init, caps.get(NV_ENC_CAPS_NUM_MAX_BFRAMES), to, error);
  if (status != NV_ENC_SUCCESS) return fail(status, "nvEncReconfigureEncoder: " + error);
  if (!init.encodeConfig) {
    // No config: the session's own configuration continues (NVENC's documented behaviour).
    to.gop_length = settings_.gop_length;
    to.idr_period = settings_.idr_period;
    to.frame_interval_p = settings_.frame_interval_p;
    to.rc_mode = settings_.rc_mode;
    to.average_bitrate = settings_.average_bitrate;
    to.max_bitrate = settings_.max_bitrate;
    to.vbv_buffer_size = settings_.vbv_buffer_size;
    to.qp_intra = settings_.qp_intra;
    to.qp_inter_p = settings_.qp_inter_p;
    to.qp_inter_b = settings_.qp_inter_b;
  }
  to.max_width = settings_.max_width;
  to.max_height = settings_.max_height;
  to.dynamic_size = settings_.dynamic_size;
  if ((status = check_reconfigure(to, caps))) return status;

  const bool in_place = engine_ && !p.resetEncoder && AvEncoder::can_update_in_place(settings_, to);
  if (in_place) {
    engine_->update_rates(to);
  } else {
    // libx264/libx265 cannot take this change live: the old stream ends here and a new
    // coded sequence starts with an IDR, as after a resetEncoder.
    drain_engine();
  }
  schedule_.configure(to.gop_length, to.idr_period, to.frame_interval_p);
  if (p.forceIDR || p.resetEncoder) force_idr_next_ = true;
  settings_ = to;
  headers_.clear();
  return NV_ENC_SUCCESS;
}

void DoubleEncoder::check_teardown(bool context_live) {
  const std::string who = "nvEncDestroyEncoder: ";
  if (!inputs_.empty() || !bitstreams_.empty()) {
    std::string ids;
    for (const auto& [id, b] : inputs_) ids += " input " + std::to_string(id);
    for (const auto& [id, b] : bitstreams_) ids += " bitstream " + std::to_string(id);
    report_("encoder " + std::to_string(id_) + ": " + who +
            "leaked buffers (destroy them before "
            "the encoder):" +
            ids);
  }
  if (!registrations_.empty()) {
    std::string ids;
    for (const auto& [id, r] : registrations_)
      ids += " resource " + std::to_string(id) +
             (r.mapping ? " (mapped as " + std::to_string(r.mapping) + ")" : "");
    report_("encoder " + std::to_string(id_) + ": " + who +
            "leaked registered resources (unmap and unregister them before the encoder):" + ids);
  }
  if (!unreleased_.empty())
    report_("encoder " + std::to_string(id_) + ": " + who + std::to_string(unreleased_.size()) +
            " pictures still pending: send NV_ENC_PIC_FLAG_EOS and drain before destroying");
  if (!context_live)
    report_("encoder " + std::to_string(id_) + ": " + who +
            "its CUDA context was destroyed first (destroy the encoder, then the context)");
}

}  // namespace nvdouble
