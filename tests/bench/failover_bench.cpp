// Failover benchmark: how long writers are locked out when the active server dies (automatic failover
// by the daemon) and during a planned switchover, on a real active/standby pair of PostgreSQL 15
// clusters driven by the `sitekeeper` binary, as an operator would run it.
//
//   build/failover_bench [SOURCE_DIR]     SOURCE_DIR holds demo/site_schema.sql (default: the current
//                                         directory; then $SK_SOURCE_DIR; then this file's checkout)
//   SK_BENCH_ROUNDS=N                     automatic-failover rounds (default 3, 1..5). Between rounds the
//                                         killed server is brought back with `sitekeeper rejoin`.
//   SK_BENCH_CHECKPOINT_BEFORE_REJOIN=1   diagnostics: CHECKPOINT the new active before `sitekeeper rejoin`
//                                         (what pg_rewind needs right after a promotion), to tell whether a
//                                         failed rejoin is that. Not an operator step: off by default.
//   SK_BENCH_KEEP=1                       keep the site folder (config, state, daemon.log) in /tmp
//
// What is measured:
//   - automatic failover RTO: a writer commits INSERTs on the active; the active is SIGKILLed (T0,
//     like a machine death); T1 is the first INSERT committed on the other server. The writer tries the
//     server it last wrote to and, on any failure, alternates between the two.
//   - switchover downtime: the same writer while `sitekeeper switchover --yes` runs; downtime is the
//     longest gap between two successful commits.
// Each failover round also checks the serial-number invariant (the first record_id issued by the new
// active is above every record_id the old one acknowledged) and counts acknowledged commits that did
// not reach the standby (asynchronous replication loses the last moment before a death).
//
// A measurement, not a test: it exits 0 when a goal is missed, and non-zero only on a real error (a
// server that does not start, a sitekeeper command that fails). As root the servers run as `postgres`.
#include <libpq-fe.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench_util.hpp"
#include "pg_cluster.hpp"

#ifndef SK_BINARY
#error "SK_BINARY must name the sitekeeper binary"
#endif

using namespace sk::test;
using namespace sk::bench;
namespace fs = std::filesystem;
using Steady = std::chrono::steady_clock;
using Wall = std::chrono::system_clock;

namespace {

constexpr const char* kDb = "CM_CEN";
constexpr const char* kComponent = "failover-bench";
constexpr double kRtoGoal = 5.0;
constexpr double kSwitchoverGoal = 2.0;
constexpr auto kBudget = std::chrono::seconds(200);  // stop adding rounds past this (goal: < ~4 min)
const auto kStarted = Steady::now();

// ----- small helpers ---------------------------------------------------------------------------------

double secs(Steady::duration d) { return std::chrono::duration<double>(d).count(); }

std::string fmt(double v, int prec = 1) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(prec) << v;
  return s.str();
}

std::string elapsed() { return "[" + fmt(secs(Steady::now() - kStarted), 1) + " s]"; }

void say(const std::string& line) { std::cout << elapsed() << " " << line << std::endl; }


std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + p.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// ----- libpq -----------------------------------------------------------------------------------------

struct Server {
  std::string name;    // cm1 / cm2
  PgCluster* cluster;  // owns the data directory and can SIGKILL it
  std::string conninfo(const std::string& db = kDb) const {
    return "host=127.0.0.1 port=" + std::to_string(cluster->port()) + " user=" + conninfo_value(cluster->superuser()) +
           " password=" + conninfo_value(cluster->password()) + " dbname=" + conninfo_value(db) +
           " connect_timeout=2 application_name=failover-bench";
  }
};

using ConnPtr = std::unique_ptr<PGconn, decltype(&PQfinish)>;

ConnPtr connect(const std::string& conninfo) {
  ConnPtr c(PQconnectdb(conninfo.c_str()), &PQfinish);
  if (PQstatus(c.get()) != CONNECTION_OK) throw std::runtime_error(PQerrorMessage(c.get()));
  return c;
}

