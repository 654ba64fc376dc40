// videohw::ring::SpscRing against boost::lockfree::spsc_queue, side by side in one binary.
//
// Queues: `ours` (SpscRing, run-time capacity), `boost_rt` (spsc_queue<T>, run-time
// capacity) and `boost_ct` (spsc_queue<T, capacity<N>>, compile-time capacity).
// Cases: uint64_t and a 64-byte struct, single-item push/pop and batches of kBatch, at
// capacities 1024 and 65536. Benchmark names read `<case>/<queue>/<capacity>`.
//
// Each iteration: a producer thread (one per benchmark run, kept across iterations) pushes
// the next kItems sequence numbers while the benchmark thread pops them; every item is
// checked to arrive once and in order, and the queue must be empty at the end (any miss:
// SkipWithError). Both sides spin on full/empty, with no pause instruction, identically for
// every queue. The queue is built and its memory touched before timing starts.
// Throughput: items/s of real time (UseRealTime + SetItemsProcessed).
//
// Threads are pinned: the consumer (benchmark thread) to CPU 1, the producer to CPU 0.
// Unpinned on a 2-vCPU machine the scheduler sometimes puts both on one CPU and the run
// measures time slices instead of the queue.
//
// Counters, for machines shared with other work: each iteration also records whether either
// thread was switched out during it (getrusage RUSAGE_THREAD, voluntary + involuntary).
// `clean` is the fraction of iterations in which neither was; `clean_items_per_s` is the
// median rate of those iterations alone (0 when there were none): the queue's own speed,
// without the time slices of other processes that dominate items_per_second on a busy
// machine. docs/ring.md says how to read both.
//
// Run (see docs/ring.md):
//   build-bench/bench/videohw_ring_bench --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true --benchmark_enable_random_interleaving=true
#include <benchmark/benchmark.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <boost/lockfree/spsc_queue.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>
#include <type_traits>
#include <vector>

#include "ring/spsc_ring.hpp"

namespace {

constexpr uint64_t kItems = uint64_t(1)
                            << 17;  // per iteration: a fraction of a millisecond to a few
constexpr size_t kBatch = 32;

struct Payload64 {
  uint64_t seq;
  uint64_t pad[7];
};
static_assert(sizeof(Payload64) == 64);

template <typename T>
T make(uint64_t seq) {
  if constexpr (std::is_same_v<T, uint64_t>) {
    return seq;
  } else {
    T t{};
    t.seq = seq;
    t.pad[6] = ~seq;  // a second word, so a torn item is caught as well as a wrong one
    return t;
  }
}

template <typename T>
bool in_order(const T& t, uint64_t expected) {
  if constexpr (std::is_same_v<T, uint64_t>) {
    return t == expected;
  } else {
    return t.seq == expected && t.pad[6] == ~expected;
  }
}

// Adapters with one interface: single push/pop, pointer batches.
template <typename T>
struct Ours {
  explicit Ours(size_t capacity) : q(capacity) {}
  bool push(const T& v) { return q.try_push(v); }
  bool pop(T& v) { return q.try_pop(v); }
  size_t push_n(const T* v, size_t n) { return q.push_batch(v, v + n); }
  size_t pop_n(T* v, size_t n) { return q.pop_batch(v, n); }
  bool empty() const { return q.empty(); }
  videohw::ring::SpscRing<T> q;
};

template <typename T>
struct BoostRt {
  explicit BoostRt(size_t capacity) : q(capacity) {}
  bool push(const T& v) { return q.push(v); }
  bool pop(T& v) { return q.pop(v); }
  size_t push_n(const T* v, size_t n) { return q.push(v, n); }
  size_t pop_n(T* v, size_t n) { return q.pop(v, n); }
  bool empty() { return q.read_available() == 0; }
  boost::lockfree::spsc_queue<T> q;
};

template <typename T, size_t N>
struct BoostCt {
  explicit BoostCt(size_t) {}
  bool push(const T& v) { return q.push(v); }
  bool pop(T& v) { return q.pop(v); }
  size_t push_n(const T* v, size_t n) { return q.push(v, n); }
  size_t pop_n(T* v, size_t n) { return q.pop(v, n); }
  bool empty() { return q.read_available() == 0; }
  boost::lockfree::spsc_queue<T, boost::lockfree::capacity<N>> q;
};

void pin_to_cpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu % int(std::max(1u, std::thread::hardware_concurrency())), &set);
  pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

// Times the calling thread was switched out so far (voluntarily or not).
long context_switches() {
  rusage usage{};
  getrusage(RUSAGE_THREAD, &usage);
  return usage.ru_nvcsw + usage.ru_nivcsw;
}

template <typename Queue, typename T, bool Batch>
void produce(Queue& queue, uint64_t first, uint64_t end) {
  if constexpr (Batch) {
    T batch[kBatch];
    for (uint64_t seq = first; seq < end;) {
      const size_t n = size_t(std::min<uint64_t>(kBatch, end - seq));
      for (size_t i = 0; i < n; ++i) batch[i] = make<T>(seq + i);
      for (size_t done = 0; done < n;) done += queue.push_n(batch + done, n - done);
      seq += n;
    }
  } else {
    for (uint64_t seq = first; seq < end;) {
      if (queue.push(make<T>(seq))) ++seq;
    }
  }
}

