// Reusable byte buffers for frame slots and packets, so steady-state encoding allocates
// nothing per frame. Buffers are taken by one thread and given back by another (a stage
// thread), so the free list sits behind a mutex: it is touched twice per frame, far from
// any hot loop. `allocations()` counts every buffer the pool had to allocate or grow.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <vector>

namespace videohw::ring {

// Frame memory: 64-byte aligned (SIMD loads in libswscale/x264 prefer it) with slack at the
// end, so readers that over-read a row stay inside the allocation.
class AlignedBuffer {
 public:
  static constexpr size_t kAlignment = 64;
  static constexpr size_t kSlack = 128;

  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t capacity)
      : data_(static_cast<uint8_t*>(std::aligned_alloc(kAlignment, round(capacity + kSlack)))),
        capacity_(capacity) {
    if (!data_) throw std::bad_alloc();
  }
  uint8_t* data() const noexcept { return data_.get(); }
  size_t capacity() const noexcept { return capacity_; }
  explicit operator bool() const noexcept { return bool(data_); }

 private:
  struct Free {
    void operator()(uint8_t* p) const noexcept { std::free(p); }
  };
  static size_t round(size_t n) { return (n + kAlignment - 1) / kAlignment * kAlignment; }

  std::unique_ptr<uint8_t, Free> data_;
  size_t capacity_ = 0;
};

// Moves the smallest element of `free` that `usable` accepts and whose `capacity` is at least
// `size` into `out`, filling its place from the back; false when none fits. Smallest, so
// small requests do not use up the big buffers and force new ones. The caller holds the
// lock that guards `free`.
template <typename T, typename Capacity, typename Usable>
bool take_smallest_fit(std::vector<T>& free, size_t size, Capacity capacity, Usable usable,
                       T& out) {
  size_t best = free.size();
  for (size_t i = 0; i < free.size(); ++i)
    if (usable(free[i]) && capacity(free[i]) >= size &&
        (best == free.size() || capacity(free[i]) < capacity(free[best])))
      best = i;
  if (best == free.size()) return false;
  out = std::move(free[best]);
  free[best] = std::move(free.back());
  free.pop_back();
  return true;
}

class FramePool {
 public:
  // A buffer of at least `size` bytes: the smallest free one that is big enough (so small
  // requests do not use up the big buffers and force new ones), else a new one
  // (`*allocated` says which).
  AlignedBuffer take(size_t size, bool* allocated = nullptr) {
    if (allocated) *allocated = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      AlignedBuffer out;
      if (take_smallest_fit(
              free_, size, [](const AlignedBuffer& b) { return b.capacity(); },
              [](const AlignedBuffer&) { return true; }, out))
        return out;
    }
    allocations_.fetch_add(1, std::memory_order_relaxed);
    if (allocated) *allocated = true;
    return AlignedBuffer(size);
  }
  // `max_kept`: beyond this many free buffers the buffer is freed instead (a consumer that
  // once held many frames must not leave them all parked here).
  void give(AlignedBuffer buffer, size_t max_kept = SIZE_MAX) {
    if (!buffer) return;
    std::lock_guard<std::mutex> lock(mu_);
    if (free_.size() < max_kept) free_.push_back(std::move(buffer));
  }
  int64_t allocations() const { return allocations_.load(std::memory_order_relaxed); }

 private:
  std::mutex mu_;
  std::vector<AlignedBuffer> free_;
  std::atomic<int64_t> allocations_{0};
};

// Packet payloads: vectors whose capacity is kept between uses.
class PacketPool {
 public:
  std::vector<uint8_t> take() {
    std::lock_guard<std::mutex> lock(mu_);
    if (free_.empty()) return {};
    std::vector<uint8_t> out = std::move(free_.back());
    free_.pop_back();
    return out;
  }
  // A buffer for a packet of `size` bytes: the smallest free one that holds it, else the
  // largest free one (fill() grows it). Small packets then never occupy the buffers that
  // keyframes need, so the buffers stop growing once as many large ones exist as large
  // packets are ever outstanding at once.
  std::vector<uint8_t> take(size_t size) {
    std::lock_guard<std::mutex> lock(mu_);
    if (free_.empty()) return {};
    size_t best = free_.size(), largest = 0;
    for (size_t i = 0; i < free_.size(); ++i) {
      const size_t cap = free_[i].capacity();
      if (cap >= size && (best == free_.size() || cap < free_[best].capacity())) best = i;
      if (cap > free_[largest].capacity()) largest = i;
    }
    const size_t pick = best != free_.size() ? best : largest;
    std::vector<uint8_t> out = std::move(free_[pick]);
    free_[pick] = std::move(free_.back());
    free_.pop_back();
    return out;
  }
  // Fills `buffer` with [data, data+size), counting a growth as an allocation. A buffer
  // that must grow is sized for the largest packet seen so far plus a quarter, so buffers
  // stop growing once they have met the stream's keyframes instead of growing a little at
  // every new record size. Called from one thread (the encode stage).
  void fill(std::vector<uint8_t>& buffer, const uint8_t* data, size_t size) {
    if (size > largest_) largest_ = size;
    if (buffer.capacity() < size) {
      allocations_.fetch_add(1, std::memory_order_relaxed);
      buffer.reserve(largest_ + largest_ / 4);
    }
    buffer.assign(data, data + size);
  }
  void give(std::vector<uint8_t> buffer) {
    if (buffer.capacity() == 0) return;
    buffer.clear();
    std::lock_guard<std::mutex> lock(mu_);
    if (free_.size() < kMaxKept) free_.push_back(std::move(buffer));
  }
  int64_t allocations() const { return allocations_.load(std::memory_order_relaxed); }

 private:
  static constexpr size_t kMaxKept = 256;
  std::mutex mu_;
  std::vector<std::vector<uint8_t>> free_;
  size_t largest_ = 0;  // fill() only
  std::atomic<int64_t> allocations_{0};
};

}  // namespace videohw::ring