// One query, first column of every row.
std::vector<std::string> query(const Server& s, const std::string& sql, const std::string& db = kDb) {
  auto c = connect(s.conninfo(db));
  std::unique_ptr<PGresult, decltype(&PQclear)> r(PQexec(c.get(), sql.c_str()), &PQclear);
  const auto st = PQresultStatus(r.get());
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK)
    throw std::runtime_error(s.name + ": " + sql + ": " + PQresultErrorMessage(r.get()));
  std::vector<std::string> out;
  for (int i = 0; i < PQntuples(r.get()); ++i) out.push_back(PQgetvalue(r.get(), i, 0));
  return out;
}

// ----- the writer ------------------------------------------------------------------------------------

struct Commit {
  Steady::time_point at;
  int server;  // index into the writer's servers
  long seq;    // message_id written
  long long record_id;
};

// Commits one INSERT after another (a few ms apart) on servers[target]; on any failure it drops the
// connection and tries the other server next, 10 ms later. Every success is recorded.
class Writer {
 public:
  Writer(std::vector<Server> servers, int first, long first_seq)
      : servers_(std::move(servers)), target_(first), seq_(first_seq) {
    thread_ = std::thread([this] { run(); });
  }
  ~Writer() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::vector<Commit> commits() const {
    std::lock_guard lock(mu_);
    return commits_;
  }
  long next_seq() const { return seq_; }
  long failed_attempts() const { return failed_; }
  std::string last_error() const {
    std::lock_guard lock(mu_);
    return last_error_;
  }

 private:
  void run() {
    PGconn* c = nullptr;
    const char* sql =
        "INSERT INTO status_messages (site_code, component, message_id, severity, machine_name, message) "
        "VALUES ('CEN', 'failover-bench', $1::integer, 'informational', 'BENCHPC', 'writer') RETURNING record_id";
    while (!stop_) {
      if (!c) {
        c = PQconnectdb(servers_[target_].conninfo().c_str());
        // "FATAL: terminating connection due to administrator command" (the fence) is expected here.
        PQsetNoticeProcessor(c, [](void*, const char*) {}, nullptr);
        if (PQstatus(c) != CONNECTION_OK) {
          fail(c);
          c = nullptr;
          continue;
        }
      }
      const std::string seq = std::to_string(seq_);
      const char* params[] = {seq.c_str()};
      PGresult* r = PQexecParams(c, sql, 1, nullptr, params, nullptr, nullptr, 0);
      if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
        const auto now = Steady::now();
        {
          std::lock_guard lock(mu_);
          commits_.push_back({now, target_, seq_, std::atoll(PQgetvalue(r, 0, 0))});
        }
        ++seq_;
        PQclear(r);
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      } else {
        {
          std::lock_guard lock(mu_);
          last_error_ = servers_[target_].name + ": " + PQresultErrorMessage(r);
        }
        PQclear(r);
        fail(c);
        c = nullptr;
      }
    }
    if (c) PQfinish(c);
  }
  void fail(PGconn* c) {
    if (c) {
      if (PQstatus(c) != CONNECTION_OK) {
        std::lock_guard lock(mu_);
        last_error_ = servers_[target_].name + ": " + PQerrorMessage(c);
      }
      PQfinish(c);
    }
    ++failed_;
    target_ = 1 - target_;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }

  std::vector<Server> servers_;
  int target_;
  std::atomic<long> seq_;
  std::atomic<long> failed_{0};
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::vector<Commit> commits_;
  std::string last_error_;
  std::thread thread_;
};

// ----- the site --------------------------------------------------------------------------------------

struct Cmd {
  int code = 0;
  std::string out, err;
  double seconds = 0;
};

class Site {
 public:
  Site(const fs::path& source_dir) {
    char tmpl[] = "/tmp/sk failover bench \xC3\xA9-XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    cm1_ = PgCluster::start({.name = "cm1"});
    cm2_ = PgCluster::start({.name = "cm2", .initdb = false, .start = false});
    servers_ = {{"cm1", cm1_.get()}, {"cm2", cm2_.get()}};
    cm1_->write_password_file(dir_ / "secrets" / "pw");
    cm1_->psql("CREATE DATABASE \"CM_CEN\"");
    cm1_->psql_file(source_dir / "demo" / "site_schema.sql", kDb);
    cm1_->psql_file(source_dir / "demo" / "site_data.sql", kDb);
    write_config();
  }
  ~Site() {
    daemon_.reset();  // before the clusters go
    std::error_code ec;
    if (!std::getenv("SK_BENCH_KEEP")) fs::remove_all(dir_, ec);
  }

