// One NVENC encoder handle (nvEncOpenEncodeSessionEx .. nvEncDestroyEncoder).
//
// Invariants: open from construction to destruction; the primary context it was opened
// with outlives it (it stays for the process: cuda/context.hpp). End of stream comes before
// destroy: when pictures were submitted since the last EOS, the destructor sends one. The owner
// destroys every input and bitstream buffer before this handle.
#pragma once

#include "nv_session/cuda/context.hpp"
#include "nv_session/nvenc/nvenc_api.hpp"
#include "nv_session/nvenc/nvenc_config.hpp"

namespace videohw::nv_session {

class NvencHandle {
 public:
  // Throws Error(BackendUnavailable) for NV_ENC_ERR_NO_ENCODE_DEVICE and the like.
  NvencHandle(const NvencApi& api, const PrimaryContext& context);
  ~NvencHandle();
  NvencHandle(const NvencHandle&) = delete;
  NvencHandle& operator=(const NvencHandle&) = delete;

  void* get() const { return encoder_; }
  const NvencApi& api() const { return api_; }
  const NV_ENCODE_API_FUNCTION_LIST& fn() const { return api_.fn; }

  void initialize(NvencSettings& settings);
  // Submits an end-of-stream picture: every pending output becomes lockable.
  void end_of_stream();
  // Called after each picture submitted, so the destructor knows an EOS is owed.
  void note_picture() { eos_owed_ = true; }
  bool eos_owed() const { return eos_owed_; }

  void check(NVENCSTATUS status, const std::string& what) const {
    check_nvenc(api_, encoder_, status, what);
  }

 private:
  const NvencApi& api_;
  void* encoder_ = nullptr;
  bool eos_owed_ = false;
};

}  // namespace videohw::nv_session
