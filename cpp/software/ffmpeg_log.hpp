// FFmpeg's own logging for the software backend: libx264/libx265 report their settings at
// INFO on every open, and a library should be quiet unless asked. Errors stay visible.
#pragma once

namespace videohw::software {

// Once per process: av_log level AV_LOG_ERROR, or VIDEOHW_FFMPEG_LOG_LEVEL (an av_log level
// number) when set. Damaged input still reaches callers as errors or damaged frames.
void quiet_ffmpeg_logs();

}  // namespace videohw::software
