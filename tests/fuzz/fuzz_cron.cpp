// libFuzzer target: the cron parser, and the next fire time of whatever it accepts.
#include <cstdint>
#include <string_view>

#include "core/error.hpp"
#include "schedules/schedule.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    auto s = sk::sched::Schedule::cron(sk::sched::parse_cron(text), sk::sched::TimeZone::utc());
    s.next_fire(sk::sched::time_point{} + std::chrono::hours(24 * 365 * 56));
  } catch (const sk::Error&) {
  }
  return 0;
}
