// Recovery to the last second on PostgreSQL: a base backup (pg_basebackup tar format) unpacked into the
// server's data directory, and archive recovery with a restore_command that copies from the folder
// pg_receivewal writes (segments, <segment>.partial for the one it was writing, timeline .history).
#include <pwd.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>
#include <soci/soci.h>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/log.hpp"
#include "sql/postgres/pg_engine.hpp"
#include "sql/postgres/pg_local.hpp"
#include "sql/postgres/pg_session.hpp"
#include "sql/postgres/pg_sql.hpp"

namespace sk::sql {

namespace {
namespace q = pg::q;
auto logger() { return log::get("sql"); }

const char* kMaintenanceDb = "postgres";
constexpr const char* kStagedWal = "sitekeeper-wal";   // below the data directory, while it recovers
constexpr std::uint64_t kDefaultSegment = 16u << 20;  // wal_segment_size unless the WAL folder says otherwise

std::uint64_t lsn_of(const std::string& lsn) {
  unsigned hi = 0, lo = 0;
  char tail = 0;
  if (std::sscanf(lsn.c_str(), "%X/%X%c", &hi, &lo, &tail) != 2) throw Error("not a WAL position: " + lsn);
  return (static_cast<std::uint64_t>(hi) << 32) | lo;
}

bool hex_name(const std::string& s, size_t n) {
  return s.size() == n && std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; });
}

// The WAL files of one folder, by timeline and segment number.
struct WalFolder {
  std::uint64_t segment_size = kDefaultSegment;
  std::map<std::pair<unsigned, std::uint64_t>, fs::path> segments;  // full or .partial (the full one wins)
  std::map<unsigned, fs::path> histories;
};

WalFolder scan(const fs::path& dir) {
  WalFolder w;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return w;
  std::uint64_t size = 0;
  std::vector<std::pair<std::string, fs::path>> seen;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (!e.is_regular_file(ec)) continue;
    const std::string n = e.path().filename().string();
    if (n.size() == 16 && n.ends_with(".history") && hex_name(n.substr(0, 8), 8)) {
      w.histories[std::stoul(n.substr(0, 8), nullptr, 16)] = e.path();
    } else if (hex_name(n, 24) || (n.size() == 32 && n.ends_with(".partial") && hex_name(n.substr(0, 24), 24))) {
      if (n.size() == 24 && size == 0) size = e.file_size(ec);
      seen.emplace_back(n, e.path());
    }
  }
  // A full segment's size is wal_segment_size (pg_receivewal pads a .partial to it too).
  if (size >= (1u << 20) && (size & (size - 1)) == 0) w.segment_size = size;
  const std::uint64_t per_id = 0x100000000ULL / w.segment_size;
  for (const auto& [n, p] : seen) {
    const unsigned tli = std::stoul(n.substr(0, 8), nullptr, 16);
    const std::uint64_t seg = std::stoull(n.substr(8, 8), nullptr, 16) * per_id + std::stoull(n.substr(16, 8), nullptr, 16);
    auto& slot = w.segments[{tli, seg}];
    if (slot.empty() || n.size() == 24) slot = p;
  }
  return w;
}

std::string segment_name(unsigned tli, std::uint64_t seg, std::uint64_t segment_size) {
  const std::uint64_t per_id = 0x100000000ULL / segment_size;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%08X%08X%08X", tli, static_cast<unsigned>(seg / per_id), static_cast<unsigned>(seg % per_id));
  return buf;
}

// The backup's own WAL range (backup_manifest "WAL-Ranges": the timeline it starts on, where it starts
// and where it is consistent).
struct BackupRange {
  unsigned tli = 1;
  std::uint64_t start = 0, end = 0;
  std::string end_text;
};

BackupRange range_of(const fs::path& backup) {
  const fs::path m = backup / "backup_manifest";
  try {
    const auto j = nlohmann::json::parse(read_file(m));
    const auto& ranges = j.at("WAL-Ranges");
    if (!ranges.is_array() || ranges.empty()) throw Error("no WAL-Ranges");
    BackupRange r;
    r.tli = ranges.front().at("Timeline").get<unsigned>();
    r.start = lsn_of(ranges.front().at("Start-LSN").get<std::string>());
    r.end_text = ranges.back().at("End-LSN").get<std::string>();
    r.end = lsn_of(r.end_text);
    return r;
  } catch (const std::exception& e) {
    throw Error("cannot read the WAL range of the base backup from " + show_path(m) + ": " + e.what(),
                "take a new backup with [archive] kinds = [\"logical\", \"physical\"]");
  }
}

