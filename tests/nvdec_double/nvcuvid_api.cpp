// The cuvid entry points of libnvcuvid.so.1 that the NVDEC adapter binds, on the parser
// (video_parser) and decoder (video_decoder) of this double, with the API's rules checked
// on the way in. Handles are tokens, so a destroyed one is recognised as such.
#include <ffnvcodec/dynlink_cuda.h>
#include <ffnvcodec/dynlink_cuviddec.h>
#include <ffnvcodec/dynlink_nvcuvid.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "double_common.hpp"
#include "nvcuvid_double_control.h"
#include "nvenc_double_control.h"
#include "video_decoder.hpp"
#include "video_parser.hpp"

#define CUVID_DOUBLE_EXPORT extern "C" __attribute__((visibility("default")))

extern "C" CUresult cuCtxGetCurrent(CUcontext* pctx);  // from the CUDA double

namespace {

using nvdecdouble::VideoDecoder;
using nvdecdouble::VideoParser;

constexpr int kInvalidValue = 1, kOutOfMemory = 2, kInvalidContext = 201, kMapFailed = 205,
              kInvalidHandle = 400, kNotSupported = 801, kUnknown = 999;

const char* result_name(int code) {
  switch (code) {
    case 0:
      return "CUDA_SUCCESS";
    case kInvalidValue:
      return "CUDA_ERROR_INVALID_VALUE";
    case kOutOfMemory:
      return "CUDA_ERROR_OUT_OF_MEMORY";
    case kInvalidContext:
      return "CUDA_ERROR_INVALID_CONTEXT";
    case kMapFailed:
      return "CUDA_ERROR_MAP_FAILED";
    case kInvalidHandle:
      return "CUDA_ERROR_INVALID_HANDLE";
    case kNotSupported:
      return "CUDA_ERROR_NOT_SUPPORTED";
    default:
      return "CUDA_ERROR_UNKNOWN";
  }
}

const std::vector<std::string> kFaultNames = {"create_parser", "parse",  "caps", "create_decoder",
                                              "decode",        "status", "map",  "reconfigure"};

struct Caps {
  unsigned max_width = 0, max_height = 0, min_width = 0, min_height = 0;
  bool h264 = true, hevc = true;
  bool lowest_surface = false;  // parsers hand out the lowest free decode surface
};

struct State {
  std::mutex mutex;
  bool env_read = false;
  nvdouble::FaultPlan faults;
  nvdouble::CallLog log;
  std::vector<std::string> violations;
  Caps caps;
  uintptr_t next_handle = 1;
  std::map<void*, std::shared_ptr<VideoParser>> parsers;
  std::map<void*, std::shared_ptr<VideoDecoder>> decoders;
  std::map<void*, CUcontext> locks;
  std::set<void*> destroyed;
  int max_mapped = 0;  // most frames mapped at once on one decoder since the reset
  std::string snapshot;
};

State& state() {
  static State* s = new State();  // the adapter may destroy a decoder during static teardown
  return *s;
}

void read_env(State& s) {
  s.env_read = true;
  try {
    s.faults = nvdouble::FaultPlan::parse(nvdouble::env_text("VIDEOHW_NVCUVID_DOUBLE_FAULTS"),
                                          kFaultNames);
  } catch (const std::invalid_argument& e) {
    s.log.add(std::string("VIDEOHW_NVCUVID_DOUBLE_FAULTS ignored: ") + e.what());
    s.faults = {};
  }
  s.caps = Caps{};
  for (const std::string& item :
       nvdouble::split_list(nvdouble::env_text("VIDEOHW_NVCUVID_DOUBLE_CAPS"))) {
    const size_t eq = item.find('=');
    const std::string key = item.substr(0, eq);
    const std::string text = eq == std::string::npos ? "1" : item.substr(eq + 1);
    char* end = nullptr;
    const unsigned value = unsigned(std::strtoul(text.c_str(), &end, 10));
    if (text.empty() || *end) {
      s.log.add("VIDEOHW_NVCUVID_DOUBLE_CAPS: " + item + " ignored (expected key=number)");
      continue;
    }
    if (key == "max_width")
      s.caps.max_width = value;
    else if (key == "max_height")
      s.caps.max_height = value;
    else if (key == "min_width")
      s.caps.min_width = value;
    else if (key == "min_height")
      s.caps.min_height = value;
    else if (key == "h264")
      s.caps.h264 = value != 0;
    else if (key == "hevc")
      s.caps.hevc = value != 0;
    else if (key == "lowest_surface")
      s.caps.lowest_surface = value != 0;
    else
      s.log.add("VIDEOHW_NVCUVID_DOUBLE_CAPS: unknown key " + key + " ignored");
  }
  s.log.set_file(nvdouble::env_text("VIDEOHW_NVCUVID_DOUBLE_LOG"));
}

std::unique_lock<std::mutex> enter() {
  std::unique_lock<std::mutex> lock(state().mutex);
  if (!state().env_read) read_env(state());
  return lock;
}

CUresult finish(const std::string& call, int code) {
  state().log.add(call + " -> " + result_name(code));
  return CUresult(code);
}

CUresult misuse(const std::string& call, const std::string& why, int code) {
  state().violations.push_back(call + ": " + why);
  return finish(call, code);
}

std::string handle_text(const void* h) {
  return std::to_string(reinterpret_cast<uintptr_t>(h));
}

void* new_handle(State& s) {
  return reinterpret_cast<void*>(0x1000u + 0x10u * s.next_handle++);
}

CUcontext current() {
  CUcontext ctx = nullptr;
  cuCtxGetCurrent(&ctx);
  return ctx;
}

// The adapter's contract: every cuvid call inside a push/pop of a live context (and, for a
// decoder, of the context it was created in).
std::string context_problem(CUcontext wanted) {
  const CUcontext ctx = current();
  if (!ctx) return "called without a current CUDA context";
  if (!videohw_cuda_double_context_is_live(ctx)) return "the current CUDA context is not live";
  if (wanted && ctx != wanted) return "called with another context current than the decoder's";
  return "";
}

// The decoder behind `handle`, or a violation when it is unknown or destroyed.
std::shared_ptr<VideoDecoder> decoder_of(State& s, void* handle, const std::string& call,
                                         CUresult& error) {
  auto it = s.decoders.find(handle);
  if (it != s.decoders.end()) {
    const std::string problem = context_problem(it->second->context());
    if (problem.empty()) return it->second;
    error = misuse(call, problem, kInvalidContext);
    return nullptr;
  }
  error = misuse(call,
                 s.destroyed.count(handle) ? "the decoder was destroyed" : "unknown decoder handle",
                 kInvalidHandle);
  return nullptr;
}

void fill_caps(const Caps& c, CUVIDDECODECAPS& caps) {
  const bool h264 = caps.eCodecType == cudaVideoCodec_H264 && c.h264;
  const bool hevc = caps.eCodecType == cudaVideoCodec_HEVC && c.hevc;
  const bool depth_ok = h264 ? caps.nBitDepthMinus8 == 0 : caps.nBitDepthMinus8 <= 4;
  caps.bIsSupported = (h264 || hevc) && caps.eChromaFormat == cudaVideoChromaFormat_420 && depth_ok;
  caps.nNumNVDECs = 1;
  if (!caps.bIsSupported) return;
  // NVIDIA's documented limits (H.264 48x16 .. 4096x4096, HEVC 144x144 .. 8192x8192).
  caps.nMaxWidth = c.max_width ? c.max_width : (h264 ? 4096 : 8192);
  caps.nMaxHeight = c.max_height ? c.max_height : (h264 ? 4096 : 8192);
  caps.nMinWidth = (unsigned short)(c.min_width ? c.min_width : (h264 ? 48 : 144));
  caps.nMinHeight = (unsigned short)(c.min_height ? c.min_height : (h264 ? 16 : 144));
  caps.nMaxMBCount = (caps.nMaxWidth / 16) * (caps.nMaxHeight / 16);
  caps.nOutputFormatMask =
      (unsigned short)(1u << (caps.nBitDepthMinus8 ? cudaVideoSurfaceFormat_P016
                                                   : cudaVideoSurfaceFormat_NV12));
}

}  // namespace

