#include "core/units.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>

namespace sk {

namespace {

// A number is digits with an optional fraction ("12", "1.5"): no sign, no exponent, no bare dot, so
// "1.2.3d" or "-5s" are refused instead of being read by their prefix.
struct Number {
  std::uint64_t whole = 0;
  double value = 0;
  bool fraction = false;
};

std::size_t count_digits(std::string_view s, std::size_t from) {
  std::size_t i = from;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
  return i - from;
}

std::optional<Number> read_number(std::string_view& s) {
  std::size_t n = count_digits(s, 0);
  if (n == 0) return std::nullopt;
  Number out;
  auto [end, ec] = std::from_chars(s.data(), s.data() + n, out.whole);
  if (ec != std::errc()) return std::nullopt;  // past 2^64: out of every range anyway
  out.value = static_cast<double>(out.whole);
  std::size_t len = n;
  if (n < s.size() && s[n] == '.') {
    std::size_t f = count_digits(s, n + 1);
    if (f == 0) return std::nullopt;
    len = n + 1 + f;
    auto r = std::from_chars(s.data(), s.data() + len, out.value, std::chars_format::fixed);
    if (r.ec != std::errc()) return std::nullopt;
    out.fraction = true;
  }
  s.remove_prefix(len);
  return out;
}

std::string_view read_unit(std::string_view& s) {
  std::size_t u = 0;
  while (u < s.size() && std::isalpha(static_cast<unsigned char>(s[u]))) ++u;
  std::string_view unit = s.substr(0, u);
  s.remove_prefix(u);
  return unit;
}

// Scales exactly when the number is whole, so large counts do not pick up rounding errors.
std::optional<std::uint64_t> scaled(const Number& n, std::uint64_t scale, std::uint64_t max) {
  if (n.fraction) {
    double v = std::round(n.value * static_cast<double>(scale));
    // `max` as a double may round up (2^63 - 1 does), hence the second test in integers.
    if (!(v <= static_cast<double>(max)) || static_cast<std::uint64_t>(v) > max) return std::nullopt;
    return static_cast<std::uint64_t>(v);
  }
  if (n.whole > max / scale) return std::nullopt;
  return n.whole * scale;
}

}  // namespace

std::optional<Millis> parse_duration(std::string_view s) {
  // About 31,000 years: far beyond any sensible setting, far inside what Millis holds.
  constexpr std::uint64_t kMaxMs = 1'000'000'000'000'000;
  if (s.empty()) return std::nullopt;
  std::uint64_t total = 0;
  std::uint64_t last_scale = 0;
  while (!s.empty()) {
    auto n = read_number(s);
    if (!n) return std::nullopt;
    std::string_view unit = read_unit(s);
    std::uint64_t scale;
    if (unit == "ms") scale = 1;
    else if (unit == "s") scale = 1000;
    else if (unit == "m" || unit == "min") scale = 60'000;
    else if (unit == "h") scale = 3'600'000;
    else if (unit == "d") scale = 86'400'000;
    else if (unit == "w") scale = 7 * 86'400'000ull;
    else return std::nullopt;
    // "1h30m" reads as a sum; "30m1h" or "1m1m" are more likely typos than intent.
    if (last_scale != 0 && scale >= last_scale) return std::nullopt;
    last_scale = scale;
    auto part = scaled(*n, scale, kMaxMs);
    if (!part || *part > kMaxMs - total) return std::nullopt;
    total += *part;
  }
  return Millis(static_cast<Millis::rep>(total));
}

std::optional<std::uint64_t> parse_size(std::string_view s) {
  // What the config's integers (int64) can also say, so both spellings share one range.
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  auto n = read_number(s);
  if (!n) return std::nullopt;
  // One space may separate number and unit, as format_size writes it ("16.0 MB").
  if (s.size() > 1 && s.front() == ' ') s.remove_prefix(1);
  std::uint64_t scale;
  if (s.empty() || s == "B") scale = 1;
  else if (s == "kB" || s == "KB" || s == "K") scale = 1ull << 10;
  else if (s == "MB" || s == "M") scale = 1ull << 20;
  else if (s == "GB" || s == "G") scale = 1ull << 30;
  else if (s == "TB" || s == "T") scale = 1ull << 40;
  else return std::nullopt;
  // A byte does not split.
  if (scale == 1 && n->fraction) return std::nullopt;
  return scaled(*n, scale, kMax);
}

std::optional<std::uint64_t> parse_rate(std::string_view s) {
  constexpr std::string_view kPerSecond = "/s";
  if (s.size() <= kPerSecond.size() || s.substr(s.size() - kPerSecond.size()) != kPerSecond) return std::nullopt;
  s.remove_suffix(kPerSecond.size());
  // "16 MB /s" would read as a size with a trailing space: refused by parse_size, as it should be.
  return parse_size(s);
}

std::string format_duration(Millis d) {
  long long ms = d.count();
  char buf[64];
  if (ms < 0) return "-" + format_duration(Millis(-ms));
  if (ms < 1000) std::snprintf(buf, sizeof buf, "%lldms", ms);
  else if (ms < 60'000) std::snprintf(buf, sizeof buf, "%.1fs", ms / 1000.0);
  else if (ms < 3'600'000) std::snprintf(buf, sizeof buf, "%lldm %llds", ms / 60'000, (ms / 1000) % 60);
  else if (ms < 86'400'000) std::snprintf(buf, sizeof buf, "%lldh %lldm", ms / 3'600'000, (ms / 60'000) % 60);
  else std::snprintf(buf, sizeof buf, "%lldd %lldh", ms / 86'400'000, (ms / 3'600'000) % 24);
  return buf;
}

std::string format_size(std::uint64_t b) {
  char buf[64];
  const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  double v = static_cast<double>(b);
  int i = 0;
  while (v >= 1024 && i < 4) { v /= 1024; ++i; }
  if (i == 0) std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(b));
  else std::snprintf(buf, sizeof buf, "%.1f %s", v, units[i]);
  return buf;
}

std::string format_rate(std::uint64_t bytes_per_second) { return format_size(bytes_per_second) + "/s"; }

}  // namespace sk
