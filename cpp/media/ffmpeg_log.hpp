// FFmpeg's own logging, for every user of FFmpeg here. A library must not print: av_log's
// lines are captured instead of going to stderr, counted for the session whose codec
// context logged them (ffmpeg_log_owner.hpp), and the ones at or below the log level are
// queued for a forwarder (the Python bridge hands them to logging "videohw.ffmpeg").
//
// The callback runs on any thread (libavcodec's frame and slice threads, our pipeline
// threads, a caller's thread holding session locks), so it only formats, counts and queues:
// it takes no lock but the queue's and the owner registry's, each a leaf.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "media/ffmpeg_log_queue.hpp"

namespace videohw::media {

// Once per process, before the first FFmpeg object is made: the capturing av_log callback
// and the log level. Until then another user of FFmpeg in the process keeps its own.
void install_ffmpeg_log();

// Lines at av_log levels up to `level` (AV_LOG_WARNING, ...; AV_LOG_QUIET for none) are
// formatted and queued; the rest cost a comparison. Warnings and errors are counted for
// their owners whatever the level. Also sets av_log_set_level, which some libav* code reads
// to skip work nobody would see. The initial level is VIDEOHW_FFMPEG_LOG_LEVEL when it
// parses, else AV_LOG_WARNING.
void set_ffmpeg_log_level(int level);
int ffmpeg_log_level();

// An av_log level from a number ("24", "-8") or one of FFmpeg's names ("quiet", "panic",
// "fatal", "error", "warning", "info", "verbose", "debug", "trace"; any case).
std::optional<int> parse_ffmpeg_log_level(const std::string& text);

// The queue the callback fills; at most kFfmpegLogQueueLines lines wait at once.
constexpr size_t kFfmpegLogQueueLines = 1024;
FfmpegLogQueue& ffmpeg_log_queue();

// Called after every line offered to the queue (queued or dropped), on the logging thread
// and outside every lock, so a consumer can be started lazily; it must be cheap when there
// is nothing to do. Null: nobody to tell.
using FfmpegLogListener = void (*)();
void set_ffmpeg_log_listener(FfmpegLogListener listener);

}  // namespace videohw::media
