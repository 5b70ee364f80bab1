#include "core/clock.hpp"

#include <ctime>
#include <cstdio>
#include <string>

namespace sk {

namespace {
class SystemClock final : public Clock {
 public:
  time_point now() const override { return std::chrono::system_clock::now(); }
  std::chrono::steady_clock::time_point steady_now() const override {
    return std::chrono::steady_clock::now();
  }
};
}  // namespace

std::shared_ptr<Clock> system_clock() {
  static auto clock = std::make_shared<SystemClock>();
  return clock;
}

std::string iso_utc(Clock::time_point t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string iso_utc_ms(long long epoch_ms) {
  const long long ms = ((epoch_ms % 1000) + 1000) % 1000;
  std::string s = iso_utc(Clock::time_point(std::chrono::milliseconds(epoch_ms - ms)));
  char frac[8];
  std::snprintf(frac, sizeof frac, ".%03lld", ms);
  return s.insert(s.size() - 1, frac);
}

bool parse_iso_utc(const std::string& text, Clock::time_point& out) {
  std::tm tm{};
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6 ||
      consumed != static_cast<int>(text.size()))
    return false;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  std::time_t tt = timegm(&tm);
  if (tt == static_cast<std::time_t>(-1)) return false;
  out = std::chrono::system_clock::from_time_t(tt);
  return true;
}

}  // namespace sk
