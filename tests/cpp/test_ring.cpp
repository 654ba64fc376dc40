// Specifications of the SPSC ring (cpp/ring/spsc_ring.hpp).
#include <gtest/gtest.h>

#include <cstdint>

#include <cstdlib>
#include <memory>
#include <thread>
#include <vector>

#include "ring/spsc_ring.hpp"

using videohw::ring::SpscRing;

TEST(SpscRing, CapacityRoundsUpToAPowerOfTwo) {
  EXPECT_EQ(SpscRing<int>(5).capacity(), 8u);
  EXPECT_EQ(SpscRing<int>(8).capacity(), 8u);
  EXPECT_EQ(SpscRing<int>(1).capacity(), 1u);
}

TEST(SpscRing, ZeroCapacityIsRefused) {
  EXPECT_THROW(SpscRing<int>(0), std::invalid_argument);
}

TEST(SpscRing, PopsInPushOrder) {
  SpscRing<int> ring(4);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(ring.try_push(i));
  for (int i = 0; i < 4; ++i) EXPECT_EQ(ring.try_pop().value(), i);
  EXPECT_FALSE(ring.try_pop().has_value());
}

// The copy-in / move-out pair boost's spsc_queue offers: one copy each way, no optional.
TEST(SpscRing, PopIntoAReferenceKeepsOrderAndLeavesItUntouchedWhenEmpty) {
  struct Wide {
    uint64_t words[8];
  };
  SpscRing<Wide> ring(4);
  for (uint64_t i = 0; i < 4; ++i) {
    const Wide w{{i, i + 1, i + 2, i + 3, i + 4, i + 5, i + 6, i + 7}};
    ASSERT_TRUE(ring.try_push(w));  // const& overload: copied straight into the slot
  }
  Wide out{};
  for (uint64_t i = 0; i < 4; ++i) {
    ASSERT_TRUE(ring.try_pop(out));
    EXPECT_EQ(out.words[0], i);
    EXPECT_EQ(out.words[7], i + 7);
  }
  EXPECT_FALSE(ring.try_pop(out));
  EXPECT_EQ(out.words[0], 3u) << "an empty pop must not write";
}

TEST(SpscRing, PushFailsWhenFullAndSucceedsAfterAPop) {
  SpscRing<int> ring(2);
  EXPECT_TRUE(ring.try_push(1));
  EXPECT_TRUE(ring.try_push(2));
  EXPECT_FALSE(ring.try_push(3));
  EXPECT_EQ(ring.try_pop().value(), 1);
  EXPECT_TRUE(ring.try_push(3));
  EXPECT_EQ(ring.size(), 2u);
}

TEST(SpscRing, WrapsAroundManyTimes) {
  SpscRing<int> ring(4);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(ring.try_push(i));
    ASSERT_EQ(ring.try_pop().value(), i);
  }
  EXPECT_TRUE(ring.empty());
}

TEST(SpscRing, BatchPushTakesOnlyWhatFits) {
  SpscRing<int> ring(4);
  std::vector<int> items{1, 2, 3, 4, 5, 6};
  EXPECT_EQ(ring.push_batch(items.begin(), items.end()), 4u);
  std::vector<int> out;
  EXPECT_EQ(ring.pop_batch(std::back_inserter(out), 10), 4u);
  EXPECT_EQ(out, (std::vector<int>{1, 2, 3, 4}));
}

TEST(SpscRing, MoveOnlyItemsAreMovedAndDestroyed) {
  auto counter = std::make_shared<int>(0);
  {
    SpscRing<std::shared_ptr<int>> ring(4);
    ring.try_push(counter);
    ring.try_push(counter);
    EXPECT_EQ(counter.use_count(), 3);
    auto item = ring.try_pop();
    ASSERT_TRUE(item.has_value());
    EXPECT_EQ(item->get(), counter.get());
  }
  // The ring's destructor released the item still inside it.
  EXPECT_EQ(counter.use_count(), 1);
}

// Two threads, ten million items: every item arrives once, in order. Run under
// ThreadSanitizer with -DVIDEOHW_SANITIZE=thread.
TEST(SpscRing, TwoThreadStressKeepsOrderAndCount) {
  const char* env = std::getenv("VIDEOHW_RING_STRESS_ITEMS");
  const uint64_t items = env ? std::strtoull(env, nullptr, 10) : 10'000'000ull;
  SpscRing<uint64_t> ring(1024);
  std::thread producer([&] {
    uint64_t next = 0;
    uint64_t batch[32];
    while (next < items) {
      if (next % 3 == 0) {  // mix single and batch pushes
        if (ring.try_push(next)) ++next;
        continue;
      }
      size_t n = 0;
      for (; n < 32 && next + n < items; ++n) batch[n] = next + n;
      next += ring.push_batch(batch, batch + n);
    }
  });
  uint64_t expected = 0, mismatches = 0;
  std::vector<uint64_t> out;
  out.reserve(64);
  while (expected < items) {
    out.clear();
    if (ring.pop_batch(std::back_inserter(out), 64) == 0) {
      if (auto one = ring.try_pop()) out.push_back(*one);
    }
    for (uint64_t v : out) mismatches += v != expected++;
  }
  producer.join();
  EXPECT_EQ(mismatches, 0u);
  EXPECT_EQ(expected, items);
  EXPECT_TRUE(ring.empty());
}

// The contiguous-copy path of push_batch/pop_batch (pointers, trivially copyable items)
// must split correctly at the wrap point.
TEST(SpscRing, PointerBatchesWrapAroundInOrder) {
  SpscRing<uint64_t> ring(8);
  uint64_t next_in = 0, next_out = 0;
  for (int round = 0; round < 50; ++round) {
    uint64_t in[5];
    for (auto& v : in) v = next_in++;
    ASSERT_EQ(ring.push_batch(in, in + 5), 5u);
    uint64_t out[5] = {};
    ASSERT_EQ(ring.pop_batch(out, 5), 5u);
    for (uint64_t v : out) ASSERT_EQ(v, next_out++);
  }
  uint64_t fill[10];
  for (auto& v : fill) v = 7;
  EXPECT_EQ(ring.push_batch(fill, fill + 10), 8u) << "only the capacity fits";
  uint64_t drained[10];
  EXPECT_EQ(ring.pop_batch(drained, 10), 8u);
  EXPECT_TRUE(ring.empty());
}
