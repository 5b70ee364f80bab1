#include "schedules/schedule.hpp"

#include <map>
#include <stdexcept>

#include "core/units.hpp"

namespace sk::sched {

namespace chr = std::chrono;

namespace {

// Guards the wall-time searches below against a pathological zone; real ones need a few dozen steps.
constexpr int kMaxCandidates = 100000;

sys_seconds as_sys(local_seconds w) { return sys_seconds{w.time_since_epoch()}; }
local_seconds as_local(sys_seconds s) { return local_seconds{s.time_since_epoch()}; }

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

}  // namespace

Schedule Schedule::cron(CronExpr expr, std::shared_ptr<const TimeZone> zone) {
  if (!zone) throw std::invalid_argument("cron schedule needs a time zone");
  Schedule s;
  s.kind_ = Kind::cron;
  s.cron_ = std::move(expr);
  s.zone_ = std::move(zone);
  return s;
}

Schedule Schedule::cron(std::string_view expr, std::string_view zone) {
  return cron(parse_cron(expr), TimeZone::load(zone));
}

Schedule Schedule::every(chr::milliseconds period, time_point anchor) {
  if (period <= chr::milliseconds::zero()) throw std::invalid_argument("every period must be positive");
  Schedule s;
  s.kind_ = Kind::every;
  s.period_ = period;
  s.anchor_ = anchor;
  s.zone_ = TimeZone::utc();
  return s;
}

Schedule Schedule::after(std::string job, chr::milliseconds delay) {
  if (job.empty()) throw std::invalid_argument("after needs a job name");
  if (delay < chr::milliseconds::zero()) throw std::invalid_argument("after delay must not be negative");
  Schedule s;
  s.kind_ = Kind::after;
  s.after_ = std::move(job);
  s.delay_ = delay;
  s.zone_ = TimeZone::utc();
  return s;
}

std::optional<time_point> Schedule::next_fire(time_point t) const {
  if (kind_ == Kind::after) return std::nullopt;
  if (kind_ == Kind::every) {
    auto p = chr::duration_cast<time_point::duration>(period_);
    auto k = floor_div((t - anchor_).count(), p.count());
    return anchor_ + (k + 1) * p;
  }
  // Fire times are whole seconds, so "strictly after t" is "strictly after floor(t)".
  const sys_seconds a = chr::floor<chr::seconds>(t);
  // A fire r > a has wall time r + offset >= a + 1s + min_offset; candidates are walked in wall
  // order, and because offsets differ, a later wall time can resolve to an earlier instant (fall
  // back). The walk stops once no later wall time can beat the best instant found.
  std::optional<sys_seconds> best;
  auto w = cron_.next_match(as_local(a + chr::seconds(1) + zone_->min_offset()));
  for (int n = 0; w && n < kMaxCandidates; ++n) {
    if (best && as_sys(*w) - zone_->max_offset() >= *best) break;
    if (auto r = zone_->to_utc(*w); r && *r > a && (!best || *r < *best)) best = r;
    w = cron_.next_match(*w + chr::minutes(1));
  }
  if (!best) return std::nullopt;
  return time_point{*best};
}

std::optional<time_point> Schedule::prev_fire(time_point t) const {
  if (kind_ == Kind::after) return std::nullopt;
  if (kind_ == Kind::every) {
    auto p = chr::duration_cast<time_point::duration>(period_);
    return anchor_ + floor_div((t - anchor_).count(), p.count()) * p;
  }
  const sys_seconds a = chr::floor<chr::seconds>(t);
  std::optional<sys_seconds> best;
  auto w = cron_.prev_match(as_local(a + zone_->max_offset()));
  for (int n = 0; w && n < kMaxCandidates; ++n) {
    if (best && as_sys(*w) - zone_->min_offset() <= *best) break;
    if (auto r = zone_->to_utc(*w); r && *r <= a && (!best || *r > *best)) best = r;
    w = cron_.prev_match(*w - chr::minutes(1));
  }
  if (!best) return std::nullopt;
  return time_point{*best};
}

std::string Schedule::describe() const {
  switch (kind_) {
    case Kind::cron:
      return "cron '" + cron_.text + "' (" + zone_->name() + ")";
    case Kind::every:
      return "every " + format_duration(period_);
    case Kind::after:
      return "after " + after_ + " + " + format_duration(delay_);
  }
  return {};
}

std::vector<time_point> next_fires(const Schedule& s, time_point t, std::size_t n) {
  std::vector<time_point> out;
  for (std::optional<time_point> next = s.next_fire(t); next && out.size() < n; next = s.next_fire(*next))
    out.push_back(*next);
  return out;
}

Schedule schedule_from_config(const ScheduleConfig& sc, const std::filesystem::path& file,
                              const std::filesystem::path& zoneinfo_root) {
  auto at = [&](SourcePos pos, int column_in_value, const std::string& key) {
    SourcePos p = pos.line > 0 ? pos : sc.pos;
    int col = pos.line > 0 ? p.column + column_in_value : p.column;
    return file.string() + ":" + std::to_string(p.line) + ":" + std::to_string(col) + ": " + key + ": ";
  };
  int kinds = !sc.cron.empty() + sc.every.has_value() + !sc.after.empty();
  if (kinds != 1)
    throw ConfigError(at(sc.pos, 0, "schedule") + "expected exactly one of cron, every or after");
  // Loaded whatever the trigger: every and after do not use the zone, but a wrong one is still a
  // mistake in the file, and it would surface only on the day the trigger becomes a cron.
  std::shared_ptr<const TimeZone> zone;
  try {
    zone = TimeZone::load(sc.timezone, zoneinfo_root);
  } catch (const TimeZoneError& e) {
    throw ConfigError(at(sc.timezone_pos, 0, "timezone") + e.what(), e.hint());
  }
  if (!sc.cron.empty()) {
    try {
      return Schedule::cron(parse_cron(sc.cron), zone);
    } catch (const CronError& e) {
      // The value's column is its opening quote; expression column 1 is the next character.
      throw ConfigError(at(sc.cron_pos, e.column(), "cron") + e.what(),
                        "fields are: minute hour day-of-month month day-of-week");
    }
  }
  if (sc.every) {
    if (*sc.every <= Millis::zero()) throw ConfigError(at(sc.pos, 0, "every") + "expected a positive duration");
    return Schedule::every(*sc.every);
  }
  if (sc.delay < Millis::zero()) throw ConfigError(at(sc.pos, 0, "delay") + "expected a duration of zero or more");
  return Schedule::after(sc.after, sc.delay);
}

void check_schedules(const std::vector<ScheduleConfig>& schedules, const std::filesystem::path& file,
                     const std::filesystem::path& zoneinfo_root) {
  std::string errors;
  auto add = [&](const std::string& e) { errors += (errors.empty() ? "" : "\n") + e; };
  std::map<std::string, SourcePos> seen;
  for (const auto& sc : schedules) {
    if (auto it = seen.find(sc.job); it != seen.end()) {
      add(file.string() + ":" + std::to_string(sc.pos.line) + ":" + std::to_string(sc.pos.column) +
          ": schedule.job: expected one schedule per job, \"" + sc.job + "\" is already scheduled at line " +
          std::to_string(it->second.line));
      continue;
    }
    seen[sc.job] = sc.pos;
    try {
      schedule_from_config(sc, file, zoneinfo_root);
    } catch (const Error& e) {
      add(e.what());
    }
  }
  if (!errors.empty()) throw ConfigError(errors);
}

}  // namespace sk::sched
