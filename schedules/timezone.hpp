#pragma once
// Time zones for schedules: "UTC", "local" (/etc/localtime) or an IANA name read from the system
// zoneinfo. libstdc++ 12 has no std::chrono::tzdb, so TZif files (RFC 8536, v1..v4) are parsed here,
// including the footer POSIX TZ string that governs instants after the last stored transition
// (Debian may ship "slim" files whose tables stop early).
//
// Leap-second records ("right/" zones) are ignored: everything here is POSIX time.
//
// Thread-safety: a TimeZone is immutable after construction; share it freely between threads.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace sk::sched {

using sys_seconds = std::chrono::sys_seconds;
using local_seconds = std::chrono::local_seconds;

// A bad name, an unknown zone or an unreadable zoneinfo file. It is a configuration error (exit 2).
class TimeZoneError : public ConfigError {
 public:
  using ConfigError::ConfigError;
};

// A POSIX TZ rule such as "CET-1CEST,M3.5.0,M10.5.0/3" (the TZif footer). Offsets here are the
// ordinary "local = UTC + offset" sign, not POSIX's inverted one.
struct PosixTz {
  // One end of a DST period: a day rule plus a local time of day (may be negative or past 24h).
  struct Rule {
    enum Kind { julian_no_leap, julian_zero, month_week_day } kind = month_week_day;
    int day = 0;    // Jn: 1..365; n: 0..365; Mm.w.d: d (0 = Sunday)
    int month = 0;  // Mm.w.d only
    int week = 0;   // Mm.w.d only; 5 means "last"
    std::chrono::seconds time{7200};
  };
  std::string std_abbrev;
  std::chrono::seconds std_offset{0};
  std::optional<std::string> dst_abbrev;  // set when the zone has DST
  std::chrono::seconds dst_offset{0};
  Rule start, end;  // meaningful only with dst_abbrev

  // Parses the string; throws TimeZoneError("invalid posix tz string '...'") when it is not one.
  // A DST name without rules is refused: TZif footers always spell the rules out.
  static PosixTz parse(std::string_view text);
  std::chrono::seconds offset_at(sys_seconds t) const;
  bool is_dst_at(sys_seconds t) const;
};

// The outcome of mapping a local wall time to UTC.
struct LocalResolution {
  enum Kind { unique, skipped, repeated } kind = unique;
  sys_seconds first{};   // unique and repeated: the earlier instant
  sys_seconds second{};  // repeated: the later instant
};

class TimeZone {
 public:
  // Loads "UTC", "local" or an IANA name below `zoneinfo_root`. "local" reads `localtime_file`
  // and falls back to UTC when that file does not exist, as the C library does.
  // Throws TimeZoneError: "invalid time zone name '...'" for names with "..", a leading "/" or
  // characters no IANA name uses; "unknown time zone '...'" when no such TZif file exists;
  // "corrupt zoneinfo file '...'" when the file is not valid TZif.
  static std::shared_ptr<const TimeZone> load(
      std::string_view name, const std::filesystem::path& zoneinfo_root = "/usr/share/zoneinfo",
      const std::filesystem::path& localtime_file = "/etc/localtime");
  static std::shared_ptr<const TimeZone> utc();
  // Builds a zone from TZif bytes (tests and load()). Throws TimeZoneError on malformed input.
  static std::shared_ptr<const TimeZone> from_tzif(std::string name, std::string_view bytes);
  // Builds a zone governed only by a POSIX TZ rule. Throws TimeZoneError on a malformed rule.
  static std::shared_ptr<const TimeZone> from_posix(std::string name, std::string_view rule);

  const std::string& name() const { return name_; }

  // UTC offset in effect at instant t (local = t + offset).
  std::chrono::seconds offset_at(sys_seconds t) const;
  local_seconds to_local(sys_seconds t) const { return local_seconds{(t + offset_at(t)).time_since_epoch()}; }
  // Every instant whose local wall time is `local`: none in a spring-forward gap, two in a
  // fall-back overlap.
  LocalResolution resolve(local_seconds local) const;
  // The schedule rule: a skipped local time does not exist (nullopt); a repeated one means its
  // first occurrence.
  std::optional<sys_seconds> to_utc(local_seconds local) const;
  // The smallest and largest offsets the zone ever uses: they bound how far a wall time can be
  // from UTC, which lets searches over wall times know where to start and stop.
  std::chrono::seconds min_offset() const { return std::chrono::seconds(all_offsets_.front()); }
  std::chrono::seconds max_offset() const { return std::chrono::seconds(all_offsets_.back()); }

  struct Transition {
    std::int64_t at;  // seconds since the epoch, UTC
    std::size_t type;
  };
  struct Type {
    std::int32_t offset;
    bool dst;
  };

 private:
  TimeZone() = default;
  std::string name_;
  std::vector<Transition> transitions_;  // sorted by time
  std::vector<Type> types_;
  std::optional<PosixTz> footer_;
  std::vector<std::int64_t> all_offsets_;  // sorted, unique; never empty
};

}  // namespace sk::sched
