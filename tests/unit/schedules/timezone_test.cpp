// Time zones (TZif + POSIX footer) and cron schedules across DST changes.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "schedules/schedule.hpp"
#include "schedules/timezone.hpp"

namespace {

using namespace std::chrono;
using sk::sched::LocalResolution;
using sk::sched::PosixTz;
using sk::sched::Schedule;
using sk::sched::TimeZone;
using sk::sched::TimeZoneError;
using sk::sched::time_point;
namespace fs = std::filesystem;

sys_seconds utc(int y, unsigned mo, unsigned d, int h = 0, int mi = 0, int s = 0) {
  return sys_days{year{y} / month{mo} / day{d}} + hours(h) + minutes(mi) + seconds(s);
}
local_seconds wall(int y, unsigned mo, unsigned d, int h = 0, int mi = 0) {
  return local_days{year{y} / month{mo} / day{d}} + hours(h) + minutes(mi);
}

std::string fmt(time_point t) {
  auto day = floor<days>(t);
  year_month_day ymd{day};
  hh_mm_ss hms{floor<seconds>(t - day)};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02ld:%02ldZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<long>(hms.hours().count()), static_cast<long>(hms.minutes().count()));
  return buf;
}

std::vector<std::string> fires(const Schedule& s, sys_seconds after, std::size_t n) {
  std::vector<std::string> out;
  for (auto t : sk::sched::next_fires(s, time_point{after}, n)) out.push_back(fmt(t));
  return out;
}

std::shared_ptr<const TimeZone> zone(const char* name) { return TimeZone::load(name); }

// ---- a hand-made TZif, to test slim files and corrupt input -------------------------------------

std::string be(std::uint64_t v, int bytes) {
  std::string out;
  for (int k = bytes - 1; k >= 0; --k) out.push_back(static_cast<char>((v >> (8 * k)) & 0xff));
  return out;
}

struct Tzif {
  std::vector<std::pair<std::int64_t, std::uint8_t>> transitions;
  std::vector<std::pair<std::int32_t, bool>> types;
  std::string footer;
  bool v1_only = false;

  std::string block(int time_size) const {
    std::string out;
    for (auto& t : transitions) out += be(static_cast<std::uint64_t>(t.first), time_size);
    for (auto& t : transitions) out.push_back(static_cast<char>(t.second));
    for (auto& t : types) out += be(static_cast<std::uint32_t>(t.first), 4) + std::string(1, t.second) + std::string(1, '\0');
    out += std::string("XXX\0", 4);
    return out;
  }
  std::string header(char version) const {
    return std::string("TZif") + version + std::string(15, '\0') + be(0, 4) + be(0, 4) + be(0, 4) +
           be(transitions.size(), 4) + be(types.size(), 4) + be(4, 4);
  }
  std::string bytes() const {
    if (v1_only) return header('\0') + block(4);
    return header('2') + block(4) + header('2') + block(8) + "\n" + footer + "\n";
  }
};

// ---- UTC, fixed zones, names ------------------------------------------------------------------

TEST(TimeZone, UtcIsBuiltIn) {
  auto z = TimeZone::load("UTC", "/nonexistent");
  EXPECT_EQ(z->name(), "UTC");
  EXPECT_EQ(z->offset_at(utc(2026, 7, 1)), seconds(0));
  EXPECT_EQ(z->to_utc(wall(2026, 3, 29, 2, 30)), utc(2026, 3, 29, 2, 30));
}

TEST(TimeZone, EtcZoneWithPlusSignInName) {
  // POSIX-style inverted sign: Etc/GMT+5 is five hours behind UTC.
  EXPECT_EQ(zone("Etc/GMT+5")->offset_at(utc(2026, 7, 1)), hours(-5));
}

TEST(TimeZone, RejectsUnsafeNames) {
  for (const char* bad : {"../etc/passwd", "/etc/localtime", "Europe/../../etc/passwd", "Europe/Berlin;rm",
                          "Europe/Ber lin", ""}) {
    try {
      TimeZone::load(bad);
      FAIL() << "accepted '" << bad << "'";
    } catch (const TimeZoneError& e) {
      EXPECT_EQ(std::string(e.what()), "invalid time zone name '" + std::string(bad) + "'");
      EXPECT_EQ(e.exit_code(), sk::kUsage);
    }
  }
}

