#pragma once
// One [[schedule]] table of the configuration, on its own so that schedules/ can read it without
// seeing servers, passwords or anything else of the site.
// Thread-safety: plain values.
#include <optional>
#include <string>

#include "core/units.hpp"

namespace sk {

// Where a value came from, so that later checks (schedule expressions) can point at it.
struct SourcePos {
  int line = 0;
  int column = 0;
};

struct ScheduleConfig {
  std::string job;           // backup | refresh | capture | verify | check
  std::string cron;          // exactly one of cron / every / after is set
  std::optional<Millis> every;
  std::string after;
  Millis delay{0};
  std::string timezone = "UTC";  // "UTC", "local" or an IANA zone name
  bool catch_up = true;
  int retries = 0;
  Millis retry_delay{std::chrono::minutes(5)};
  bool deep = false;   // verify only: a trial restore and the integrity checker (verify --deep)
  SourcePos pos;       // of the [[schedule]] table
  SourcePos cron_pos;  // of the cron value
  SourcePos timezone_pos;
};

}  // namespace sk