  const Server& server(const std::string& name) const { return name == "cm1" ? servers_[0] : servers_[1]; }
  fs::path config() const { return dir_ / "sitekeeper.toml"; }
  const fs::path& dir() const { return dir_; }

  Cmd run(std::vector<std::string> args, std::chrono::milliseconds timeout = std::chrono::minutes(3)) const {
    std::vector<std::string> a = {SK_BINARY, "--config", config().string()};
    a.insert(a.end(), args.begin(), args.end());
    Cmd r;
    RunOptions ro;
    ro.timeout = timeout;
    const auto t = Steady::now();
    r.code = run_command(a, {}, &r.out, &r.err, ro);
    r.seconds = secs(Steady::now() - t);
    return r;
  }
  Cmd run_checked(std::vector<std::string> args, std::chrono::milliseconds timeout = std::chrono::minutes(3)) const {
    std::string shown;
    for (const auto& a : args) shown += " " + a;
    auto r = run(args, timeout);
    if (r.code != 0)
      throw std::runtime_error("sitekeeper" + shown + " failed (exit " + std::to_string(r.code) + "):\n" + tail(r.out) +
                               "\n" + tail(r.err));
    return r;
  }

  void start_daemon() {
    daemon_ = std::make_unique<BackgroundProcess>(
        std::vector<std::string>{SK_BINARY, "--config", config().string(), "--log-level", "info", "run"},
        dir_ / "daemon.log");
    wait_until([&] { return daemon_log().find("active server answers") != std::string::npos; }, 60s,
               "the daemon's HA loop to report a healthy active");
  }
  bool daemon_running() { return daemon_ && daemon_->running(); }
  std::string daemon_log() const { return daemon_ ? daemon_->log() : std::string(); }

  // Roles as the state store has them (after a failover it is the truth).
  std::pair<std::string, std::string> roles() const {
    auto j = status();
    return {j.value("active", ""), j.value("standby", "")};
  }
  bool standby_healthy() const {
    try {
      return status().value("healthy", false);
    } catch (const std::exception&) {
      return false;
    }
  }

 private:
  // `standby status` exits 1 when the standby is not healthy; its JSON is printed either way.
  nlohmann::json status() const {
    auto r = run({"--json", "standby", "status"}, std::chrono::minutes(1));
    try {
      return nlohmann::json::parse(r.out);
    } catch (const std::exception&) {
      throw std::runtime_error("sitekeeper --json standby status (exit " + std::to_string(r.code) +
                               ") printed no JSON:\n" + tail(r.out, 500) + tail(r.err, 1500));
    }
  }

  void write_config() {
    std::ofstream f(config());
    f << "[site]\ncode = \"CEN\"\ndatabase = \"CM_CEN\"\n\n"
      << "[state]\npath = \"state/sitekeeper.db\"\n\n"
      << "[archive]\npath = \"archive\"\nkeep = 3\nmax_age = \"5d\"\n\n";
    for (const auto& s : servers_)
      f << "[servers." << s.name << "]\nengine = \"postgresql\"\ntransport = \"native\"\nhost = \"127.0.0.1\"\n"
        << "port = " << s.cluster->port() << "\nuser = " << toml_string(s.cluster->superuser())
        << "\npassword_file = \"secrets/pw\"\ndata_dir = " << toml_string(s.cluster->data_dir().string()) << "\n\n";
    f << "[roles]\nactive = \"cm1\"\nstandby = \"cm2\"\n\n"
      << "[failover]\nmode = \"automatic\"\nprobe_interval = \"1s\"\nfailures = 3\nprobe_timeout = \"1s\"\n";
    f.close();
    ::chmod(config().c_str(), 0600);
  }

  fs::path dir_;
  std::unique_ptr<PgCluster> cm1_, cm2_;
  std::vector<Server> servers_;
  std::unique_ptr<BackgroundProcess> daemon_;
};

