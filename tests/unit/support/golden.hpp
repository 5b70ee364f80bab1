#pragma once
// Golden files: generated text compared byte for byte with tests/golden/<dialect>/<name>. A mismatch
// writes the actual text to $TMPDIR/sitekeeper-golden-actual/<dialect>/<name>, so it can be diffed
// against the expected file (and copied over it once reviewed).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "support/files.hpp"

namespace sk::test {

inline void expect_golden(const std::string& dialect, const std::string& name, const std::string& actual) {
  const fs::path file = tests_dir() / "golden" / dialect / name;
  ASSERT_TRUE(fs::exists(file)) << "missing golden file " << file;
  const std::string expected = slurp(file);
  if (expected != actual) {
    const fs::path out = fs::temp_directory_path() / "sitekeeper-golden-actual" / dialect;
    fs::create_directories(out);
    std::ofstream(out / name, std::ios::binary) << actual;
    ADD_FAILURE() << "golden " << dialect << "/" << name << " differs; actual text written to " << (out / name);
  }
}

// sqlcmd/psql-style script: each statement followed by a separator line, each section headed by a
// comment.
struct Script {
  std::string separator;
  std::string text;
  Script& section(const std::string& title) {
    text += "-- " + title + "\n";
    return *this;
  }
  Script& add(const std::string& stmt) {
    text += stmt + "\n" + separator;
    return *this;
  }
  Script& add(const std::vector<std::string>& stmts) {
    for (const auto& s : stmts) add(s);
    return *this;
  }
};

}  // namespace sk::test