// Where each timeline of the chain that ends at `newest` begins (its parents' switch points, from the
// history file of `newest`).
std::map<unsigned, std::uint64_t> chain_of(const WalFolder& w, unsigned newest) {
  std::map<unsigned, std::uint64_t> begins;
  auto h = w.histories.find(newest);
  std::uint64_t prev_switch = 0;
  if (h != w.histories.end()) {
    std::istringstream in(read_file(h->second));
    for (std::string line; std::getline(in, line);) {
      unsigned tli = 0;
      char lsn[64] = {0};
      if (line.empty() || line[0] == '#' || std::sscanf(line.c_str(), "%u %63s", &tli, lsn) != 2) continue;
      begins[tli] = prev_switch;
      prev_switch = lsn_of(lsn);
    }
  }
  begins[newest] = prev_switch;
  return begins;
}

// The WAL files a roll-forward of `backup` reads from `dir`, in order, and what is missing.
struct WalPlan {
  Engine::WalCoverage coverage;
  std::vector<fs::path> files;  // the segments, then every history file
};

WalPlan plan_wal(const fs::path& backup, const fs::path& dir, const std::string& until_lsn) {
  WalPlan p;
  const auto r = range_of(backup);
  const auto w = scan(dir);
  const std::uint64_t size = w.segment_size;
  const std::uint64_t start_seg = r.start / size;
  p.coverage.start_segment = segment_name(r.tli, start_seg, size);
  p.coverage.end_lsn = r.end_text;
  // recovery_target_timeline = 'latest': the newest timeline with a history file, when it descends
  // from the backup's (PostgreSQL refuses one that does not).
  unsigned newest = r.tli;
  for (const auto& [tli, path] : w.histories)
    if (tli > newest && chain_of(w, tli).count(r.tli)) newest = tli;
  const auto chain = chain_of(w, newest);
  // A segment is read on the newest timeline of the chain that had begun by its start.
  auto timeline_for = [&](std::uint64_t seg) {
    unsigned best = r.tli;
    for (const auto& [tli, begin] : chain)
      if (tli >= r.tli && begin / size <= seg) best = std::max(best, tli);
    return best;
  };
  std::uint64_t end_seg = 0;
  bool any = false;
  if (!until_lsn.empty()) {
    const auto u = lsn_of(until_lsn);
    if (u < r.end) {
      p.coverage.missing = "position " + until_lsn + " is before the base backup's consistent point " + r.end_text;
      return p;
    }
    end_seg = u / size;
    any = true;
  } else {
    for (const auto& [key, path] : w.segments)
      if (key.second >= start_seg && key.first == timeline_for(key.second)) {
        end_seg = std::max(end_seg, key.second);
        any = true;
      }
  }
  if (!any || !w.segments.count({timeline_for(start_seg), start_seg})) {
    p.coverage.missing = "the WAL folder " + show_path(dir) + " does not hold " + p.coverage.start_segment +
                         ", where the base backup starts";
    return p;
  }
  for (std::uint64_t s = start_seg; s <= end_seg; ++s) {
    const unsigned tli = timeline_for(s);
    auto it = w.segments.find({tli, s});
    if (it == w.segments.end()) {
      p.coverage.missing = "WAL file " + segment_name(tli, s, size) + " is missing from " + show_path(dir);
      return p;
    }
    p.files.push_back(it->second);
  }
  const fs::path last = p.files.back();
  p.coverage.newest = last.filename().string();
  std::error_code ec;
  const auto mtime = fs::last_write_time(last, ec);
  if (!ec)
    p.coverage.newest_at =
        iso_utc(std::chrono::time_point_cast<std::chrono::system_clock::duration>(std::chrono::file_clock::to_sys(mtime)));
  for (const auto& [tli, path] : w.histories) p.files.push_back(path);
  return p;
}


// A path for sh inside restore_command: single-quoted for the shell, '%' doubled for PostgreSQL.
std::string command_path(const std::string& p) {
  std::string out = "'";
  for (char c : p) {
    if (c == '\'') out += "'\\''";
    else if (c == '%') out += "%%";
    else out += c;
  }
  return out + "'";
}

