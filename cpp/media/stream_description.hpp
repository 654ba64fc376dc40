// ContainerInfo from an opened AVFormatContext: stream kinds, codec, size, pixel format,
// frame rates, time base, durations, colour, rotation, layout. Pure reading; no I/O.
#pragma once

#include <string>

#include "media/avformat_ptr.hpp"
#include "media/media_info.hpp"

namespace videohw::media {

// Short names of the demuxers whose streams carry no usable timestamps.
bool is_elementary_stream_format(const AVInputFormat* format);

ContainerInfo describe_container(const AVFormatContext& ctx, const std::string& name);

}  // namespace videohw::media
