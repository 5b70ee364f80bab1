// Failover benchmark, side by side with repmgr: how long writers are locked out when the active server
// dies, and whether a network partition that kills nothing makes either tool fail over. Real PostgreSQL
// 15 pairs whose servers run on machines of their own (network namespaces, netlab.hpp), driven by the
// `sitekeeper` binary on one side and by repmgr/repmgrd (Debian's postgresql-15-repmgr) on the other,
// as an operator would run them. Plus the planned switchover of sitekeeper on a local pair.
//
//   build/failover_bench [SOURCE_DIR]     SOURCE_DIR holds demo/site_schema.sql (default: the current
//                                         directory; then $SK_SOURCE_DIR; then this file's checkout)
//   SK_BENCH_ROUNDS=N                     rounds of each failover case (default 1, 1..5); each round builds
//                                         a fresh pair per case and tool (about 4 minutes a round)
//   SK_BENCH_CASES=a1,s1,b,...            only these cases (a1 a2 s1 s2 b c d switchover; default all)
//   SK_BENCH_TOOLS=sitekeeper,repmgr      only these tools (default both)
//   SK_BENCH_KEEP=1                       keep the switchover's site folder (config, state, daemon.log)
//
// What is measured, for each tool on the same kind of pair (active in namespace A, standby in S):
//   - failover: T0 is the fault, 6 s plus a random 0-999 ms after the pair is ready (so that it lands at
//     any phase of either monitor's ticks); T1 the first INSERT that commits on the standby (tried every 20 ms,
//     each time on a new session over its unix socket, so no cut link is in the way of the measure),
//     as a client role that may write the table and is no superuser.
//       a1  kill -9 of the active's postmaster, defaults   sitekeeper probe 1 s x 3      goal <= 5 s
//       a2  kill -9, tuned                                  sitekeeper probe 0.25 s x 3   goal <= 1.5 s
//       s1  silent death (A drops every packet), defaults                                goal <= 10 s
//       s2  silent death, tuned                                                          goal <= 3 s
//     repmgr: repmgrd on the standby, failover=automatic; defaults monitor_interval_secs=1,
//     reconnect_attempts=2, reconnect_interval=1; tuned is its most aggressive setting
//     (reconnect_attempts=1; its intervals are whole seconds, and libpq waits at least 2 s for a
//     connection, the connect_timeout of its conninfo).
//   - false failovers (goal 0): b) the manager<->active link is cut for 60 s while the standby streams;
//     c) the active<->standby link is cut for 45 s; d) the link the tool's monitor reaches the active by
//     flaps (down 1 s, up 1 s, ten times, then 15 s of watch). sitekeeper's monitor is the manager (the
//     root namespace); repmgrd's is the standby itself, so for repmgr (b) cuts a link it does not use
//     and (d) flaps the active<->standby link.
//   - switchover downtime (sitekeeper only): the longest gap between two commits of a writer while
//     `sitekeeper switchover --yes` runs, on a local pair.
//
// A measurement, not a test: it exits 0 when a goal is missed, and non-zero only on a real error (a
// server that does not start, a command that fails). A case that cannot run prints "skipped: reason".
// As root the servers, repmgr and repmgrd run as `postgres`.
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
#include <exception>
#include <filesystem>
#include <functional>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench_util.hpp"
#include "integration_support.hpp"
#include "netlab.hpp"
#include "partition_fixture.hpp"
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

// Both helper libraries have these; the benchmark's own are meant.
using sk::bench::conninfo_value;
using sk::bench::tail;
using sk::bench::toml_string;

constexpr const char* kDb = "CM_CEN";
constexpr double kSwitchoverGoal = 2.0;
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