// The settings prepare_recovery writes into postgresql.auto.conf: every archived segment, else its
// .partial (pg_receivewal's last one, padded to full size: recovery stops at its last valid record).
std::vector<std::pair<std::string, std::string>> recovery_settings(const fs::path& wal_from, const Engine::RecoveryTarget& t) {
  const std::string dir = command_path(wal_from.string() + "/");
  std::vector<std::pair<std::string, std::string>> s = {
      {"restore_command", "cp " + dir + "%f \"%p\" 2>/dev/null || cp " + dir + "%f.partial \"%p\""},
      {"recovery_target_timeline", "latest"}};
  if (!t.time.empty()) {
    // At startup the server reads no time zone abbreviations: "Z" would be refused, "+00" is not.
    std::string time = t.time;
    if (time.size() > 10 && time[10] == 'T') time[10] = ' ';
    if (!time.empty() && time.back() == 'Z') time = time.substr(0, time.size() - 1) + "+00";
    s.emplace_back("recovery_target_time", time);
    s.emplace_back("recovery_target_inclusive", "off");  // what committed before the time, nothing at it
  }
  if (!t.lsn.empty()) s.emplace_back("recovery_target_lsn", t.lsn);
  if (!t.none()) s.emplace_back("recovery_target_action", "promote");
  return s;
}

// Settings of the old active that must not follow its copy: recovery settings of an earlier run, and
// synchronous replication to a standby the recovered server does not have (every commit would wait).
bool dropped_setting(const std::string& line) {
  for (const char* k : {"restore_command", "recovery_target", "synchronous_standby_names", "primary_conninfo",
                        "primary_slot_name", "port "})
    if (line.rfind(k, 0) == 0) return true;
  return line.rfind("port=", 0) == 0;
}

void chown_to(const std::string& owner, const fs::path& p) {
  if (owner.empty()) return;
  if (auto* pw = ::getpwnam(owner.c_str())) ::chown(p.c_str(), pw->pw_uid, pw->pw_gid);
}

std::string log_tail(const fs::path& log, size_t lines) {
  std::error_code ec;
  if (!fs::exists(log, ec)) return "";
  std::istringstream in(read_file(log));
  std::vector<std::string> all;
  for (std::string l; std::getline(in, l);) all.push_back(l);
  std::string out;
  for (size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i) out += (out.empty() ? "" : " | ") + all[i];
  return out;
}

}  // namespace

Engine::WalCoverage PgEngine::wal_coverage(const fs::path& backup, const fs::path& wal_dir, const std::string& until_lsn) {
  return plan_wal(backup, wal_dir, until_lsn).coverage;
}

std::vector<std::string> PgEngine::describe_recovery(const fs::path& backup, const fs::path& wal_dir,
                                                     const RecoveryTarget& target) const {
  const std::string data = server_.data_dir.empty() ? "<data_dir>" : server_.data_dir.string();
  std::vector<std::string> out = {
      "-- on " + server_.name + ", stopped: " + show_path(data) + " missing or empty",
      "tar --extract --file=" + (backup / "base.tar").string() + " --directory=" + data,
      "tar --extract --file=" + (backup / "pg_wal.tar").string() + " --directory=" + data + "/pg_wal",
      "-- postgresql.auto.conf (port " + std::to_string(server_.port) + "; synchronous_standby_names dropped):"};
  for (const auto& [k, v] : recovery_settings(wal_dir, target)) out.push_back(k + " = " + conf_literal(v));
  out.push_back("touch " + data + "/recovery.signal");
  out.push_back("pg_ctl start -D " + data + " -o '-p " + std::to_string(server_.port) + "'");
  out.push_back(std::string(q::kRecoveryEnd) + ";  -- every 200 ms until it is out of recovery");
  for (const char* k : q::kRecoverySettings) out.push_back(q::reset_setting(k) + ";");
  return out;
}

