// SpscRing against boost::lockfree::spsc_queue, side by side in one binary run.
// Two threads pinned to different CPUs: this benchmark thread consumes, a producer thread
// pushes `kItems` sequence numbers; every item is checked to arrive once and in order.
// Throughput is items/s of real time.
#include <benchmark/benchmark.h>

#include <boost/lockfree/spsc_queue.hpp>
#include <pthread.h>
#include <sched.h>

#include <cstdint>
#include <thread>

#include "ring/spsc_ring.hpp"

namespace {

constexpr uint64_t kItems = 2'000'000;
constexpr size_t kBatch = 32;

struct Payload64 {
  uint64_t seq;
  uint64_t pad[7];
};

template <typename T>
T make(uint64_t seq) {
  if constexpr (std::is_same_v<T, uint64_t>) {
    return seq;
  } else {
    T t{};
    t.seq = seq;
    return t;
  }
}

template <typename T>
uint64_t seq_of(const T& t) {
  if constexpr (std::is_same_v<T, uint64_t>) return t;
  else return t.seq;
}

// Adapters with one interface: push/pop single items, push/pop batches.
template <typename T>
struct Ours {
  explicit Ours(size_t capacity) : q(capacity) {}
  bool push(const T& v) { return q.try_push(T(v)); }
  bool pop(T& v) {
    auto got = q.try_pop();
    if (!got) return false;
    v = *got;
    return true;
  }
  size_t push_n(const T* v, size_t n) { return q.push_batch(v, v + n); }
  size_t pop_n(T* v, size_t n) { return q.pop_batch(v, n); }
  videohw::ring::SpscRing<T> q;
};

template <typename T>
struct Boost {
  explicit Boost(size_t capacity) : q(capacity) {}
  bool push(const T& v) { return q.push(v); }
  bool pop(T& v) { return q.pop(v); }
  size_t push_n(const T* v, size_t n) { return q.push(v, n); }
  size_t pop_n(T* v, size_t n) { return q.pop(v, n); }
  boost::lockfree::spsc_queue<T> q;
};

// Producer and consumer on different CPUs: left to the scheduler on a 2-vCPU machine they
// often share one and the run measures time slices instead of the ring (4x swings).
void pin_to_cpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu % int(std::thread::hardware_concurrency()), &set);
  pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

template <typename Queue, typename T, bool Batch>
void run(benchmark::State& state) {
  pin_to_cpu(1);
  const size_t capacity = size_t(state.range(0));
  uint64_t mismatches = 0;
  for (auto _ : state) {
    Queue queue(capacity);
    std::thread producer([&] {
      pin_to_cpu(0);
      T batch[kBatch];
      for (uint64_t next = 0; next < kItems;) {
        if constexpr (Batch) {
          size_t n = 0;
          for (; n < kBatch && next + n < kItems; ++n) batch[n] = make<T>(next + n);
          next += queue.push_n(batch, n);
        } else {
          if (queue.push(make<T>(next))) ++next;
        }
      }
    });
    T out[kBatch];
    for (uint64_t expected = 0; expected < kItems;) {
      if constexpr (Batch) {
        const size_t n = queue.pop_n(out, kBatch);
        for (size_t i = 0; i < n; ++i) mismatches += seq_of(out[i]) != expected++;
      } else {
        if (queue.pop(out[0])) mismatches += seq_of(out[0]) != expected++;
      }
    }
    producer.join();
  }
  if (mismatches) state.SkipWithError("items lost or out of order");
  state.SetItemsProcessed(int64_t(state.iterations()) * int64_t(kItems));
}

#define VIDEOHW_RING_CASE(name, T, batch)                                      \
  BENCHMARK(run<Ours<T>, T, batch>)->Name("ours/" name)->Arg(1024)->Arg(65536) \
      ->UseRealTime()->Unit(benchmark::kMillisecond);                         \
  BENCHMARK(run<Boost<T>, T, batch>)->Name("boost/" name)->Arg(1024)->Arg(65536) \
      ->UseRealTime()->Unit(benchmark::kMillisecond);

VIDEOHW_RING_CASE("u64_single", uint64_t, false)
VIDEOHW_RING_CASE("u64_batch32", uint64_t, true)
VIDEOHW_RING_CASE("struct64_single", Payload64, false)
VIDEOHW_RING_CASE("struct64_batch32", Payload64, true)

}  // namespace

BENCHMARK_MAIN();
