#include "media/ffmpeg_log.hpp"

extern "C" {
#include <libavutil/log.h>
}

#include <cstdlib>
#include <mutex>

namespace videohw::media {

void quiet_ffmpeg_logs() {
  static std::once_flag once;
  std::call_once(once, [] {
    const char* level = std::getenv("VIDEOHW_FFMPEG_LOG_LEVEL");
    av_log_set_level(level && *level ? std::atoi(level) : AV_LOG_ERROR);
  });
}

}  // namespace videohw::media