// ----- daemon log timeline ---------------------------------------------------------------------------

// spdlog's "%Y-%m-%dT%H:%M:%S.%e" (local time) at the start of a line.
std::optional<Wall::time_point> log_time(const std::string& line) {
  if (line.size() < 23 || line[4] != '-' || line[10] != 'T' || line[19] != '.') return std::nullopt;
  std::tm tm{};
  std::istringstream in(line.substr(0, 19));
  in >> std::get_time(&tm, "%Y-%m-%dT%H:%M:%S");
  if (in.fail()) return std::nullopt;
  tm.tm_isdst = -1;
  const std::time_t t = std::mktime(&tm);
  if (t == -1) return std::nullopt;
  return Wall::from_time_t(t) + std::chrono::milliseconds(std::atoi(line.substr(20, 3).c_str()));
}

// Seconds after `t0` of the first daemon log line at or after t0 (log times have millisecond precision)
// that contains `needle`.
std::optional<double> first_after(const std::string& log, Wall::time_point t0, const std::string& needle) {
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    if (line.find(needle) == std::string::npos) continue;
    auto t = log_time(line);
    if (!t || *t < t0 - std::chrono::milliseconds(5)) continue;
    return std::chrono::duration<double>(*t - t0).count();
  }
  return std::nullopt;
}

std::string offset(std::optional<double> s) { return s ? "+" + fmt(*s, 2) + " s" : "n/a"; }

// ----- measurements ----------------------------------------------------------------------------------

struct RtoResult {
  double rto = -1;
  std::string from, to;
};

long g_seq = 1;  // message_id of the writer's next row, unique across the run

RtoResult measure_failover(Site& site, int round) {
  const auto roles = site.roles();
  const std::string active = roles.first, standby = roles.second;
  if (standby.empty()) throw std::runtime_error("round " + std::to_string(round) + ": no standby in the state store");
  const Server& a = site.server(active);
  const Server& b = site.server(standby);
  Writer w({a, b}, 0, g_seq);
  wait_until([&] { return w.commits().size() >= 200; }, 30s, "the writer to commit 200 rows on " + active);
  // SIGKILL the postmaster and its children: a machine death, no goodbye to the standby.
  const auto t0 = Steady::now();
  const auto t0_wall = Wall::now();
  a.cluster->kill9();
  const long killed_ms = std::lround(secs(Steady::now() - t0) * 1000);
  auto first_on_b = [&]() -> std::optional<Commit> {
    for (const auto& c : w.commits())
      if (c.server == 1 && c.at > t0) return c;
    return std::nullopt;
  };
  try {
    wait_until([&] { return first_on_b().has_value(); }, 90s, "a committed INSERT on " + standby);
  } catch (const std::exception& e) {
    w.stop();
    g_seq = w.next_seq();
    throw std::runtime_error(std::string(e.what()) + "\nwriter's last error: " + w.last_error() +
                             "\ndaemon log (tail):\n" + tail(site.daemon_log(), 4000));
  }
  std::this_thread::sleep_for(300ms);
  w.stop();
  g_seq = w.next_seq();
  const auto commits = w.commits();
  const Commit t1 = *first_on_b();
  RtoResult r{secs(t1.at - t0), active, standby};

  // What the old active acknowledged in this round, and whether it reached the new active.
  long lo = -1, hi = -1, acked = 0;
  long long max_old_record = 0, min_new_record = 0;
  for (const auto& c : commits) {
    if (c.server == 0) {
      if (lo < 0) lo = c.seq;
      hi = c.seq;
      ++acked;
      max_old_record = std::max(max_old_record, c.record_id);
    } else if (c.at > t0 && (min_new_record == 0 || c.record_id < min_new_record)) {
      min_new_record = c.record_id;
    }
  }
  const auto present = query(b, "SELECT count(*) FROM status_messages WHERE component = '" + std::string(kComponent) +
                                    "' AND message_id BETWEEN " + std::to_string(lo) + " AND " + std::to_string(hi));
  const long lost = acked - std::atol(present.at(0).c_str());

  const std::string log = site.daemon_log();
  say("round " + std::to_string(round) + ": " + active + " killed (SIGKILL; harness took " + std::to_string(killed_ms) +
      " ms to see it reaped); writer committed on " + standby + " after " + fmt(r.rto, 2) + " s");
  std::cout << "    daemon timeline after the kill: first failed probe " << offset(first_after(log, t0_wall, "probes; waiting"))
            << ", decision to promote " << offset(first_after(log, t0_wall, "promoting the standby"))
            << ", promoted " << offset(first_after(log, t0_wall, "step promote done"))
            << ", runbook done " << offset(first_after(log, t0_wall, "automatic failover: failover done"))
            << "; first commit on " << standby << " +" << fmt(r.rto, 2) << " s\n";
  std::cout << "    commits acknowledged by " << active << " this round: " << acked << ", missing on " << standby
            << " after the failover: " << lost << " (asynchronous replication)\n";
  std::cout << "    serial numbers: first record_id on " << standby << " = " << min_new_record << ", highest acknowledged on "
            << active << " = " << max_old_record
            << (min_new_record > max_old_record ? "  (moved past: ok)" : "  (NOT moved past: serial numbers reused!)")
            << "\n";
  if (auto stop = first_after(log, t0_wall, "automatic failover stopped"))
    std::cout << "    NOTE: the daemon logged 'automatic failover stopped' at " << offset(stop) << "\n";
  return r;
}

