// Cron parsing and matching, in UTC (time zones and DST: schedules_timezone_test.cpp).
#include <chrono>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "schedules/cron.hpp"
#include "schedules/schedule.hpp"

namespace {

using namespace std::chrono;
using sk::sched::CronError;
using sk::sched::CronExpr;
using sk::sched::parse_cron;
using sk::sched::Schedule;
using sk::sched::time_point;

time_point utc(int y, unsigned mo, unsigned d, int h = 0, int mi = 0, int s = 0) {
  return time_point{sys_days{year{y} / month{mo} / day{d}} + hours(h) + minutes(mi) + seconds(s)};
}

std::string fmt(time_point t) {
  auto day = floor<days>(t);
  year_month_day ymd{day};
  hh_mm_ss hms{floor<seconds>(t - day)};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u %02ld:%02ld", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<long>(hms.hours().count()), static_cast<long>(hms.minutes().count()));
  return buf;
}

std::vector<std::string> next(const std::string& expr, time_point after, std::size_t n) {
  std::vector<std::string> out;
  for (auto t : sk::sched::next_fires(Schedule::cron(expr, "UTC"), after, n)) out.push_back(fmt(t));
  return out;
}

std::string first(const std::string& expr, time_point after) {
  auto t = Schedule::cron(expr, "UTC").next_fire(after);
  return t ? fmt(*t) : "never";
}

// ---- matching ---------------------------------------------------------------------------------

TEST(Cron, LeapDayWaitsForTheNextLeapYear) {
  EXPECT_EQ(first("0 0 29 2 *", utc(2027, 3, 1)), "2028-02-29 00:00");
  EXPECT_EQ(next("0 0 29 2 *", utc(2028, 2, 29), 2), (std::vector<std::string>{"2032-02-29 00:00", "2036-02-29 00:00"}));
  // 2100 is not a leap year: the search must cross eight years.
  EXPECT_EQ(first("0 0 29 2 *", utc(2096, 3, 1)), "2104-02-29 00:00");
}

TEST(Cron, ThirtyFirstSkipsShortMonths) {
  EXPECT_EQ(next("0 12 31 * *", utc(2026, 1, 31, 13), 4),
            (std::vector<std::string>{"2026-03-31 12:00", "2026-05-31 12:00", "2026-07-31 12:00",
                                      "2026-08-31 12:00"}));
  EXPECT_EQ(first("0 0 30 * *", utc(2026, 1, 30, 1)), "2026-03-30 00:00");
}

TEST(Cron, RollsOverMonthAndYearEnds) {
  EXPECT_EQ(first("59 23 * * *", utc(2026, 12, 31, 23, 59)), "2027-01-01 23:59");
  EXPECT_EQ(first("0 0 1 * *", utc(2026, 12, 31, 23, 59, 59)), "2027-01-01 00:00");
  EXPECT_EQ(first("* * * * *", utc(2026, 2, 28, 23, 59, 30)), "2026-03-01 00:00");
}

TEST(Cron, NextIsStrictlyAfter) {
  EXPECT_EQ(first("0 2 * * *", utc(2026, 5, 1, 2)), "2026-05-02 02:00");
  EXPECT_EQ(first("0 2 * * *", utc(2026, 5, 1, 1, 59, 59)), "2026-05-01 02:00");
  // Sub-second precision: 02:00:00.5 is already past the 02:00 fire.
  EXPECT_EQ(fmt(*Schedule::cron("0 2 * * *").next_fire(utc(2026, 5, 1, 2) + milliseconds(500))), "2026-05-02 02:00");
}

TEST(Cron, DayOfMonthOrDayOfWeekWhenBothRestricted) {
  // 2026-01-01 is a Thursday: Fridays plus the 13th (a Tuesday).
  EXPECT_EQ(next("0 0 13 * FRI", utc(2026, 1, 1), 5),
            (std::vector<std::string>{"2026-01-02 00:00", "2026-01-09 00:00", "2026-01-13 00:00",
                                      "2026-01-16 00:00", "2026-01-23 00:00"}));
  // Day-of-week "*": only the 13th.
  EXPECT_EQ(next("0 0 13 * *", utc(2026, 1, 1), 2), (std::vector<std::string>{"2026-01-13 00:00", "2026-02-13 00:00"}));
  // Day-of-month "*": only Fridays.
  EXPECT_EQ(next("0 0 * * 5", utc(2026, 1, 10), 2), (std::vector<std::string>{"2026-01-16 00:00", "2026-01-23 00:00"}));
}

TEST(Cron, FieldStartingWithStarIsUnrestrictedAsInCrontab5) {
  // "*/10" starts with "*": both day fields must match (days 1, 11, 21, 31 that are Mondays).
  EXPECT_EQ(next("0 0 */10 * MON", utc(2026, 1, 1), 3),
            (std::vector<std::string>{"2026-05-11 00:00", "2026-06-01 00:00", "2026-08-31 00:00"}));
  auto e = parse_cron("0 0 */10 * MON");
  EXPECT_FALSE(e.days_restricted);
  EXPECT_TRUE(e.weekdays_restricted);
}

TEST(Cron, NamesAreCaseInsensitiveAndEqualNumbers) {
  auto named = parse_cron("0 9 * Jan-MAR mon-FRI");
  auto numeric = parse_cron("0 9 * 1-3 1-5");
  EXPECT_EQ(named.months, numeric.months);
  EXPECT_EQ(named.weekdays, numeric.weekdays);
  EXPECT_EQ(parse_cron("0 0 1 dec *").months, parse_cron("0 0 1 12 *").months);
  EXPECT_EQ(parse_cron("0 0 * * sat,SUN").weekdays.to_ulong(), 0b1000001ul);
}

TEST(Cron, SundayIsZeroAndSeven) {
  auto zero = parse_cron("0 0 * * 0").weekdays;
  EXPECT_EQ(zero.to_ulong(), 1ul);
  EXPECT_EQ(parse_cron("0 0 * * 7").weekdays, zero);
  EXPECT_EQ(parse_cron("0 0 * * SUN").weekdays, zero);
  // Ranges may run up to Sunday at the end of the week.
  EXPECT_EQ(parse_cron("0 0 * * 5-7").weekdays.to_ulong(), 0b1100001ul);
  EXPECT_EQ(parse_cron("0 0 * * FRI-SUN").weekdays.to_ulong(), 0b1100001ul);
  // 2026-01-04 is a Sunday.
  EXPECT_EQ(first("0 0 * * 7", utc(2026, 1, 1)), "2026-01-04 00:00");
}

TEST(Cron, StepsRangesAndLists) {
  EXPECT_EQ(parse_cron("*/15 * * * *").minutes.to_ullong(), (1ull << 0) | (1ull << 15) | (1ull << 30) | (1ull << 45));
  EXPECT_EQ(parse_cron("10-50/20 * * * *").minutes.to_ullong(), (1ull << 10) | (1ull << 30) | (1ull << 50));
  EXPECT_EQ(parse_cron("0 1/6 * * *").hours.to_ulong(), (1ul << 1) | (1ul << 7) | (1ul << 13) | (1ul << 19));
  EXPECT_EQ(parse_cron("1,2,5-7 * * * *").minutes.to_ullong(), 0b11100110ull);
  EXPECT_EQ(parse_cron("0 0 * * */2").weekdays.to_ulong(), 0b1010101ul);
  EXPECT_EQ(parse_cron("* * * * *").minutes.count(), 60u);
  EXPECT_EQ(parse_cron("0 0 * * *").weekdays.count(), 7u);
  EXPECT_EQ(next("*/20 9-10 * * *", utc(2026, 6, 1), 7),
            (std::vector<std::string>{"2026-06-01 09:00", "2026-06-01 09:20", "2026-06-01 09:40", "2026-06-01 10:00",
                                      "2026-06-01 10:20", "2026-06-01 10:40", "2026-06-02 09:00"}));
}

TEST(Cron, TabsAndExtraSpacesSeparateFields) {
  EXPECT_EQ(parse_cron("  0\t2  *   * * ").hours.to_ulong(), 1ul << 2);
}

TEST(Cron, Macros) {
  EXPECT_EQ(first("@daily", utc(2026, 5, 1, 10)), "2026-05-02 00:00");
  EXPECT_EQ(first("@hourly", utc(2026, 5, 1, 10, 5)), "2026-05-01 11:00");
  EXPECT_EQ(first("@WEEKLY", utc(2026, 1, 1)), "2026-01-04 00:00");
  EXPECT_EQ(first("@yearly", utc(2026, 5, 1)), "2027-01-01 00:00");
  EXPECT_EQ(parse_cron("@monthly").text, "@monthly");
}

TEST(Cron, PrevFireIsAtOrBefore) {
  auto s = Schedule::cron("0 2 * * *");
  EXPECT_EQ(fmt(*s.prev_fire(utc(2026, 5, 1, 2))), "2026-05-01 02:00");
  EXPECT_EQ(fmt(*s.prev_fire(utc(2026, 5, 1, 1, 59))), "2026-04-30 02:00");
  EXPECT_EQ(fmt(*Schedule::cron("0 0 29 2 *").prev_fire(utc(2027, 3, 1))), "2024-02-29 00:00");
}

TEST(Cron, MatchesAWholeMinuteOnly) {
  auto e = parse_cron("30 2 * * *");
  EXPECT_TRUE(e.matches(local_seconds{local_days{year{2026} / 5 / 1}} + hours(2) + minutes(30)));
  EXPECT_FALSE(e.matches(local_seconds{local_days{year{2026} / 5 / 1}} + hours(2) + minutes(30) + seconds(1)));
  EXPECT_FALSE(e.matches(local_seconds{local_days{year{2026} / 5 / 1}} + hours(3) + minutes(30)));
}

// ---- errors -----------------------------------------------------------------------------------

struct BadCase {
  const char* expr;
  int column;
  const char* message;
};

class CronErrors : public ::testing::TestWithParam<BadCase> {};

TEST_P(CronErrors, ReportColumnAndMessage) {
  const BadCase& c = GetParam();
  try {
    parse_cron(c.expr);
    FAIL() << "accepted '" << c.expr << "'";
  } catch (const CronError& e) {
    EXPECT_EQ(e.column(), c.column) << c.expr;
    EXPECT_EQ(std::string(e.what()), c.message) << c.expr;
    EXPECT_EQ(e.exit_code(), sk::kUsage);
  }
}

INSTANTIATE_TEST_SUITE_P(
    All, CronErrors,
    ::testing::Values(
        BadCase{"61 * * * *", 1, "minute value 61 out of range 0-59"},
        BadCase{"0 24 * * *", 3, "hour value 24 out of range 0-23"},
        BadCase{"0 0 0 * *", 5, "day-of-month value 0 out of range 1-31"},
        BadCase{"0 0 32 * *", 5, "day-of-month value 32 out of range 1-31"},
        BadCase{"0 0 1 13 *", 7, "month value 13 out of range 1-12"},
        BadCase{"0 0 * * 8", 9, "day-of-week value 8 out of range 0-7"},
        BadCase{"99999999999 * * * *", 1, "minute value 99999999999 out of range 0-59"},
        BadCase{"1,2,99 * * * *", 5, "minute value 99 out of range 0-59"},
        BadCase{"0 0 * FOO *", 7, "unknown month name 'FOO'"},
        BadCase{"0 0 * * MONDAY", 9, "unknown day-of-week name 'MONDAY'"},
        BadCase{"0 0 * * MON-FOO", 13, "unknown day-of-week name 'FOO'"},
        BadCase{"MON * * * *", 1, "invalid minute value 'MON'"},
        BadCase{"0 0 1x * *", 5, "invalid day-of-month value '1x'"},
        BadCase{"5-1 * * * *", 1, "minute range 5-1 is reversed"},
        BadCase{"0 0 * DEC-JAN *", 7, "month range DEC-JAN is reversed"},
        BadCase{"*/0 * * * *", 3, "minute step 0 out of range 1-59"},
        BadCase{"0 */24 * * *", 5, "hour step 24 out of range 1-23"},
        BadCase{"0 */x * * *", 5, "invalid hour step 'x'"},
        BadCase{"0 1-5/ * * *", 7, "missing hour step"},
        BadCase{"0 10- * * *", 6, "missing hour range end"},
        BadCase{"1-2-3 * * * *", 4, "unexpected '-' in minute field"},
        BadCase{"*-5 * * * *", 2, "minute range cannot start with '*'"},
        BadCase{"1,,2 * * * *", 3, "empty minute list element"},
        BadCase{"0 1, * * *", 5, "empty hour list element"},
        BadCase{",1 * * * *", 1, "empty minute list element"},
        BadCase{"0 0 * *", 8, "expected 5 fields, got 4"},
        BadCase{"0 0 * * * *", 11, "expected 5 fields, got 6"},
        BadCase{"", 1, "empty cron expression"},
        BadCase{"   ", 1, "empty cron expression"},
        BadCase{"0 0 31 4 *", 5, "day-of-month never occurs in the selected months"},
        BadCase{"0 0 30,31 2 *", 5, "day-of-month never occurs in the selected months"},
        BadCase{"@reboot", 1, "unknown cron macro '@reboot'"}));

TEST(Cron, ImpossibleDayIsFineWhenDayOfWeekCanMatch) {
  // OR rule: 31 February never comes, but Mondays in February do.
  EXPECT_EQ(first("0 0 31 2 MON", utc(2026, 1, 1)), "2026-02-02 00:00");
}

TEST(Cron, ConfigErrorPointsIntoTheFile) {
  sk::ScheduleConfig sc;
  sc.job = "backup";
  sc.cron = "0 2 * * 9";
  sc.pos = {10, 1};
  sc.cron_pos = {12, 8};  // the opening quote: cron = "0 2 * * 9"
  try {
    sk::sched::schedule_from_config(sc, "/etc/sitekeeper/site.toml");
    FAIL() << "accepted";
  } catch (const sk::ConfigError& e) {
    EXPECT_STREQ(e.what(), "/etc/sitekeeper/site.toml:12:17: cron: day-of-week value 9 out of range 0-7");
  }
  sc.cron = "0 2 * * 1";
  sc.timezone = "Mars/Olympus";
  sc.timezone_pos = {13, 12};
  try {
    sk::sched::schedule_from_config(sc, "site.toml");
    FAIL() << "accepted";
  } catch (const sk::ConfigError& e) {
    EXPECT_STREQ(e.what(), "site.toml:13:12: timezone: unknown time zone 'Mars/Olympus'");
  }
  sc.cron.clear();
  sc.timezone = "UTC";
  try {
    sk::sched::schedule_from_config(sc, "site.toml");
    FAIL() << "accepted";
  } catch (const sk::ConfigError& e) {
    EXPECT_STREQ(e.what(), "site.toml:10:1: schedule: expected exactly one of cron, every or after");
  }
  sc.every = std::chrono::minutes(30);
  auto s = sk::sched::schedule_from_config(sc, "site.toml");
  EXPECT_EQ(s.kind(), Schedule::Kind::every);
  EXPECT_EQ(fmt(*s.next_fire(utc(2026, 1, 1, 10, 31))), "2026-01-01 11:00");
}

// every and after do not use their zone, yet a wrong one is refused too, pointing at its value.
TEST(Cron, TimeZoneIsCheckedWhateverTheTrigger) {
  sk::ScheduleConfig every, after, cron;
  every.every = minutes(30);
  after.after = "backup";
  cron.cron = "0 2 * * *";
  for (sk::ScheduleConfig* sc : {&every, &after, &cron}) {
    sc->job = "refresh";
    sc->pos = {10, 1};
    sc->timezone_pos = {12, 12};
    for (const char* good : {"UTC", "local", "Europe/Berlin"}) {
      sc->timezone = good;
      EXPECT_NO_THROW(sk::sched::schedule_from_config(*sc, "site.toml")) << good;
    }
    const std::pair<const char*, const char*> bad[] = {
        {"Mars/Olympus", "site.toml:12:12: timezone: unknown time zone 'Mars/Olympus'"},
        {"../../etc/passwd", "site.toml:12:12: timezone: invalid time zone name '../../etc/passwd'"},
    };
    for (const auto& [zone, message] : bad) {
      sc->timezone = zone;
      try {
        sk::sched::schedule_from_config(*sc, "site.toml");
        ADD_FAILURE() << zone << " accepted";
      } catch (const sk::ConfigError& e) {
        EXPECT_STREQ(e.what(), message);
      }
    }
  }
  // check_schedules lists them all, one line each.
  every.job = "capture";
  after.job = "verify";
  after.timezone_pos = {20, 12};
  cron.job = "backup";
  cron.timezone = "UTC";
  try {
    sk::sched::check_schedules({every, after, cron}, "site.toml");
    FAIL() << "accepted";
  } catch (const sk::ConfigError& e) {
    EXPECT_STREQ(e.what(),
                 "site.toml:12:12: timezone: invalid time zone name '../../etc/passwd'\n"
                 "site.toml:20:12: timezone: invalid time zone name '../../etc/passwd'");
  }
}

}  // namespace