CUVID_DOUBLE_EXPORT CUresult cuvidGetDecoderCaps(CUVIDDECODECAPS* caps) {
  auto lock = enter();
  State& s = state();
  if (!caps) return finish("cuvidGetDecoderCaps", kInvalidValue);
  const std::string call = "cuvidGetDecoderCaps codec=" + std::to_string(int(caps->eCodecType)) +
                           " chroma=" + std::to_string(int(caps->eChromaFormat)) +
                           " depth=" + std::to_string(8 + caps->nBitDepthMinus8);
  const std::string problem = context_problem(nullptr);
  if (!problem.empty()) return misuse(call, problem, kInvalidContext);
  if (s.faults.should_fail("caps")) return finish(call, kNotSupported);
  fill_caps(s.caps, *caps);
  return finish(call + " supported=" + std::to_string(caps->bIsSupported), 0);
}

CUVID_DOUBLE_EXPORT CUresult cuvidCtxLockCreate(CUvideoctxlock* lock_out, CUcontext ctx) {
  auto lock = enter();
  State& s = state();
  const std::string call = "cuvidCtxLockCreate";
  if (!lock_out) return finish(call, kInvalidValue);
  if (!videohw_cuda_double_context_is_live(ctx))
    return misuse(call, "the context is not live", kInvalidContext);
  void* handle = new_handle(s);
  s.locks[handle] = ctx;
  *lock_out = static_cast<CUvideoctxlock>(handle);
  return finish(call + " lock=" + handle_text(handle), 0);
}

