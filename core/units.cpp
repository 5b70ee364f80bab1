#include "core/units.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>

namespace sk {

namespace {
bool read_number(std::string_view& s, double& out) {
  size_t i = 0;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
  if (i == 0) return false;
  try {
    out = std::stod(std::string(s.substr(0, i)));
  } catch (...) {
    return false;
  }
  s.remove_prefix(i);
  return true;
}
}  // namespace

std::optional<Millis> parse_duration(std::string_view s) {
  if (s.empty()) return std::nullopt;
  double total_ms = 0;
  while (!s.empty()) {
    double n;
    if (!read_number(s, n)) return std::nullopt;
    size_t u = 0;
    while (u < s.size() && std::isalpha(static_cast<unsigned char>(s[u]))) ++u;
    std::string_view unit = s.substr(0, u);
    s.remove_prefix(u);
    double scale;
    if (unit == "ms") scale = 1;
    else if (unit == "s") scale = 1000;
    else if (unit == "m" || unit == "min") scale = 60e3;
    else if (unit == "h") scale = 3600e3;
    else if (unit == "d") scale = 86400e3;
    else if (unit == "w") scale = 7 * 86400e3;
    else return std::nullopt;
    total_ms += n * scale;
  }
  if (total_ms > 1e15) return std::nullopt;
  return Millis(static_cast<long long>(std::llround(total_ms)));
}

std::optional<std::uint64_t> parse_size(std::string_view s) {
  double n;
  if (!read_number(s, n)) return std::nullopt;
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  double scale;
  if (s.empty() || s == "B") scale = 1;
  else if (s == "kB" || s == "KB" || s == "K") scale = 1024.0;
  else if (s == "MB" || s == "M") scale = 1024.0 * 1024;
  else if (s == "GB" || s == "G") scale = 1024.0 * 1024 * 1024;
  else if (s == "TB" || s == "T") scale = 1024.0 * 1024 * 1024 * 1024;
  else return std::nullopt;
  double v = n * scale;
  if (v > 9e18) return std::nullopt;
  return static_cast<std::uint64_t>(std::llround(v));
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

}  // namespace sk
