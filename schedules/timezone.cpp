#include "schedules/timezone.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iterator>

namespace sk::sched {

namespace chr = std::chrono;

namespace {

// ---- POSIX TZ string ---------------------------------------------------------------------------

struct TzReader {
  std::string_view s;
  std::size_t i = 0;
  bool done() const { return i >= s.size(); }
  char peek() const { return done() ? '\0' : s[i]; }
  bool eat(char c) {
    if (peek() != c) return false;
    ++i;
    return true;
  }
  bool number(int& out, int max_digits) {
    std::size_t start = i;
    out = 0;
    while (!done() && s[i] >= '0' && s[i] <= '9' && i - start < static_cast<std::size_t>(max_digits))
      out = out * 10 + (s[i++] - '0');
    return i > start;
  }
};

[[noreturn]] void bad_posix(std::string_view text) {
  throw TimeZoneError("invalid posix tz string '" + std::string(text) + "'");
}

bool read_abbrev(TzReader& r, std::string& out) {
  if (r.eat('<')) {
    std::size_t start = r.i;
    while (!r.done() && r.peek() != '>') {
      char c = r.peek();
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-')) return false;
      ++r.i;
    }
    out = std::string(r.s.substr(start, r.i - start));
    return r.eat('>') && out.size() >= 3;
  }
  std::size_t start = r.i;
  while (!r.done() && std::isalpha(static_cast<unsigned char>(r.peek()))) ++r.i;
  out = std::string(r.s.substr(start, r.i - start));
  return out.size() >= 3;
}

// [+-]hh[:mm[:ss]]; max_hours is 24 for offsets and 167 for rule times (RFC 8536 extension).
bool read_hms(TzReader& r, int max_hours, chr::seconds& out) {
  int sign = 1;
  if (r.eat('-')) sign = -1;
  else r.eat('+');
  int h = 0, m = 0, sec = 0;
  if (!r.number(h, 3) || h > max_hours) return false;
  if (r.eat(':')) {
    if (!r.number(m, 2) || m > 59) return false;
    if (r.eat(':') && (!r.number(sec, 2) || sec > 59)) return false;
  }
  out = chr::seconds(sign * (h * 3600 + m * 60 + sec));
  return true;
}

bool read_rule(TzReader& r, PosixTz::Rule& rule) {
  if (r.eat('J')) {
    rule.kind = PosixTz::Rule::julian_no_leap;
    if (!r.number(rule.day, 3) || rule.day < 1 || rule.day > 365) return false;
  } else if (r.eat('M')) {
    rule.kind = PosixTz::Rule::month_week_day;
    if (!r.number(rule.month, 2) || rule.month < 1 || rule.month > 12 || !r.eat('.')) return false;
    if (!r.number(rule.week, 1) || rule.week < 1 || rule.week > 5 || !r.eat('.')) return false;
    if (!r.number(rule.day, 1) || rule.day > 6) return false;
  } else {
    rule.kind = PosixTz::Rule::julian_zero;
    if (!r.number(rule.day, 3) || rule.day > 365) return false;
  }
  rule.time = chr::hours(2);
  if (r.eat('/') && !read_hms(r, 167, rule.time)) return false;
  return true;
}

bool is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

// Local midnight (as a count of days since the epoch) of the day a rule names in year y.
chr::sys_days rule_day(const PosixTz::Rule& rule, int y) {
  chr::sys_days jan1{chr::year{y} / chr::January / 1};
  switch (rule.kind) {
    case PosixTz::Rule::julian_no_leap:
      // Jn never counts 29 February, so days from March on shift by one in leap years.
      return jan1 + chr::days(rule.day - 1 + (is_leap(y) && rule.day >= 60 ? 1 : 0));
    case PosixTz::Rule::julian_zero:
      return jan1 + chr::days(rule.day);
    case PosixTz::Rule::month_week_day:
      break;
  }
  chr::year_month ym{chr::year{y}, chr::month{static_cast<unsigned>(rule.month)}};
  chr::sys_days first{ym / 1};
  unsigned first_wd = chr::weekday{first}.c_encoding();
  int day = 1 + (rule.day - static_cast<int>(first_wd) + 7) % 7 + (rule.week - 1) * 7;
  int last = static_cast<int>(static_cast<unsigned>(chr::year_month_day_last{ym / chr::last}.day()));
  while (day > last) day -= 7;
  return first + chr::days(day - 1);
}

int civil_year(sys_seconds t) {
  return static_cast<int>(chr::year_month_day{chr::floor<chr::days>(t)}.year());
}

// ---- TZif --------------------------------------------------------------------------------------

struct ByteReader {
  std::string_view b;
  std::size_t i = 0;
  bool need(std::size_t n) const { return n <= b.size() && i <= b.size() - n; }
  std::uint32_t u32() {
    std::uint32_t v = 0;
    for (int k = 0; k < 4; ++k) v = (v << 8) | static_cast<unsigned char>(b[i++]);
    return v;
  }
  std::int64_t i64() {
    std::uint64_t v = 0;
    for (int k = 0; k < 8; ++k) v = (v << 8) | static_cast<unsigned char>(b[i++]);
    return static_cast<std::int64_t>(v);
  }
};

struct Header {
  char version;
  std::uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

bool read_header(ByteReader& r, Header& h) {
  if (!r.need(44) || r.b.substr(r.i, 4) != "TZif") return false;
  h.version = r.b[r.i + 4];
  r.i += 20;
  h.isutcnt = r.u32();
  h.isstdcnt = r.u32();
  h.leapcnt = r.u32();
  h.timecnt = r.u32();
  h.typecnt = r.u32();
  h.charcnt = r.u32();
  // Bounds from RFC 8536 keep the size arithmetic below far from overflow.
  return h.typecnt >= 1 && h.typecnt <= 256 && h.charcnt <= 65536 && h.timecnt <= 1'000'000 &&
         h.leapcnt <= 100'000 && (h.isutcnt == 0 || h.isutcnt == h.typecnt) &&
         (h.isstdcnt == 0 || h.isstdcnt == h.typecnt);
}

std::size_t block_size(const Header& h, std::size_t time_size) {
  return h.timecnt * time_size + h.timecnt + h.typecnt * 6 + h.charcnt +
         h.leapcnt * (time_size + 4) + h.isstdcnt + h.isutcnt;
}

}  // namespace

PosixTz PosixTz::parse(std::string_view text) {
  PosixTz tz;
  TzReader r{text};
  chr::seconds off;
  if (!read_abbrev(r, tz.std_abbrev) || !read_hms(r, 24, off)) bad_posix(text);
  tz.std_offset = -off;  // POSIX counts hours west of Greenwich
  if (r.done()) return tz;
  std::string dst;
  if (!read_abbrev(r, dst)) bad_posix(text);
  tz.dst_abbrev = dst;
  tz.dst_offset = tz.std_offset + chr::hours(1);
  if (r.peek() != ',' && !r.done()) {
    if (!read_hms(r, 24, off)) bad_posix(text);
    tz.dst_offset = -off;
  }
  if (!r.eat(',') || !read_rule(r, tz.start) || !r.eat(',') || !read_rule(r, tz.end) || !r.done())
    bad_posix(text);
  return tz;
}

bool PosixTz::is_dst_at(sys_seconds t) const {
  if (!dst_abbrev) return false;
  int y = civil_year(t + std_offset);
  // A rule's time is local time as it reads just before the change: standard time before the
  // start, daylight time before the end.
  sys_seconds s = sys_seconds{rule_day(start, y)} + start.time - std_offset;
  sys_seconds e = sys_seconds{rule_day(end, y)} + end.time - dst_offset;
  if (s < e) return s <= t && t < e;
  return !(e <= t && t < s);  // southern hemisphere: DST spans the new year
}

chr::seconds PosixTz::offset_at(sys_seconds t) const { return is_dst_at(t) ? dst_offset : std_offset; }

std::shared_ptr<const TimeZone> TimeZone::utc() {
  static const std::shared_ptr<const TimeZone> zone = [] {
    std::shared_ptr<TimeZone> z(new TimeZone);
    z->name_ = "UTC";
    z->types_.push_back({0, false});
    z->all_offsets_ = {0};
    return z;
  }();
  return zone;
}

std::shared_ptr<const TimeZone> TimeZone::from_posix(std::string name, std::string_view rule) {
  std::shared_ptr<TimeZone> z(new TimeZone);
  z->name_ = std::move(name);
  z->footer_ = PosixTz::parse(rule);
  z->types_.push_back({static_cast<std::int32_t>(z->footer_->std_offset.count()), false});
  z->all_offsets_ = {z->footer_->std_offset.count()};
  if (z->footer_->dst_abbrev) z->all_offsets_.push_back(z->footer_->dst_offset.count());
  std::sort(z->all_offsets_.begin(), z->all_offsets_.end());
  z->all_offsets_.erase(std::unique(z->all_offsets_.begin(), z->all_offsets_.end()), z->all_offsets_.end());
  return z;
}

std::shared_ptr<const TimeZone> TimeZone::from_tzif(std::string name, std::string_view bytes) {
  auto corrupt = [&]() -> TimeZoneError {
    return TimeZoneError("corrupt zoneinfo file for time zone '" + name + "'");
  };
  ByteReader r{bytes};
  Header h;
  if (!read_header(r, h)) throw corrupt();
  std::size_t time_size = 4;
  if (h.version >= '2') {
    // Skip the 32-bit block: the 64-bit one that follows is complete and authoritative.
    if (!r.need(block_size(h, 4))) throw corrupt();
    r.i += block_size(h, 4);
    if (!read_header(r, h)) throw corrupt();
    time_size = 8;
  }
  if (!r.need(block_size(h, time_size))) throw corrupt();

  std::shared_ptr<TimeZone> z(new TimeZone);
  z->name_ = name;
  z->transitions_.resize(h.timecnt);
  for (auto& t : z->transitions_) t.at = time_size == 8 ? r.i64() : static_cast<std::int32_t>(r.u32());
  for (auto& t : z->transitions_) {
    t.type = static_cast<unsigned char>(r.b[r.i++]);
    if (t.type >= h.typecnt) throw corrupt();
  }
  for (std::size_t k = 1; k < z->transitions_.size(); ++k)
    if (z->transitions_[k].at <= z->transitions_[k - 1].at) throw corrupt();
  for (std::uint32_t k = 0; k < h.typecnt; ++k) {
    auto off = static_cast<std::int32_t>(r.u32());
    bool dst = r.b[r.i++] != 0;
    r.i++;  // abbreviation index: not needed for offsets
    if (off <= -25 * 3600 || off >= 26 * 3600) throw corrupt();
    z->types_.push_back({off, dst});
  }
  r.i += h.charcnt + h.leapcnt * (time_size + 4) + h.isstdcnt + h.isutcnt;

  if (time_size == 8) {
    // Footer: "\n" POSIX-TZ "\n". An empty string means "no rule": the last type stays.
    if (!r.need(1) || r.b[r.i] != '\n') throw corrupt();
    std::size_t end = bytes.find('\n', r.i + 1);
    if (end == std::string_view::npos) throw corrupt();
    std::string_view tz = bytes.substr(r.i + 1, end - r.i - 1);
    if (!tz.empty()) {
      try {
        z->footer_ = PosixTz::parse(tz);
      } catch (const TimeZoneError&) {
        throw corrupt();
      }
    }
  }

  for (const auto& t : z->types_) z->all_offsets_.push_back(t.offset);
  if (z->footer_) {
    z->all_offsets_.push_back(z->footer_->std_offset.count());
    if (z->footer_->dst_abbrev) z->all_offsets_.push_back(z->footer_->dst_offset.count());
  }
  std::sort(z->all_offsets_.begin(), z->all_offsets_.end());
  z->all_offsets_.erase(std::unique(z->all_offsets_.begin(), z->all_offsets_.end()), z->all_offsets_.end());
  return z;
}

std::shared_ptr<const TimeZone> TimeZone::load(std::string_view name, const std::filesystem::path& root,
                                               const std::filesystem::path& localtime_file) {
  namespace fs = std::filesystem;
  if (name == "UTC") return utc();
  fs::path file;
  if (name == "local") {
    std::error_code ec;
    if (!fs::exists(localtime_file, ec)) {
      std::shared_ptr<TimeZone> z(new TimeZone(*utc()));
      z->name_ = "local";
      return z;
    }
    file = localtime_file;
  } else {
    bool ok = !name.empty() && name.size() <= 255 && name.front() != '/' &&
              name.find("..") == std::string_view::npos;
    for (char c : name)
      ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '_' || c == '-' ||
                  c == '+' || c == '.');
    if (!ok) throw TimeZoneError("invalid time zone name '" + std::string(name) + "'",
                                 "use \"UTC\", \"local\" or an IANA name such as \"Europe/Berlin\"");
    file = root / fs::path(std::string(name));
  }
  std::error_code ec;
  std::string unknown = "unknown time zone '" + std::string(name) + "'";
  if (!fs::is_regular_file(file, ec))
    throw TimeZoneError(unknown, "names are IANA zones found under " + root.string());
  std::ifstream in(file, std::ios::binary);
  std::string bytes;
  // Real TZif files are a few kB; the cap keeps a wrong path from reading something huge.
  constexpr std::size_t kMax = 1 << 20;
  bytes.resize(kMax + 1);
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  bytes.resize(static_cast<std::size_t>(in.gcount()));
  if (bytes.size() > kMax || bytes.compare(0, 4, "TZif") != 0) throw TimeZoneError(unknown);
  return from_tzif(std::string(name), bytes);
}

chr::seconds TimeZone::offset_at(sys_seconds t) const {
  std::int64_t s = t.time_since_epoch().count();
  if (transitions_.empty() || s < transitions_.front().at) {
    if (transitions_.empty() && footer_) return footer_->offset_at(t);
    return chr::seconds(types_.front().offset);
  }
  auto it = std::upper_bound(transitions_.begin(), transitions_.end(), s,
                             [](std::int64_t v, const Transition& tr) { return v < tr.at; });
  --it;
  if (std::next(it) == transitions_.end() && footer_) return footer_->offset_at(t);
  return chr::seconds(types_[it->type].offset);
}

LocalResolution TimeZone::resolve(local_seconds local) const {
  // Any instant with this wall time has one of the zone's offsets, so trying each is complete.
  std::vector<sys_seconds> hits;
  for (std::int64_t o : all_offsets_) {
    sys_seconds t{local.time_since_epoch() - chr::seconds(o)};
    if (offset_at(t).count() == o) hits.push_back(t);
  }
  std::sort(hits.begin(), hits.end());
  LocalResolution res;
  if (hits.empty()) {
    res.kind = LocalResolution::skipped;
  } else {
    res.first = hits.front();
    res.second = hits.back();
    res.kind = hits.size() == 1 ? LocalResolution::unique : LocalResolution::repeated;
  }
  return res;
}

std::optional<sys_seconds> TimeZone::to_utc(local_seconds local) const {
  LocalResolution r = resolve(local);
  if (r.kind == LocalResolution::skipped) return std::nullopt;
  return r.first;
}

}  // namespace sk::sched