CUVID_DOUBLE_EXPORT CUresult cuvidCtxLockDestroy(CUvideoctxlock lck) {
  auto lock = enter();
  State& s = state();
  const std::string call = "cuvidCtxLockDestroy lock=" + handle_text(lck);
  if (!s.locks.erase(lck)) return misuse(call, "unknown or destroyed lock", kInvalidHandle);
  s.destroyed.insert(lck);
  return finish(call, 0);
}

CUVID_DOUBLE_EXPORT CUresult cuvidCreateVideoParser(CUvideoparser* parser,
                                                    CUVIDPARSERPARAMS* params) {
  auto lock = enter();
  State& s = state();
  if (!parser || !params) return finish("cuvidCreateVideoParser", kInvalidValue);
  const std::string call =
      "cuvidCreateVideoParser codec=" + std::to_string(int(params->CodecType)) +
      " delay=" + std::to_string(params->ulMaxDisplayDelay);
  const std::string problem = context_problem(nullptr);
  if (!problem.empty()) return misuse(call, problem, kInvalidContext);
  if (s.faults.should_fail("create_parser")) return finish(call, kOutOfMemory);
  std::shared_ptr<VideoParser> created;
  try {
    created = std::make_shared<VideoParser>(*params, s.caps.lowest_surface);
  } catch (const std::exception& e) {
    s.log.add(call + ": " + e.what());
    return finish(call, kNotSupported);
  }
  void* handle = new_handle(s);
  s.parsers[handle] = created;
  *parser = handle;
  return finish(call + " parser=" + handle_text(handle), 0);
}

CUVID_DOUBLE_EXPORT CUresult cuvidParseVideoData(CUvideoparser parser,
                                                 CUVIDSOURCEDATAPACKET* packet) {
  std::shared_ptr<VideoParser> target;
  std::string call;
  {
    auto lock = enter();
    State& s = state();
    if (!packet) return finish("cuvidParseVideoData", kInvalidValue);
    call = "cuvidParseVideoData parser=" + handle_text(parser) +
           " bytes=" + std::to_string(packet->payload_size) +
           " flags=" + std::to_string(packet->flags);
    auto it = s.parsers.find(parser);
    if (it == s.parsers.end())
      return misuse(call, s.destroyed.count(parser) ? "the parser was destroyed" : "unknown parser",
                    kInvalidHandle);
    const std::string problem = context_problem(nullptr);
    if (!problem.empty()) return misuse(call, problem, kInvalidContext);
    if (s.faults.should_fail("parse")) return finish(call, kUnknown);
    target = it->second;
  }
  // The client's callbacks run from here and call back into the double: no lock held.
  std::string note;
  const CUresult result = target->parse(*packet, note);
  auto lock = enter();
  if (!note.empty()) call += " (" + note + ")";
  return finish(call, int(result));
}

CUVID_DOUBLE_EXPORT CUresult cuvidDestroyVideoParser(CUvideoparser parser) {
  auto lock = enter();
  State& s = state();
  const std::string call = "cuvidDestroyVideoParser parser=" + handle_text(parser);
  if (!s.parsers.erase(parser))
    return misuse(call, s.destroyed.count(parser) ? "destroyed twice" : "unknown parser",
                  kInvalidHandle);
  s.destroyed.insert(parser);
  return finish(call, 0);
}

