#include "software/ffmpeg_ptr.hpp"

#include "contract/errors.hpp"

namespace videohw::software {

std::string av_error_text(int code, const std::string& doing) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {0};
  av_strerror(code, text, sizeof(text));
  return doing + ": " + text + " (" + std::to_string(code) + ")";
}

void check_av(int code, const std::string& doing) {
  if (code < 0) throw Error(ErrorKind::Encode, av_error_text(code, doing));
}

}  // namespace videohw::software
