// Raw Annex-B elementary stream: the packets' bytes, back to back. Parameter sets travel in
// band, so no header or trailer is needed and nothing of libavformat is involved.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "contract/errors.hpp"
#include "media/segment_writer.hpp"

namespace videohw::media {

namespace {

class AnnexBFile final : public SegmentWriter {
 public:
  AnnexBFile(const std::string& temp_path, const std::string& final_path)
      : temp_path_(temp_path), final_path_(final_path) {
    fd_ = ::open(temp_path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd_ < 0) fail("opening", errno);
  }
  ~AnnexBFile() override {
    if (fd_ >= 0) ::close(fd_);
  }

  void write(const uint8_t* data, size_t size, int64_t, int64_t, bool) override {
    while (size > 0) {
      const ssize_t n = ::write(fd_, data, size);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) fail("writing", errno);
      data += n;
      size -= size_t(n);
    }
  }

  void finish() override {
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) fail("closing", errno);
  }

 private:
  [[noreturn]] void fail(const char* doing, int code) const {
    throw Error(ErrorKind::MediaIo, std::string(doing) + " '" + final_path_ + "' (temporary '" +
                                        temp_path_ + "'): " + std::strerror(code));
  }

  std::string temp_path_, final_path_;
  int fd_ = -1;
};

}  // namespace

std::unique_ptr<SegmentWriter> open_annexb_file(const std::string& temp_path,
                                                const std::string& final_path) {
  return std::make_unique<AnnexBFile>(temp_path, final_path);
}

}  // namespace videohw::media
