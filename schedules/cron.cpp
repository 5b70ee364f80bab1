#include "schedules/cron.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <vector>

namespace sk::sched {

namespace chr = std::chrono;

namespace {

constexpr std::array<std::string_view, 12> kMonthNames = {"jan", "feb", "mar", "apr", "may", "jun",
                                                          "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<std::string_view, 7> kDayNames = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

struct FieldSpec {
  const char* name;
  int lo, hi;  // accepted values; day-of-week accepts 7 for Sunday
  int star_hi;  // what "*" covers (day-of-week: 0..6, so Sunday is not counted twice)
  const std::string_view* names;
  std::size_t name_count;
  int name_base;
};

constexpr FieldSpec kFields[5] = {
    {"minute", 0, 59, 59, nullptr, 0, 0},
    {"hour", 0, 23, 23, nullptr, 0, 0},
    {"day-of-month", 1, 31, 31, nullptr, 0, 0},
    {"month", 1, 12, 12, kMonthNames.data(), kMonthNames.size(), 1},
    {"day-of-week", 0, 7, 6, kDayNames.data(), kDayNames.size(), 0},
};
constexpr int kDow = 4;

bool is_sep(char c) { return c == ',' || c == '-' || c == '/'; }

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Parses one whitespace-free field into a bit mask. `col` is the 1-based column of f[0].
class FieldParser {
 public:
  FieldParser(std::string_view f, int col, const FieldSpec& spec, bool dow)
      : f_(f), col_(col), spec_(spec), dow_(dow) {}

  std::uint64_t parse() {
    std::uint64_t mask = 0;
    for (;;) {
      mask |= element();
      if (p_ == f_.size()) return mask;
      if (f_[p_] != ',') fail(p_, "unexpected '" + std::string(1, f_[p_]) + "' in " + spec_.name + " field");
      ++p_;
    }
  }

 private:
  [[noreturn]] void fail(std::size_t at, std::string msg) const {
    throw CronError(col_ + static_cast<int>(at), std::move(msg));
  }
  std::string field() const { return spec_.name; }

  std::uint64_t element() {
    std::size_t start = p_;
    if (p_ == f_.size() || f_[p_] == ',') fail(p_, "empty " + field() + " list element");
    int a, b, step = 1;
    if (f_[p_] == '*') {
      ++p_;
      a = spec_.lo;
      b = spec_.star_hi;
      if (p_ < f_.size() && f_[p_] == '-') fail(p_, field() + " range cannot start with '*'");
    } else {
      a = b = value("missing " + field() + " value");
      if (p_ < f_.size() && f_[p_] == '-') {
        ++p_;
        b = value("missing " + field() + " range end");
        // "FRI-SUN" and "5-0" read as running up to Sunday at the end of the week.
        if (dow_ && b == 0 && a > 0) b = 7;
        if (a > b)
          fail(start, field() + " range " + std::string(f_.substr(start, p_ - start)) + " is reversed");
      } else if (p_ < f_.size() && f_[p_] == '/') {
        b = spec_.hi;
      }
    }
    if (p_ < f_.size() && f_[p_] == '/') {
      ++p_;
      std::size_t s = p_;
      while (p_ < f_.size() && std::isalnum(static_cast<unsigned char>(f_[p_]))) ++p_;
      std::string_view tok = f_.substr(s, p_ - s);
      if (tok.empty()) fail(s, "missing " + field() + " step");
      if (!std::all_of(tok.begin(), tok.end(), [](char c) { return c >= '0' && c <= '9'; }))
        fail(s, "invalid " + field() + " step '" + std::string(tok) + "'");
      if (tok.size() > 4 || std::stoi(std::string(tok)) < 1 || std::stoi(std::string(tok)) > spec_.hi)
        fail(s, field() + " step " + std::string(tok) + " out of range 1-" + std::to_string(spec_.hi));
      step = std::stoi(std::string(tok));
    }
    std::uint64_t mask = 0;
    for (int v = a; v <= b; v += step) mask |= std::uint64_t{1} << (dow_ && v == 7 ? 0 : v);
    return mask;
  }

  // A number or a name; range-checked.
  int value(const std::string& missing) {
    std::size_t s = p_;
    while (p_ < f_.size() && !is_sep(f_[p_])) ++p_;
    std::string_view tok = f_.substr(s, p_ - s);
    if (tok.empty()) fail(s, missing);
    if (std::all_of(tok.begin(), tok.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      int v = tok.size() > 4 ? 99999 : std::stoi(std::string(tok));
      if (v < spec_.lo || v > spec_.hi)
        fail(s, field() + " value " + std::string(tok) + " out of range " + std::to_string(spec_.lo) + "-" +
                    std::to_string(spec_.hi));
      return v;
    }
    if (spec_.names && std::all_of(tok.begin(), tok.end(), [](char c) {
          return std::isalpha(static_cast<unsigned char>(c)) != 0;
        })) {
      std::string l = lower(tok);
      for (std::size_t k = 0; k < spec_.name_count; ++k)
        if (spec_.names[k] == l) return static_cast<int>(k) + spec_.name_base;
      fail(s, "unknown " + field() + " name '" + std::string(tok) + "'");
    }
    fail(s, "invalid " + field() + " value '" + std::string(tok) + "'");
  }

  std::string_view f_;
  int col_;
  const FieldSpec& spec_;
  bool dow_;
  std::size_t p_ = 0;
};

unsigned days_in_month(int y, unsigned m) {
  return static_cast<unsigned>(chr::year_month_day_last{chr::year{y} / chr::month{m} / chr::last}.day());
}

// A 400-year Gregorian cycle repeats every (date, weekday) pair, so a longer search finds nothing new.
constexpr chr::days kSearchLimit{146097};

}  // namespace

CronExpr parse_cron(std::string_view text) {
  CronExpr e;
  e.text = std::string(text);
  std::string_view body = text;
  std::size_t first = body.find_first_not_of(" \t");
  if (first == std::string_view::npos) throw CronError(1, "empty cron expression");
  if (body[first] == '@') {
    std::size_t last = body.find_last_not_of(" \t");
    std::string macro = lower(body.substr(first, last - first + 1));
    static const std::pair<std::string_view, std::string_view> kMacros[] = {
        {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
        {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
        {"@hourly", "0 * * * *"}};
    for (const auto& [name, fields] : kMacros)
      if (macro == name) {
        CronExpr m = parse_cron(fields);
        m.text = e.text;
        return m;
      }
    throw CronError(static_cast<int>(first) + 1, "unknown cron macro '" + std::string(body.substr(first, last - first + 1)) + "'");
  }

  struct Field {
    std::string_view text;
    int col;
  };
  std::vector<Field> fields;
  for (std::size_t i = 0; i < text.size();) {
    if (text[i] == ' ' || text[i] == '\t') {
      ++i;
      continue;
    }
    std::size_t s = i;
    while (i < text.size() && text[i] != ' ' && text[i] != '\t') ++i;
    fields.push_back({text.substr(s, i - s), static_cast<int>(s) + 1});
  }
  if (fields.size() > 5)
    throw CronError(fields[5].col, "expected 5 fields, got " + std::to_string(fields.size()));
  if (fields.size() < 5)
    throw CronError(static_cast<int>(text.size()) + 1, "expected 5 fields, got " + std::to_string(fields.size()));

  std::uint64_t masks[5];
  for (int k = 0; k < 5; ++k) masks[k] = FieldParser(fields[k].text, fields[k].col, kFields[k], k == kDow).parse();
  e.minutes = std::bitset<60>(masks[0]);
  e.hours = std::bitset<24>(masks[1]);
  e.days = std::bitset<32>(masks[2]);
  e.months = std::bitset<13>(masks[3]);
  e.weekdays = std::bitset<7>(masks[4]);
  e.days_restricted = fields[2].text.front() != '*';
  e.weekdays_restricted = fields[4].text.front() != '*';

  if (!(e.days_restricted && e.weekdays_restricted)) {
    // Day-of-month must then hold on its own: "31 4" or "30 2" would silently never run.
    bool possible = false;
    for (unsigned m = 1; m <= 12 && !possible; ++m)
      for (unsigned d = 1; d <= days_in_month(2000, m) && !possible; ++d)  // 2000 has 29 February
        possible = e.months[m] && e.days[d];
    if (!possible) throw CronError(fields[2].col, "day-of-month never occurs in the selected months");
  }
  return e;
}

bool CronExpr::matches_day(chr::year_month_day date) const {
  bool dom = days[static_cast<unsigned>(date.day())];
  bool dow = weekdays[chr::weekday{chr::sys_days{date}}.c_encoding()];
  if (days_restricted && weekdays_restricted) return dom || dow;
  return dom && dow;
}

bool CronExpr::matches(chr::local_seconds t) const {
  auto day = chr::floor<chr::days>(t);
  chr::year_month_day ymd{day};
  auto mod = chr::duration_cast<chr::minutes>(t - day).count();
  return (t - chr::floor<chr::minutes>(t)).count() == 0 && months[static_cast<unsigned>(ymd.month())] &&
         matches_day(ymd) && hours[mod / 60] && minutes[mod % 60];
}

std::optional<chr::local_seconds> CronExpr::next_match(chr::local_seconds t) const {
  auto m = chr::ceil<chr::minutes>(t);
  chr::local_days day = chr::floor<chr::days>(m);
  int mod = static_cast<int>((m - day).count());
  const chr::local_days limit = day + kSearchLimit;
  while (day < limit) {
    chr::year_month_day ymd{day};
    if (!months[static_cast<unsigned>(ymd.month())]) {
      day = chr::local_days{(ymd.year() / ymd.month() / 1) + chr::months(1)};
      mod = 0;
      continue;
    }
    if (matches_day(ymd))
      for (int h = mod / 60; h < 24; ++h) {
        if (!hours[h]) continue;
        for (int mi = (h == mod / 60 ? mod % 60 : 0); mi < 60; ++mi)
          if (minutes[mi]) return day + chr::hours(h) + chr::minutes(mi);
      }
    day += chr::days(1);
    mod = 0;
  }
  return std::nullopt;
}

std::optional<chr::local_seconds> CronExpr::prev_match(chr::local_seconds t) const {
  auto m = chr::floor<chr::minutes>(t);
  chr::local_days day = chr::floor<chr::days>(m);
  int mod = static_cast<int>((m - day).count());
  const chr::local_days limit = day - kSearchLimit;
  while (day > limit) {
    chr::year_month_day ymd{day};
    if (!months[static_cast<unsigned>(ymd.month())]) {
      day = chr::local_days{ymd.year() / ymd.month() / 1} - chr::days(1);
      mod = 24 * 60 - 1;
      continue;
    }
    if (matches_day(ymd))
      for (int h = mod / 60; h >= 0; --h) {
        if (!hours[h]) continue;
        for (int mi = (h == mod / 60 ? mod % 60 : 59); mi >= 0; --mi)
          if (minutes[mi]) return day + chr::hours(h) + chr::minutes(mi);
      }
    day -= chr::days(1);
    mod = 24 * 60 - 1;
  }
  return std::nullopt;
}

}  // namespace sk::sched
