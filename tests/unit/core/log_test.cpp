#include "core/log.hpp"

#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

namespace sk {
namespace {

// What one module logger writes, with its sink swapped for a string for the test's lifetime.
class Captured {
 public:
  explicit Captured(const std::string& module) : logger_(log::get(module)), saved_(logger_->sinks()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    sink->set_pattern("%v");
    logger_->sinks() = {sink};
  }
  ~Captured() { logger_->sinks() = saved_; }
  spdlog::logger& operator*() { return *logger_; }
  std::string text() const { return out_.str(); }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> logger_;
  std::vector<spdlog::sink_ptr> saved_;
};

TEST(CoreLog, EscapesControlCharactersOfEveryValue) {
  Captured log("log-test");
  (*log).info("database {} restored", "CM\nCEN");
  (*log).warn("{}", std::string("tab\tcr\rdel\x7f" "esc\x1b[31mred nul") + '\0' + "end");
  EXPECT_EQ(log.text(),
            "database CM\\nCEN restored\n"
            "tab\\x09cr\\x0ddel\\x7fesc\\x1b[31mred nul\\x00end\n");
}

TEST(CoreLog, AValueCannotForgeAnEntry) {
  Captured log("log-test");
  (*log).error("refresh of {} failed", "x\n2026-01-01T00:00:00.000 info [app] refresh ok");
  std::string t = log.text();
  EXPECT_EQ(std::count(t.begin(), t.end(), '\n'), 1) << t;
  EXPECT_EQ(t.back(), '\n');
}

TEST(CoreLog, OneTrailingNewlineIsTheEndOfTheEntry) {
  Captured log("log-test");
  (*log).info("pg_ctl said: {}", "server started\n");
  (*log).info("two\n\n");
  EXPECT_EQ(log.text(), "pg_ctl said: server started\ntwo\\n\n");
}

TEST(CoreLog, PlainTextAndUtf8AreUntouched) {
  Captured log("log-test");
  (*log).info("Site DB \"Main\" é ✓ \\n stays as written");
  EXPECT_EQ(log.text(), "Site DB \"Main\" é ✓ \\n stays as written\n");
}

TEST(CoreLog, EveryModuleLoggerOnStderrIsOneLinePerEntry) {
  for (const char* module : {"replicator", "sql", "schedules", "standby", "app", "state"}) {
    ::testing::internal::CaptureStderr();
    log::get(module)->warn("name {}", "a\nb\x1b");
    std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << module << ": " << err;
    EXPECT_NE(err.find("[" + std::string(module) + "] name a\\nb\\x1b\n"), std::string::npos) << err;
  }
}

TEST(CoreLog, ClonesEscapeToo) {
  auto clone = log::get("log-test")->clone("log-clone");
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  sink->set_pattern("%v");
  clone->sinks() = {sink};
  clone->info("a\nb");
  EXPECT_EQ(out.str(), "a\\nb\n");
}

TEST(CoreLog, EscapeControl) {
  EXPECT_EQ(log::escape_control(""), "");
  EXPECT_EQ(log::escape_control("\n\x01\x1f\x7f \x80"), "\\n\\x01\\x1f\\x7f \x80");
}

}  // namespace
}  // namespace sk