TEST(TimeZone, RejectsUnknownZonesDirectoriesAndNonTzifFiles) {
  for (const char* bad : {"Mars/Olympus", "Europe", "zone.tab"}) {
    try {
      TimeZone::load(bad);
      FAIL() << "accepted '" << bad << "'";
    } catch (const TimeZoneError& e) {
      EXPECT_EQ(std::string(e.what()), "unknown time zone '" + std::string(bad) + "'");
    }
  }
}

class TimeZoneFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = fs::temp_directory_path() / ("sk-tz-test-" + std::to_string(rd()));
    fs::create_directories(dir_ / "Test");
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const std::string& name, const std::string& bytes) {
    std::ofstream(dir_ / name, std::ios::binary) << bytes;
  }
  fs::path dir_;
};

TEST_F(TimeZoneFiles, CorruptTzifIsReported) {
  std::string good = Tzif{{{0, 0}}, {{3600, false}}, "XXX-1"}.bytes();
  write("Test/Truncated", good.substr(0, good.size() - 20));
  write("Test/BadIndex", Tzif{{{0, 3}}, {{3600, false}}, "XXX-1"}.bytes());
  write("Test/BadFooter", Tzif{{{0, 0}}, {{3600, false}}, "not a rule"}.bytes());
  for (const char* name : {"Test/Truncated", "Test/BadIndex", "Test/BadFooter"}) {
    try {
      TimeZone::load(name, dir_);
      FAIL() << "accepted " << name;
    } catch (const TimeZoneError& e) {
      EXPECT_EQ(std::string(e.what()), "corrupt zoneinfo file for time zone '" + std::string(name) + "'");
    }
  }
  write("Test/Good", good);
  EXPECT_EQ(TimeZone::load("Test/Good", dir_)->offset_at(utc(2026, 1, 1)), hours(1));
}

