// The files of the transcode suites (test_transcode_graph, test_transcode_sessions): a
// folder per test, the MP4 sources they transcode, and a count of one stream's packets.
// The sources are written by the Muxer (the suites' subject reads them back), while the
// counts come from libavformat, so a verdict on a copied audio stream does not rest on
// videohw's own reading of the file.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "contract/types.hpp"
#include "support/encoded_streams.hpp"

extern "C" {
#include <libavutil/avutil.h>
}

namespace vhtest {

// A fresh folder, removed with everything in it, so a test's outputs (and the temporary
// files a failed or cancelled transcode must not leave) are its own to list.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;  // one owner: a copy would remove the folder twice
  TempDir& operator=(const TempDir&) = delete;

  std::string operator/(const std::string& name) const { return (path_ / name).string(); }
  // Every entry's name, hidden (temporary) ones included, sorted.
  std::vector<std::string> entries() const;

 private:
  std::filesystem::path path_;
};

// An MP4 of `spec` at 30 fps, written by the Muxer from the software encoder's packets; the
// path is `dir / name`. Quiets libav's log to errors (the encoder's banner is noise here).
std::string make_source(const TempDir& dir, const std::string& name, const StreamSpec& spec,
                        videohw::Codec codec = videohw::Codec::H264);
// The suites' usual source: `frames` pictures of 64x48, closed GOPs of 30 and 2 B-frames, so
// decode order differs from display order and a range can start on every 30th frame.
std::string make_source(const TempDir& dir, const std::string& name, int frames);

// Packets of the first stream of `type` in a file (libavformat); -1 when there is none.
int count_packets(const std::string& path, AVMediaType type);

}  // namespace vhtest
