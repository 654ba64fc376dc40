// FFmpeg's own logging, for every user of FFmpeg here: libx264/libx265 report their settings at
// INFO on every open, and a library should be quiet unless asked. Errors stay visible.
#pragma once

namespace videohw::media {

// Once per process: av_log level AV_LOG_ERROR, or VIDEOHW_FFMPEG_LOG_LEVEL (an av_log level
// number) when set. Damaged input still reaches callers as errors or damaged frames.
void quiet_ffmpeg_logs();

}  // namespace videohw::media