class LocalSite {
 public:
  LocalSite(const fs::path& source_dir) {
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
  ~LocalSite() {
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

long g_seq = 1;  // message_id of the writer's next row, unique across the run


// ----- the first committed write ---------------------------------------------------------------------

// The writer is a client, not a superuser: sitekeeper lets superusers (itself) in while it promotes
// and resyncs the serials, and opens the database to clients only after that.
constexpr const char* kWriterRole = "bench_writer";

// libpq over the server's unix socket (trusted there): it reaches a server in any namespace and over
// any cut.
std::string socket_conninfo(const PgCluster& c, const std::string& db) {
  return "host=" + conninfo_value(c.socket_dir().string()) + " port=" + std::to_string(c.port()) +
         " user=" + conninfo_value(kWriterRole) + " dbname=" + conninfo_value(db) +
         " connect_timeout=2 application_name=failover-bench";
}

// Empty when the write committed, else the first line of libpq's error.
std::string try_write(const std::string& conninfo, const std::string& sql) {
  PGconn* c = PQconnectdb(conninfo.c_str());
  std::string error;
  if (PQstatus(c) == CONNECTION_OK) {
    PQsetNoticeProcessor(c, [](void*, const char*) {}, nullptr);
    PGresult* r = PQexec(c, sql.c_str());
    if (PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_COMMAND_OK) error = PQerrorMessage(c);
    PQclear(r);
  } else {
    error = PQerrorMessage(c);
  }
  PQfinish(c);
  if (error.empty()) return error;
  error = error.substr(0, error.find('\n'));
  return error.empty() ? "failed" : error;
}

// What the writer was told while it could not write: each new error with its first time after t0.
std::string g_writer_errors;

// Seconds from t0 to the first write that commits, trying every 20 ms on a new session (what a client
// that reconnects does); nullopt when none did within `deadline`.
std::optional<double> first_write(const std::string& conninfo, const std::string& sql, Steady::time_point t0,
                                  std::chrono::seconds deadline) {
  g_writer_errors.clear();
  std::string last;
  while (Steady::now() - t0 < deadline) {
    const std::string error = try_write(conninfo, sql);
    if (error.empty()) return secs(Steady::now() - t0);
    if (error != last) g_writer_errors += "      +" + fmt(secs(Steady::now() - t0), 2) + " s  " + error + "\n";
    last = error;
    std::this_thread::sleep_for(20ms);
  }
  return std::nullopt;
}

bool streams(const PgCluster& standby) {
  auto r = standby.try_psql("SELECT status FROM pg_stat_wal_receiver");
  return r.ok() && r.out == "streaming";
}

// ----- a pair under test -----------------------------------------------------------------------------

// An active and a standby in a NetLab with one tool watching them, ready for a fault.
class Bed {
 public:
  virtual ~Bed() = default;
  virtual NetLab& lab() = 0;
  virtual PgCluster& active() = 0;
  virtual PgCluster& standby() = 0;
  virtual std::string write_db() = 0;
  virtual std::string write_sql() const = 0;
  virtual bool promoted() = 0;         // any sign that the standby is (being) promoted
  virtual std::string log() = 0;  // the watching daemon's log
  virtual std::string standby_log() { return standby().server_log(); }  // the standby server's own log
  virtual Link monitor_link() const = 0;  // the link the tool's monitor reaches the active by
};

struct Tuning {
  bool tuned = false;
};

// sitekeeper: PartitionSite (the integration tests' partition fixture): the daemon in the root
// namespace, its fence script kills the active's postmaster.
class SitekeeperBed : public Bed {
 public:
  explicit SitekeeperBed(Tuning t)
      : ps_(t.tuned ? PartitionSiteOptions{.probe_interval = "250ms", .probe_timeout = "250ms"} : PartitionSiteOptions{}) {
    // The demo schema's site_admin may write every table: what the site's applications log in as.
    ps_.active().psql(std::string("CREATE ROLE ") + kWriterRole + " LOGIN IN ROLE site_admin", ps_.site().db());
    auto init = ps_.site().run_on(ps_.standby(), {"standby", "init"});
    if (init.code != 0)
      throw std::runtime_error("sitekeeper standby init failed (exit " + std::to_string(init.code) + "): " +
                               tail(init.out, 500) + tail(init.err, 1500));
    wait_until([&] { return standby_caught_up(ps_.site()); }, 120s, "the sitekeeper standby to stream with no lag");
    auto cap = ps_.site().run({"capture"});  // what the failover replays on the new active
    if (cap.code != 0) say("sitekeeper capture failed (exit " + std::to_string(cap.code) + "): " + tail(cap.err, 300));
    ps_.start_daemon();
  }
  NetLab& lab() override { return ps_.lab(); }
  PgCluster& active() override { return ps_.active(); }
  PgCluster& standby() override { return ps_.standby(); }
  std::string write_db() override { return ps_.site().db(); }
  std::string write_sql() const override {
    return "INSERT INTO status_messages (site_code, component, message_id, severity, machine_name, message) "
           "VALUES ('CEN', 'failover-bench', 1, 'informational', 'BENCHPC', 'first write') RETURNING record_id";
  }
  bool promoted() override { return ps_.promoted(); }
  std::string log() override { return ps_.daemon().log(); }
  std::string standby_log() override {  // sitekeeper starts the standby it builds with a log of its own
    std::ifstream in(ps_.standby().data_dir() / "sitekeeper-pg_ctl.log", std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
  }
  Link monitor_link() const override { return Link::manager_active; }

 private:
  PartitionSite ps_;
};

const fs::path kRepmgr = fs::path(kPgBinDir) / "repmgr";
const fs::path kRepmgrd = fs::path(kPgBinDir) / "repmgrd";
const fs::path kRepmgrLib = "/usr/lib/postgresql/15/lib/repmgr.so";

std::optional<std::string> repmgr_unavailable() {
  for (const auto& p : {kRepmgr, kRepmgrd, kRepmgrLib})
    if (!fs::exists(p))
      return p.string() + " is missing: install the Debian package postgresql-15-repmgr (./run.sh bench does)";
  return std::nullopt;
}

// A repmgr.conf string value: '...' with ' and \ escaped.
std::string repmgr_quoted(const std::string& v) {
  std::string s = "'";
  for (char c : v) {
    if (c == '\'' || c == '\\') s += '\\';
    s += c;
  }
  return s + "'";
}

// repmgr: node 1 (rm1) the primary in namespace A, node 2 (rm2) cloned by `repmgr standby clone` in S,
// and repmgrd on the standby, which is where repmgr decides a failover. No witness and no fence:
// repmgr has neither unless one is added.
class RepmgrBed : public Bed {
 public:
  explicit RepmgrBed(Tuning t) : tuned_(t.tuned) {
    ::chmod(dir_.path().c_str(), 0755);  // repmgr runs as postgres and reads its config here
    const std::vector<std::pair<std::string, std::string>> settings = {
        {"shared_preload_libraries", "'repmgr'"}, {"max_wal_senders", "10"}, {"max_replication_slots", "10"},
        {"wal_keep_size", "'64MB'"}};
    rm1_ = PgCluster::start({.name = "rm1",
                             .settings = settings,
                             .netns = lab_.netns(Host::active),
                             .listen = {lab_.address(Host::active)},
                             .clients = {lab_.subnet()}});
    rm2_ = PgCluster::start({.name = "rm2",
                             .initdb = false,
                             .start = false,
                             .settings = settings,
                             .netns = lab_.netns(Host::standby),
                             .listen = {lab_.address(Host::standby)},
                             .clients = {lab_.subnet()}});
    rm1_->psql("CREATE DATABASE repmgr");
    rm1_->psql("CREATE TABLE bench_writes (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now());\n"
               "CREATE ROLE " + std::string(kWriterRole) + " LOGIN;\n"
               "GRANT SELECT, INSERT ON bench_writes TO " + kWriterRole + ";\n"
               "GRANT USAGE ON SEQUENCE bench_writes_id_seq TO " + kWriterRole + ";");
    write_passfile();
    fs::create_directory_symlink(rm1_->data_dir(), data_link(1));
    fs::create_directory_symlink(rm2_->data_dir(), data_link(2));
    write_conf(1, *rm1_);
    write_conf(2, *rm2_);
    repmgr_checked(Host::active, {"-f", conf(1), "primary", "register"});
    repmgr_checked(Host::standby, {"-h", lab_.address(Host::active), "-p", std::to_string(rm1_->port()), "-U",
                                   rm1_->superuser(), "-d", "repmgr", "-f", conf(2), "standby", "clone",
                                   "--fast-checkpoint"});
    rm2_->start_server();
    repmgr_checked(Host::standby, {"-f", conf(2), "standby", "register"});
    wait_until([&] { return streams(*rm2_); }, 60s, "the repmgr standby to stream");
    repmgrd_ = std::make_unique<BackgroundProcess>(
        in_netns(lab_.netns(Host::standby),
                 as_server_user({"env", "PGPASSFILE=" + passfile().string(), kRepmgrd.string(), "-f", conf(2),
                                 "--daemonize=false", "--no-pid-file"})),
        dir_ / "repmgrd.log");
    wait_until([&] { return contains(log(), "monitoring connection to upstream node"); }, 60s,
               "repmgrd to monitor the primary");
  }
  ~RepmgrBed() override {
    repmgrd_.reset();  // before the servers: it must not act while they go
    rm2_.reset();
    rm1_.reset();
  }
  NetLab& lab() override { return lab_; }
  PgCluster& active() override { return *rm1_; }
  PgCluster& standby() override { return *rm2_; }
  std::string write_db() override { return "postgres"; }
  std::string write_sql() const override { return "INSERT INTO bench_writes DEFAULT VALUES RETURNING id"; }
  bool promoted() override {
    const auto l = log();
    if (contains(l, "promoting standby") || contains(l, "promote_command")) return true;
    auto r = rm2_->try_psql("SELECT pg_is_in_recovery()");
    return r.ok() && r.out == "f";
  }
  std::string log() override { return repmgrd_ ? repmgrd_->log() : std::string(); }
  Link monitor_link() const override { return Link::active_standby; }
  std::string settings_line() const {
    return "monitor_interval_secs=1, reconnect_attempts=" + std::to_string(tuned_ ? 1 : 2) +
           ", reconnect_interval=1, connect_timeout=2";
  }

 private:
  fs::path passfile() const { return dir_ / "pgpass"; }
  std::string conf(int id) const { return (dir_ / ("rm" + std::to_string(id) + ".conf")).string(); }
  // repmgr 5.3 passes data_directory to pg_basebackup unquoted, so the clusters' folders (which hold a
  // space on purpose) are named to it by a symbolic link without one.
  fs::path data_link(int id) const { return dir_ / ("rm" + std::to_string(id) + "-data"); }

  void write_passfile() const {
    std::ofstream(passfile()) << "*:*:*:" << rm1_->superuser() << ":" << rm1_->password() << "\n";
    ::chmod(passfile().c_str(), 0600);
    if (running_as_root()) {
      const int rc = run_command({"chown", "postgres", passfile().string()});
      if (rc != 0) throw std::runtime_error("chown postgres " + passfile().string() + " failed");
    }
  }

  // Keys from repmgr's documentation (repmgr.conf.sample, "repmgrd configuration").
  void write_conf(int id, const PgCluster& c) const {
    const std::string self = conf(id);
    const std::string repmgr = kRepmgr.string() + " -f " + self + " --log-to-file";
    std::ofstream f(self);
    f << "node_id=" << id << "\nnode_name=" << repmgr_quoted(c.name()) << "\nconninfo="
      << repmgr_quoted("host=" + c.host() + " port=" + std::to_string(c.port()) + " user=" + c.superuser() +
                       " dbname=repmgr connect_timeout=2")
      << "\ndata_directory=" << repmgr_quoted(data_link(id).string()) << "\npg_bindir=" << repmgr_quoted(kPgBinDir)
      << "\npassfile=" << repmgr_quoted(passfile().string()) << "\nuse_replication_slots=yes\nlog_level=INFO\n"
      << "failover=automatic\npromote_command=" << repmgr_quoted(repmgr + " standby promote")
      << "\nfollow_command=" << repmgr_quoted(repmgr + " standby follow --upstream-node-id=%n")
      << "\nmonitor_interval_secs=1\nconnection_check_type=ping\nreconnect_attempts=" << (tuned_ ? 1 : 2)
      << "\nreconnect_interval=1\npromote_check_interval=1\n";
    f.close();
    ::chmod(self.c_str(), 0644);
  }

  void repmgr_checked(Host on, std::vector<std::string> args) const {
    std::vector<std::string> argv = {"env", "PGPASSFILE=" + passfile().string(), kRepmgr.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    std::string out, err;
    RunOptions ro;
    ro.timeout = 2min;
    ro.cwd = "/tmp";  // the postgres user may not enter the caller's folder
    const int rc = run_command(in_netns(lab_.netns(on), as_server_user(argv)), {}, &out, &err, ro);
    if (rc != 0) {
      std::string shown;
      for (const auto& a : args) shown += " " + a;
      throw std::runtime_error("repmgr" + shown + " failed (exit " + std::to_string(rc) + "):\n" + tail(out, 1500) +
                               tail(err, 2500));
    }
  }

  NetLab lab_;  // first: removed last
  TempDir dir_{"/tmp/sk-repmgr-bench-"};
  bool tuned_;
  std::unique_ptr<PgCluster> rm1_, rm2_;
  std::unique_ptr<BackgroundProcess> repmgrd_;
};

// ----- cases -----------------------------------------------------------------------------------------

enum class Tool { sitekeeper, repmgr };
const char* name(Tool t) { return t == Tool::sitekeeper ? "sitekeeper" : "repmgr"; }

std::unique_ptr<Bed> make_bed(Tool t, Tuning tuning) {
  if (t == Tool::sitekeeper) return std::make_unique<SitekeeperBed>(tuning);
  return std::make_unique<RepmgrBed>(tuning);
}

// The lines of `log` that hold one of `needles`, for the timeline after a failover.
std::string lines_with(const std::string& log, const std::vector<std::string>& needles, size_t max_lines = 12) {
  std::istringstream in(log);
  std::vector<std::string> hits;
  for (std::string line; std::getline(in, line);)
    for (const auto& n : needles)
      if (line.find(n) != std::string::npos) {
        hits.push_back(line);
        break;
      }
  if (hits.size() > max_lines) hits.erase(hits.begin(), hits.end() - static_cast<long>(max_lines));
  std::string s;
  for (const auto& h : hits) s += "      " + h + "\n";
  return s;
}

// " fence +1.23s promote +1.50s ...": the runbook's "step NAME done:" lines at or after t0.
std::string step_timeline(const std::string& log, Wall::time_point t0) {
  std::istringstream in(log);
  std::string out;
  for (std::string line; std::getline(in, line);) {
    auto p = line.find("step ");
    auto d = line.find(" done:");
    auto t = log_time(line);
    if (p == std::string::npos || d == std::string::npos || d < p || !t || *t < t0) continue;
    out += " " + line.substr(p + 5, d - p - 5) + " +" + fmt(std::chrono::duration<double>(*t - t0).count(), 2) + "s";
  }
  return out.empty() ? " (none logged)" : out;
}

// One failover: a fresh pair, 6 s of quiet (sitekeeper's loop records serial marks every 5 s) plus a
// random part of a second, the fault, then the first committed write on the standby. Returns its
// seconds after the fault. The random part puts the fault at any phase of the monitors' ticks (every
// 250 ms or 1 s): a fixed wait after the daemon started would put it at about the same phase every
// time, lucky for one tool and unlucky for the other.
double measure_failover(Tool tool, bool silent, Tuning tuning, const std::string& label) {
  say(label + ": setting up a " + name(tool) + " pair" + (tuning.tuned ? " (tuned)" : " (defaults)"));
  auto bed = make_bed(tool, tuning);
  static std::mt19937 rng(std::random_device{}());
  const auto phase = std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 999)(rng));
  std::this_thread::sleep_for(6s + phase);
  const std::string conninfo = socket_conninfo(bed->standby(), bed->write_db());
  if (try_write(conninfo, bed->write_sql()).empty()) throw std::runtime_error(label + ": the standby takes writes before the fault");
  const auto wall0 = Wall::now();
  const auto t0 = Steady::now();
  // kill9() sends SIGKILL at once, then waits for the processes to be reaped (a container's init may
  // take a second or two): the writer must start at the kill, not after that wait, or every kill -9
  // figure grows by it.
  std::thread killer;
  std::exception_ptr kill_error;
  if (silent)
    bed->lab().isolate(Host::active);
  else
    killer = std::thread([&] {
      try {
        bed->active().kill9();
      } catch (...) {
        kill_error = std::current_exception();
      }
    });
  auto t = first_write(conninfo, bed->write_sql(), t0, 120s);
  if (killer.joinable()) killer.join();
  if (kill_error) std::rethrow_exception(kill_error);
  const std::string log = bed->log();
  // A silently dead machine is dead: its postmaster, which repmgr leaves running behind the drop rules,
  // would otherwise wait out its walsenders' timeout at shutdown.
  if (silent) bed->active().kill9();
  if (!t)
    throw std::runtime_error(label + ": no write committed on the standby within 120 s of the fault; " + name(tool) +
                             " log (tail):\n" + tail(log, 3000));
  say(label + ": " + name(tool) + " first committed write on the standby " + fmt(*t, 2) + " s after the " +
      (silent ? "silent death" : "kill -9") + " (fault " + std::to_string(phase.count()) + " ms into the second after 6 s of quiet)");
  std::cout << "    standby's server log:\n"
            << lines_with(bed->standby_log(),
                          {"promote", "redo done", "selected new timeline", "archive recovery complete",
                           "ready to accept", "replication terminated", "could not connect", "terminating walreceiver"},
                          10);
  if (tool == Tool::sitekeeper) {
    std::cout << "    daemon: decision \"promoting the standby\" " << offset(first_after(log, wall0, "promoting the standby"))
              << "; steps done:" << step_timeline(log, wall0) << "\n";
    std::cout << "    the writer was told:\n" << g_writer_errors;
  } else {
    std::cout << "    repmgrd log:\n"
              << lines_with(log, {"unable to connect to upstream", "unable to ping", "reconnect", "promot",
                                  "failover", "election", "node is now primary"});
  }
  return *t;
}

// Runs `stimulus` (which cuts links and watches for a promotion, returning whether it saw one), then
// looks once more: 1 when a promotion began (a false failover), else 0.
int watch_partition(Bed& bed, const std::string& label, const std::function<bool()>& stimulus) {
  const auto dropped_before = bed.lab().dropped(Host::active) + bed.lab().dropped(Host::standby);
  bool promoted = stimulus();
  promoted = bed.promoted() || promoted;
  const auto dropped = bed.lab().dropped(Host::active) + bed.lab().dropped(Host::standby) - dropped_before;
  say(label + ": " + (promoted ? "FALSE FAILOVER (the standby was promoted)" : "no failover") + "; the cuts dropped " +
      std::to_string(dropped) + " packets");
  if (promoted && dynamic_cast<RepmgrBed*>(&bed))
    std::cout << "    repmgrd log:\n" << lines_with(bed.log(), {"unable to ping", "reconnect", "promot", "election"});
  return promoted ? 1 : 0;
}

// b, d, c on one pair (a fresh one after a false failover, or when the standby does not stream again
// after the heal): false failovers per case.
std::map<std::string, int> measure_partitions(Tool tool, const std::set<std::string>& wanted) {
  std::map<std::string, int> out;
  std::unique_ptr<Bed> bed;
  auto ensure = [&] {
    if (bed) return;
    say(std::string("partitions: setting up a ") + name(tool) + " pair (defaults)");
    bed = make_bed(tool, {});
    std::this_thread::sleep_for(6s);
  };
  auto after = [&](int false_failovers) {
    if (false_failovers) return bed.reset();
    bed->lab().heal_all();
    try {
      wait_until([&] { return streams(bed->standby()); }, 90s, "the standby to stream again after the heal");
    } catch (const std::exception& e) {
      say(std::string("partitions: ") + e.what() + "; a fresh pair for the next case");
      bed.reset();
    }
  };
  auto promoted = [&] { return bed->promoted(); };
  if (wanted.count("b")) {
    ensure();
    out["b"] = watch_partition(*bed, std::string("b ") + name(tool) + ": manager<->active cut for 60 s", [&] {
      bed->lab().cut(Link::manager_active);
      return watch(60s, 60s, promoted).forbidden_seen;
    });
    after(out["b"]);
  }
  if (wanted.count("d")) {
    ensure();
    const Link l = bed->monitor_link();
    out["d"] = watch_partition(
        *bed, std::string("d ") + name(tool) + ": " + to_string(l) + " down 1 s / up 1 s x10, then 15 s", [&] {
          bool seen = false;
          for (int i = 0; i < 10; ++i) {  // each phase lasts its second while the watch polls
            bed->lab().cut(l);
            seen = watch(1s, 1s, promoted).forbidden_seen || seen;
            bed->lab().heal(l);
            seen = watch(1s, 1s, promoted).forbidden_seen || seen;
          }
          return watch(15s, 15s, promoted).forbidden_seen || seen;
        });
    after(out["d"]);
  }
  if (wanted.count("c")) {
    ensure();
    out["c"] = watch_partition(*bed, std::string("c ") + name(tool) + ": active<->standby cut for 45 s", [&] {
      bed->lab().cut(Link::active_standby);
      return watch(45s, 45s, promoted).forbidden_seen;
    });
  }
  return out;
}

// ----- switchover (sitekeeper, local pair) ----------------------------------------------------------

struct SwitchoverResult {
  double downtime = -1;
  double command_seconds = 0;
  int code = 0;
  std::string from, to;
};

SwitchoverResult measure_switchover(LocalSite& site) {
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


struct Goal {
  std::string id, what;
  double limit;  // seconds, or false failovers for b/c/d
  bool count;
};

const std::vector<Goal> kGoals = {
    {"a1", "kill -9, defaults", 5.0, false},
    {"a2", "kill -9, tuned", 1.5, false},
    {"s1", "silent death, defaults", 10.0, false},
    {"s2", "silent death, tuned", 3.0, false},
    {"b", "mgr<->active cut 60 s: false failovers", 0, true},
    {"c", "active<->standby cut 45 s: false failovers", 0, true},
    {"d", "flapping link x10: false failovers", 0, true},
};

// What one tool gave for one case: samples (seconds, or a count), or why there are none.
struct Cell {
  std::vector<double> v;
  std::string skipped, error;
  std::string shown(bool count) const {
    if (!error.empty()) return "error";
    if (v.empty()) return skipped.empty() ? "-" : "skipped";
    if (count) {
      double n = 0;
      for (double x : v) n += x;
      return fmt(n, 0);
    }
    return fmt(*std::max_element(v.begin(), v.end()), 2) + " s";
  }
  std::optional<double> worst(bool count) const {
    if (v.empty() || !error.empty()) return std::nullopt;
    if (count) {
      double n = 0;
      for (double x : v) n += x;
      return n;
    }
    return *std::max_element(v.begin(), v.end());
  }
};

std::set<std::string> list_env(const char* var, const std::set<std::string>& all) {
  const char* v = std::getenv(var);
  if (!v || !*v) return all;
  std::set<std::string> out;
  std::istringstream in(v);
  for (std::string w; std::getline(in, w, ',');)
    if (!w.empty()) out.insert(w);
  return out;
}

std::string pad(const std::string& s, size_t n) { return s.size() >= n ? s + " " : s + std::string(n - s.size(), ' '); }

}  // namespace

int main(int argc, char** argv) {
  fs::path source;
  try {
    source = find_source_dir(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "failover_bench: " << e.what() << "\nusage: failover_bench [SOURCE_DIR]\n";
    return 2;
  }
  ::setenv("SK_SOURCE_DIR", source.c_str(), 0);
  int rounds = 1;
  if (const char* r = std::getenv("SK_BENCH_ROUNDS")) rounds = std::clamp(std::atoi(r), 1, 5);
  const auto cases = list_env("SK_BENCH_CASES", {"a1", "a2", "s1", "s2", "b", "c", "d", "switchover"});
  const auto tools_wanted = list_env("SK_BENCH_TOOLS", {"sitekeeper", "repmgr"});
  std::vector<Tool> tools;
  for (Tool t : {Tool::sitekeeper, Tool::repmgr})
    if (tools_wanted.count(name(t))) tools.push_back(t);

  std::cout << "failover_bench: sitekeeper " << SK_BINARY << "\n  source " << source.string() << "\n  " << rounds
            << " round(s) of each failover case\n"
            << "  sitekeeper [failover] mode automatic, failures 3; defaults probe_interval 1s, probe_timeout 1s; "
               "tuned probe_interval 250ms, probe_timeout 250ms\n"
            << "  repmgr: repmgrd on the standby, failover=automatic, connection_check_type=ping, conninfo "
               "connect_timeout=2; defaults monitor_interval_secs=1, reconnect_attempts=2, reconnect_interval=1; "
               "tuned reconnect_attempts=1\n";
  const auto no_netns = NetLab::unavailable();
  const auto no_repmgr = repmgr_unavailable();
  if (no_netns) std::cout << "  no network namespaces: " << *no_netns << "\n";
  if (no_repmgr) std::cout << "  no repmgr: " << *no_repmgr << "\n";
  std::cout << "\n";

  std::map<std::string, std::map<Tool, Cell>> table;
  std::vector<std::string> errors;
  auto skip_reason = [&](Tool t) -> std::optional<std::string> {
    if (no_netns) return "no network namespaces: " + *no_netns;
    if (t == Tool::repmgr && no_repmgr) return *no_repmgr;
    return std::nullopt;
  };
  auto record_error = [&](Cell& cell, const std::string& what, const std::exception& e) {
    cell.error = e.what();
    errors.push_back(what + ": " + e.what());
    say("ERROR " + what + ": " + e.what());
  };

  // Failover cases, round by round.
  const std::vector<std::pair<std::string, std::pair<bool, bool>>> failovers = {
      {"a1", {false, false}}, {"a2", {false, true}}, {"s1", {true, false}}, {"s2", {true, true}}};
  std::string rounds_note;
  for (int round = 1; round <= rounds; ++round) {
    if (round > 1 && Steady::now() - kStarted > std::chrono::minutes(40)) {
      rounds_note = "time budget (40 min) spent after " + std::to_string(round - 1) + " round(s)";
      say(rounds_note);
      break;
    }
    for (const auto& [id, how] : failovers) {
      if (!cases.count(id)) continue;
      for (Tool t : tools) {
        Cell& cell = table[id][t];
        if (auto why = skip_reason(t)) {
          cell.skipped = *why;
          continue;
        }
        if (!cell.error.empty()) continue;
        const std::string label = id + " round " + std::to_string(round);
        try {
          cell.v.push_back(measure_failover(t, how.first, {.tuned = how.second}, label));
        } catch (const std::exception& e) {
          record_error(cell, label + " " + name(t), e);
        }
      }
    }
  }

  // Partition cases, once per tool.
  std::set<std::string> partitions;
  for (const char* id : {"b", "c", "d"})
    if (cases.count(id)) partitions.insert(id);
  if (!partitions.empty())
    for (Tool t : tools) {
      if (auto why = skip_reason(t)) {
        for (const auto& id : partitions) table[id][t].skipped = *why;
        continue;
      }
      try {
        for (const auto& [id, n] : measure_partitions(t, partitions)) table[id][t].v.push_back(n);
      } catch (const std::exception& e) {
        for (const auto& id : partitions)
          if (table[id][t].v.empty()) record_error(table[id][t], std::string("partitions ") + name(t), e);
      }
    }

  // sitekeeper's planned switchover on a local pair.
  std::optional<SwitchoverResult> sw;
  std::string sw_error;
  if (cases.count("switchover") && tools_wanted.count("sitekeeper")) {
    try {
      say("switchover: setting up a local sitekeeper pair");
      LocalSite site(source);
      auto init = site.run_checked({"standby", "init"});
      say("sitekeeper standby init: " + fmt(init.seconds, 1) + " s");
      site.run({"capture"});
      site.start_daemon();
      std::this_thread::sleep_for(6s);
      sw = measure_switchover(site);
      if (sw->code != 0) errors.push_back("sitekeeper switchover --yes exited " + std::to_string(sw->code));
    } catch (const std::exception& e) {
      sw_error = e.what();
      errors.push_back(std::string("switchover: ") + e.what());
      say(std::string("ERROR switchover: ") + e.what());
    }
  }

  std::cout << "\n==== results ====\n"
            << pad("case", 46) << pad("sitekeeper", 12) << pad("repmgr", 12) << pad("ratio sk/rm", 13)
            << pad("goal", 10) << "met\n";
  std::vector<std::string> skips;
  for (const auto& g : kGoals) {
    if (!table.count(g.id)) continue;
    auto& row = table[g.id];
    const Cell& sk = row[Tool::sitekeeper];
    const Cell& rm = row[Tool::repmgr];
    const auto a = sk.worst(g.count), b = rm.worst(g.count);
    std::string ratio = "n/a";
    if (!g.count && a && b && *b > 0) ratio = fmt(*a / *b, 2);
    const std::string goal = g.count ? "0" : "<= " + fmt(g.limit, g.limit < 2 ? 1 : 0) + " s";
    const std::string met = a ? (*a <= g.limit ? "yes" : "NO") : "n/a";
    std::cout << pad(g.id + " " + g.what, 46) << pad(sk.shown(g.count), 12) << pad(rm.shown(g.count), 12)
              << pad(ratio, 13) << pad(goal, 10) << met << "\n";
    for (Tool t : {Tool::sitekeeper, Tool::repmgr}) {
      const Cell& c = row[t];
      if (!c.skipped.empty() && c.v.empty()) skips.push_back(g.id + " " + name(t) + " skipped: " + c.skipped);
      if (!c.error.empty()) skips.push_back(g.id + " " + name(t) + " error: " + c.error.substr(0, c.error.find('\n')));
      if (!g.count && c.v.size() > 1) {
        std::string list;
        for (double x : c.v) list += (list.empty() ? "" : ", ") + fmt(x, 2);
        skips.push_back(g.id + " " + name(t) + " rounds: " + list + " s (the table shows the worst)");
      }
    }
  }
  for (const auto& s : skips) std::cout << "  " << s << "\n";
  if (!rounds_note.empty()) std::cout << "  (" << rounds_note << ")\n";
  if (sw && sw->code == 0)
    std::cout << "switchover downtime (sitekeeper) = " << fmt(sw->downtime, 2) << " s (goal <= 2 s)  [" << sw->from
              << "->" << sw->to << "; the command took " << fmt(sw->command_seconds, 1) << " s; "
              << (sw->downtime <= 2.0 ? "goal met" : "GOAL MISSED") << "]\n";
  else if (cases.count("switchover") && tools_wanted.count("sitekeeper"))
    std::cout << "switchover downtime = not measured" << (sw ? " (switchover failed)" : "")
              << (sw_error.empty() ? "" : ": " + sw_error.substr(0, sw_error.find('\n'))) << "\n";
  std::cout << "total bench time " << fmt(secs(Steady::now() - kStarted), 0) << " s\n";
  if (!errors.empty()) {
    std::cout << errors.size() << " real error(s); exit 1:\n";
    for (const auto& e : errors) std::cout << "  - " << e.substr(0, e.find('\n')) << "\n";
    return 1;
  }
  return 0;
}