// Brings the killed server back as the standby of the current active, with `sitekeeper rejoin`. On
// failure the exception carries the command's output and the tail of the server's own log.
// pg_rewind reads the source's timeline from its control file, which a promoted server updates only
// when its end-of-recovery checkpoint completes (PostgreSQL's docs: CHECKPOINT after a promotion
// before rewinding from it). Printed before each rejoin, so a failed rewind can be told apart.
std::string control_timeline(const PgCluster& c) {
  std::string out, err;
  const int rc = run_command(as_server_user({(c.bin_dir() / "pg_controldata").string(), c.data_dir().string()}),
                             {{"LC_ALL", "C"}}, &out, &err);
  if (rc != 0) return "unknown (pg_controldata exit " + std::to_string(rc) + ")";
  const std::string key = "Latest checkpoint's TimeLineID:";
  auto p = out.find(key);
  if (p == std::string::npos) return "unknown";
  p = out.find_first_not_of(' ', p + key.size());
  return out.substr(p, out.find('\n', p) - p);
}

void rejoin(Site& site, const std::string& server, const std::string& active) {
  const std::string source_tl = control_timeline(*site.server(active).cluster);
  std::string checkpoint_note;
  if (std::getenv("SK_BENCH_CHECKPOINT_BEFORE_REJOIN")) {
    query(site.server(active), "CHECKPOINT", "postgres");
    checkpoint_note = "; CHECKPOINT issued by the bench (SK_BENCH_CHECKPOINT_BEFORE_REJOIN), now timeline " +
                      control_timeline(*site.server(active).cluster);
  }
  say("rejoin of " + server + " onto " + active + ": " + active + "'s control file says latest checkpoint on timeline " +
      source_tl + checkpoint_note);
  auto r = site.run({"rejoin", "--server", server});
  const std::string hint =
      checkpoint_note.empty()
          ? "\nhint: pg_rewind ran while " + active + "'s control file named timeline " + source_tl +
                "; rerun with SK_BENCH_CHECKPOINT_BEFORE_REJOIN=1 to see whether a CHECKPOINT first makes rejoin work"
          : "";
  if (r.code != 0) {
    std::string log;
    try {
      log = tail(read_text(site.server(server).cluster->data_dir() / "sitekeeper-pg_ctl.log"), 2500);
    } catch (const std::exception& e) {
      log = std::string("(unreadable: ") + e.what() + ")";
    }
    std::string reason;  // sitekeeper's own "error: ..." line, for the one-line summary
    std::istringstream err(r.err);
    for (std::string line; std::getline(err, line);)
      if (line.rfind("error: ", 0) == 0) reason = line.substr(7);
    throw std::runtime_error("sitekeeper rejoin --server " + server + " failed (exit " + std::to_string(r.code) +
                             " after " + fmt(r.seconds, 1) + " s): " + reason + "\n" + tail(r.out, 1000) + tail(r.err, 2000) +
                             "\n--- " + server + "'s server log (sitekeeper-pg_ctl.log), tail ---\n" + log + hint);
  }
  try {
    wait_until([&] { return site.standby_healthy(); }, 60s, server + " to be a healthy standby after rejoin");
  } catch (const std::exception& e) {
    auto st = site.run({"--json", "standby", "status"}, std::chrono::minutes(1));
    throw std::runtime_error("sitekeeper rejoin --server " + server + " exited 0 after " + fmt(r.seconds, 1) +
                             " s, but: " + e.what() + "\n'standby status --json' says: " + st.out + tail(st.err, 1000) +
                             hint);
  }
  say("rejoin of " + server + ": " + fmt(r.seconds, 1) + " s (sitekeeper rejoin), standby healthy again");
}

