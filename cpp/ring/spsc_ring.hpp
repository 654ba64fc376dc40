// Bounded single-producer / single-consumer lock-free ring.
//
// One producer thread calls try_push / push_batch, one consumer thread calls try_pop /
// pop_batch (each side may be a different thread over time only with a happens-before
// between successive owners, e.g. a mutex hand-off). Capacity is a power of two so the
// slot index is a mask, not a division.
//
// Layout: the producer's index, the consumer's index and the slots each sit on their own
// cache lines, so the two threads never write the same line. The slot array starts on a
// cache line, so an item whose size divides the line never straddles two lines. Each side
// keeps a cached copy of the other side's index and re-reads the shared atomic only when
// the cache says full/empty, which keeps cross-core traffic to roughly one line transfer
// per batch. docs/ring.md has the reasoning and the measurements.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstring>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace videohw::ring {

inline constexpr size_t kCacheLine = 64;

template <typename T>
class SpscRing {
  static_assert(std::is_nothrow_move_constructible_v<T>,
                "slots are moved in and out under no lock: moves must not throw");

 public:
  explicit SpscRing(size_t capacity)
      : capacity_(checked_capacity(capacity)),
        mask_(capacity_ - 1),
        slots_(allocate_slots(capacity_)) {}
  ~SpscRing() {
    while (try_pop()) {
    }
  }
  SpscRing(const SpscRing&) = delete;
  SpscRing& operator=(const SpscRing&) = delete;

  size_t capacity() const noexcept { return capacity_; }

  // Producer side. The item is copied or moved straight into its slot (one copy for a
  // large trivially copyable T, not two through a by-value parameter).
  bool try_push(const T& value) noexcept {
    static_assert(std::is_nothrow_copy_constructible_v<T>, "copying in must not throw");
    return emplace(value);
  }
  bool try_push(T&& value) noexcept { return emplace(std::move(value)); }

  // Moves as many of [first, last) in as fit, publishing them with one store. Returns how
  // many were pushed.
  template <typename It>
  size_t push_batch(It first, It last) noexcept {
    const size_t head = head_.value.load(std::memory_order_relaxed);
    size_t room = capacity_ - (head - tail_cache_);
    const size_t wanted = size_t(std::distance(first, last));
    if (room < wanted) {
      tail_cache_ = tail_.value.load(std::memory_order_acquire);
      room = capacity_ - (head - tail_cache_);
    }
    const size_t n = wanted < room ? wanted : room;
    // Locals: stores through the slots' byte storage may alias any member, which would make
    // the compiler reload slots_ and mask_ on every element.
    Slot* const slots = slots_.get();
    const size_t mask = mask_;
    if constexpr (std::is_trivially_copyable_v<T> && std::is_pointer_v<It>) {
      // At most two contiguous spans (before and after the wrap): plain memcpy.
      const size_t start = head & mask, first_span = std::min(n, capacity_ - start);
      copy_items(slots[start].storage, first, first_span);
      if (n > first_span) copy_items(slots[0].storage, first + first_span, n - first_span);
    } else {
      for (size_t i = 0; i < n; ++i, ++first)
        new (slots[(head + i) & mask].storage) T(std::move(*first));
    }
    if (n) head_.value.store(head + n, std::memory_order_release);
    return n;
  }

  // Consumer side. Moves the oldest item into `out`; false when the ring is empty.
  bool try_pop(T& out) noexcept {
    static_assert(std::is_nothrow_move_assignable_v<T>, "moving out must not throw");
    const size_t tail = tail_.value.load(std::memory_order_relaxed);  // only we write tail
    if (tail == head_cache_) {
      // Acquire: pairs with the producer's release so the slot contents are visible.
      head_cache_ = head_.value.load(std::memory_order_acquire);
      if (tail == head_cache_) return false;
    }
    T* item = slot(tail);
    out = std::move(*item);
    item->~T();
    // Release: the slot is free for the producer only after we are done with it.
    tail_.value.store(tail + 1, std::memory_order_release);
    return true;
  }

  std::optional<T> try_pop() noexcept {
    const size_t tail = tail_.value.load(std::memory_order_relaxed);  // only we write tail
    if (tail == head_cache_) {
      // Acquire: pairs with the producer's release so the slot contents are visible.
      head_cache_ = head_.value.load(std::memory_order_acquire);
      if (tail == head_cache_) return std::nullopt;
    }
    T* item = slot(tail);
    std::optional<T> out(std::move(*item));
    item->~T();
    // Release: the slot is free for the producer only after we are done with it.
    tail_.value.store(tail + 1, std::memory_order_release);
    return out;
  }

