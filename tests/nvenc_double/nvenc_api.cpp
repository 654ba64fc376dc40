// The exported NVENC entry points of the double: argument logging, struct-version and handle
// checks, fault injection, then one DoubleEncoder call under the global mutex.
#include <dlfcn.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "caps.hpp"
#include "cuda_link.hpp"
#include "double_common.hpp"
#include "double_encoder.hpp"
#include "nvenc_double_control.h"

#define NVENC_DOUBLE_EXPORT extern "C" __attribute__((visibility("default")))

namespace nvdouble {
namespace {

constexpr uintptr_t kEncoderBase = 0x3c000000, kEncoderStride = 0x10;
constexpr uint32_t kHeaderMajor = NVENCAPI_MAJOR_VERSION, kHeaderMinor = NVENCAPI_MINOR_VERSION;
const std::vector<std::string> kFaultNames = {
    "open",   "initialize",     "reconfigure", "create_input", "create_bitstream",
    "encode", "lock_bitstream", "lock_input",  "register",     "map"};

struct ApiState {
  std::mutex mutex;
  std::condition_variable output_ready;
  bool env_read = false;
  uint32_t max_version = (kHeaderMajor << 4) | kHeaderMinor;
  bool no_encode_device = false;
  int lock_timeout_ms = 5000;
  Caps caps = default_caps();
  FaultPlan faults;
  CallLog log;
  std::vector<std::string> violations;
  std::map<uint64_t, std::unique_ptr<DoubleEncoder>> encoders;
  std::set<uint64_t> destroyed;
  uint64_t next_encoder = 1, next_buffer = 1;
  long host_input_pictures = 0, device_input_pictures = 0;
  std::string log_snapshot, violation_snapshot;
};

ApiState& api() {
  static ApiState s;
  return s;
}

void violation(const std::string& text) {
  api().violations.push_back(text);
}

void read_env(ApiState& s) {
  s.env_read = true;
  s.log.set_file(env_text("VIDEOHW_NVENC_DOUBLE_LOG"));
  s.no_encode_device = env_text("VIDEOHW_NVENC_DOUBLE_NO_ENCODE_DEVICE") == "1";
  s.max_version = (kHeaderMajor << 4) | kHeaderMinor;
  const std::string version = env_text("VIDEOHW_NVENC_DOUBLE_MAX_VERSION");
  unsigned major = 0, minor = 0;
  if (!version.empty()) {
    if (std::sscanf(version.c_str(), "%u.%u", &major, &minor) == 2 && minor < 16)
      s.max_version = (major << 4) | minor;
    else
      s.log.add("VIDEOHW_NVENC_DOUBLE_MAX_VERSION ignored: expected <major>.<minor>, got '" +
                version + "'");
  }
  const std::string timeout = env_text("VIDEOHW_NVENC_DOUBLE_LOCK_TIMEOUT_MS");
  s.lock_timeout_ms = timeout.empty() ? 5000 : std::atoi(timeout.c_str());
  s.caps = default_caps();
  try {
    apply_caps_overrides(s.caps, env_text("VIDEOHW_NVENC_DOUBLE_CAPS"));
  } catch (const std::invalid_argument& e) {
    s.log.add(std::string("VIDEOHW_NVENC_DOUBLE_CAPS ignored: ") + e.what());
    s.caps = default_caps();
  }
  try {
    s.faults = FaultPlan::parse(env_text("VIDEOHW_NVENC_DOUBLE_FAULTS"), kFaultNames);
  } catch (const std::invalid_argument& e) {
    s.log.add(std::string("VIDEOHW_NVENC_DOUBLE_FAULTS ignored: ") + e.what());
    s.faults = {};
  }
}

std::unique_lock<std::mutex> enter() {
  std::unique_lock<std::mutex> lock(api().mutex);
  if (!api().env_read) read_env(api());
  return lock;
}

NVENCSTATUS done(const std::string& call, NVENCSTATUS status) {
  api().log.add(call + " -> " + status_name(status));
  return status;
}

std::string hex(uint32_t v) {
  char text[16];
  std::snprintf(text, sizeof(text), "0x%08x", v);
  return text;
}

std::string handle_text(void* h) {
  return std::to_string(DoubleEncoder::handle_id(h));
}

std::string pointer_text(const void* p) {
  char text[24];
  std::snprintf(text, sizeof(text), "0x%llx",
                static_cast<unsigned long long>(reinterpret_cast<uintptr_t>(p)));
  return text;
}

const char* resource_type_text(NV_ENC_INPUT_RESOURCE_TYPE type) {
  switch (type) {
    case NV_ENC_INPUT_RESOURCE_TYPE_DIRECTX:
      return "DIRECTX";
    case NV_ENC_INPUT_RESOURCE_TYPE_CUDADEVICEPTR:
      return "CUDADEVICEPTR";
    case NV_ENC_INPUT_RESOURCE_TYPE_CUDAARRAY:
      return "CUDAARRAY";
    case NV_ENC_INPUT_RESOURCE_TYPE_OPENGL_TEX:
      return "OPENGL_TEX";
  }
  return "UNKNOWN";
}

// Every struct the client hands in carries the version of the header it was built with.
bool version_ok(uint32_t got, uint32_t expected, const char* what, NVENCSTATUS& status) {
  if (got == expected) return true;
  violation(std::string(what) + ".version " + hex(got) + ", expected " + hex(expected));
  status = NV_ENC_ERR_INVALID_VERSION;
  return false;
}

uint64_t encoder_id(void* handle) {
  const auto v = reinterpret_cast<uintptr_t>(handle);
  return v > kEncoderBase ? (v - kEncoderBase) / kEncoderStride : 0;
}

DoubleEncoder* find_encoder(void* handle, const char* call, NVENCSTATUS& status) {
  if (!handle) {
    violation(std::string(call) + ": encoder is NULL");
    status = NV_ENC_ERR_INVALID_PTR;
    return nullptr;
  }
  const uint64_t id = encoder_id(handle);
  auto it = api().encoders.find(id);
  if (it != api().encoders.end()) return it->second.get();
  violation(std::string(call) + (api().destroyed.count(id)
                                     ? ": encoder " + std::to_string(id) + " was already destroyed"
                                     : ": handle is not an open encoder"));
  status = NV_ENC_ERR_INVALID_ENCODERDEVICE;
  return nullptr;
}

// ---- session life cycle ----------------------------------------------------------------

NVENCSTATUS NVENCAPI open_session_ex(NV_ENC_OPEN_ENCODE_SESSION_EX_PARAMS* p, void** encoder) {
  auto lock = enter();
  std::string call = "nvEncOpenEncodeSessionEx";
  NVENCSTATUS status = NV_ENC_SUCCESS;
  if (!p || !encoder) {
    violation(call + ": params and encoder must not be NULL");
    return done(call, NV_ENC_ERR_INVALID_PTR);
  }
  char dev[32];
  std::snprintf(dev, sizeof(dev), "%p", p->device);
  call += " deviceType=" + std::to_string(int(p->deviceType)) + " device=" + dev +
          " apiVersion=" + hex(p->apiVersion);
  if (!version_ok(p->version, NV_ENC_OPEN_ENCODE_SESSION_EX_PARAMS_VER,
                  "NV_ENC_OPEN_ENCODE_SESSION_EX_PARAMS", status))
    return done(call, status);
  if (p->apiVersion != NVENCAPI_VERSION) {
    violation(call + ": apiVersion must be NVENCAPI_VERSION " + hex(NVENCAPI_VERSION));
    return done(call, NV_ENC_ERR_INVALID_VERSION);
  }
  if (api().no_encode_device) return done(call, NV_ENC_ERR_NO_ENCODE_DEVICE);
  if (p->deviceType != NV_ENC_DEVICE_TYPE_CUDA) return done(call, NV_ENC_ERR_UNSUPPORTED_DEVICE);
  if (!cuda_context_live(p->device)) {
    violation(call + ": device is not a live CUcontext from the CUDA double");
    return done(call, NV_ENC_ERR_INVALID_DEVICE);
  }
  if (api().faults.should_fail("open")) return done(call, NV_ENC_ERR_OUT_OF_MEMORY);
  const uint64_t id = api().next_encoder++;
  api().encoders[id] = std::make_unique<DoubleEncoder>(id, p->device, violation);
  *encoder = reinterpret_cast<void*>(kEncoderBase + kEncoderStride * id);
  return done(call + " enc=" + std::to_string(id), NV_ENC_SUCCESS);
}

NVENCSTATUS NVENCAPI destroy_encoder(void* encoder) {
  auto lock = enter();
  const std::string call = "nvEncDestroyEncoder enc=" + std::to_string(encoder_id(encoder));
  NVENCSTATUS status = NV_ENC_SUCCESS;
  DoubleEncoder* enc = find_encoder(encoder, "nvEncDestroyEncoder", status);
  if (!enc) return done(call, status);
  enc->check_teardown(cuda_context_live(enc->cuda_context()));
  api().destroyed.insert(enc->id());
  api().encoders.erase(enc->id());
  api().output_ready.notify_all();  // a waiting lock must see the encoder is gone
  return done(call, NV_ENC_SUCCESS);
}

NVENCSTATUS NVENCAPI initialize_encoder(void* encoder, NV_ENC_INITIALIZE_PARAMS* p) {
  auto lock = enter();
  std::string call = "nvEncInitializeEncoder enc=" + std::to_string(encoder_id(encoder));
  NVENCSTATUS status = NV_ENC_SUCCESS;
  DoubleEncoder* enc = find_encoder(encoder, "nvEncInitializeEncoder", status);
  if (!enc) return done(call, status);
  if (!p) return done(call, NV_ENC_ERR_INVALID_PTR);
  call += " size=" + std::to_string(p->encodeWidth) + "x" + std::to_string(p->encodeHeight) +
          " max=" + std::to_string(p->maxEncodeWidth) + "x" + std::to_string(p->maxEncodeHeight) +
          " fps=" + std::to_string(p->frameRateNum) + "/" + std::to_string(p->frameRateDen);
  if (!version_ok(p->version, NV_ENC_INITIALIZE_PARAMS_VER, "NV_ENC_INITIALIZE_PARAMS", status))
    return done(call, status);
  if (p->encodeConfig) {
    const NV_ENC_CONFIG& c = *p->encodeConfig;
    call += " gop=" + std::to_string(c.gopLength) + " fip=" + std::to_string(c.frameIntervalP) +
            " rc=" + std::to_string(int(c.rcParams.rateControlMode)) +
            " bitrate=" + std::to_string(c.rcParams.averageBitRate);
    if (!version_ok(c.version, NV_ENC_CONFIG_VER, "NV_ENC_CONFIG", status) ||
        !version_ok(c.rcParams.version, NV_ENC_RC_PARAMS_VER, "NV_ENC_RC_PARAMS", status))
      return done(call, status);
  }
  if (api().faults.should_fail("initialize")) return done(call, NV_ENC_ERR_UNSUPPORTED_PARAM);
  return done(call, enc->initialize(*p, api().caps));
}

NVENCSTATUS NVENCAPI reconfigure_encoder(void* encoder, NV_ENC_RECONFIGURE_PARAMS* p) {
  auto lock = enter();
  std::string call = "nvEncReconfigureEncoder enc=" + std::to_string(encoder_id(encoder));
  NVENCSTATUS status = NV_ENC_SUCCESS;
  DoubleEncoder* enc = find_encoder(encoder, "nvEncReconfigureEncoder", status);
  if (!enc) return done(call, status);
  if (!p) return done(call, NV_ENC_ERR_INVALID_PTR);
  const NV_ENC_INITIALIZE_PARAMS& init = p->reInitEncodeParams;
  call += " size=" + std::to_string(init.encodeWidth) + "x" + std::to_string(init.encodeHeight) +
          " resetEncoder=" + std::to_string(p->resetEncoder) +
          " forceIDR=" + std::to_string(p->forceIDR);
  if (init.encodeConfig)
    call += " rc=" + std::to_string(int(init.encodeConfig->rcParams.rateControlMode)) +
            " bitrate=" + std::to_string(init.encodeConfig->rcParams.averageBitRate);
  if (!version_ok(p->version, NV_ENC_RECONFIGURE_PARAMS_VER, "NV_ENC_RECONFIGURE_PARAMS", status) ||
      !version_ok(init.version, NV_ENC_INITIALIZE_PARAMS_VER, "NV_ENC_INITIALIZE_PARAMS", status))
    return done(call, status);
  if (init.encodeConfig &&
      (!version_ok(init.encodeConfig->version, NV_ENC_CONFIG_VER, "NV_ENC_CONFIG", status) ||
       !version_ok(init.encodeConfig->rcParams.version, NV_ENC_RC_PARAMS_VER, "NV_ENC_RC_PARAMS",
                   status)))
    return done(call, status);
  if (api().faults.should_fail("reconfigure")) return done(call, NV_ENC_ERR_UNSUPPORTED_PARAM);
  status = enc->reconfigure(*p, api().caps);
  api().output_ready.notify_all();
  return done(call, status);
}

// ---- queries ---------------------------------------------------------------------------

std::vector<GUID> codec_guids() {
  std::vector<GUID> guids;
  if (api().caps.h264) guids.push_back(NV_ENC_CODEC_H264_GUID);
  if (api().caps.hevc) guids.push_back(NV_ENC_CODEC_HEVC_GUID);
  return guids;
}

bool codec_enabled(const GUID& codec) {
  for (const GUID& g : codec_guids())
    if (guid_equal(g, codec)) return true;
  return false;
}

NVENCSTATUS NVENCAPI get_encode_guid_count(void* encoder, uint32_t* count) {
  auto lock = enter();
  const std::string call = "nvEncGetEncodeGUIDCount enc=" + std::to_string(encoder_id(encoder));
  NVENCSTATUS status = NV_ENC_SUCCESS;
  if (!find_encoder(encoder, "nvEncGetEncodeGUIDCount", status)) return done(call, status);
  if (!count) return done(call, NV_ENC_ERR_INVALID_PTR);
  *count = uint32_t(codec_guids().size());
  return done(call + " count=" + std::to_string(*count), NV_ENC_SUCCESS);
}

NVENCSTATUS NVENCAPI get_encode_guids(void* encoder, GUID* guids, uint32_t size, uint32_t* count) {
  auto lock = enter();
  const std::string call = "nvEncGetEncodeGUIDs enc=" + std::to_string(encoder_id(encoder));
  NVENCSTATUS status = NV_ENC_SUCCESS;
  if (!find_encoder(encoder, "nvEncGetEncodeGUIDs", status)) return done(call, status);
  if (!guids || !count) return done(call, NV_ENC_ERR_INVALID_PTR);
  const std::vector<GUID> all = codec_guids();
  if (size < all.size()) return done(call, NV_ENC_ERR_INVALID_PARAM);
  std::copy(all.begin(), all.end(), guids);
  *count = uint32_t(all.size());
  return done(call + " count=" + std::to_string(*count), NV_ENC_SUCCESS);
}

const GUID* const kPresets[] = {
    &NV_ENC_PRESET_P1_GUID, &NV_ENC_PRESET_P2_GUID, &NV_ENC_PRESET_P3_GUID, &NV_ENC_PRESET_P4_GUID,
    &NV_ENC_PRESET_P5_GUID, &NV_ENC_PRESET_P6_GUID, &NV_ENC_PRESET_P7_GUID};

NVENCSTATUS NVENCAPI get_preset_count(void* encoder, GUID codec, uint32_t* count) {
  auto lock = enter();
  const std::string call = "nvEncGetEncodePresetCount enc=" + std::to_string(encoder_id(encoder));
  NVENCSTATUS status = NV_ENC_SUCCESS;
  if (!find_encoder(encoder, "nvEncGetEncodePresetCount", status)) return done(call, status);
  if (!count) return done(call, NV_ENC_ERR_INVALID_PTR);
  if (!codec_enabled(codec)) return done(call, NV_ENC_ERR_INVALID_PARAM);
  *count = 7;
  return done(call, NV_ENC_SUCCESS);
}

NVENCSTATUS NVENCAPI get_preset_guids(void* encoder, GUID codec, GUID* guids, uint32_t size,
                                      uint32_t* count) {
  auto lock = enter();
  const std::string call = "nvEncGetEncodePresetGUIDs enc=" + std::to_string(encoder_id(encoder));
  NVENCSTATUS status = NV_ENC_SUCCESS;
  if (!find_encoder(encoder, "nvEncGetEncodePresetGUIDs", status)) return done(call, status);
  if (!guids || !count) return done(call, NV_ENC_ERR_INVALID_PTR);
  if (!codec_enabled(codec) || size < 7) return done(call, NV_ENC_ERR_INVALID_PARAM);
  for (int i = 0; i < 7; ++i) guids[i] = *kPresets[i];
  *count = 7;
  return done(call, NV_ENC_SUCCESS);
}

const NV_ENC_BUFFER_FORMAT kFormats[] = {NV_ENC_BUFFER_FORMAT_NV12, NV_ENC_BUFFER_FORMAT_YV12,
                                         NV_ENC_BUFFER_FORMAT_IYUV};

NVENCSTATUS NVENCAPI get_input_format_count(void* encoder, GUID codec, uint32_t* count) {
  auto lock = enter();
  const std::string call = "nvEncGetInputFormatCount enc=" + std::to_string(encoder_id(encoder));
  NVENCSTATUS status = NV_ENC_SUCCESS;
  if (!find_encoder(encoder, "nvEncGetInputFormatCount", status)) return done(call, status);
  if (!count) return done(call, NV_ENC_ERR_INVALID_PTR);
  if (!codec_enabled(codec)) return done(call, NV_ENC_ERR_INVALID_PARAM);
  *count = 3;
  return done(call, NV_ENC_SUCCESS);
}

NVENCSTATUS NVENCAPI get_input_formats(void* encoder, GUID codec, NV_ENC_BUFFER_FORMAT* formats,
                                       uint32_t size, uint32_t* count) {
  auto lock = enter();
  const std::string call = "nvEncGetInputFormats enc=" + std::to_string(encoder_id(encoder));
  NVENCSTATUS status = NV_ENC_SUCCESS;
  if (!find_encoder(encoder, "nvEncGetInputFormats", status)) return done(call, status);
  if (!formats || !count) return done(call, NV_ENC_ERR_INVALID_PTR);
  if (!codec_enabled(codec) || size < 3) return done(call, NV_ENC_ERR_INVALID_PARAM);
  std::copy(std::begin(kFormats), std::end(kFormats), formats);
  *count = 3;
  return done(call, NV_ENC_SUCCESS);
}

NVENCSTATUS NVENCAPI get_encode_caps(void* encoder, GUID codec, NV_ENC_CAPS_PARAM* p, int* value) {
  auto lock = enter();
  std::string call = "nvEncGetEncodeCaps enc=" + std::to_string(encoder_id(encoder));
  NVENCSTATUS status = NV_ENC_SUCCESS;
  if (!find_encoder(encoder, "nvEncGetEncodeCaps", status)) return done(call, status);
  if (!p || !value) return done(call, NV_ENC_ERR_INVALID_PTR);
  call += " cap=" + std::to_string(int(p->capsToQuery));
  if (!version_ok(p->version, NV_ENC_CAPS_PARAM_VER, "NV_ENC_CAPS_PARAM", status))
    return done(call, status);
  if (!codec_enabled(codec) || p->capsToQuery < 0 || p->capsToQuery >= NV_ENC_CAPS_EXPOSED_COUNT)
    return done(call, NV_ENC_ERR_INVALID_PARAM);
  *value = api().caps.get(p->capsToQuery);
  return done(call + " value=" + std::to_string(*value), NV_ENC_SUCCESS);
}

NVENCSTATUS NVENCAPI get_preset_config_ex(void* encoder, GUID codec, GUID preset,
                                          NV_ENC_TUNING_INFO tuning, NV_ENC_PRESET_CONFIG* p) {
  auto lock = enter();
  const std::string call =
      "nvEncGetEncodePresetConfigEx enc=" + std::to_string(encoder_id(encoder)) + " preset=P" +
      std::to_string(preset_number(preset)) + " tuning=" + std::to_string(int(tuning));
  NVENCSTATUS status = NV_ENC_SUCCESS;
  if (!find_encoder(encoder, "nvEncGetEncodePresetConfigEx", status)) return done(call, status);
  if (!p) return done(call, NV_ENC_ERR_INVALID_PTR);
  if (!version_ok(p->version, NV_ENC_PRESET_CONFIG_VER, "NV_ENC_PRESET_CONFIG", status) ||
      !version_ok(p->presetCfg.version, NV_ENC_CONFIG_VER, "NV_ENC_PRESET_CONFIG.presetCfg",
                  status))
    return done(call, status);
  CodecKind kind;
  if (!codec_kind(codec, kind) || !codec_enabled(codec) || preset_number(preset) == 0 ||
      tuning == NV_ENC_TUNING_INFO_UNDEFINED || tuning >= NV_ENC_TUNING_INFO_COUNT)
    return done(call, NV_ENC_ERR_INVALID_PARAM);
  fill_preset_config(kind, preset_number(preset), tuning,
                     api().caps.get(NV_ENC_CAPS_NUM_MAX_BFRAMES), p->presetCfg);
  return done(call, NV_ENC_SUCCESS);
}

NVENCSTATUS NVENCAPI get_sequence_params(void* encoder, NV_ENC_SEQUENCE_PARAM_PAYLOAD* p) {
  auto lock = enter();
  const std::string call = "nvEncGetSequenceParams enc=" + std::to_string(encoder_id(encoder));
  NVENCSTATUS status = NV_ENC_SUCCESS;
  DoubleEncoder* enc = find_encoder(encoder, "nvEncGetSequenceParams", status);
  if (!enc) return done(call, status);
  if (!p) return done(call, NV_ENC_ERR_INVALID_PTR);
  if (!version_ok(p->version, NV_ENC_SEQUENCE_PARAM_PAYLOAD_VER, "NV_ENC_SEQUENCE_PARAM_PAYLOAD",
                  status))
    return done(call, status);
  return done(call, enc->sequence_params(*p));
}

const char* NVENCAPI get_last_error(void* encoder) {
  auto lock = enter();
  auto it = api().encoders.find(encoder_id(encoder));
  api().log.add("nvEncGetLastErrorString enc=" + std::to_string(encoder_id(encoder)));
  return it == api().encoders.end() ? "invalid encoder handle" : it->second->last_error().c_str();
}

// ---- buffers ---------------------------------------------------------------------------

NVENCSTATUS NVENCAPI create_input(void* encoder, NV_ENC_CREATE_INPUT_BUFFER* p) {
  auto lock = enter();
  std::string call = "nvEncCreateInputBuffer enc=" + std::to_string(encoder_id(encoder));
  NVENCSTATUS status = NV_ENC_SUCCESS;
  DoubleEncoder* enc = find_encoder(encoder, "nvEncCreateInputBuffer", status);
  if (!enc) return done(call, status);
  if (!p) return done(call, NV_ENC_ERR_INVALID_PTR);
  call += " size=" + std::to_string(p->width) + "x" + std::to_string(p->height) +
          " fmt=" + std::to_string(int(p->bufferFmt));
  if (!version_ok(p->version, NV_ENC_CREATE_INPUT_BUFFER_VER, "NV_ENC_CREATE_INPUT_BUFFER", status))
    return done(call, status);
  if (api().faults.should_fail("create_input")) return done(call, NV_ENC_ERR_OUT_OF_MEMORY);
  const uint64_t id = api().next_buffer++;
  status = enc->create_input(*p, api().caps, id);
  return done(call + (status == NV_ENC_SUCCESS ? " in=" + std::to_string(id) : ""), status);
}

NVENCSTATUS NVENCAPI destroy_input(void* encoder, NV_ENC_INPUT_PTR buffer) {
  auto lock = enter();
  const std::string call = "nvEncDestroyInputBuffer enc=" + std::to_string(encoder_id(encoder)) +
                           " in=" + handle_text(buffer);
  NVENCSTATUS status = NV_ENC_SUCCESS;
  DoubleEncoder* enc = find_encoder(encoder, "nvEncDestroyInputBuffer", status);
  if (!enc) return done(call, status);
  return done(call, enc->destroy_input(buffer));
}

NVENCSTATUS NVENCAPI lock_input(void* encoder, NV_ENC_LOCK_INPUT_BUFFER* p) {
  auto lock = enter();
  std::string call = "nvEncLockInputBuffer enc=" + std::to_string(encoder_id(encoder));
  NVENCSTATUS status = NV_ENC_SUCCESS;
  DoubleEncoder* enc = find_encoder(encoder, "nvEncLockInputBuffer", status);
  if (!enc) return done(call, status);
  if (!p) return done(call, NV_ENC_ERR_INVALID_PTR);
  call += " in=" + handle_text(p->inputBuffer);
  if (!version_ok(p->version, NV_ENC_LOCK_INPUT_BUFFER_VER, "NV_ENC_LOCK_INPUT_BUFFER", status))
    return done(call, status);
  if (api().faults.should_fail("lock_input")) return done(call, NV_ENC_ERR_LOCK_BUSY);
  status = enc->lock_input(*p);
  return done(call + (status == NV_ENC_SUCCESS ? " pitch=" + std::to_string(p->pitch) : ""),
              status);
}

NVENCSTATUS NVENCAPI unlock_input(void* encoder, NV_ENC_INPUT_PTR buffer) {
  auto lock = enter();
  const std::string call = "nvEncUnlockInputBuffer enc=" + std::to_string(encoder_id(encoder)) +
                           " in=" + handle_text(buffer);
  NVENCSTATUS status = NV_ENC_SUCCESS;
  DoubleEncoder* enc = find_encoder(encoder, "nvEncUnlockInputBuffer", status);
  if (!enc) return done(call, status);
  return done(call, enc->unlock_input(buffer));
}

NVENCSTATUS NVENCAPI create_bitstream(void* encoder, NV_ENC_CREATE_BITSTREAM_BUFFER* p) {
  auto lock = enter();
  std::string call = "nvEncCreateBitstreamBuffer enc=" + std::to_string(encoder_id(encoder));
  NVENCSTATUS status = NV_ENC_SUCCESS;
  DoubleEncoder* enc = find_encoder(encoder, "nvEncCreateBitstreamBuffer", status);
  if (!enc) return done(call, status);
  if (!p) return done(call, NV_ENC_ERR_INVALID_PTR);
  if (!version_ok(p->version, NV_ENC_CREATE_BITSTREAM_BUFFER_VER, "NV_ENC_CREATE_BITSTREAM_BUFFER",
                  status))
    return done(call, status);
  if (api().faults.should_fail("create_bitstream")) return done(call, NV_ENC_ERR_OUT_OF_MEMORY);
  const uint64_t id = api().next_buffer++;
  status = enc->create_bitstream(*p, id);
  return done(call + (status == NV_ENC_SUCCESS ? " out=" + std::to_string(id) : ""), status);
}

NVENCSTATUS NVENCAPI destroy_bitstream(void* encoder, NV_ENC_OUTPUT_PTR buffer) {
  auto lock = enter();
  const std::string call =
      "nvEncDestroyBitstreamBuffer enc=" + std::to_string(encoder_id(encoder)) +
      " out=" + handle_text(buffer);
  NVENCSTATUS status = NV_ENC_SUCCESS;
  DoubleEncoder* enc = find_encoder(encoder, "nvEncDestroyBitstreamBuffer", status);
  if (!enc) return done(call, status);
  return done(call, enc->destroy_bitstream(buffer));
}

NVENCSTATUS NVENCAPI lock_bitstream(void* encoder, NV_ENC_LOCK_BITSTREAM* p) {
  auto lock = enter();
  std::string call = "nvEncLockBitstream enc=" + std::to_string(encoder_id(encoder));
  NVENCSTATUS status = NV_ENC_SUCCESS;
  if (!find_encoder(encoder, "nvEncLockBitstream", status)) return done(call, status);
  if (!p) return done(call, NV_ENC_ERR_INVALID_PTR);
  call += " out=" + handle_text(p->outputBitstream) + " doNotWait=" + std::to_string(p->doNotWait);
  if (!version_ok(p->version, NV_ENC_LOCK_BITSTREAM_VER, "NV_ENC_LOCK_BITSTREAM", status))
    return done(call, status);
  if (api().faults.should_fail("lock_bitstream")) return done(call, NV_ENC_ERR_LOCK_BUSY);
  // A released picture whose bytes libavcodec still holds back: wait for a later encode call
  // (another thread) or give up after the timeout (docs/nvenc_double.md, "B-frames").
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(api().lock_timeout_ms);
  for (;;) {
    DoubleEncoder* enc = find_encoder(encoder, "nvEncLockBitstream", status);
    if (!enc) return done(call, status);
    bool wait = false;
    status = enc->lock_bitstream(*p, wait);
    if (!wait) break;
    if (p->doNotWait) return done(call + " (output not produced yet)", NV_ENC_ERR_LOCK_BUSY);
    if (api().output_ready.wait_until(lock, deadline) == std::cv_status::timeout)
      return done(call + " (timed out waiting for output held back by libavcodec)",
                  NV_ENC_ERR_LOCK_BUSY);
  }
  if (status == NV_ENC_SUCCESS)
    call += " size=" + std::to_string(p->bitstreamSizeInBytes) +
            " ts=" + std::to_string(p->outputTimeStamp) +
            " type=" + std::to_string(int(p->pictureType));
  return done(call, status);
}

NVENCSTATUS NVENCAPI unlock_bitstream(void* encoder, NV_ENC_OUTPUT_PTR buffer) {
  auto lock = enter();
  const std::string call = "nvEncUnlockBitstream enc=" + std::to_string(encoder_id(encoder)) +
                           " out=" + handle_text(buffer);
  NVENCSTATUS status = NV_ENC_SUCCESS;
  DoubleEncoder* enc = find_encoder(encoder, "nvEncUnlockBitstream", status);
  if (!enc) return done(call, status);
  return done(call, enc->unlock_bitstream(buffer));
}

std::string flag_text(uint32_t flags) {
  std::string text;
  if (flags & NV_ENC_PIC_FLAG_FORCEINTRA) text += "|FORCEINTRA";
  if (flags & NV_ENC_PIC_FLAG_FORCEIDR) text += "|FORCEIDR";
  if (flags & NV_ENC_PIC_FLAG_OUTPUT_SPSPPS) text += "|OUTPUT_SPSPPS";
  if (flags & NV_ENC_PIC_FLAG_EOS) text += "|EOS";
  return text.empty() ? "0" : text.substr(1);
}

NVENCSTATUS NVENCAPI encode_picture(void* encoder, NV_ENC_PIC_PARAMS* p) {
  auto lock = enter();
  std::string call = "nvEncEncodePicture enc=" + std::to_string(encoder_id(encoder));
  NVENCSTATUS status = NV_ENC_SUCCESS;
  DoubleEncoder* enc = find_encoder(encoder, "nvEncEncodePicture", status);
  if (!enc) return done(call, status);
  if (!p) return done(call, NV_ENC_ERR_INVALID_PTR);
  call += " flags=" + flag_text(p->encodePicFlags);
  if (!(p->encodePicFlags & NV_ENC_PIC_FLAG_EOS))
    call += " in=" + handle_text(p->inputBuffer) + " out=" + handle_text(p->outputBitstream) +
            " ts=" + std::to_string(p->inputTimeStamp);
  if (!version_ok(p->version, NV_ENC_PIC_PARAMS_VER, "NV_ENC_PIC_PARAMS", status))
    return done(call, status);
  if (api().faults.should_fail("encode")) return done(call, NV_ENC_ERR_GENERIC);
  DoubleEncoder::EncodeReport report;
  status = enc->encode(*p, report);
  if (report.input == DoubleEncoder::InputKind::Host) ++api().host_input_pictures;
  if (report.input == DoubleEncoder::InputKind::Device) ++api().device_input_pictures;
  api().output_ready.notify_all();
  return done(call + (report.note.empty() ? "" : " (" + report.note + ")"), status);
}

// ---- device input: CUDA device pointers -----------------------------------------------

NVENCSTATUS NVENCAPI register_resource(void* encoder, NV_ENC_REGISTER_RESOURCE* p) {
  auto lock = enter();
  std::string call = "nvEncRegisterResource enc=" + std::to_string(encoder_id(encoder));
  NVENCSTATUS status = NV_ENC_SUCCESS;
  DoubleEncoder* enc = find_encoder(encoder, "nvEncRegisterResource", status);
  if (!enc) return done(call, status);
  if (!p) return done(call, NV_ENC_ERR_INVALID_PTR);
  call += std::string(" type=") + resource_type_text(p->resourceType) +
          " ptr=" + pointer_text(p->resourceToRegister) + " " + std::to_string(p->width) + "x" +
          std::to_string(p->height) + " pitch=" + std::to_string(p->pitch) +
          " fmt=" + buffer_format_text(p->bufferFormat);
  if (p->bufferUsage != NV_ENC_INPUT_IMAGE) call += " usage=" + std::to_string(int(p->bufferUsage));
  if (!version_ok(p->version, NV_ENC_REGISTER_RESOURCE_VER, "NV_ENC_REGISTER_RESOURCE", status))
    return done(call, status);
  if (api().faults.should_fail("register")) return done(call, NV_ENC_ERR_RESOURCE_REGISTER_FAILED);
  const uint64_t id = api().next_buffer++;
  status = enc->register_resource(*p, api().caps, id);
  return done(call + (status == NV_ENC_SUCCESS ? " reg=" + std::to_string(id) : ""), status);
}

NVENCSTATUS NVENCAPI unregister_resource(void* encoder, NV_ENC_REGISTERED_PTR resource) {
  auto lock = enter();
  const std::string call = "nvEncUnregisterResource enc=" + std::to_string(encoder_id(encoder)) +
                           " reg=" + handle_text(resource);
  NVENCSTATUS status = NV_ENC_SUCCESS;
  DoubleEncoder* enc = find_encoder(encoder, "nvEncUnregisterResource", status);
  if (!enc) return done(call, status);
  return done(call, enc->unregister_resource(resource));
}

NVENCSTATUS NVENCAPI map_input(void* encoder, NV_ENC_MAP_INPUT_RESOURCE* p) {
  auto lock = enter();
  std::string call = "nvEncMapInputResource enc=" + std::to_string(encoder_id(encoder));
  NVENCSTATUS status = NV_ENC_SUCCESS;
  DoubleEncoder* enc = find_encoder(encoder, "nvEncMapInputResource", status);
  if (!enc) return done(call, status);
  if (!p) return done(call, NV_ENC_ERR_INVALID_PTR);
  call += " reg=" + handle_text(p->registeredResource);
  if (!version_ok(p->version, NV_ENC_MAP_INPUT_RESOURCE_VER, "NV_ENC_MAP_INPUT_RESOURCE", status))
    return done(call, status);
  if (api().faults.should_fail("map")) return done(call, NV_ENC_ERR_MAP_FAILED);
  const uint64_t id = api().next_buffer++;
  status = enc->map_resource(*p, id);
  if (status == NV_ENC_SUCCESS)
    call += " mapped=" + std::to_string(id) + " fmt=" + buffer_format_text(p->mappedBufferFmt);
  return done(call, status);
}

NVENCSTATUS NVENCAPI unmap_input(void* encoder, NV_ENC_INPUT_PTR mapped) {
  auto lock = enter();
  const std::string call = "nvEncUnmapInputResource enc=" + std::to_string(encoder_id(encoder)) +
                           " mapped=" + handle_text(mapped);
  NVENCSTATUS status = NV_ENC_SUCCESS;
  DoubleEncoder* enc = find_encoder(encoder, "nvEncUnmapInputResource", status);
  if (!enc) return done(call, status);
  return done(call, enc->unmap_resource(mapped));
}

// ---- the rest of the function list -----------------------------------------------------

NVENCSTATUS unimplemented(const char* name) {
  return done(name, NV_ENC_ERR_UNIMPLEMENTED);
}

NVENCSTATUS NVENCAPI open_session(void*, uint32_t, void**) {
  auto l = enter();
  return unimplemented("nvEncOpenEncodeSession");
}
NVENCSTATUS NVENCAPI profile_count(void*, GUID, uint32_t*) {
  auto l = enter();
  return unimplemented("nvEncGetEncodeProfileGUIDCount");
}
NVENCSTATUS NVENCAPI profile_guids(void*, GUID, GUID*, uint32_t, uint32_t*) {
  auto l = enter();
  return unimplemented("nvEncGetEncodeProfileGUIDs");
}
NVENCSTATUS NVENCAPI preset_config(void*, GUID, GUID, NV_ENC_PRESET_CONFIG*) {
  auto l = enter();
  return unimplemented("nvEncGetEncodePresetConfig");
}
NVENCSTATUS NVENCAPI encode_stats(void*, NV_ENC_STAT*) {
  auto l = enter();
  return unimplemented("nvEncGetEncodeStats");
}
NVENCSTATUS NVENCAPI register_event(void*, NV_ENC_EVENT_PARAMS*) {
  auto l = enter();
  return unimplemented("nvEncRegisterAsyncEvent");
}
NVENCSTATUS NVENCAPI unregister_event(void*, NV_ENC_EVENT_PARAMS*) {
  auto l = enter();
  return unimplemented("nvEncUnregisterAsyncEvent");
}
NVENCSTATUS NVENCAPI invalidate_refs(void*, uint64_t) {
  auto l = enter();
  return unimplemented("nvEncInvalidateRefFrames");
}
NVENCSTATUS NVENCAPI create_mv(void*, NV_ENC_CREATE_MV_BUFFER*) {
  auto l = enter();
  return unimplemented("nvEncCreateMVBuffer");
}
NVENCSTATUS NVENCAPI destroy_mv(void*, NV_ENC_OUTPUT_PTR) {
  auto l = enter();
  return unimplemented("nvEncDestroyMVBuffer");
}
NVENCSTATUS NVENCAPI run_me(void*, NV_ENC_MEONLY_PARAMS*) {
  auto l = enter();
  return unimplemented("nvEncRunMotionEstimationOnly");
}
NVENCSTATUS NVENCAPI set_streams(void*, NV_ENC_CUSTREAM_PTR, NV_ENC_CUSTREAM_PTR) {
  auto l = enter();
  return unimplemented("nvEncSetIOCudaStreams");
}
NVENCSTATUS NVENCAPI sequence_param_ex(void*, NV_ENC_INITIALIZE_PARAMS*,
                                       NV_ENC_SEQUENCE_PARAM_PAYLOAD*) {
  auto l = enter();
  return unimplemented("nvEncGetSequenceParamEx");
}

void fill_list(NV_ENCODE_API_FUNCTION_LIST& f) {
  f.nvEncOpenEncodeSession = open_session;
  f.nvEncGetEncodeGUIDCount = get_encode_guid_count;
  f.nvEncGetEncodeProfileGUIDCount = profile_count;
  f.nvEncGetEncodeProfileGUIDs = profile_guids;
  f.nvEncGetEncodeGUIDs = get_encode_guids;
  f.nvEncGetInputFormatCount = get_input_format_count;
  f.nvEncGetInputFormats = get_input_formats;
  f.nvEncGetEncodeCaps = get_encode_caps;
  f.nvEncGetEncodePresetCount = get_preset_count;
  f.nvEncGetEncodePresetGUIDs = get_preset_guids;
  f.nvEncGetEncodePresetConfig = preset_config;
  f.nvEncInitializeEncoder = initialize_encoder;
  f.nvEncCreateInputBuffer = create_input;
  f.nvEncDestroyInputBuffer = destroy_input;
  f.nvEncCreateBitstreamBuffer = create_bitstream;
  f.nvEncDestroyBitstreamBuffer = destroy_bitstream;
  f.nvEncEncodePicture = encode_picture;
  f.nvEncLockBitstream = lock_bitstream;
  f.nvEncUnlockBitstream = unlock_bitstream;
  f.nvEncLockInputBuffer = lock_input;
  f.nvEncUnlockInputBuffer = unlock_input;
  f.nvEncGetEncodeStats = encode_stats;
  f.nvEncGetSequenceParams = get_sequence_params;
  f.nvEncRegisterAsyncEvent = register_event;
  f.nvEncUnregisterAsyncEvent = unregister_event;
  f.nvEncMapInputResource = map_input;
  f.nvEncUnmapInputResource = unmap_input;
  f.nvEncDestroyEncoder = destroy_encoder;
  f.nvEncInvalidateRefFrames = invalidate_refs;
  f.nvEncOpenEncodeSessionEx = open_session_ex;
  f.nvEncRegisterResource = register_resource;
  f.nvEncUnregisterResource = unregister_resource;
  f.nvEncReconfigureEncoder = reconfigure_encoder;
  f.nvEncCreateMVBuffer = create_mv;
  f.nvEncDestroyMVBuffer = destroy_mv;
  f.nvEncRunMotionEstimationOnly = run_me;
  f.nvEncGetLastErrorString = get_last_error;
  f.nvEncSetIOCudaStreams = set_streams;
  f.nvEncGetEncodePresetConfigEx = get_preset_config_ex;
  f.nvEncGetSequenceParamEx = sequence_param_ex;
}

}  // namespace
}  // namespace nvdouble

