// The bytes a decode session was given and has not fed to its decoder yet: the queue
// between push (the caller's thread) and the decode stage (the session's worker, or a call
// that pauses it). Chunks are copied in whole, or borrowed from a push that waits for them
// (a chunk too large to copy); the decode stage takes them piece by piece
// (bitstream/picture_pieces.hpp: at most one picture each), so it can stop between two
// pictures when the frames waiting to be reaped reach their bound.
//
// Not locked itself: the session guards it with its state mutex. The bytes of the front
// piece stay where they are while the decoder reads them without that mutex: only the one
// thread that decodes consumes or clears, and push appends at the back (a deque never
// moves its elements on push_back).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "contract/types.hpp"

namespace videohw {

class DecodeInput {
 public:
  struct Piece {
    const uint8_t* data = nullptr;
    size_t size = 0;
    std::optional<int64_t> pts;  // the chunk's pts goes with its first piece only
  };

  // Queues a copy of the bytes.
  void push(const uint8_t* data, size_t size, std::optional<int64_t> pts);
  // Queues the bytes without a copy: the caller keeps them valid until none of them is
  // queued any more (holds_borrowed() false) or own_borrowed() copied what is left.
  void push_borrowed(const uint8_t* data, size_t size, std::optional<int64_t> pts);
  bool holds_borrowed() const;
  // Copies the untaken rest of every borrowed chunk; the decoder must not be reading it.
  void own_borrowed();
  bool empty() const { return chunks_.empty(); }
  // Bytes queued and not yet taken.
  int64_t bytes() const { return bytes_; }
  int64_t peak_bytes() const { return peak_bytes_; }
  // The next piece of the front chunk; the queue must not be empty.
  Piece front(Codec codec) const;
  // Takes `size` bytes (the piece front() returned) off the front chunk.
  void consume(size_t size);
  // Drops everything queued; returns how many bytes that was.
  int64_t clear();

 private:
  struct Chunk {
    std::vector<uint8_t> owned;  // empty for a borrowed chunk
    const uint8_t* data = nullptr;
    size_t size = 0;
    size_t taken = 0;
    std::optional<int64_t> pts;  // reset once the first piece is taken
    bool borrowed = false;
  };
  std::deque<Chunk> chunks_;
  int64_t bytes_ = 0;
  int64_t peak_bytes_ = 0;
};

}  // namespace videohw
