// Scheduler benchmark: what `sitekeeper run` costs while it waits, and how punctually it starts jobs.
//
//   build/scheduler_bench          about 2.5 minutes
//   SK_BENCH_IDLE_SECONDS=60       length of the idle measurement (default 60)
//   SK_BENCH_LATE_SECONDS=50       length of the lateness measurement (default 50)
//   SK_SOURCE_DIR=/path/to/checkout  where demo/*.sql live (default: from this file's path)
//
// One PostgreSQL 15 cluster (the active server, with the demo site database) and two daemon runs:
//   idle      schedules that cannot fire within the measurement (cron, months away) plus the HTTP API;
//             the health monitor keeps probing the active server every second, as it does in
//             production. Sampled every second: VmRSS (/proc/PID/status), max and final; CPU as the
//             utime+stime delta (/proc/PID/stat) over wall time.
//   lateness  capture and verify every 1 s; every "starting JOB (scheduled, N ms late)" log line is a
//             sample (runs merged because the previous one overran are "scheduled" too and count,
//             so an overrunning job shows up here). The sitekeeper_job_start_lateness_seconds
//             histogram from /metrics is printed as a cross-check.
//
// A measurement, not a test: it exits 0 when a goal is missed, and non-zero only on a real error.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.hpp"
#include "pg_cluster.hpp"

#ifndef SK_BINARY
#error "SK_BINARY must name the sitekeeper binary"
#endif

using namespace sk::test;
using namespace sk::bench;
namespace fs = std::filesystem;
using Steady = std::chrono::steady_clock;

namespace {

constexpr const char* kDb = "CM_CEN";
constexpr double kGoalRssMb = 20;
constexpr double kGoalCpuPct = 0.5;
constexpr double kGoalP99Ms = 50;

std::string fmt(double v, int prec = 2) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(prec) << v;
  return s.str();
}

long env_seconds(const char* name, long dflt) {
  const char* v = std::getenv(name);
  if (!v || !*v) return dflt;
  char* end = nullptr;
  long n = std::strtol(v, &end, 10);
  if (*end || n <= 0) throw std::runtime_error(std::string(name) + " must be a positive integer");
  return n;
}


std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), {}};
}

// ----- the daemon seen from /proc -----------------------------------------------------------------

double rss_mb(pid_t pid) {
  std::istringstream in(read_text("/proc/" + std::to_string(pid) + "/status"));
  for (std::string l; std::getline(in, l);)
    if (l.rfind("VmRSS:", 0) == 0) return std::stod(l.substr(6)) / 1024.0;  // "VmRSS:   12345 kB"
  throw std::runtime_error("no VmRSS for pid " + std::to_string(pid));
}

double cpu_seconds(pid_t pid) {
  const std::string s = read_text("/proc/" + std::to_string(pid) + "/stat");
  auto close = s.rfind(')');  // the command name may hold spaces and parentheses
  if (close == std::string::npos) throw std::runtime_error("bad /proc stat for pid " + std::to_string(pid));
  std::istringstream in(s.substr(close + 2));
  std::vector<std::string> f;
  for (std::string t; in >> t;) f.push_back(t);
  // f[0] is field 3 (state): utime is field 14, stime field 15.
  if (f.size() < 13) throw std::runtime_error("short /proc stat");
  const double tick = static_cast<double>(::sysconf(_SC_CLK_TCK));
  return (std::stod(f[11]) + std::stod(f[12])) / tick;
}

// ----- tiny HTTP GET ------------------------------------------------------------------------------

int http_get(int port, const std::string& target, std::string* body) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  const std::string req = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    ::close(fd);
    return -1;
  }
  std::string raw;
  char buf[8192];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) raw.append(buf, static_cast<size_t>(n));
  ::close(fd);
  if (raw.rfind("HTTP/1.", 0) != 0 || raw.size() < 12) return -1;
  auto sep = raw.find("\r\n\r\n");
  if (body) *body = sep == std::string::npos ? "" : raw.substr(sep + 4);
  return std::stoi(raw.substr(9, 3));
}