  // Pops up to `max` items into `out` (an output iterator) with one index store.
  template <typename Out>
  size_t pop_batch(Out out, size_t max) noexcept {
    const size_t tail = tail_.value.load(std::memory_order_relaxed);
    size_t available = head_cache_ - tail;
    if (available < max) {
      head_cache_ = head_.value.load(std::memory_order_acquire);
      available = head_cache_ - tail;
    }
    const size_t n = available < max ? available : max;
    Slot* const slots = slots_.get();  // locals, as in push_batch
    const size_t mask = mask_;
    if constexpr (std::is_trivially_copyable_v<T> && std::is_same_v<Out, T*>) {
      const size_t start = tail & mask, first_span = std::min(n, capacity_ - start);
      copy_items(out, slots[start].storage, first_span);
      if (n > first_span) copy_items(out + first_span, slots[0].storage, n - first_span);
    } else {
      for (size_t i = 0; i < n; ++i) {
        T* item = std::launder(reinterpret_cast<T*>(slots[(tail + i) & mask].storage));
        *out++ = std::move(*item);
        item->~T();
      }
    }
    if (n) tail_.value.store(tail + n, std::memory_order_release);
    return n;
  }

  // Approximate when read by a third thread; exact from either side when the other is idle.
  size_t size() const noexcept {
    return head_.value.load(std::memory_order_acquire) -
           tail_.value.load(std::memory_order_acquire);
  }
  bool empty() const noexcept { return size() == 0; }

 private:
  template <typename U>
  bool emplace(U&& value) noexcept {
    const size_t head = head_.value.load(std::memory_order_relaxed);  // only we write head
    if (head - tail_cache_ == capacity_) {
      // Acquire: the consumer's release of tail says it has finished moving out of the slot.
      tail_cache_ = tail_.value.load(std::memory_order_acquire);
      if (head - tail_cache_ == capacity_) return false;
    }
    new (slots_[head & mask_].storage) T(std::forward<U>(value));
    // Release: the slot's contents become visible before the new head does.
    head_.value.store(head + 1, std::memory_order_release);
    return true;
  }
  struct alignas(alignof(T)) Slot {
    unsigned char storage[sizeof(T)];
  };
  struct alignas(kCacheLine) PaddedIndex {
    std::atomic<size_t> value{0};
  };

  // Slots start on a cache line (or T's own stricter alignment) and the allocation is whole
  // lines. With new[]'s 16-byte alignment every 64-byte item straddled two lines, each shared
  // with a neighbouring slot that the other thread may be using at that moment.
  static constexpr size_t kSlotAlign = alignof(T) > kCacheLine ? alignof(T) : kCacheLine;
  struct FreeSlots {
    void operator()(Slot* p) const noexcept {
      ::operator delete[](p, std::align_val_t(kSlotAlign));
    }
  };
  static Slot* allocate_slots(size_t n) {
    const size_t bytes = (n * sizeof(Slot) + kCacheLine - 1) / kCacheLine * kCacheLine;
    Slot* p = static_cast<Slot*>(::operator new[](bytes, std::align_val_t(kSlotAlign)));
    std::uninitialized_default_construct_n(p, n);  // raw storage: starts lifetimes, writes nothing
    return p;
  }
  // The power of two at or above `n`. Refuses 0, and sizes whose bytes would not fit size_t
  // (unguarded doubling wraps to 0 above 2^63 and never ends).
  static size_t checked_capacity(size_t n) {
    if (n == 0) throw std::invalid_argument("SpscRing capacity must be at least 1");
    constexpr size_t kMaxSlots = (size_t(-1) - (kCacheLine - 1)) / sizeof(Slot);
    size_t p = 1;
    while (p < n && p <= kMaxSlots / 2) p <<= 1;
    if (p < n) throw std::length_error("SpscRing capacity too large");
    return p;
  }
  // Copies `count` items with libc's memcpy, which picks its routine for this CPU at run
  // time. The empty asm hides the size's bound from the optimiser: inlined behind a caller
  // whose batch size is a small constant, GCC otherwise expands the copy in place as
  // `rep movsq`, whose start-up cost made a batch of 32 uint64_t about 25% slower
  // (docs/ring.md, "Why the batch copy is a libc call").
  static void copy_items(void* dst, const void* src, size_t count) noexcept {
    size_t bytes = count * sizeof(T);
#if defined(__GNUC__)
    __asm__("" : "+r"(bytes));
#endif
    std::memcpy(dst, src, bytes);
  }
  T* slot(size_t index) noexcept {
    return std::launder(reinterpret_cast<T*>(slots_[index & mask_].storage));
  }

  const size_t capacity_;
  const size_t mask_;
  std::unique_ptr<Slot[], FreeSlots> slots_;  // own allocation of whole lines: shares none

  // Producer-owned lines: head (read by the consumer when its cache runs dry) and, on a line
  // that only the producer ever touches, its cached view of tail.
  alignas(kCacheLine) PaddedIndex head_;
  alignas(kCacheLine) size_t tail_cache_ = 0;
  // Consumer-owned lines, likewise: tail, and the consumer's cached view of head.
  alignas(kCacheLine) PaddedIndex tail_;
  alignas(kCacheLine) size_t head_cache_ = 0;
  char pad_[kCacheLine - sizeof(size_t)];  // keeps a following object off head_cache_'s line
};

}  // namespace videohw::ring
