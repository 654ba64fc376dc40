// One encode session of the NVENC double. Every method runs with the double's global mutex
// held (nvenc_api.cpp), so the submit and reap threads of a client see one consistent state.
//
// Buffer life cycle, as the NVENC programming guide states it and the double enforces it:
//   input:     created -> lock -> unlock -> encode (in flight until the SUCCESS/EOS that
//              releases its picture) -> lock again ... -> destroyed before the encoder.
//   bitstream: created -> encode (pending) -> SUCCESS/EOS (released) -> lock -> unlock (idle)
//              ... -> destroyed before the encoder.
//   device input (CUDA device pointer): registered -> mapped -> encode (read through CUDA
//              at nvEncEncodePicture) -> that picture's output locked -> unmapped ... ->
//              unregistered before the encoder.
// Output fills the pending bitstream buffers in submission order with pictures in decode
// order, as NVENC does with B-frames.
#pragma once

#include <ffnvcodec/dynlink_cuda.h>
#include <ffnvcodec/nvEncodeAPI.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "av_encoder.hpp"
#include "caps.hpp"
#include "encode_settings.hpp"
#include "gop_schedule.hpp"

namespace nvdouble {

using Report = std::function<void(const std::string&)>;

class DoubleEncoder {
 public:
  DoubleEncoder(uint64_t id, void* cuda_context, Report violation);

  uint64_t id() const { return id_; }
  void* cuda_context() const { return cuda_context_; }
  const std::string& last_error() const { return last_error_; }

  NVENCSTATUS initialize(const NV_ENC_INITIALIZE_PARAMS& params, const Caps& caps);
  NVENCSTATUS reconfigure(const NV_ENC_RECONFIGURE_PARAMS& params, const Caps& caps);
  NVENCSTATUS sequence_params(NV_ENC_SEQUENCE_PARAM_PAYLOAD& payload);

  NVENCSTATUS create_input(NV_ENC_CREATE_INPUT_BUFFER& params, const Caps& caps, uint64_t id);
  NVENCSTATUS destroy_input(void* handle);
  NVENCSTATUS lock_input(NV_ENC_LOCK_INPUT_BUFFER& params);
  NVENCSTATUS unlock_input(void* handle);

  NVENCSTATUS create_bitstream(NV_ENC_CREATE_BITSTREAM_BUFFER& params, uint64_t id);
  NVENCSTATUS destroy_bitstream(void* handle);
  // Sets `wait` instead of failing when the picture was released but the encoder has not
  // produced its bytes yet (see docs/nvenc_double.md, "B-frames"); the caller waits and retries.
  NVENCSTATUS lock_bitstream(NV_ENC_LOCK_BITSTREAM& params, bool& wait);
  NVENCSTATUS unlock_bitstream(void* handle);

  NVENCSTATUS register_resource(NV_ENC_REGISTER_RESOURCE& params, const Caps& caps, uint64_t id);
  NVENCSTATUS unregister_resource(void* handle);
  NVENCSTATUS map_resource(NV_ENC_MAP_INPUT_RESOURCE& params, uint64_t id);
  NVENCSTATUS unmap_resource(void* handle);
  int registered_resources() const { return int(registrations_.size()); }
  int mapped_resources() const;

  // What nvEncEncodePicture took: the kind of input a picture came from (None when no picture
  // was taken: EOS, a rule broken, a failure) and, on a failed device read, why.
  enum class InputKind { None, Host, Device };
  struct EncodeReport {
    InputKind input = InputKind::None;
    std::string note;
  };
  NVENCSTATUS encode(const NV_ENC_PIC_PARAMS& params, EncodeReport& report);

  // Rule checks of nvEncDestroyEncoder, reported as violations.
  void check_teardown(bool context_live);

  // Handles are tokens, never pointers into the double; these map them both ways.
  static void* input_handle(uint64_t id);
  static void* bitstream_handle(uint64_t id);
  static void* registered_handle(uint64_t id);
  static void* mapped_handle(uint64_t id);
  static uint64_t handle_id(void* handle);