// ----- the site -----------------------------------------------------------------------------------

struct Bench {
  std::unique_ptr<PgCluster> active;
  fs::path dir;
  fs::path src;

  fs::path config() const { return dir / "sitekeeper.toml"; }

  void setup() {
    char tmpl[] = "/tmp/sk sched bench é-XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    dir = tmpl;
    active = PgCluster::start({.name = "active"});
    active->write_password_file(dir / "secrets" / "pw");
    active->psql(std::string("CREATE DATABASE \"") + kDb + "\"");
    active->psql_file(src / "demo" / "site_schema.sql", kDb);
    active->psql_file(src / "demo" / "site_data.sql", kDb);
  }

  ~Bench() {
    std::error_code ec;
    if (!dir.empty()) fs::remove_all(dir, ec);
  }

  // A fresh state store per run, so that nothing is caught up from an earlier run.
  void write_config(const std::string& schedules, int port, const std::string& state) {
    std::ofstream f(config());
    f << "[site]\ncode = \"CEN\"\ndatabase = " << toml_string(kDb) << "\n\n"
      << "[state]\npath = " << toml_string("state/" + state + ".db") << "\n\n"
      << "[archive]\npath = \"site archive\"\nkeep = 3\nmax_age = \"5d\"\n\n"
      << "[servers.cm1]\nengine = \"postgresql\"\ntransport = \"native\"\nhost = \"127.0.0.1\"\nport = "
      << active->port() << "\nuser = " << toml_string(active->superuser()) << "\npassword_file = \"secrets/pw\"\n"
      << "data_dir = " << toml_string(active->data_dir().string()) << "\nbin_dir = " << toml_string(kPgBinDir) << "\n\n"
      << "[roles]\nactive = \"cm1\"\n\n"
      << "[http]\nlisten = \"127.0.0.1:" << port << "\"\n\n"
      << schedules;
    f.close();
    fs::permissions(config(), fs::perms::owner_read | fs::perms::owner_write);
  }

  std::vector<std::string> argv(std::vector<std::string> args) const {
    std::vector<std::string> a = {SK_BINARY, "--config", config().string()};
    a.insert(a.end(), args.begin(), args.end());
    return a;
  }

  // Waits for /health 200; nullopt-like false when the daemon exited first.
  static bool wait_up(BackgroundProcess& d, int port, std::chrono::seconds limit) {
    const auto end = Steady::now() + limit;
    while (Steady::now() < end) {
      if (!d.running()) return false;
      if (http_get(port, "/health", nullptr) == 200) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    throw std::runtime_error("daemon did not answer /health within " + std::to_string(limit.count()) + " s:\n" +
                             tail(d.log()));
  }

  static void stop(BackgroundProcess& d) {
    d.signal(SIGTERM);
    auto code = d.wait(std::chrono::seconds(30));
    if (!code) throw std::runtime_error("daemon did not stop within 30 s of SIGTERM");
    if (*code != 0) std::cout << "  (daemon exited " << *code << " after SIGTERM)\n";
  }
};

// n cron schedules that cannot fire soon: minute/hour on the 15th of a month half a year away.
std::string far_cron_schedules(const std::vector<std::string>& jobs) {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  const int month = (tm.tm_mon + 6) % 12 + 1;  // tm_mon is 0-based
  std::string s;
  for (size_t i = 0; i < jobs.size(); ++i)
    s += "[[schedule]]\njob = \"" + jobs[i] + "\"\ncron = \"" + std::to_string(i * 5 % 60) + " " +
         std::to_string(i % 24) + " 15 " + std::to_string(month) + " *\"\ntimezone = \"UTC\"\n\n";
  return s;
}

}  // namespace

