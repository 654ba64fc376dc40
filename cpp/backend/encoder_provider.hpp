// What the session layer needs from a backend before any session exists: its name, what it
// can do, and a way to create an encoder. Tests inject their own provider here.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "backend/encoder_backend.hpp"

namespace videohw {

class EncoderProvider {
 public:
  virtual ~EncoderProvider() = default;
  virtual std::string name() const = 0;
  virtual Capabilities capabilities(Codec codec) const = 0;
  // Backend-specific limits a Capabilities record cannot express; one message per problem.
  virtual std::vector<std::string> config_problems(const CommonEncodeConfig&) const { return {}; }
  virtual std::unique_ptr<EncoderBackend> create(const CommonEncodeConfig& config) const = 0;

  // Whether an encoder running `from` can take `to` in place (EncoderBackend::reconfigure).
  virtual bool can_reconfigure(const CommonEncodeConfig& from, const CommonEncodeConfig& to) const {
    (void)from;
    (void)to;
    return false;
  }
  // Whether an encoder of this provider running `from` can end its stream and begin
  // another with `to` (EncoderBackend::restart) without a new encoder.
  virtual bool can_restart(const CommonEncodeConfig& from, const CommonEncodeConfig& to) const {
    (void)from;
    (void)to;
    return false;
  }
  // Formats the encoder takes, in order of preference. The pipeline prepares every frame
  // into one of them (transform/frame_preparer.hpp), so these are the only formats the
  // encoder ever receives.
  virtual std::vector<PixelFormat> native_input_formats() const { return {PixelFormat::I420}; }
  // Whether the encoder reads frames of its native formats straight from CUDA device
  // memory (FrameMemory::CudaDevice); otherwise the pipeline copies device frames down.
  virtual bool accepts_device_frames() const { return false; }
  // Frames that may wait in the pipeline before submit blocks.
  virtual int max_in_flight() const { return 4; }
};

}  // namespace videohw
