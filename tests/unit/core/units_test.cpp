#include "core/units.hpp"

#include <string>

#include <gtest/gtest.h>

namespace sk {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

struct Good {
  const char* text;
  std::uint64_t value;  // milliseconds or bytes
};

void PrintTo(const Good& g, std::ostream* os) { *os << '"' << g.text << '"'; }

class CoreUnitsDuration : public ::testing::TestWithParam<Good> {};

TEST_P(CoreUnitsDuration, Parses) {
  auto d = parse_duration(GetParam().text);
  ASSERT_TRUE(d) << GetParam().text;
  EXPECT_EQ(static_cast<std::uint64_t>(d->count()), GetParam().value) << GetParam().text;
}

INSTANTIATE_TEST_SUITE_P(
    Values, CoreUnitsDuration,
    ::testing::Values(Good{"500ms", 500}, Good{"5s", 5000}, Good{"0s", 0}, Good{"5m", 300'000},
                      Good{"5min", 300'000}, Good{"2h", 7'200'000}, Good{"5d", 432'000'000},
                      Good{"1w", 604'800'000}, Good{"1h30m", 5'400'000}, Good{"1d2h3m4s5ms", 93'784'005},
                      Good{"1.5s", 1500}, Good{"0.5h", 1'800'000}, Good{"1.2345s", 1235},
                      Good{"007s", 7000}, Good{"1000000000000000ms", 1'000'000'000'000'000}));

class CoreUnitsSize : public ::testing::TestWithParam<Good> {};

TEST_P(CoreUnitsSize, Parses) {
  auto v = parse_size(GetParam().text);
  ASSERT_TRUE(v) << GetParam().text;
  EXPECT_EQ(*v, GetParam().value) << GetParam().text;
}

INSTANTIATE_TEST_SUITE_P(
    Values, CoreUnitsSize,
    ::testing::Values(Good{"4096", 4096}, Good{"0", 0}, Good{"10B", 10}, Good{"512kB", 512u << 10},
                      Good{"512KB", 512u << 10}, Good{"2K", 2048}, Good{"16MB", 16u << 20},
                      Good{"16M", 16u << 20}, Good{"16 MB", 16u << 20}, Good{"1GB", 1u << 30},
                      Good{"1G", 1u << 30}, Good{"2TB", 2ull << 40}, Good{"2T", 2ull << 40},
                      Good{"1.5MB", 3u << 19}, Good{"16.0 MB", 16u << 20},
                      Good{"9223372036854775807", 9223372036854775807ull},
                      Good{"8388607TB", 8388607ull << 40}));

class CoreUnitsMalformed : public ::testing::TestWithParam<const char*> {};

TEST_P(CoreUnitsMalformed, DurationRefused) {
  EXPECT_FALSE(parse_duration(GetParam())) << '"' << GetParam() << '"';
}

TEST_P(CoreUnitsMalformed, SizeRefused) { EXPECT_FALSE(parse_size(GetParam())) << '"' << GetParam() << '"'; }

// Neither a duration nor a size.
INSTANTIATE_TEST_SUITE_P(
    Both, CoreUnitsMalformed,
    ::testing::Values("", " ", ".", "..", "1.", ".5s", ".5MB", "1.2.3d", "1.5.3MB", "1..5s", "1..5MB",
                      "-5s", "-5MB", "+5s", "+5MB", "-0", "s", "ms", "MB", "B", "d", " 5s", "5s ", " 16MB",
                      "16MB ", "5\ts", "16\tMB", "5s\n", "16MB\n", "1e3s", "1e3", "1e3MB", "0x10", "inf",
                      "nan", "5 parsecs", "16 parsecs", "5sx", "16MBx", "5s5", "16MB5", "1,5s", "1,5MB",
                      "５s", "16 mb", "99999999999999999999999s", "99999999999999999999999"));

TEST(CoreUnits, DurationGrammar) {
  for (const char* bad : {"5", "1h30", "5 s", "1h 30m", "30m1h", "1s1s", "1m1min", "1ms1ms", "5S", "5sec",
                          "5hours", "1h-30m", "1h+30m", "1h.5m", "h1"})
    EXPECT_FALSE(parse_duration(bad)) << '"' << bad << '"';
}

TEST(CoreUnits, DurationRange) {
  EXPECT_EQ(parse_duration("1000000000000s"), milliseconds(1'000'000'000'000'000));
  EXPECT_FALSE(parse_duration("1000000000001s"));
  EXPECT_FALSE(parse_duration("1000000000000000ms1us"));
  EXPECT_FALSE(parse_duration("2000000000000000ms"));
  EXPECT_FALSE(parse_duration("18446744073709551615w"));  // the product would wrap around 2^64
  EXPECT_FALSE(parse_duration("1000000000000s1ms"));  // each part fits, their sum does not
  EXPECT_FALSE(parse_duration("1.0e10h"));
}

TEST(CoreUnits, SizeGrammar) {
  for (const char* bad : {"16  MB", "16 ", "16 B ", "1.5", "1.5B", "16 kb", "16Mb", "16MiB", "16 M B",
                          "16MB16", "MB16", "1MB1kB", "16_000", "1 000"})
    EXPECT_FALSE(parse_size(bad)) << '"' << bad << '"';
}

TEST(CoreUnits, SizeRange) {
  EXPECT_FALSE(parse_size("9223372036854775808"));  // 2^63: past what a TOML integer can say
  EXPECT_FALSE(parse_size("8388608TB"));             // 2^63 bytes
  EXPECT_FALSE(parse_size("8388608.0TB"));           // the same through a double
  EXPECT_FALSE(parse_size("18446744073709551615TB"));
  EXPECT_FALSE(parse_size("9999999999.5TB"));
}

TEST(CoreUnits, FormattedValuesParseBack) {
  EXPECT_EQ(parse_size(format_size(16u << 20)), 16u << 20);
  EXPECT_EQ(parse_duration(format_duration(milliseconds(120))), milliseconds(120));
  EXPECT_EQ(format_duration(hours(2) + minutes(5)), "2h 5m");
  EXPECT_EQ(format_duration(seconds(3) + milliseconds(200)), "3.2s");
}

}  // namespace
}  // namespace sk

TEST(CoreUnits, RateIsASizePerSecond) {
  EXPECT_EQ(sk::parse_rate("10MB/s"), 10ull << 20);
  EXPECT_EQ(sk::parse_rate("512kB/s"), 512ull << 10);
  EXPECT_EQ(sk::parse_rate("1.5 MB/s"), 3ull << 19);
  EXPECT_EQ(sk::parse_rate("4096/s"), 4096u);
  EXPECT_EQ(sk::parse_rate("0/s"), 0u);  // parses; the config refuses it with its reason
  for (const char* bad : {"10MB", "10MB/", "/s", "10MB/h", "10MB /s", "10MB/s ", "10 Mbit/s", "-1MB/s", "fast"})
    EXPECT_FALSE(sk::parse_rate(bad)) << '"' << bad << '"';
  EXPECT_EQ(sk::format_rate(10ull << 20), "10.0 MB/s");
}