struct SwitchoverResult {
  double downtime = -1;
  double command_seconds = 0;
  int code = 0;
  std::string from, to;
};

SwitchoverResult measure_switchover(Site& site) {
  const auto roles = site.roles();
  const std::string active = roles.first, standby = roles.second;
  const Server& a = site.server(active);
  const Server& b = site.server(standby);
  Writer w({a, b}, 0, g_seq);
  wait_until([&] { return w.commits().size() >= 200; }, 30s, "the writer to commit 200 rows on " + active);
  const auto t_start = Steady::now();
  const auto t_wall = Wall::now();
  auto cmd = site.run({"switchover", "--yes"});
  const auto t_end = Steady::now();
  // Let the writer find the new active (or time out: then the gap runs to the end of the window).
  try {
    wait_until(
        [&] {
          for (const auto& c : w.commits())
            if (c.server == 1 && c.at > t_start) return true;
          return false;
        },
        30s, "a commit on " + standby + " after the switchover");
  } catch (const std::exception&) {
  }
  std::this_thread::sleep_for(500ms);
  w.stop();
  g_seq = w.next_seq();
  const auto window_end = Steady::now();
  const auto commits = w.commits();

  SwitchoverResult r;
  r.from = active;
  r.to = standby;
  r.code = cmd.code;
  r.command_seconds = secs(t_end - t_start);
  Steady::time_point prev = t_start, gap_from = t_start, gap_to = t_start;
  for (const auto& c : commits) {
    if (c.at < t_start) {
      prev = std::max(prev, c.at);
      continue;
    }
    if (c.at - prev > gap_to - gap_from) gap_from = prev, gap_to = c.at;
    prev = c.at;
  }
  if (window_end - prev > gap_to - gap_from) gap_from = prev, gap_to = window_end;  // never came back
  r.downtime = secs(gap_to - gap_from);
  long on_b = 0;
  for (const auto& c : commits) on_b += c.server == 1 && c.at > t_start;
  say("switchover " + active + " -> " + standby + ": sitekeeper switchover exit " + std::to_string(cmd.code) + " after " +
      fmt(r.command_seconds, 2) + " s; writer's longest gap " + fmt(r.downtime, 2) + " s (from +" +
      fmt(secs(gap_from - t_start), 2) + " s to +" + fmt(secs(gap_to - t_start), 2) + " s); " + std::to_string(on_b) +
      " commits on " + standby + " afterwards");
  if (cmd.code != 0) std::cout << "    switchover output:\n" << tail(cmd.out, 2000) << "\n" << tail(cmd.err, 3000) << "\n";
  // The switchover's own step timeline, from its log (stderr).
  std::istringstream in(cmd.err);
  std::cout << "    switchover steps:";
  for (std::string line; std::getline(in, line);) {
    auto p = line.find("step ");
    auto d = line.find(" done:");
    if (p == std::string::npos || d == std::string::npos) continue;
    auto t = log_time(line);
    std::cout << " " << line.substr(p + 5, d - p - 5) << " "
              << (t ? "+" + fmt(std::chrono::duration<double>(*t - t_wall).count(), 2) + "s" : "?");
  }
  std::cout << "\n";
  const std::string log = site.daemon_log();
  int stopped = 0;
  {
    std::istringstream dl(log);
    for (std::string line; std::getline(dl, line);) {
      auto t = log_time(line);
      if (t && *t >= t_wall && line.find("automatic failover stopped") != std::string::npos) ++stopped;
    }
  }
  if (stopped)
    std::cout << "    NOTE: while the switchover ran, the daemon logged 'automatic failover stopped' " << stopped
              << " time(s), e.g.:\n      " << [&] {
                   std::istringstream dl(log);
                   for (std::string line; std::getline(dl, line);) {
                     auto t = log_time(line);
                     if (t && *t >= t_wall && line.find("automatic failover stopped") != std::string::npos) return line;
                   }
                   return std::string();
                 }() << "\n";
  return r;
}

