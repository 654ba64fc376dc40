// Creates NvencEncoders for one NvidiaEncodeConfig. Constructing it probes the device once
// (driver, encode engine, caps); a provider that exists can encode.
#pragma once

#include "backend/encoder_provider.hpp"
#include "nv_session/nvenc/nvenc_caps.hpp"

namespace videohw::nv_session {

class NvencEncoderProvider final : public EncoderProvider {
 public:
  // Throws Error(Config) for an invalid config, Error(BackendUnavailable) with the cause
  // when this machine cannot encode with NVENC.
  explicit NvencEncoderProvider(NvidiaEncodeConfig config);

  std::string name() const override { return "nvidia"; }
  Capabilities capabilities(Codec codec) const override;
  std::vector<std::string> config_problems(const CommonEncodeConfig& config) const override;
  std::unique_ptr<EncoderBackend> create(const CommonEncodeConfig& config) const override;
  bool can_reconfigure(const CommonEncodeConfig& from, const CommonEncodeConfig& to) const override;
  // A restart is a reconfigure with resetEncoder: the same NVENC session, a new stream.
  bool can_restart(const CommonEncodeConfig& from, const CommonEncodeConfig& to) const override {
    return can_reconfigure(from, to);
  }
  // The ring copies I420 and NV12 straight into NVENC's input buffers.
  std::vector<PixelFormat> native_input_formats() const override {
    return {PixelFormat::I420, PixelFormat::NV12};
  }
  // Device frames are copied on the GPU into NVENC's registered device inputs.
  bool accepts_device_frames() const override { return true; }
  int max_in_flight() const override { return config_.max_in_flight_outputs; }

  const NvencProbe& probe() const { return probe_; }

 private:
  const NvencCodecCaps& codec_caps(Codec codec) const;

  NvidiaEncodeConfig config_;
  NvencProbe probe_;
};

}  // namespace videohw::nv_session