using namespace nvdouble;

NVENC_DOUBLE_EXPORT NVENCSTATUS NvEncodeAPIGetMaxSupportedVersion(uint32_t* version) {
  auto lock = enter();
  if (!version) return done("NvEncodeAPIGetMaxSupportedVersion", NV_ENC_ERR_INVALID_PTR);
  *version = api().max_version;
  return done("NvEncodeAPIGetMaxSupportedVersion version=" + std::to_string(*version >> 4) + "." +
                  std::to_string(*version & 0xf),
              NV_ENC_SUCCESS);
}

NVENC_DOUBLE_EXPORT NVENCSTATUS NvEncodeAPICreateInstance(NV_ENCODE_API_FUNCTION_LIST* list) {
  auto lock = enter();
  std::string call = "NvEncodeAPICreateInstance";
  if (!list) return done(call, NV_ENC_ERR_INVALID_PTR);
  const uint32_t v = list->version;
  call += " version=" + hex(v);
  // The list version is NVENCAPI_STRUCT_VERSION(2) of the client's API version.
  const uint32_t major = v & 0xff, minor = (v >> 24) & 0x0f;
  const uint32_t shape = major | (minor << 24) | (2u << 16) | (0x7u << 28);
  const uint32_t requested = (major << 4) | minor;
  if (v != shape || requested > api().max_version) return done(call, NV_ENC_ERR_INVALID_VERSION);
  // Other (older) API versions have other struct layouts, which the double does not decode.
  if (major != kHeaderMajor || minor != kHeaderMinor)
    return done(call + " (the double implements the 11.1 layouts only)",
                NV_ENC_ERR_INVALID_VERSION);
  fill_list(*list);
  return done(call, NV_ENC_SUCCESS);
}