void PgEngine::prepare_recovery(const fs::path& backup, const fs::path& wal_dir, const RecoveryTarget& target,
                                const fs::path& own_config, const CancelToken* cancel) {
  LocalServer local(server_, runner_);
  if (local.running())
    throw SafetyError("server " + server_.name + " is running on " + show_path(server_.data_dir),
                      "a base backup is restored into a stopped server only");
  const auto plan = plan_wal(backup, wal_dir, target.lsn);
  if (!plan.coverage.missing.empty())
    throw SafetyError("the base backup cannot be rolled forward: " + plan.coverage.missing,
                      "recover from a backup whose WAL the archive holds (--backup ID)");
  const fs::path data = server_.data_dir;
  local.restore_base_backup(backup, data, cancel);
  RemoveUnlessKept undo(data);
  const std::string& owner = local.owner();
  if (!own_config.empty()) {
    std::error_code ec;
    if (fs::exists(own_config / "postgresql.conf", ec)) {
      fs::copy_file(own_config / "postgresql.conf", data / "postgresql.conf", fs::copy_options::overwrite_existing);
      chown_to(owner, data / "postgresql.conf");
    }
  }
  // The archive is private to whoever runs sitekeeper; a server run as another user reads a copy.
  fs::path wal_from = wal_dir;
  if (!owner.empty()) {
    wal_from = data / kStagedWal;
    fs::create_directories(wal_from);
    for (const auto& f : plan.files) {
      if (cancel) cancel->check();
      fs::copy_file(f, wal_from / f.filename(), fs::copy_options::overwrite_existing);
    }
    run_checked(*runner_, {"chown", "-R", "--", owner + ":", wal_from.string()});
  }
  const fs::path auto_conf = data / "postgresql.auto.conf";
  std::string kept;
  {
    std::istringstream in(fs::exists(auto_conf) ? read_file(auto_conf) : std::string());
    for (std::string line; std::getline(in, line);)
      if (!dropped_setting(line)) kept += line + "\n";
  }
  kept += "port = " + std::to_string(server_.port) + "\n";
  for (const auto& [k, v] : recovery_settings(wal_from, target)) kept += k + " = " + conf_literal(v) + "\n";
  std::ofstream(auto_conf, std::ios::trunc) << kept;
  ::chmod(auto_conf.c_str(), 0600);
  std::ofstream(data / "recovery.signal").close();
  std::error_code ec;
  fs::remove(data / "standby.signal", ec);
  fs::remove(data / "postmaster.pid", ec);  // a copy of a running server may carry one (not in tar format; to be sure)
  for (const auto& p : {auto_conf, data / "recovery.signal"}) chown_to(owner, p);
  undo.keep();
  logger()->info("{}: base backup {} restored; recovery reads WAL from {} ({} files){}", server_.name, backup.string(),
                 wal_from.string(), plan.files.size(),
                 target.none() ? " to the end" : " to " + (target.time.empty() ? target.lsn : target.time));
}

Engine::RecoveryEnd PgEngine::finish_recovery(const CancelToken* cancel) {
  LocalServer local(server_, runner_);
  const fs::path data = server_.data_dir;
  const fs::path log = data / "sitekeeper-pg_ctl.log";
  std::error_code ec;
  if (!local.running()) {
    try {
      // pg_ctl returns once the server accepts connections: for archive recovery, once consistent.
      local.start(std::chrono::seconds(3600));
    } catch (const Error& e) {
      throw Error("server " + server_.name + " did not come up from its base backup: " + log_tail(log, 6),
                  "read " + show_path(log) + "; the restored copy stays as it is for a resume");
    }
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::hours(24);
  pg::Row row;
  for (;;) {
    if (cancel) cancel->check();
    try {
      auto s = pg::connect(server_, kMaintenanceDb, connect_timeout_);
      auto rows = pg::query(*s, q::kRecoveryEnd, "read where recovery ended");
      if (!rows.empty() && rows.front().size() == 3 && rows.front()[2].value_or("1") == "0") {
        row = rows.front();
        for (const char* k : q::kRecoverySettings) pg::exec(*s, q::reset_setting(k), std::string("reset ") + k);
        break;
      }
    } catch (const Error& e) {
      if (!local.running())
        throw Error("server " + server_.name + " stopped during recovery: " + log_tail(log, 6),
                    "read " + show_path(log) + "; a --until beyond the archived WAL ends recovery like this");
    }
    if (std::chrono::steady_clock::now() > deadline) throw Error("server " + server_.name + " is still in recovery after 24 h");
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  fs::remove_all(data / kStagedWal, ec);
  RecoveryEnd r{row[0].value_or(""), row[1].value_or("")};
  // After a restart PostgreSQL no longer knows; its log of the recovery does.
  if (r.last_commit.empty() && fs::exists(log, ec)) {
    std::istringstream in(read_file(log));
    for (std::string l; std::getline(in, l);)
      if (auto at = l.find("last completed transaction was at log time "); at != std::string::npos)
        r.last_commit = l.substr(at + 43);
  }
  logger()->info("{} is out of recovery: last replayed commit {}, position {}", server_.name,
                 r.last_commit.empty() ? "unknown" : r.last_commit, r.lsn.empty() ? "unknown" : r.lsn);
  return r;
}

}  // namespace sk::sql