// Consumes [first, end); returns how many items were missing, duplicated or out of order.
template <typename Queue, typename T, bool Batch>
uint64_t consume(Queue& queue, uint64_t first, uint64_t end) {
  uint64_t mismatches = 0;
  T out[kBatch];
  for (uint64_t expected = first; expected < end;) {
    if constexpr (Batch) {
      const size_t n = queue.pop_n(out, size_t(std::min<uint64_t>(kBatch, end - expected)));
      for (size_t i = 0; i < n; ++i) mismatches += !in_order(out[i], expected++);
    } else {
      if (queue.pop(out[0])) mismatches += !in_order(out[0], expected++);
    }
  }
  return mismatches;
}

// The producer thread of one benchmark run, pinned to CPU 0. start(end) hands it the items
// up to `end`; finish() waits until it has pushed them all and says whether it was switched
// out meanwhile.
template <typename Queue, typename T, bool Batch>
class Producer {
 public:
  explicit Producer(Queue& queue) : queue_(queue), thread_([this] { loop(); }) {}
  ~Producer() {
    end_.store(kQuit, std::memory_order_release);
    thread_.join();
  }
  void start(uint64_t end) { end_.store(end, std::memory_order_release); }
  bool finish(uint64_t end) {
    while (done_.load(std::memory_order_acquire) != end) {
    }
    return switched_.load(std::memory_order_relaxed);
  }

 private:
  static constexpr uint64_t kQuit = ~uint64_t(0);
  void loop() {
    pin_to_cpu(0);
    for (uint64_t done = 0;;) {
      uint64_t end;
      while ((end = end_.load(std::memory_order_acquire)) == done) {
      }
      if (end == kQuit) return;
      const long before = context_switches();
      produce<Queue, T, Batch>(queue_, done, end);
      switched_.store(context_switches() != before, std::memory_order_relaxed);
      done_.store(done = end, std::memory_order_release);
    }
  }

  Queue& queue_;
  std::atomic<uint64_t> end_{0}, done_{0};
  std::atomic<bool> switched_{false};
  std::thread thread_;
};

// Fills and drains the queue once, single-threaded, so its pages are mapped and cached
// before timing starts.
template <typename Queue, typename T>
void touch(Queue& queue, size_t capacity) {
  T item = make<T>(0);
  size_t pushed = 0;
  while (pushed < capacity && queue.push(item)) ++pushed;
  while (queue.pop(item)) {
  }
}

template <typename Queue, typename T, bool Batch>
void run(benchmark::State& state) {
  pin_to_cpu(1);
  const size_t capacity = size_t(state.range(0));
  auto queue = std::make_unique<Queue>(capacity);
  touch<Queue, T>(*queue, capacity);
  uint64_t mismatches = 0, next = 0;
  std::vector<double> clean_rates;
  clean_rates.reserve(4096);
  {
    Producer<Queue, T, Batch> producer(*queue);
    for (auto _ : state) {
      const uint64_t first = next, end = next + kItems;
      const long before = context_switches();
      const auto t0 = std::chrono::steady_clock::now();
      producer.start(end);
      mismatches += consume<Queue, T, Batch>(*queue, first, end);
      const bool producer_switched = producer.finish(end);
      const std::chrono::duration<double> took = std::chrono::steady_clock::now() - t0;
      if (!producer_switched && context_switches() == before)
        clean_rates.push_back(double(kItems) / took.count());
      next = end;
    }
  }
  if (!queue->empty()) state.SkipWithError("items left in the queue after the last iteration");
  if (mismatches) state.SkipWithError("items lost, duplicated or out of order");
  state.SetItemsProcessed(int64_t(next));
  state.counters["mismatches"] = double(mismatches);
  state.counters["clean"] =
      double(clean_rates.size()) / double(std::max<int64_t>(1, state.iterations()));
  double clean_median = 0;
  if (!clean_rates.empty()) {
    auto mid = clean_rates.begin() + clean_rates.size() / 2;
    std::nth_element(clean_rates.begin(), mid, clean_rates.end());
    clean_median = *mid;
  }
  state.counters["clean_items_per_s"] = clean_median;
}

#define VIDEOHW_RING_CASE(name, T, batch)     \
  BENCHMARK(run<Ours<T>, T, batch>)           \
      ->Name(name "/ours")                    \
      ->Arg(1024)                             \
      ->Arg(65536)                            \
      ->UseRealTime()                         \
      ->Unit(benchmark::kMillisecond);        \
  BENCHMARK(run<BoostRt<T>, T, batch>)        \
      ->Name(name "/boost_rt")                \
      ->Arg(1024)                             \
      ->Arg(65536)                            \
      ->UseRealTime()                         \
      ->Unit(benchmark::kMillisecond);        \
  BENCHMARK(run<BoostCt<T, 1024>, T, batch>)  \
      ->Name(name "/boost_ct")                \
      ->Arg(1024)                             \
      ->UseRealTime()                         \
      ->Unit(benchmark::kMillisecond);        \
  BENCHMARK(run<BoostCt<T, 65536>, T, batch>) \
      ->Name(name "/boost_ct")                \
      ->Arg(65536)                            \
      ->UseRealTime()                         \
      ->Unit(benchmark::kMillisecond);

VIDEOHW_RING_CASE("u64_single", uint64_t, false)
VIDEOHW_RING_CASE("u64_batch32", uint64_t, true)
VIDEOHW_RING_CASE("struct64_single", Payload64, false)
VIDEOHW_RING_CASE("struct64_batch32", Payload64, true)

}  // namespace

BENCHMARK_MAIN();
