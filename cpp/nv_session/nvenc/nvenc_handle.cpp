#include "nv_session/nvenc/nvenc_handle.hpp"

namespace videohw::nv_session {

NvencHandle::NvencHandle(const NvencApi& api, const PrimaryContext& context) : api_(api) {
  NV_ENC_OPEN_ENCODE_SESSION_EX_PARAMS params{};
  params.version = NV_ENC_OPEN_ENCODE_SESSION_EX_PARAMS_VER;
  params.deviceType = NV_ENC_DEVICE_TYPE_CUDA;
  params.device = context.get();
  params.apiVersion = NVENCAPI_VERSION;
  void* encoder = nullptr;
  ContextScope scope(context, ErrorKind::BackendUnavailable);
  const NVENCSTATUS status = api_.fn.nvEncOpenEncodeSessionEx(&params, &encoder);
  // On failure the driver owns nothing we could release: the handle is not valid.
  check_nvenc(api_, nullptr, status, "nvEncOpenEncodeSessionEx");
  encoder_ = encoder;
}

NvencHandle::~NvencHandle() {
  if (!encoder_) return;
  if (eos_owed_) {
    try {
      end_of_stream();
    } catch (...) {
      // Destroying anyway: the encoder is released whatever its state.
    }
  }
  api_.fn.nvEncDestroyEncoder(encoder_);
}

void NvencHandle::initialize(NvencSettings& settings) {
  check(api_.fn.nvEncInitializeEncoder(encoder_, settings.params()), "nvEncInitializeEncoder");
}

void NvencHandle::end_of_stream() {
  NV_ENC_PIC_PARAMS eos{};
  eos.version = NV_ENC_PIC_PARAMS_VER;
  eos.encodePicFlags = NV_ENC_PIC_FLAG_EOS;
  eos_owed_ = false;
  check(api_.fn.nvEncEncodePicture(encoder_, &eos), "nvEncEncodePicture(EOS)");
}

}  // namespace videohw::nv_session
