#include "session/decode_input.hpp"

#include <algorithm>

#include "bitstream/picture_pieces.hpp"

namespace videohw {

void DecodeInput::push(const uint8_t* data, size_t size, std::optional<int64_t> pts) {
  if (size == 0) return;
  Chunk chunk;
  chunk.owned.assign(data, data + size);
  chunk.pts = pts;
  chunks_.push_back(std::move(chunk));
  chunks_.back().data = chunks_.back().owned.data();
  chunks_.back().size = size;
  bytes_ += int64_t(size);
  peak_bytes_ = std::max(peak_bytes_, bytes_);
}

void DecodeInput::push_borrowed(const uint8_t* data, size_t size, std::optional<int64_t> pts) {
  if (size == 0) return;
  Chunk chunk;
  chunk.data = data;
  chunk.size = size;
  chunk.pts = pts;
  chunk.borrowed = true;
  chunks_.push_back(std::move(chunk));
  bytes_ += int64_t(size);
  peak_bytes_ = std::max(peak_bytes_, bytes_);
}

bool DecodeInput::holds_borrowed() const {
  return std::any_of(chunks_.begin(), chunks_.end(), [](const Chunk& c) { return c.borrowed; });
}

void DecodeInput::own_borrowed() {
  for (Chunk& chunk : chunks_) {
    if (!chunk.borrowed) continue;
    chunk.owned.assign(chunk.data + chunk.taken, chunk.data + chunk.size);
    chunk.data = chunk.owned.data();
    chunk.size = chunk.owned.size();
    chunk.taken = 0;
    chunk.borrowed = false;
  }
}

DecodeInput::Piece DecodeInput::front(Codec codec) const {
  const Chunk& chunk = chunks_.front();
  const uint8_t* at = chunk.data + chunk.taken;
  const size_t left = chunk.size - chunk.taken;
  return Piece{at, bitstream::first_piece_size(at, left, codec), chunk.pts};
}

void DecodeInput::consume(size_t size) {
  Chunk& chunk = chunks_.front();
  chunk.taken += size;
  chunk.pts.reset();
  bytes_ -= int64_t(size);
  if (chunk.taken >= chunk.size) chunks_.pop_front();
}

int64_t DecodeInput::clear() {
  const int64_t dropped = bytes_;
  chunks_.clear();
  bytes_ = 0;
  return dropped;
}

}  // namespace videohw
