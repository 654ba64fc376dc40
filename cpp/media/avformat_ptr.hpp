// libavformat objects in unique_ptrs with libavformat's own free functions, and the one
// error-text helper of the media layer: no manual frees, FFmpeg's text in every error.
#pragma once

#include <memory>
#include <string>

extern "C" {
#include <libavformat/avformat.h>
#include <libavformat/avio.h>
}

#include "contract/errors.hpp"

namespace videohw::media {

struct InputContextDeleter {
  void operator()(AVFormatContext* c) const { avformat_close_input(&c); }
};
// An output context owns neither its AVIOContext (closed by whoever opened it) nor a file.
struct OutputContextDeleter {
  void operator()(AVFormatContext* c) const { avformat_free_context(c); }
};
// A custom AVIOContext: its buffer may have been replaced by libavformat, so the one it
// holds now is the one freed.
struct CustomIoDeleter {
  void operator()(AVIOContext* io) const {
    if (io) av_freep(&io->buffer);
    avio_context_free(&io);
  }
};
// An AVIOContext that avio_open2 opened on a file: closing flushes it and closes the file.
struct FileIoDeleter {
  void operator()(AVIOContext* io) const { avio_closep(&io); }
};
struct PacketDeleter {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};

using UniqueInputContext = std::unique_ptr<AVFormatContext, InputContextDeleter>;
using UniqueOutputContext = std::unique_ptr<AVFormatContext, OutputContextDeleter>;
using UniqueCustomIo = std::unique_ptr<AVIOContext, CustomIoDeleter>;
using UniqueFileIo = std::unique_ptr<AVIOContext, FileIoDeleter>;
using UniquePacket = std::unique_ptr<AVPacket, PacketDeleter>;

// "<doing>: <FFmpeg's text for code>".
inline std::string av_text(int code, const std::string& doing) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {0};
  av_strerror(code, text, sizeof(text));
  return doing + ": " + text;
}

// An FFmpeg error as a media error: an operating-system failure (EIO, ENOSPC, EACCES, ...)
// is MediaIo, everything else says the data is at fault (Media).
inline Error media_error(int code, const std::string& doing) {
  const bool os_error = code == AVERROR(EIO) || code == AVERROR(ENOSPC) ||
                        code == AVERROR(EACCES) || code == AVERROR(EPERM) ||
                        code == AVERROR(ENOENT) || code == AVERROR(EISDIR) ||
                        code == AVERROR(EROFS) || code == AVERROR(ENOMEM);
  return Error(os_error ? ErrorKind::MediaIo : ErrorKind::Media, av_text(code, doing));
}

}  // namespace videohw::media
