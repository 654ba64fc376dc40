// Parks a stage thread until the ring it waits on has work (or room).
//
// The rings themselves are lock-free; this is only the sleep/wake path. ring() takes the
// mutex before notifying, so a waiter that checked its predicate and is about to sleep
// cannot miss the wake-up: it holds the same mutex from the check until it sleeps.
// At video rates (hundreds of items a second) the uncontended lock costs nothing measurable.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace videohw::ring {

class Doorbell {
 public:
  void ring() {
    std::lock_guard<std::mutex> lock(mu_);
    cv_.notify_all();
  }

  template <typename Ready>
  void wait(Ready ready) {
    if (ready()) return;
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, ready);
  }

  // Returns ready() after waiting at most `timeout`.
  template <typename Ready, typename Rep, typename Period>
  bool wait_for(Ready ready, std::chrono::duration<Rep, Period> timeout) {
    if (ready()) return true;
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, ready);
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
};

}  // namespace videohw::ring