CUVID_DOUBLE_EXPORT CUresult cuvidCreateDecoder(CUvideodecoder* decoder,
                                                CUVIDDECODECREATEINFO* info) {
  auto lock = enter();
  State& s = state();
  if (!decoder || !info) return finish("cuvidCreateDecoder", kInvalidValue);
  const std::string call =
      "cuvidCreateDecoder " + std::to_string(info->ulWidth) + "x" + std::to_string(info->ulHeight) +
      " max=" + std::to_string(info->ulMaxWidth) + "x" + std::to_string(info->ulMaxHeight) +
      " surfaces=" + std::to_string(info->ulNumDecodeSurfaces) +
      " outputs=" + std::to_string(info->ulNumOutputSurfaces);
  const std::string problem = context_problem(nullptr);
  if (!problem.empty()) return misuse(call, problem, kInvalidContext);
  if (info->vidLock && !s.locks.count(info->vidLock))
    return misuse(call, "vidLock is not a live cuvidCtxLockCreate lock", kInvalidHandle);
  if (info->vidLock && s.locks[info->vidLock] != current())
    return misuse(call, "vidLock belongs to another context than the current one", kInvalidContext);
  if (info->ulNumDecodeSurfaces < 1 || info->ulNumDecodeSurfaces > 32 ||
      info->ulNumOutputSurfaces < 1 || info->ulNumOutputSurfaces > 64)
    return misuse(call, "ulNumDecodeSurfaces must be 1..32 and ulNumOutputSurfaces 1..64",
                  kInvalidValue);
  CUVIDDECODECAPS caps{};
  caps.eCodecType = info->CodecType;
  caps.eChromaFormat = info->ChromaFormat;
  caps.nBitDepthMinus8 = info->bitDepthMinus8;
  fill_caps(s.caps, caps);
  if (!caps.bIsSupported || info->ulMaxWidth > caps.nMaxWidth ||
      info->ulMaxHeight > caps.nMaxHeight || info->ulWidth > info->ulMaxWidth ||
      info->ulHeight > info->ulMaxHeight || info->ulWidth < caps.nMinWidth ||
      info->ulHeight < caps.nMinHeight)
    return misuse(call, "outside what cuvidGetDecoderCaps reports for this codec and format",
                  kNotSupported);
  const std::string unsupported = nvdecdouble::unsupported_decoder(*info);
  if (!unsupported.empty()) return misuse(call, unsupported, kNotSupported);
  if (s.faults.should_fail("create_decoder")) return finish(call, kOutOfMemory);
  void* handle = new_handle(s);
  s.decoders[handle] = std::make_shared<VideoDecoder>(*info, current());
  *decoder = handle;
  return finish(call + " decoder=" + handle_text(handle), 0);
}

CUVID_DOUBLE_EXPORT CUresult cuvidDestroyDecoder(CUvideodecoder decoder) {
  auto lock = enter();
  State& s = state();
  const std::string call = "cuvidDestroyDecoder decoder=" + handle_text(decoder);
  CUresult error = CUDA_SUCCESS;
  std::shared_ptr<VideoDecoder> d = decoder_of(s, decoder, call, error);
  if (!d) return error;
  if (const int mapped = d->mapped())
    s.violations.push_back(call + ": destroyed with " + std::to_string(mapped) +
                           " frame(s) still mapped");
  s.decoders.erase(decoder);
  s.destroyed.insert(decoder);
  return finish(call, 0);
}

CUVID_DOUBLE_EXPORT CUresult cuvidDecodePicture(CUvideodecoder decoder, CUVIDPICPARAMS* params) {
  auto lock = enter();
  State& s = state();
  if (!params) return finish("cuvidDecodePicture", kInvalidValue);
  const std::string call = "cuvidDecodePicture decoder=" + handle_text(decoder) +
                           " idx=" + std::to_string(params->CurrPicIdx) +
                           " bytes=" + std::to_string(params->nBitstreamDataLen);
  CUresult error = CUDA_SUCCESS;
  std::shared_ptr<VideoDecoder> d = decoder_of(s, decoder, call, error);
  if (!d) return error;
  if (s.faults.should_fail("decode")) return finish(call, kUnknown);
  std::string problem;
  const int code = d->decode(*params, nvdecdouble::find_picture(params->pBitstreamData), problem);
  if (!problem.empty()) return misuse(call, problem, code);
  if (code == kNotSupported) s.log.add(call + ": bitstream not from a parser of this double");
  return finish(call, code);
}

CUVID_DOUBLE_EXPORT CUresult cuvidGetDecodeStatus(CUvideodecoder decoder, int index,
                                                  CUVIDGETDECODESTATUS* status) {
  auto lock = enter();
  State& s = state();
  const std::string call =
      "cuvidGetDecodeStatus decoder=" + handle_text(decoder) + " idx=" + std::to_string(index);
  if (!status) return finish(call, kInvalidValue);
  CUresult error = CUDA_SUCCESS;
  std::shared_ptr<VideoDecoder> d = decoder_of(s, decoder, call, error);
  if (!d) return error;
  std::string problem;
  const int code = d->status(index, *status, s.faults.should_fail("status"), problem);
  if (!problem.empty()) return misuse(call, problem, code);
  return finish(call + " status=" + std::to_string(int(status->decodeStatus)), code);
}

