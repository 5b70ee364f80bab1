#pragma once
// When a job falls due: a cron expression in a time zone, a fixed period, or "after job X + delay".
//
// DST rules for cron (the zone's wall clock is what the expression reads):
//   - a wall time in a skipped hour (spring forward) does not exist: that fire time is skipped;
//   - a wall time in a repeated hour (fall back) fires once, at its first occurrence.
// `every` is a grid anchor + k * period (k any integer), so runs never drift with how long a job
// takes or when it last finished.
//
// Thread-safety: Schedule is an immutable value; const methods may be called from any thread.
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/schedule_config.hpp"
#include "schedules/cron.hpp"
#include "schedules/timezone.hpp"

namespace sk::sched {

using time_point = std::chrono::system_clock::time_point;

class Schedule {
 public:
  enum class Kind { cron, every, after };

  // REQUIRES: zone is not null (std::invalid_argument otherwise).
  static Schedule cron(CronExpr expr, std::shared_ptr<const TimeZone> zone);
  // Parses both; throws CronError or TimeZoneError.
  static Schedule cron(std::string_view expr, std::string_view zone = "UTC");
  // REQUIRES: period > 0 (std::invalid_argument otherwise). The default anchor, the Unix epoch,
  // puts "1h" on the hour and "1m" on the minute, and keeps the grid across restarts.
  static Schedule every(std::chrono::milliseconds period, time_point anchor = time_point{});
  // REQUIRES: job is not empty and delay >= 0 (std::invalid_argument otherwise).
  static Schedule after(std::string job, std::chrono::milliseconds delay);

  Kind kind() const { return kind_; }
  const CronExpr& cron_expr() const { return cron_; }          // kind cron
  const TimeZone& zone() const { return *zone_; }              // kind cron (UTC otherwise)
  std::chrono::milliseconds period() const { return period_; }  // kind every
  time_point anchor() const { return anchor_; }                 // kind every
  const std::string& after_job() const { return after_; }      // kind after
  std::chrono::milliseconds delay() const { return delay_; }   // kind after

  // The first fire time strictly after t; nullopt for kind after (it fires on events, not time).
  std::optional<time_point> next_fire(time_point t) const;
  // The last fire time at or before t; nullopt for kind after.
  std::optional<time_point> prev_fire(time_point t) const;

  // "cron '0 2 * * *' (Europe/Berlin)", "every 1h", "after backup + 2h".
  std::string describe() const;

 private:
  Kind kind_ = Kind::every;
  CronExpr cron_;
  std::shared_ptr<const TimeZone> zone_;
  std::chrono::milliseconds period_{0};
  time_point anchor_{};
  std::string after_;
  std::chrono::milliseconds delay_{0};
};

// The next n fire times strictly after t, in order (fewer when the schedule has no more; none for
// kind after). Used by `sitekeeper schedule`.
std::vector<time_point> next_fires(const Schedule& s, time_point t, std::size_t n);

// Builds the schedule of one [[schedule]] table. Throws ConfigError "FILE:LINE:COLUMN: KEY: what"
// where, for a cron problem, COLUMN points at the offending character inside the expression.
// ASSUMES: cron_pos / timezone_pos hold the position of the value's opening quote (what toml++
// reports for a string); a zero line falls back to the table's position.
Schedule schedule_from_config(const ScheduleConfig& sc, const std::filesystem::path& file,
                              const std::filesystem::path& zoneinfo_root = "/usr/share/zoneinfo");

// Checks every [[schedule]] table of a file: each builds (schedule_from_config), and no job has a
// second schedule. Throws one ConfigError listing every problem, one "FILE:LINE:COLUMN: KEY: ..." line
// each.
void check_schedules(const std::vector<ScheduleConfig>& schedules, const std::filesystem::path& file,
                     const std::filesystem::path& zoneinfo_root = "/usr/share/zoneinfo");

}  // namespace sk::sched