std::string comparison_line() {
  std::string out, err;
  RunOptions ro;
  ro.timeout = 30s;
  const int rc = run_command({"apt-cache", "policy", "postgresql-15-repmgr", "postgresql-15-auto-failover"}, {}, &out,
                             &err, ro);
  if (rc != 0) return "not measured: apt-cache policy failed (exit " + std::to_string(rc) + ")";
  // apt-cache policy prints a block per package it knows; "Installed: (none)" when not installed.
  std::istringstream in(out);
  std::string pkg, summary;
  bool any_installed = false;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] != ' ' && line.back() == ':') pkg = line.substr(0, line.size() - 1);
    auto field = [&](const char* name) -> std::optional<std::string> {
      auto p = line.find(name);
      if (p == std::string::npos) return std::nullopt;
      return line.substr(p + std::strlen(name));
    };
    if (auto v = field("Installed: ")) {
      if (*v != "(none)") any_installed = true;
      summary += (summary.empty() ? "" : "; ") + pkg + " installed " + *v;
    }
    if (auto v = field("Candidate: ")) summary += ", candidate " + *v;
  }
  if (summary.empty())
    return "not measured: neither postgresql-15-repmgr nor postgresql-15-auto-failover is known to apt here";
  if (any_installed)
    return "not measured: a tool is installed (" + summary + ") but this benchmark has no driver for it yet";
  return "not measured: not installed (" + summary + "), and this benchmark does not install packages";
}

fs::path find_source_dir(int argc, char** argv) {
  auto ok = [](const fs::path& d) { return fs::exists(d / "demo" / "site_schema.sql"); };
  if (argc > 1) {
    if (!ok(argv[1])) throw std::invalid_argument(std::string(argv[1]) + " has no demo/site_schema.sql");
    return argv[1];
  }
  if (ok(fs::current_path())) return fs::current_path();
  if (const char* env = std::getenv("SK_SOURCE_DIR"); env && ok(env)) return env;
  if (fs::path here = fs::path(__FILE__).parent_path().parent_path().parent_path(); ok(here)) return here;
  throw std::invalid_argument("cannot find demo/site_schema.sql: pass the source directory as the first argument");
}

}  // namespace