CUVID_DOUBLE_EXPORT CUresult cuvidReconfigureDecoder(CUvideodecoder decoder,
                                                     CUVIDRECONFIGUREDECODERINFO* info) {
  auto lock = enter();
  State& s = state();
  if (!info) return finish("cuvidReconfigureDecoder", kInvalidValue);
  const std::string call = "cuvidReconfigureDecoder decoder=" + handle_text(decoder) + " " +
                           std::to_string(info->ulWidth) + "x" + std::to_string(info->ulHeight);
  CUresult error = CUDA_SUCCESS;
  std::shared_ptr<VideoDecoder> d = decoder_of(s, decoder, call, error);
  if (!d) return error;
  if (s.faults.should_fail("reconfigure")) return finish(call, kNotSupported);
  std::string problem;
  const int code = d->reconfigure(*info, problem);
  if (!problem.empty()) return misuse(call, problem, code);
  return finish(call, code);
}

CUVID_DOUBLE_EXPORT CUresult cuvidMapVideoFrame64(CUvideodecoder decoder, int index,
                                                  unsigned long long* pointer, unsigned int* pitch,
                                                  CUVIDPROCPARAMS* proc) {
  auto lock = enter();
  State& s = state();
  const std::string call =
      "cuvidMapVideoFrame64 decoder=" + handle_text(decoder) + " idx=" + std::to_string(index);
  if (!pointer || !pitch || !proc) return finish(call, kInvalidValue);
  CUresult error = CUDA_SUCCESS;
  std::shared_ptr<VideoDecoder> d = decoder_of(s, decoder, call, error);
  if (!d) return error;
  if (s.faults.should_fail("map")) return finish(call, kMapFailed);
  std::string problem;
  const int code = d->map(index, *pointer, *pitch, problem);
  if (!problem.empty()) return misuse(call, problem, code);
  s.max_mapped = std::max(s.max_mapped, d->mapped());
  return finish(call + " pitch=" + std::to_string(*pitch), code);
}

CUVID_DOUBLE_EXPORT CUresult cuvidUnmapVideoFrame64(CUvideodecoder decoder,
                                                    unsigned long long pointer) {
  auto lock = enter();
  State& s = state();
  const std::string call = "cuvidUnmapVideoFrame64 decoder=" + handle_text(decoder);
  CUresult error = CUDA_SUCCESS;
  std::shared_ptr<VideoDecoder> d = decoder_of(s, decoder, call, error);
  if (!d) return error;
  std::string problem;
  const int code = d->unmap(pointer, problem);
  if (!problem.empty()) return misuse(call, problem, code);
  return finish(call, code);
}

CUVID_DOUBLE_EXPORT void videohw_nvcuvid_double_reset(void) {
  std::lock_guard<std::mutex> lock(state().mutex);
  State& s = state();
  s.log.clear();
  s.violations.clear();
  s.max_mapped = 0;
  read_env(s);
}

CUVID_DOUBLE_EXPORT int videohw_nvcuvid_double_set_faults(const char* faults) {
  auto lock = enter();
  try {
    state().faults = nvdouble::FaultPlan::parse(faults ? faults : "", kFaultNames);
  } catch (const std::invalid_argument&) {
    return -1;
  }
  return 0;
}

CUVID_DOUBLE_EXPORT const char* videohw_nvcuvid_double_call_log(void) {
  auto lock = enter();
  state().snapshot = state().log.joined();
  return state().snapshot.c_str();
}

CUVID_DOUBLE_EXPORT const char* videohw_nvcuvid_double_violations(void) {
  auto lock = enter();
  State& s = state();
  s.snapshot.clear();
  for (const auto& line : s.violations) s.snapshot += line + "\n";
  return s.snapshot.c_str();
}

CUVID_DOUBLE_EXPORT int videohw_nvcuvid_double_open_parsers(void) {
  auto lock = enter();
  return int(state().parsers.size());
}

CUVID_DOUBLE_EXPORT int videohw_nvcuvid_double_open_decoders(void) {
  auto lock = enter();
  return int(state().decoders.size());
}

CUVID_DOUBLE_EXPORT int videohw_nvcuvid_double_open_locks(void) {
  auto lock = enter();
  return int(state().locks.size());
}

CUVID_DOUBLE_EXPORT int videohw_nvcuvid_double_mapped_frames(void) {
  auto lock = enter();
  int mapped = 0;
  for (const auto& [handle, decoder] : state().decoders) mapped += decoder->mapped();
  return mapped;
}

CUVID_DOUBLE_EXPORT int videohw_nvcuvid_double_max_mapped(void) {
  auto lock = enter();
  return state().max_mapped;
}
