#pragma once
// A clock that moves only when a test says so. The steady clock follows the wall clock, so code that
// measures elapsed time sees the same jumps.
// Thread-safety: every method may be called from any thread.
#include <atomic>
#include <chrono>

#include "core/clock.hpp"

namespace sk::test {

class FakeClock : public Clock {
 public:
  explicit FakeClock(time_point t = time_point{}) : now_(t.time_since_epoch().count()) {}
  time_point now() const override { return time_point{time_point::duration{now_.load()}}; }
  std::chrono::steady_clock::time_point steady_now() const override {
    return std::chrono::steady_clock::time_point{
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(now().time_since_epoch())};
  }
  void set(time_point t) { now_ = t.time_since_epoch().count(); }
  void advance(std::chrono::nanoseconds d) {
    now_ += std::chrono::duration_cast<time_point::duration>(d).count();
  }

 private:
  std::atomic<time_point::rep> now_;
};

}  // namespace sk::test
