#pragma once
// Small file helpers for tests.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/clock.hpp"

namespace sk::test {

namespace fs = std::filesystem;

inline void write(const fs::path& p, const std::string& data) {
  fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << data;
  if (!out) throw std::runtime_error("cannot write " + p.string());
}

inline std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Adds `data` at the end of `p` (a file changing while it is copied).
inline void append(const fs::path& p, const std::string& data) {
  std::ofstream out(p, std::ios::binary | std::ios::app);
  out << data;
  if (!out) throw std::runtime_error("cannot append to " + p.string());
}

// Every path below `dir`, sorted (none when it is missing): a folder's whole content, to prove that a
// refused run left it as it was.
inline std::vector<std::string> listing(const fs::path& dir) {
  std::vector<std::string> out;
  if (!fs::exists(dir)) return out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

// "2026-11-22T02:00:00Z" as a time point; throws on a malformed time.
inline Clock::time_point at(const std::string& iso) {
  Clock::time_point t;
  if (!parse_iso_utc(iso, t)) throw std::runtime_error("bad time " + iso);
  return t;
}

// The running test's name, fit for a folder name: a parameterized test's "Name/param" holds a slash,
// which would make a nested folder that the test's clean-up leaves behind.
inline std::string test_name() {
  std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  std::replace(name.begin(), name.end(), '/', '_');
  return name;
}

// A folder in the temporary directory for the running test: "<prefix> <pid> <test name>", so parallel
// test processes and parameterized cases never share one. Only the path: the caller creates it.
inline fs::path test_dir_path(const std::string& prefix) {
  return fs::temp_directory_path() / (prefix + " " + std::to_string(::getpid()) + " " + test_name());
}

// The repository's tests/ folder (SK_SOURCE_DIR is set by CMake for every test).
inline fs::path tests_dir() { return fs::path(SK_SOURCE_DIR) / "tests"; }

}  // namespace sk::test