NVENC_DOUBLE_EXPORT void videohw_nvenc_double_reset(void) {
  std::lock_guard<std::mutex> lock(api().mutex);
  ApiState& s = api();
  s.encoders.clear();
  s.destroyed.clear();
  s.host_input_pictures = s.device_input_pictures = 0;
  s.violations.clear();
  s.log.clear();
  read_env(s);  // ids keep counting, so a handle from before the reset stays unknown
  s.output_ready.notify_all();
}

NVENC_DOUBLE_EXPORT int videohw_nvenc_double_set_faults(const char* faults) {
  auto lock = enter();
  try {
    api().faults = FaultPlan::parse(faults ? faults : "", kFaultNames);
  } catch (const std::invalid_argument&) {
    return -1;
  }
  return 0;
}

NVENC_DOUBLE_EXPORT const char* videohw_nvenc_double_call_log(void) {
  auto lock = enter();
  api().log_snapshot = api().log.joined();
  return api().log_snapshot.c_str();
}

NVENC_DOUBLE_EXPORT const char* videohw_nvenc_double_violations(void) {
  auto lock = enter();
  api().violation_snapshot.clear();
  for (const auto& v : api().violations) api().violation_snapshot += v + "\n";
  return api().violation_snapshot.c_str();
}

NVENC_DOUBLE_EXPORT int videohw_nvenc_double_open_sessions(void) {
  auto lock = enter();
  return int(api().encoders.size());
}

NVENC_DOUBLE_EXPORT int videohw_nvenc_double_registered_resources(void) {
  auto lock = enter();
  int n = 0;
  for (const auto& [id, enc] : api().encoders) n += enc->registered_resources();
  return n;
}

NVENC_DOUBLE_EXPORT int videohw_nvenc_double_mapped_resources(void) {
  auto lock = enter();
  int n = 0;
  for (const auto& [id, enc] : api().encoders) n += enc->mapped_resources();
  return n;
}

NVENC_DOUBLE_EXPORT long videohw_nvenc_double_device_input_pictures(void) {
  auto lock = enter();
  return api().device_input_pictures;
}

NVENC_DOUBLE_EXPORT long videohw_nvenc_double_host_input_pictures(void) {
  auto lock = enter();
  return api().host_input_pictures;
}