 private:
  struct InputBuffer {
    int width = 0, height = 0, pitch = 0;
    NV_ENC_BUFFER_FORMAT format = NV_ENC_BUFFER_FORMAT_UNDEFINED;
    std::vector<uint8_t> memory;
    bool locked = false;
    bool in_flight = false;
  };
  enum class OutputState { Idle, Pending, Released };
  struct BitstreamBuffer {
    OutputState state = OutputState::Idle;
    bool locked = false;
    bool has_data = false;
    uint64_t input = 0;    // the input buffer (or mapping) whose picture went with this output
    uint64_t mapping = 0;  // the mapping that must stay mapped until this output is locked
    EncodedUnit unit;
    uint64_t time_stamp = 0, duration = 0;
    uint32_t frame_idx = 0;
  };
  struct Registration {
    CUdeviceptr ptr = 0;
    int width = 0, height = 0, pitch = 0;
    NV_ENC_BUFFER_FORMAT format = NV_ENC_BUFFER_FORMAT_UNDEFINED;
    uint64_t mapping = 0;  // the live mapping, 0 when unmapped
  };
  struct Mapping {
    uint64_t registration = 0;
    bool mapped = true;
    int unlocked_outputs = 0;  // pictures read from it whose output is not locked yet
  };
  struct FrameInfo {
    uint64_t time_stamp = 0, duration = 0;
    uint32_t frame_idx = 0;
  };

  NVENCSTATUS fail(NVENCSTATUS status, const std::string& message);
  NVENCSTATUS violate(NVENCSTATUS status, const std::string& message);
  NVENCSTATUS require_initialized(const char* call);
  InputBuffer* find_input(void* handle, const char* call, NVENCSTATUS& status);
  BitstreamBuffer* find_bitstream(void* handle, const char* call, NVENCSTATUS& status);

  NVENCSTATUS end_of_stream();
  NVENCSTATUS ensure_engine();
  // Chroma follows the luma plane of the buffer's own height: NV12 one plane at the luma
  // pitch, IYUV/YV12 two planes at half the pitch (host buffers and registrations alike).
  void copy_picture(const uint8_t* base, int pitch, int buffer_height, NV_ENC_BUFFER_FORMAT format);
  NVENCSTATUS read_device(const Registration& r, uint64_t mapping, std::string& note);
  Mapping* find_mapping(void* handle, const char* call, NVENCSTATUS& status);
  void deliver(std::vector<EncodedUnit>& units);
  void release_pending();
  void drain_engine();
  NVENCSTATUS check_reconfigure(const EncodeSettings& to, const Caps& caps);

  uint64_t id_;
  void* cuda_context_;
  Report report_;
  std::string last_error_;

  bool initialized_ = false;
  EncodeSettings settings_;
  GopSchedule schedule_;
  std::unique_ptr<AvEncoder> engine_;
  bool force_idr_next_ = false;
  int64_t next_pts_ = 0;
  std::map<int64_t, FrameInfo> frames_;  // engine pts -> what the client gave
  std::deque<uint64_t> awaiting_data_;   // bitstream ids, submission order; 0 = destroyed
  std::vector<uint64_t> unreleased_;     // submitted since the last SUCCESS/EOS
  std::vector<uint8_t> headers_;

  std::map<uint64_t, InputBuffer> inputs_;
  std::map<uint64_t, BitstreamBuffer> bitstreams_;
  std::set<uint64_t> destroyed_inputs_, destroyed_bitstreams_;
  std::map<uint64_t, Registration> registrations_;
  std::set<uint64_t> unregistered_;
  std::map<uint64_t, Mapping> mappings_;  // unmapped ones stay, to name a stale handle
  std::vector<uint8_t> staging_;          // a device picture, copied to the host
};

const char* status_name(NVENCSTATUS status);
// "NV12", "IYUV", ... for the call log; an unnamed value in hex.
std::string buffer_format_text(NV_ENC_BUFFER_FORMAT format);

}  // namespace nvdouble
