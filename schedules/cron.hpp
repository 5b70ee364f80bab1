#pragma once
// Five-field cron expressions: minute hour day-of-month month day-of-week.
//
// Accepted per field: "*", "a", "a-b", lists "a,b-c", steps "*/n", "a-b/n" and "a/n" (a to the
// field's maximum). Month names JAN..DEC and day names SUN..SAT, case-insensitive. Day-of-week 0 and
// 7 are both Sunday; a range may end on 7 or SUN ("FRI-SUN"). The macros @yearly, @annually,
// @monthly, @weekly, @daily, @midnight and @hourly stand for their usual five fields.
//
// Day rule, as Debian's crontab(5) states it: when day-of-month and day-of-week are both restricted
// (the field does not start with "*"), a day matches if EITHER matches; otherwise both must match.
// So "*/2" counts as unrestricted, exactly as in Vixie cron and cronie, so that a line copied from
// a crontab behaves the same here.
//
// The expression is pure wall-clock arithmetic; time zones and DST are applied by Schedule.
// Thread-safety: CronExpr is an immutable value; parse_cron is reentrant.
#include <bitset>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace sk::sched {

// A parse error. column() is the 1-based offset inside the expression of the offending token, so
// that the caller can report FILE:LINE:COLUMN; what() is a short lowercase message such as
// "minute value 61 out of range 0-59". A configuration error: exit code 2.
class CronError : public ConfigError {
 public:
  CronError(int column, std::string message) : ConfigError(std::move(message)), column_(column) {}
  int column() const { return column_; }

 private:
  int column_;
};

struct CronExpr {
  std::string text;           // as written
  std::bitset<60> minutes;    // 0..59
  std::bitset<24> hours;      // 0..23
  std::bitset<32> days;       // 1..31 (bit 0 unused)
  std::bitset<13> months;     // 1..12 (bit 0 unused)
  std::bitset<7> weekdays;    // 0..6, 0 = Sunday
  bool days_restricted = false;
  bool weekdays_restricted = false;

  bool matches_day(std::chrono::year_month_day date) const;
  bool matches(std::chrono::local_seconds t) const;  // t on a whole minute that matches every field

  // The first matching wall-clock minute at or after t (rounded up to a minute), or the last one
  // at or before t (rounded down). nullopt only when none exists within a 400-year Gregorian cycle,
  // which parse_cron rules out.
  std::optional<std::chrono::local_seconds> next_match(std::chrono::local_seconds t) const;
  std::optional<std::chrono::local_seconds> prev_match(std::chrono::local_seconds t) const;
};

// Throws CronError on any syntax or range problem, and when the day fields can never match
// (for example "0 0 31 4 *" or "0 0 30 2 *").
CronExpr parse_cron(std::string_view text);

}  // namespace sk::sched