TEST_F(TimeZoneFiles, LocalReadsTheLocaltimeFileOrFallsBackToUtc) {
  std::ifstream in("/usr/share/zoneinfo/Europe/Berlin", std::ios::binary);
  std::string berlin((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  write("localtime", berlin);
  auto local = TimeZone::load("local", "/usr/share/zoneinfo", dir_ / "localtime");
  EXPECT_EQ(local->name(), "local");
  EXPECT_EQ(local->offset_at(utc(2026, 7, 1)), hours(2));
  auto missing = TimeZone::load("local", "/usr/share/zoneinfo", dir_ / "no-such-file");
  EXPECT_EQ(missing->name(), "local");
  EXPECT_EQ(missing->offset_at(utc(2026, 7, 1)), seconds(0));
}

// ---- offsets from the system zoneinfo ----------------------------------------------------------

TEST(TimeZone, BerlinOffsetsAroundTransitions) {
  auto z = zone("Europe/Berlin");
  EXPECT_EQ(z->offset_at(utc(2026, 1, 15)), hours(1));
  EXPECT_EQ(z->offset_at(utc(2026, 7, 15)), hours(2));
  EXPECT_EQ(z->offset_at(utc(2026, 3, 29, 0, 59, 59)), hours(1));
  EXPECT_EQ(z->offset_at(utc(2026, 3, 29, 1)), hours(2));
  EXPECT_EQ(z->offset_at(utc(2026, 10, 25, 0, 59, 59)), hours(2));
  EXPECT_EQ(z->offset_at(utc(2026, 10, 25, 1)), hours(1));
  // Before 1893 Berlin kept local mean time, +0:53:28 (the first time type).
  EXPECT_EQ(z->offset_at(utc(1850, 1, 1)), seconds(53 * 60 + 28));
}

TEST(TimeZone, BerlinFarFutureUsesTheFooterRule) {
  // Debian's tables stop in 2037; 2040's last Sunday of March is the 25th.
  auto z = zone("Europe/Berlin");
  EXPECT_EQ(z->offset_at(utc(2040, 3, 25, 0, 59, 59)), hours(1));
  EXPECT_EQ(z->offset_at(utc(2040, 3, 25, 1)), hours(2));
  EXPECT_EQ(z->offset_at(utc(2040, 10, 28, 0, 59, 59)), hours(2));
  EXPECT_EQ(z->offset_at(utc(2040, 10, 28, 1)), hours(1));
}

TEST(TimeZone, NewYorkOffsetsAroundTransitions) {
  auto z = zone("America/New_York");
  EXPECT_EQ(z->offset_at(utc(2026, 3, 8, 6, 59, 59)), hours(-5));
  EXPECT_EQ(z->offset_at(utc(2026, 3, 8, 7)), hours(-4));
  EXPECT_EQ(z->offset_at(utc(2026, 11, 1, 5, 59, 59)), hours(-4));
  EXPECT_EQ(z->offset_at(utc(2026, 11, 1, 6)), hours(-5));
  EXPECT_EQ(z->offset_at(utc(2040, 3, 11, 6, 59, 59)), hours(-5));
  EXPECT_EQ(z->offset_at(utc(2040, 3, 11, 7)), hours(-4));
}

TEST(TimeZone, SydneyDaylightTimeSpansTheNewYear) {
  auto z = zone("Australia/Sydney");
  EXPECT_EQ(z->offset_at(utc(2026, 1, 15)), hours(11));
  EXPECT_EQ(z->offset_at(utc(2026, 7, 15)), hours(10));
  EXPECT_EQ(z->offset_at(utc(2040, 1, 15)), hours(11));
  EXPECT_EQ(z->offset_at(utc(2040, 7, 15)), hours(10));
}

TEST(TimeZone, FooterRuleAgreesWithTheFullTable) {
  // Inside the table's range the footer must give the same answers as the transitions.
  auto table = zone("Europe/Berlin");
  auto rule = TimeZone::from_posix("rule", "CET-1CEST,M3.5.0,M10.5.0/3");
  auto ny_table = zone("America/New_York");
  auto ny_rule = TimeZone::from_posix("rule", "EST5EDT,M3.2.0,M11.1.0");
  for (sys_seconds t = utc(2008, 1, 1); t < utc(2037, 1, 1); t += hours(7) + minutes(13)) {
    ASSERT_EQ(table->offset_at(t), rule->offset_at(t)) << fmt(time_point{t});
    ASSERT_EQ(ny_table->offset_at(t), ny_rule->offset_at(t)) << fmt(time_point{t});
  }
}

// ---- local -> UTC ------------------------------------------------------------------------------

TEST(TimeZone, SkippedAndRepeatedWallTimes) {
  auto z = zone("Europe/Berlin");
  EXPECT_EQ(z->resolve(wall(2026, 3, 29, 2, 30)).kind, LocalResolution::skipped);
  EXPECT_FALSE(z->to_utc(wall(2026, 3, 29, 2, 30)).has_value());
  EXPECT_EQ(z->to_utc(wall(2026, 3, 29, 1, 59)), utc(2026, 3, 29, 0, 59));
  EXPECT_EQ(z->to_utc(wall(2026, 3, 29, 3, 0)), utc(2026, 3, 29, 1, 0));

  auto r = z->resolve(wall(2026, 10, 25, 2, 30));
  EXPECT_EQ(r.kind, LocalResolution::repeated);
  EXPECT_EQ(r.first, utc(2026, 10, 25, 0, 30));
  EXPECT_EQ(r.second, utc(2026, 10, 25, 1, 30));
  EXPECT_EQ(z->to_utc(wall(2026, 10, 25, 2, 30)), utc(2026, 10, 25, 0, 30));
  EXPECT_EQ(z->resolve(wall(2026, 10, 25, 3, 0)).kind, LocalResolution::unique);
  EXPECT_EQ(z->to_local(utc(2026, 10, 25, 1, 30)), wall(2026, 10, 25, 2, 30));
}

// ---- POSIX TZ strings --------------------------------------------------------------------------

TEST(PosixTz, ParsesTheCommonForms) {
  auto cet = PosixTz::parse("CET-1CEST,M3.5.0,M10.5.0/3");
  EXPECT_EQ(cet.std_abbrev, "CET");
  EXPECT_EQ(cet.std_offset, hours(1));
  EXPECT_EQ(cet.dst_abbrev, "CEST");
  EXPECT_EQ(cet.dst_offset, hours(2));
  EXPECT_EQ(cet.start.month, 3);
  EXPECT_EQ(cet.start.week, 5);
  EXPECT_EQ(cet.start.time, hours(2));
  EXPECT_EQ(cet.end.time, hours(3));

  auto quoted = PosixTz::parse("<+0330>-3:30");
  EXPECT_EQ(quoted.std_offset, hours(3) + minutes(30));
  EXPECT_FALSE(quoted.dst_abbrev);
  EXPECT_EQ(PosixTz::parse("<-03>3").std_offset, hours(-3));
  // Explicit DST offset and a negative rule time (RFC 8536 extension, used by America/Godthab).
  auto nuuk = PosixTz::parse("<-02>2<-01>,M3.5.0/-1,M10.5.0/0");
  EXPECT_EQ(nuuk.dst_offset, hours(-1));
  EXPECT_EQ(nuuk.start.time, hours(-1));
}

TEST(PosixTz, JulianDayForms) {
  // Jn never counts 29 February: J60 is 1 March even in a leap year.
  auto j = PosixTz::parse("STD0DST,J60/0,J300/0");
  EXPECT_FALSE(j.is_dst_at(utc(2028, 2, 29, 23, 59, 59)));
  EXPECT_TRUE(j.is_dst_at(utc(2028, 3, 1)));
  // Zero-based n counts it: day 59 is 29 February in a leap year, 1 March otherwise.
  auto n = PosixTz::parse("STD0DST,59/0,300/0");
  EXPECT_TRUE(n.is_dst_at(utc(2028, 2, 29)));
  EXPECT_FALSE(n.is_dst_at(utc(2027, 2, 28, 23, 59, 59)));
  EXPECT_TRUE(n.is_dst_at(utc(2027, 3, 1)));
}

TEST(PosixTz, RejectsMalformedStrings) {
  for (const char* bad : {"", "CET", "CET-1CEST", "CET-1CEST,M13.1.0,M10.5.0", "CET-1CEST,M3.6.0,M10.5.0",
                          "CET-1CEST,M3.5.7,M10.5.0", "CET-1CEST,M3.5.0", "CET-25", "CET-1CEST,M3.5.0,M10.5.0x",
                          "<+03-3"}) {
    EXPECT_THROW(PosixTz::parse(bad), TimeZoneError) << bad;
  }
}

TEST(TimeZone, SlimFileIsGovernedByItsFooter) {
  // A slim file for New York: no transitions at all, only the rule.
  Tzif slim{{}, {{-5 * 3600, false}}, "EST5EDT,M3.2.0,M11.1.0"};
  auto z = TimeZone::from_tzif("slim", slim.bytes());
  EXPECT_EQ(z->offset_at(utc(2026, 3, 8, 6, 59, 59)), hours(-5));
  EXPECT_EQ(z->offset_at(utc(2026, 3, 8, 7)), hours(-4));
  EXPECT_FALSE(z->to_utc(wall(2026, 3, 8, 2, 30)).has_value());
  EXPECT_EQ(z->to_utc(wall(2026, 11, 1, 1, 30)), utc(2026, 11, 1, 5, 30));

  // One transition: the table before it, the footer after it.
  Tzif one{{{utc(2000, 1, 1).time_since_epoch().count(), 1}}, {{0, false}, {3600, false}}, "CET-1CEST,M3.5.0,M10.5.0/3"};
  auto z1 = TimeZone::from_tzif("one", one.bytes());
  EXPECT_EQ(z1->offset_at(utc(1999, 7, 1)), seconds(0));
  EXPECT_EQ(z1->offset_at(utc(2000, 7, 1)), hours(2));
  EXPECT_EQ(z1->offset_at(utc(2001, 1, 1)), hours(1));

  // An empty footer keeps the last type; a version 1 file has no footer at all.
  EXPECT_EQ(TimeZone::from_tzif("empty", Tzif{{{0, 1}}, {{0, false}, {7200, true}}, ""}.bytes())->offset_at(utc(2040, 1, 1)),
            hours(2));
  Tzif v1{{{0, 1}}, {{0, false}, {-3600, false}}, "", true};
  EXPECT_EQ(TimeZone::from_tzif("v1", v1.bytes())->offset_at(utc(2026, 1, 1)), hours(-1));
}

// ---- cron schedules across DST -----------------------------------------------------------------

TEST(CronDst, BerlinSpringForwardSkipsTheMissingTime) {
  auto s = Schedule::cron("30 2 * * *", "Europe/Berlin");
  // 02:30 on 29 March 2026 does not exist in Berlin.
  EXPECT_EQ(fires(s, utc(2026, 3, 27, 12), 3),
            (std::vector<std::string>{"2026-03-28T01:30Z", "2026-03-30T00:30Z", "2026-03-31T00:30Z"}));
}

TEST(CronDst, BerlinFallBackRunsOnce) {
  auto s = Schedule::cron("30 2 * * *", "Europe/Berlin");
  EXPECT_EQ(fires(s, utc(2026, 10, 24, 12), 2), (std::vector<std::string>{"2026-10-25T00:30Z", "2026-10-26T01:30Z"}));
  // Asked from inside the repeated hour (02:10 the second time), the 02:30 already fired.
  EXPECT_EQ(fmt(*s.next_fire(time_point{utc(2026, 10, 25, 1, 10)})), "2026-10-26T01:30Z");
}

TEST(CronDst, BerlinEveryHalfHourThroughBothChanges) {
  auto s = Schedule::cron("*/30 * * * *", "Europe/Berlin");
  // Spring: 01:30 CET, then 03:00 CEST.
  EXPECT_EQ(fires(s, utc(2026, 3, 29, 0), 3),
            (std::vector<std::string>{"2026-03-29T00:30Z", "2026-03-29T01:00Z", "2026-03-29T01:30Z"}));
  // Autumn: 02:00 and 02:30 CEST fire; their repeats in CET do not; 03:00 CET follows.
  EXPECT_EQ(fires(s, utc(2026, 10, 24, 23), 5),
            (std::vector<std::string>{"2026-10-24T23:30Z", "2026-10-25T00:00Z", "2026-10-25T00:30Z",
                                      "2026-10-25T02:00Z", "2026-10-25T02:30Z"}));
}

TEST(CronDst, PrevFireLooksPastTheRepeatedHour) {
  auto s = Schedule::cron("*/15 * * * *", "Europe/Berlin");
  // 01:10Z is 02:10 CET (second pass); the last fire was 02:45 CEST = 00:45Z.
  EXPECT_EQ(fmt(*s.prev_fire(time_point{utc(2026, 10, 25, 1, 10)})), "2026-10-25T00:45Z");
  EXPECT_EQ(fmt(*s.prev_fire(time_point{utc(2026, 10, 25, 2, 0)})), "2026-10-25T02:00Z");
  // Spring: at 01:05Z (03:05 CEST) the last fire was 03:00 CEST; before it 01:45 CET.
  EXPECT_EQ(fmt(*s.prev_fire(time_point{utc(2026, 3, 29, 1, 5)})), "2026-03-29T01:00Z");
  EXPECT_EQ(fmt(*s.prev_fire(time_point{utc(2026, 3, 29, 0, 59)})), "2026-03-29T00:45Z");
}

TEST(CronDst, NewYork) {
  auto s = Schedule::cron("30 2 * * *", "America/New_York");
  // 8 March 2026: 02:00 EST jumps to 03:00 EDT, so 02:30 is skipped that day.
  EXPECT_EQ(fires(s, utc(2026, 3, 7, 12), 2), (std::vector<std::string>{"2026-03-09T06:30Z", "2026-03-10T06:30Z"}));
  auto fall = Schedule::cron("30 1 * * *", "America/New_York");
  // 1 November 2026: 01:30 EDT (05:30Z) fires, 01:30 EST (06:30Z) does not.
  EXPECT_EQ(fires(fall, utc(2026, 10, 31, 12), 3),
            (std::vector<std::string>{"2026-11-01T05:30Z", "2026-11-02T06:30Z", "2026-11-03T06:30Z"}));
}

TEST(CronDst, SydneyInTheFarFuture) {
  // 2040 is past Debian's tables: the footer decides. AEDT (+11) in January.
  auto s = Schedule::cron("0 3 * * *", "Australia/Sydney");
  EXPECT_EQ(fmt(*s.next_fire(time_point{utc(2040, 1, 10)})), "2040-01-10T16:00Z");
  EXPECT_EQ(fmt(*s.next_fire(time_point{utc(2040, 7, 10)})), "2040-07-10T17:00Z");
}

}  // namespace
