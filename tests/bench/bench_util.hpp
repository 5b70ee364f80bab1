// Small helpers every benchmark in tests/bench uses: quoting for the configs and libpq strings they
// write, percentiles of the samples they print, and where the source tree is.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace sk::bench {

// A TOML basic string: "..." with " and \ escaped.
inline std::string toml_string(const std::string& v) {
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// A libpq keyword/value value: '...' with ' and \ escaped.
inline std::string conninfo_value(const std::string& v) {
  std::string s = "'";
  for (char c : v) {
    if (c == '\'' || c == '\\') s += '\\';
    s += c;
  }
  return s + "'";
}

// Nearest-rank percentile (p in 0..100); 0 for an empty sample.
inline double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  rank = std::clamp<size_t>(rank, 1, v.size());
  return v[rank - 1];
}

// The last `n` characters, marked when cut.
inline std::string tail(const std::string& s, size_t n = 3000) {
  return s.size() <= n ? s : "..." + s.substr(s.size() - n);
}

// $SK_SOURCE_DIR, else the tree this file sits in (CMake compiles benches by their absolute path).
inline std::filesystem::path source_dir() {
  if (const char* s = std::getenv("SK_SOURCE_DIR"); s && *s) return s;
  return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path();
}

}  // namespace sk::bench
