#include "support/encoded_streams.hpp"

extern "C" {
#include <libavutil/log.h>
}

#include "contract/frame_layout.hpp"
#include "software/software_encoder.hpp"
#include "support/frames.hpp"

namespace vhtest {

std::vector<videohw::EncodedPacket> encode_stream(videohw::Codec codec, const StreamSpec& spec) {
  using namespace videohw;
  av_log_set_level(AV_LOG_ERROR);
  auto c = small_config(codec, spec.width, spec.height);
  c.gop_length = spec.gop;
  c.b_frames = spec.b_frames;
  c.frame_interval_p = spec.b_frames + 1;
  software::SoftwareEncoder encoder(c, SoftwareEncodeConfig{});
  std::vector<EncodedPacket> out;
  for (int i = 0; i < spec.frames; ++i) {
    const auto f = pattern_frame(PixelFormat::I420, spec.width, spec.height, spec.first_pts + i);
    FrameOptions o;
    o.pts = spec.first_pts + i;
    encoder.encode(describe_frame(f.format, f.width, f.height, f.data(), f.size(), f.pitch), o,
                   out);
  }
  encoder.finish(out);
  return out;
}

}  // namespace vhtest
