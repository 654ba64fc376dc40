#include "contract/types.hpp"

namespace videohw {

const char* to_string(Codec codec) {
  switch (codec) {
    case Codec::H264:
      return "h264";
    case Codec::HEVC:
      return "hevc";
    case Codec::AV1:
      return "av1";
    case Codec::VP9:
      return "vp9";
  }
  return "unknown";
}

const char* to_string(PixelFormat format) {
  switch (format) {
    case PixelFormat::ARGB8888:
      return "argb8888";
    case PixelFormat::BGRA:
      return "bgra";
    case PixelFormat::RGB24:
      return "rgb24";
    case PixelFormat::NV12:
      return "nv12";
    case PixelFormat::I420:
      return "i420";
  }
  return "unknown";
}

const char* to_string(RateControlMode mode) {
  switch (mode) {
    case RateControlMode::CBR:
      return "cbr";
    case RateControlMode::VBR:
      return "vbr";
    case RateControlMode::ConstQP:
      return "cqp";
  }
  return "unknown";
}

const char* to_string(SwitchMode mode) {
  switch (mode) {
    case SwitchMode::Immediate:
      return "immediate";
    case SwitchMode::OnNextKeyframe:
      return "on_next_keyframe";
    case SwitchMode::DrainThenSwap:
      return "drain_then_swap";
  }
  return "unknown";
}

const char* to_string(DecodeOutputMode mode) {
  switch (mode) {
    case DecodeOutputMode::MetadataOnly:
      return "metadata";
    case DecodeOutputMode::NativeSurface:
      return "native";
    case DecodeOutputMode::CpuRgb:
      return "rgb";
  }
  return "unknown";
}

}  // namespace videohw