int main() {
  try {
    std::cout.setf(std::ios::unitbuf);
    const long idle_s = env_seconds("SK_BENCH_IDLE_SECONDS", 60);
    const long late_s = env_seconds("SK_BENCH_LATE_SECONDS", 50);
    Bench b;
    b.src = source_dir();
    if (!fs::exists(b.src / "demo" / "site_schema.sql"))
      throw std::runtime_error("no demo/site_schema.sql under " + b.src.string() + "; set SK_SOURCE_DIR");
    std::cout << "scheduler_bench: sitekeeper " << SK_BINARY << ", idle " << idle_s << " s, lateness " << late_s
              << " s, " << std::thread::hardware_concurrency() << " CPUs\n";
    const auto t_start = Steady::now();
    b.setup();
    std::cout << "setup: active server on port " << b.active->port() << ", demo site database loaded\n";

    // ---- idle -------------------------------------------------------------------------------------
    // Ten schedules when the daemon accepts them; it runs each job name at most once ("a job never
    // overlaps itself"), and there are five job names, so ten means two per job.
    const std::vector<std::string> five = {"backup", "refresh", "capture", "verify", "check"};
    std::vector<std::string> ten = five;
    ten.insert(ten.end(), five.begin(), five.end());
    int port = free_port();
    b.write_config(far_cron_schedules(ten), port, "idle10");
    int schedules = 10;
    std::unique_ptr<BackgroundProcess> d =
        std::make_unique<BackgroundProcess>(b.argv({"run"}), b.dir / "idle10.log");
    if (!Bench::wait_up(*d, port, std::chrono::seconds(60))) {
      auto code = d->wait(std::chrono::seconds(5));
      std::string log = d->log();
      auto first = log.find("error");
      std::cout << "note: 10 [[schedule]] tables refused (exit " << (code ? std::to_string(*code) : "?") << "): "
                << (first == std::string::npos ? tail(log, 300) : log.substr(first, log.find('\n', first) - first))
                << "\n      measuring with one schedule per job name (5)\n";
      d.reset();
      port = free_port();
      b.write_config(far_cron_schedules(five), port, "idle5");
      schedules = 5;
      d = std::make_unique<BackgroundProcess>(b.argv({"run"}), b.dir / "idle5.log");
      if (!Bench::wait_up(*d, port, std::chrono::seconds(60)))
        throw std::runtime_error("daemon exited at start:\n" + tail(d->log()));
    }
    const pid_t pid = d->pid();
    std::this_thread::sleep_for(std::chrono::seconds(2));  // let start-up work settle (first probes)
    double rss_max = 0, rss_now = rss_mb(pid);
    const double cpu0 = cpu_seconds(pid);
    const auto w0 = Steady::now();
    for (long i = 0; i < idle_s; ++i) {
      std::this_thread::sleep_until(w0 + std::chrono::seconds(i + 1));
      rss_now = rss_mb(pid);
      rss_max = std::max(rss_max, rss_now);
    }
    const double cpu = cpu_seconds(pid) - cpu0;
    const double wall = std::chrono::duration<double>(Steady::now() - w0).count();
    const double cpu_pct = 100.0 * cpu / wall;
    const std::string idle_log = d->log();
    const bool idle_clean = idle_log.find("starting ") == std::string::npos;
    Bench::stop(*d);
    d.reset();
    std::cout << "\nidle: " << schedules << " cron schedules (none due within " << idle_s
              << " s), HTTP API, health probe every 1 s\n"
              << "  RSS max " << fmt(rss_max, 1) << " MB, final " << fmt(rss_now, 1) << " MB; CPU " << fmt(cpu, 3)
              << " s over " << fmt(wall, 1) << " s wall" << (idle_clean ? "" : " (WARNING: a job started)") << "\n";
    std::cout << "idle RSS = " << fmt(rss_max, 1) << " MB (goal <= " << fmt(kGoalRssMb, 0)
              << " MB), idle CPU = " << fmt(cpu_pct, 3) << " % (goal <= " << fmt(kGoalCpuPct, 1) << " %)\n";

    // ---- lateness ---------------------------------------------------------------------------------
    port = free_port();
    b.write_config("[[schedule]]\njob = \"capture\"\nevery = \"1s\"\n\n"
                   "[[schedule]]\njob = \"verify\"\nevery = \"1s\"\n\n",
                   port, "lateness");
    {
      std::string out, err;
      if (int rc = run_command(b.argv({"backup"}), {}, &out, &err); rc != 0)
        throw std::runtime_error("backup before the lateness run failed (" + std::to_string(rc) + "): " + err);
    }
    d = std::make_unique<BackgroundProcess>(b.argv({"run"}), b.dir / "lateness.log");
    if (!Bench::wait_up(*d, port, std::chrono::seconds(60)))
      throw std::runtime_error("daemon exited at start:\n" + tail(d->log()));
    std::this_thread::sleep_for(std::chrono::seconds(late_s));
    std::string metrics;
    http_get(port, "/metrics", &metrics);
    const std::string late_log = d->log();
    Bench::stop(*d);
    d.reset();

    std::vector<double> samples;
    std::map<std::string, int> per_job;
    int other = 0;
    std::regex line(R"(starting (\w+) \(([a-z-]+), (-?\d+) ms late\))");
    for (auto it = std::sregex_iterator(late_log.begin(), late_log.end(), line); it != std::sregex_iterator(); ++it) {
      if ((*it)[2] != "scheduled") {
        ++other;
        continue;
      }
      samples.push_back(std::stod((*it)[3]));
      ++per_job[(*it)[1]];
    }
    std::vector<double> durations;
    std::regex done(R"(job (\w+) ok in ([0-9.]+)s)");
    for (auto it = std::sregex_iterator(late_log.begin(), late_log.end(), done); it != std::sregex_iterator(); ++it)
      durations.push_back(std::stod((*it)[2]));
    int failed_runs = 0;
    for (size_t p = 0; (p = late_log.find(" failed after ", p)) != std::string::npos; ++p) ++failed_runs;

    // Cross-check: the histogram's count and sum for scheduled+other starts.
    double h_count = 0, h_sum = 0;
    {
      std::istringstream in(metrics);
      for (std::string l; std::getline(in, l);) {
        if (l.rfind("sitekeeper_job_start_lateness_seconds_count", 0) == 0) h_count += std::stod(l.substr(l.rfind(' ') + 1));
        if (l.rfind("sitekeeper_job_start_lateness_seconds_sum", 0) == 0) h_sum += std::stod(l.substr(l.rfind(' ') + 1));
      }
    }
    std::cout << "\nlateness: capture and verify every 1 s for " << late_s << " s\n  samples:";
    for (const auto& [job, n] : per_job) std::cout << " " << job << " " << n;
    std::cout << " (scheduled starts; " << other << " catch-up/after/retry starts not counted)\n";
    if (!durations.empty())
      std::cout << "  job durations: median " << fmt(percentile(durations, 50), 2) << " s, max "
                << fmt(*std::max_element(durations.begin(), durations.end()), 2) << " s; failed runs " << failed_runs
                << "\n";
    if (!samples.empty())
      std::cout << "  lateness p50 " << fmt(percentile(samples, 50), 0) << " ms, p90 " << fmt(percentile(samples, 90), 0)
                << " ms, max " << fmt(*std::max_element(samples.begin(), samples.end()), 0) << " ms\n";
    std::cout << "  /metrics histogram: " << fmt(h_count, 0) << " starts, mean "
              << (h_count > 0 ? fmt(1000.0 * h_sum / h_count, 1) : std::string("-")) << " ms\n";
    const double p99 = percentile(samples, 99);
    std::cout << "job start lateness p99 = " << fmt(p99, 0) << " ms (goal <= " << fmt(kGoalP99Ms, 0) << " ms), "
              << samples.size() << " samples\n";

    const bool goals = rss_max <= kGoalRssMb && cpu_pct <= kGoalCpuPct && !samples.empty() && p99 <= kGoalP99Ms;
    std::cout << "\nscheduler_bench: done in "
              << fmt(std::chrono::duration<double>(Steady::now() - t_start).count(), 0) << " s; "
              << (goals ? "every goal met" : "at least one goal missed (not a failure)") << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cout.flush();
    std::cerr << "scheduler_bench: ERROR: " << e.what() << "\n";
    return 1;
  }
}
