#pragma once
// The clock seam: the scheduler and the failover loop read time only through it, so tests drive a fake.
// Thread-safety: implementations must be safe to call from any thread.
#include <chrono>
#include <memory>
#include <string>

namespace sk {

class Clock {
 public:
  using time_point = std::chrono::system_clock::time_point;
  virtual ~Clock() = default;
  virtual time_point now() const = 0;  // wall clock (UTC)
  virtual std::chrono::steady_clock::time_point steady_now() const = 0;
};

std::shared_ptr<Clock> system_clock();

// Formats a wall-clock time as ISO 8601 UTC ("2026-11-22T02:00:00Z") and back.
std::string iso_utc(Clock::time_point t);
// Epoch milliseconds as ISO 8601 UTC to the millisecond ("2026-11-22T02:00:00.123Z").
std::string iso_utc_ms(long long epoch_ms);
// Returns false when `text` is not such a timestamp.
bool parse_iso_utc(const std::string& text, Clock::time_point& out);

}  // namespace sk
