// A file written under a temporary name beside its final one and renamed into place once
// complete, so no reader ever finds a partial file under the final name.
#pragma once

#include <string>

namespace videohw::media {

// Owns the temporary file: the destructor removes it unless commit() renamed it.
// A final name that exists and is not a regular file (a device such as /dev/null, a FIFO)
// is written in place: renaming over it would replace the device with a file.
// When the final name is a symbolic link, the file goes where the link points (the link
// stays, as with the ffmpeg tool writing through it), so the temporary file sits beside the
// link's target and the rename never crosses file systems.
class PendingFile {
 public:
  // Creates ".<name>.tmp-<pid>-<random>" (empty, exclusive) in the final file's folder.
  // Throws Error(MediaIo) naming the path and the operating system's reason.
  explicit PendingFile(std::string final_path);
  ~PendingFile();
  PendingFile(PendingFile&& other) noexcept;
  PendingFile& operator=(PendingFile&& other) noexcept;
  PendingFile(const PendingFile&) = delete;
  PendingFile& operator=(const PendingFile&) = delete;

  const std::string& final_path() const { return final_path_; }
  const std::string& temp_path() const { return temp_path_; }
  bool committed() const { return committed_; }

  // Renames the temporary file to the final name (replacing a file there). Throws
  // Error(MediaIo) naming both paths; the temporary file is then still there.
  void commit();
  // Removes the temporary file; never throws. Nothing happens after commit().
  void discard() noexcept;

 private:
  std::string final_path_;  // as the caller named it
  std::string target_;      // what commit() renames onto: final_path_, or a link's target
  std::string temp_path_;
  bool committed_ = false;
  bool owned_ = false;     // temp_path_ exists and is ours to remove
  bool in_place_ = false;  // the target is a device or FIFO: written directly, no rename
};

}  // namespace videohw::media