int main(int argc, char** argv) {
  fs::path source;
  try {
    source = find_source_dir(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "failover_bench: " << e.what() << "\nusage: failover_bench [SOURCE_DIR]\n";
    return 2;
  }
  int rounds = 3;
  if (const char* r = std::getenv("SK_BENCH_ROUNDS")) rounds = std::clamp(std::atoi(r), 1, 5);

  std::cout << "failover_bench: sitekeeper " << SK_BINARY << "\n  source " << source.string()
            << "\n  [failover] mode automatic, probe_interval 1s, probe_timeout 1s, failures 3; "
            << rounds << " automatic-failover round(s) requested\n\n";
  std::vector<RtoResult> rtos;
  std::optional<SwitchoverResult> sw;
  std::vector<std::string> errors;
  std::string rounds_note;
  {
    std::unique_ptr<Site> site;
    auto fresh_site = [&](const std::string& why) {
      site.reset();
      say("setting up" + why + ": active cm1 (initdb, demo site database), empty cm2");
      site = std::make_unique<Site>(source);
      auto init = site->run_checked({"standby", "init"});
      say("sitekeeper standby init: " + fmt(init.seconds, 1) + " s");
      auto cap = site->run({"capture"});
      say(cap.code == 0 ? "sitekeeper capture: " + fmt(cap.seconds, 1) + " s (the failover replays it)"
                        : "sitekeeper capture failed (exit " + std::to_string(cap.code) + "); failover runs without: " +
                              tail(cap.err, 300));
      site->start_daemon();
      say("sitekeeper run: HA loop reports a healthy active");
      std::this_thread::sleep_for(6s);  // let the loop record serial marks and a WAL position (every 5 s)
    };
    try {
      fresh_site("");
      bool pair_intact = true;
      for (int round = 1; round <= rounds; ++round) {
        if (round > 1 && Steady::now() - kStarted > kBudget) {
          rounds_note = "time budget spent after " + std::to_string(round - 1) + " round(s)";
          say(rounds_note);
          break;
        }
        auto r = measure_failover(*site, round);
        rtos.push_back(r);
        const auto t_rejoin = Steady::now();
        try {
          rejoin(*site, r.from, r.to);
        } catch (const std::exception& e) {
          errors.push_back(e.what());
          rounds_note = "rejoin failed after round " + std::to_string(round) + ", so no further rounds";
          say("ERROR: " + std::string(e.what()));
          pair_intact = false;
          break;
        }
        // The loop records marks on the new active at least every 5 s; give it that before the next kill.
        const auto since = Steady::now() - t_rejoin;
        if (since < 6s) std::this_thread::sleep_for(6s - since);
        if (!site->daemon_running()) throw std::runtime_error("the daemon exited:\n" + tail(site->daemon_log()));
      }
      if (!pair_intact) fresh_site(" a fresh pair for the switchover");
      sw = measure_switchover(*site);
      if (sw->code != 0) errors.push_back("sitekeeper switchover --yes exited " + std::to_string(sw->code));
    } catch (const std::exception& e) {
      errors.push_back(e.what());
      std::cerr << "failover_bench: error: " << e.what() << "\n";
      if (site) std::cerr << "daemon log (tail):\n" << tail(site->daemon_log(), 3000) << "\n";
    }
  }

  std::cout << "\n==== results ====\n";
  if (!rtos.empty()) {
    std::vector<double> v;
    std::string list;
    for (const auto& r : rtos) {
      v.push_back(r.rto);
      list += (list.empty() ? "" : ", ") + fmt(r.rto, 1) + " s (" + r.from + "->" + r.to + ")";
    }
    std::sort(v.begin(), v.end());
    const double worst = v.back();
    std::cout << "automatic failover RTO = " << fmt(worst, 1) << " s (goal <= 5 s; probe_interval 1 s, failures 3)"
              << "  [worst of " << v.size() << " round(s): " << list << "; median " << fmt(v[v.size() / 2], 1)
              << " s; " << (worst <= kRtoGoal ? "goal met" : "GOAL MISSED") << "]\n";
    if (static_cast<int>(rtos.size()) < rounds)
      std::cout << "  (" << rtos.size() << " of " << rounds << " requested rounds ran"
                << (rounds_note.empty() ? "" : ": " + rounds_note) << ")\n";
  } else {
    std::cout << "automatic failover RTO = not measured\n";
  }
  if (sw && sw->code == 0)
    std::cout << "switchover downtime = " << fmt(sw->downtime, 1) << " s (goal <= 2 s)  [" << sw->from << "->" << sw->to
              << "; the command took " << fmt(sw->command_seconds, 1) << " s; "
              << (sw->downtime <= kSwitchoverGoal ? "goal met" : "GOAL MISSED") << "]\n";
  else
    std::cout << "switchover downtime = not measured" << (sw ? " (switchover failed)" : "") << "\n";
  std::cout << "repmgr / pg_auto_failover comparison: " << comparison_line() << "\n";
  std::cout << "total bench time " << fmt(secs(Steady::now() - kStarted), 0) << " s\n";
  if (!errors.empty()) {
    std::cout << errors.size() << " real error(s); exit 1:\n";
    for (const auto& e : errors) std::cout << "  - " << e.substr(0, e.find('\n')) << "\n";
    return 1;
  }
  return 0;
}
