#include "media/pending_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <utility>

#include "contract/errors.hpp"

namespace videohw::media {

namespace {

Error os_error(const std::string& doing, int code) {
  return Error(ErrorKind::MediaIo, doing + ": " + std::strerror(code));
}

// Where the data really goes: a symbolic link's target, else the path itself.
std::string resolve_link(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return path;
  char resolved[PATH_MAX];
  // A dangling link has no target to write to: the rename replaces the link itself.
  return ::realpath(path.c_str(), resolved) ? std::string(resolved) : path;
}

std::string random_tag() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char text[17];
  std::snprintf(text, sizeof(text), "%016llx", static_cast<unsigned long long>(rng()));
  return text;
}

}  // namespace

PendingFile::PendingFile(std::string final_path) : final_path_(std::move(final_path)) {
  if (final_path_.empty()) throw Error(ErrorKind::Config, "the output path is empty");
  struct stat st;
  const bool exists = ::stat(final_path_.c_str(), &st) == 0;
  if (exists && S_ISDIR(st.st_mode))
    throw Error(ErrorKind::MediaIo, "cannot write '" + final_path_ + "': it is a directory");
  target_ = resolve_link(final_path_);
  if (exists && !S_ISREG(st.st_mode)) {
    in_place_ = true;
    temp_path_ = target_;
    return;
  }
  const size_t slash = target_.find_last_of('/');
  const std::string folder = slash == std::string::npos ? "" : target_.substr(0, slash + 1);
  const std::string name = slash == std::string::npos ? target_ : target_.substr(slash + 1);
  const std::string prefix = folder + "." + name + ".tmp-" + std::to_string(::getpid()) + "-";
  // A random part makes a collision unlikely; O_EXCL makes one harmless (another try).
  for (int attempt = 0;; ++attempt) {
    temp_path_ = prefix + random_tag();
    const int fd = ::open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0) {
      ::close(fd);
      owned_ = true;
      return;
    }
    if (errno != EEXIST || attempt == 8)
      throw os_error(
          "cannot create a file for '" + final_path_ + "' (temporary '" + temp_path_ + "')", errno);
  }
}

PendingFile::~PendingFile() {
  discard();
}

PendingFile::PendingFile(PendingFile&& other) noexcept
    : final_path_(std::move(other.final_path_)),
      target_(std::move(other.target_)),
      temp_path_(std::move(other.temp_path_)),
      committed_(other.committed_),
      owned_(std::exchange(other.owned_, false)),
      in_place_(other.in_place_) {}

PendingFile& PendingFile::operator=(PendingFile&& other) noexcept {
  if (this != &other) {
    discard();
    final_path_ = std::move(other.final_path_);
    target_ = std::move(other.target_);
    temp_path_ = std::move(other.temp_path_);
    committed_ = other.committed_;
    owned_ = std::exchange(other.owned_, false);
    in_place_ = other.in_place_;
  }
  return *this;
}

void PendingFile::commit() {
  if (committed_) return;
  if (in_place_) {
    committed_ = true;
    return;
  }
  if (!owned_)
    throw Error(ErrorKind::MediaIo, "cannot finish '" + final_path_ + "': its temporary file '" +
                                        temp_path_ + "' was already removed");
  if (::rename(temp_path_.c_str(), target_.c_str()) != 0)
    throw os_error("cannot rename '" + temp_path_ + "' to '" + final_path_ + "'", errno);
  owned_ = false;
  committed_ = true;
}

void PendingFile::discard() noexcept {
  if (!owned_) return;
  ::unlink(temp_path_.c_str());
  owned_ = false;
}

}  // namespace videohw::media
