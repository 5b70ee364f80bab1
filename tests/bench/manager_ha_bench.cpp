// Manager HA benchmark: three `sitekeeper run` managers of one site on a real three-member etcd cluster
// (Debian's etcd-server, tests/integration/etcd_cluster.hpp) and real PostgreSQL 15 servers
// (tests/integration/standby_fixture.hpp), as an operator would run them.
//
//   build/manager_ha_bench
//   SK_BENCH_ROUNDS=N        takeover rounds per ttl (default 5)
//   SK_BENCH_RTO_ROUNDS=N    failover rounds per configuration (default 3)
//   SK_BENCH_STEADY_S=N      seconds of each steady-load window (default 60)
//   SK_BENCH_PARTS=1,2,3     only these parts (default all)
//
// What is measured:
//   1. takeover: T0 the kill -9 of the leading manager, T1 the first GET /health of another manager
//      that says "manager": {"acting": true} (both others polled every 20 ms). The killed manager is
//      started again and the site settles (one acts, the others name it) before the next round; each
//      kill lands 1 s plus a random part of the renewal period (ttl/5) after that. Goal <= ttl + 1 s.
//   2. failover RTO: T0 the kill -9 of the leading manager and of cm1's postmaster at the same moment
//      (automatic mode, probe_interval 1 s); T1 the first INSERT that commits on cm2, tried every 20 ms
//      on a new libpq session over cm2's unix socket as a LOGIN role in site_admin (no superuser).
//      Also when cm2 first said pg_is_in_recovery() = false. Each round builds a fresh site and
//      standby (`standby init`). Goal <= ttl + 5 s.
//   3. steady etcd load of one site (3 managers, no job besides the HA loop and a `check` every 1 m)
//      over a window, from the deltas of etcd's own Prometheus counters (GET /metrics on each member).
//
// A measurement, not a test: it exits 0 when a goal is missed, and non-zero only on a real error.
// Everything it starts (etcd members, servers, managers) is stopped by destructors, also on errors.
#include <libpq-fe.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench_util.hpp"
#include "etcd_cluster.hpp"
#include "integration_support.hpp"
#include "pg_cluster.hpp"
#include "standby_fixture.hpp"

#ifndef SK_BINARY
#error "SK_BINARY must name the sitekeeper binary"
#endif

namespace sk::test {
namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

constexpr const char* kWriterRole = "bench_writer";

double seconds_since(steady::time_point t) { return std::chrono::duration<double>(steady::now() - t).count(); }

int env_int(const char* name, int fallback, int lo, int hi) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  return std::clamp(std::atoi(v), lo, hi);
}

bool part_wanted(int part) {
  const char* v = std::getenv("SK_BENCH_PARTS");
  if (!v || !*v) return true;
  return std::string(",").append(v).append(",").find("," + std::to_string(part) + ",") != std::string::npos;
}

std::mt19937& rng() {
  static std::mt19937 g{std::random_device{}()};
  return g;
}

std::string read_file(const fs::path& p) {
  std::ifstream f(p);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

// One `sitekeeper run` of the site, with a config of its own (state store, HTTP port, [dcs] name).
struct Manager {
  std::string name;
  fs::path config, log;
  int port = 0;
  std::unique_ptr<BackgroundProcess> process;

  void start() {
    process = std::make_unique<BackgroundProcess>(
        std::vector<std::string>{SK_BINARY, "--config", config.string(), "run"}, log);
  }
  bool running() const { return process && process->running(); }
  void kill9() {
    process->signal(SIGKILL);
    process->wait(10s);
  }
  // As a service manager stops it: SIGTERM (the leader revokes its lease), SIGKILL after 30 s.
  void stop() {
    if (!running()) return;
    process->signal(SIGTERM);
    if (!process->wait(30s)) {
      process->signal(SIGKILL);
      process->wait(10s);
    }
  }
  nlohmann::json health() const { return http_get(port, "/health").json().at("manager"); }
  bool acting() const {
    try {
      return health().value("acting", false);
    } catch (const std::exception&) {
      return false;
    }
  }
};

// Three managers of one site under their own etcd prefix; destroyed (stopped) before the site.
class Managers {
 public:
  Managers(StandbySite& site, EtcdCluster& etcd, std::string prefix, const std::string& extra, int ttl)
      : site_(site), etcd_(etcd), prefix_(std::move(prefix)) {
    site.write_config(extra);
    for (int i = 1; i <= 3; ++i) {
      Manager m;
      m.name = "mgr" + std::to_string(i);
      m.port = free_port();
      m.config = site.dir() / (m.name + ".toml");
      m.log = logs_.path() / (m.name + ".log");
      all.push_back(std::move(m));
    }
    configure(ttl);
  }
  ~Managers() {
    for (auto& m : all) m.stop();
  }
  Managers(const Managers&) = delete;
  Managers& operator=(const Managers&) = delete;

  // Rewrites every manager's config for `ttl` (takes effect at the next start).
  void configure(int ttl) {
    const std::string base = read_file(site_.config());
    for (auto& m : all) {
      std::string text = std::regex_replace(base, std::regex("path = \"state/sitekeeper.db\""),
                                            "path = \"state/" + m.name + ".db\"");
      text += "\n" + http_section(m.port) + "\n[dcs]\netcd = " + toml_array(etcd_.endpoints()) + "\nname = \"" +
              m.name + "\"\nttl = \"" + std::to_string(ttl) + "s\"\nprefix = " + toml_string(prefix_) + "\n";
      std::ofstream f(m.config);
      f << text;
      f.close();
      ::chmod(m.config.c_str(), 0600);
    }
  }
  void start_all() {
    for (auto& m : all) m.start();
  }
  void stop_all() {
    for (auto& m : all) m.stop();
  }
  // The one manager that acts, once exactly one does and every other running one names it.
  Manager& wait_for_leader(std::chrono::milliseconds timeout = 60s) {
    Manager* found = nullptr;
    wait_until(
        [&] {
          std::vector<Manager*> acting;
          for (auto& m : all)
            if (m.running() && m.acting()) acting.push_back(&m);
          if (acting.size() != 1) return false;
          for (auto& m : all) {
            if (!m.running() || &m == acting[0]) continue;
            if (m.health().value("leader", "") != acting[0]->name) return false;
          }
          found = acting[0];
          return true;
        },
        timeout, "exactly one manager leads and the others follow it");
    return *found;
  }
  std::string log_tails() const {
    std::string out;
    for (const auto& m : all) out += "--- " + m.name + " log:\n" + bench::tail(read_file(m.log), 1500) + "\n";
    return out;
  }
  const std::string& prefix() const { return prefix_; }

  std::vector<Manager> all;

 private:
  StandbySite& site_;
  EtcdCluster& etcd_;
  std::string prefix_;
  TempDir logs_{"/tmp/sk ha bench logs-"};
};

struct Stats {
  double min = 0, median = 0, max = 0;
};
Stats stats(const std::vector<double>& v) {
  if (v.empty()) return {};
  return {*std::min_element(v.begin(), v.end()), bench::percentile(v, 50), *std::max_element(v.begin(), v.end())};
}

// The rows of the closing table.
struct Row {
  std::string what, value, goal, verdict;
};
std::vector<Row> g_table;
void add_row(const std::string& what, const std::vector<double>& v, double goal) {
  char value[128], g[32];
  if (v.empty()) {
    g_table.push_back({what, "no round finished", "", ""});
    return;
  }
  auto s = stats(v);
  std::snprintf(value, sizeof value, "%.2f / %.2f / %.2f s (n=%zu)", s.min, s.median, s.max, v.size());
  std::snprintf(g, sizeof g, "<= %.0f s", goal);
  g_table.push_back({what, value, g, s.max <= goal ? "met" : (s.median <= goal ? "median met" : "missed")});
}

// ---------------------------------------------------------------------------------------------------
// 1. takeover after kill -9 of the leader
// ---------------------------------------------------------------------------------------------------

void takeover_rounds(Managers& ms, int ttl, int rounds) {
  std::printf("\n-- takeover after kill -9 of the leading manager, ttl %d s (goal <= %d s) --\n", ttl, ttl + 1);
  std::vector<double> took;
  for (int r = 1; r <= rounds; ++r) {
    Manager& leader = ms.wait_for_leader();
    // A random phase of the leader's renewals (every ttl/5), so that the rounds sample all of it.
    std::uniform_int_distribution<int> phase(0, ttl * 1000 / 5);
    std::this_thread::sleep_for(std::chrono::milliseconds(1000 + phase(rng())));
    const auto t0 = steady::now();
    leader.kill9();
    Manager* next = nullptr;
    while (!next && steady::now() - t0 < std::chrono::seconds(3 * ttl + 10)) {
      for (auto& m : ms.all)
        if (&m != &leader && m.acting()) next = &m;
      if (!next) std::this_thread::sleep_for(20ms);
    }
    if (!next) {
      std::printf("  round %d: no manager took the lead within %d s\n%s", r, 3 * ttl + 10, ms.log_tails().c_str());
      leader.start();
      continue;
    }
    const double t = seconds_since(t0);
    took.push_back(t);
    std::printf("  round %d: killed %s, %s acting after %.3f s (ttl %+.3f s, %.3f x ttl)\n", r, leader.name.c_str(),
                next->name.c_str(), t, t - ttl, t / ttl);
    std::fflush(stdout);
    leader.start();  // wait_for_leader at the next round (or the caller) lets it settle as a follower
  }
  ms.wait_for_leader();
  if (!took.empty()) {
    auto s = stats(took);
    std::printf("  ttl %d s: min %.3f / median %.3f / max %.3f s; minus ttl: %+.3f / %+.3f / %+.3f s; "
                "x ttl: %.3f / %.3f / %.3f\n",
                ttl, s.min, s.median, s.max, s.min - ttl, s.median - ttl, s.max - ttl, s.min / ttl, s.median / ttl,
                s.max / ttl);
  }
  add_row("takeover, ttl " + std::to_string(ttl) + " s (min/med/max)", took, ttl + 1);
}

// ---------------------------------------------------------------------------------------------------
// 3. steady etcd load
// ---------------------------------------------------------------------------------------------------

// GET over HTTP/1.0, so that Go's server sends the body plainly (no chunked encoding) and closes.
std::string http10_get(int port, const std::string& target) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(port));
  const std::string req = "GET " + target + " HTTP/1.0\r\n\r\n";
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size()))
    throw std::runtime_error("send failed");
  std::string raw;
  char buf[16384];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) != 0;) {
    if (n < 0) throw std::runtime_error("recv failed on " + target);
    raw.append(buf, static_cast<size_t>(n));
  }
  auto sep = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.", 0) != 0 || sep == std::string::npos) throw std::runtime_error("not an HTTP reply");
  return raw.substr(sep + 4);
}

// One scrape of one member: "name{labels}" -> value.
using Scrape = std::map<std::string, double>;
Scrape scrape(const std::string& endpoint) {
  const int port = std::stoi(endpoint.substr(endpoint.rfind(':') + 1));
  std::istringstream in(http10_get(port, "/metrics"));
  Scrape s;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    auto sp = line.rfind(' ');
    if (sp == std::string::npos) continue;
    try {
      s[line.substr(0, sp)] = std::stod(line.substr(sp + 1));
    } catch (const std::exception&) {
    }
  }
  return s;
}
std::string series_name(const std::string& key) { return key.substr(0, key.find('{')); }
double sum_of(const Scrape& s, const std::string& name) {
  double t = 0;
  for (const auto& [k, v] : s)
    if (series_name(k) == name) t += v;
  return t;
}
// The delta of `name` per value of `label` (e.g. grpc_method) between two scrapes.
std::map<std::string, double> delta_by(const Scrape& a, const Scrape& b, const std::string& name,
                                       const std::string& label) {
  std::map<std::string, double> out;
  const std::regex re(label + "=\"([^\"]*)\"");
  for (const auto& [k, v] : b) {
    if (series_name(k) != name) continue;
    std::smatch m;
    const std::string key = std::regex_search(k, m, re) ? m[1].str() : "?";
    auto it = a.find(k);
    out[key] += v - (it == a.end() ? 0 : it->second);
  }
  return out;
}

// The keys under `prefix` and the bytes of their keys and values (etcdctl get --prefix -w json).
std::pair<long long, long long> prefix_size(EtcdCluster& etcd, const std::string& prefix, long long* value_bytes) {
  auto j = nlohmann::json::parse(etcd.etcdctl({"get", "--prefix", prefix + "/", "-w", "json"}));
  auto b64len = [](const std::string& s) {
    long long n = static_cast<long long>(s.size()) / 4 * 3;
    if (!s.empty() && s.back() == '=') --n;
    if (s.size() > 1 && s[s.size() - 2] == '=') --n;
    return n;
  };
  long long keys = 0, bytes = 0, values = 0;
  if (j.contains("kvs"))
    for (const auto& kv : j["kvs"]) {
      ++keys;
      const long long v = kv.contains("value") ? b64len(kv["value"].get<std::string>()) : 0;
      bytes += b64len(kv["key"].get<std::string>()) + v;
      values += v;
    }
  *value_bytes = values;
  return {keys, bytes};
}

struct Load {
  int replicas = 0;
  double seconds = 0, requests = 0, handled = 0, txn_calls = 0, puts = 0, txns = 0, ranges = 0, renewals = 0, wal_bytes = 0,
         put_bytes = 0, fsyncs = 0, db_growth = 0, grpc_in_bytes = 0;
  long long keys = 0, key_bytes = 0, value_bytes = 0;
};
std::vector<Load> g_loads;

void steady_load(StandbySite& site, EtcdCluster& etcd, Managers& ms, int replicas, int window_s) {
  std::printf("\n-- steady etcd load, %d replica(s), 3 managers, %d s window --\n", replicas, window_s);
  ms.wait_for_leader();
  // The takeover's own writes (the whole state pushed, the members' keys) are not the steady state.
  std::this_thread::sleep_for(15s);
  const int n = etcd.size();
  std::vector<Scrape> before, after;
  const auto t0 = steady::now();
  for (int i = 0; i < n; ++i) before.push_back(scrape(etcd.endpoint(i)));
  std::this_thread::sleep_for(std::chrono::seconds(window_s));
  for (int i = 0; i < n; ++i) after.push_back(scrape(etcd.endpoint(i)));
  Load L;
  L.replicas = replicas;
  L.seconds = seconds_since(t0);
  auto d = [&](int i, const std::string& name) { return sum_of(after[i], name) - sum_of(before[i], name); };
  auto first_of = [&](int i, const std::string& a, const std::string& b) {
    return sum_of(after[i], a) + sum_of(before[i], a) > 0 ? d(i, a) : d(i, b);
  };
  std::map<std::string, double> by_method, by_method_handled;
  for (int i = 0; i < n; ++i) {
    L.requests += d(i, "grpc_server_started_total");
    L.handled += d(i, "grpc_server_handled_total");
    L.grpc_in_bytes += d(i, "etcd_network_client_grpc_received_bytes_total");
    L.wal_bytes += d(i, "etcd_disk_wal_write_bytes_total");
    L.fsyncs += d(i, "etcd_disk_wal_fsync_duration_seconds_count");
    for (auto& [k, v] : delta_by(before[i], after[i], "grpc_server_started_total", "grpc_method")) by_method[k] += v;
    for (auto& [k, v] : delta_by(before[i], after[i], "grpc_server_handled_total", "grpc_method"))
      by_method_handled[k] += v;
  }
  L.txn_calls = by_method["Txn"];
  // Applied on every member alike: one member's count is the cluster's.
  L.puts = first_of(0, "etcd_mvcc_put_total", "etcd_debugging_mvcc_put_total");
  L.txns = first_of(0, "etcd_mvcc_txn_total", "etcd_debugging_mvcc_txn_total");
  L.ranges = first_of(0, "etcd_mvcc_range_total", "etcd_debugging_mvcc_range_total");
  L.renewals = d(etcd.leader(), "etcd_debugging_lease_renewed_total");
  L.put_bytes = d(0, "etcd_debugging_mvcc_total_put_size_in_bytes");
  L.db_growth = d(0, "etcd_mvcc_db_total_size_in_bytes");
  auto [keys, bytes] = prefix_size(etcd, ms.prefix(), &L.value_bytes);
  L.keys = keys;
  L.key_bytes = bytes;
  const double h = 3600.0 / L.seconds;
  std::printf("  window %.1f s, site with cm1, cm2 (streaming)%s\n", L.seconds,
              replicas ? (" and " + std::to_string(replicas) + " replica(s)").c_str() : "");
  std::printf("  gRPC calls started (all 3 members): %.0f = %.2f/s (calls handled: %.0f = %.2f/s)\n", L.requests,
              L.requests / L.seconds, L.handled, L.handled / L.seconds);
  std::vector<std::pair<double, std::string>> top;
  for (auto& [k, v] : by_method)
    if (v > 0) top.push_back({v, k});
  std::sort(top.rbegin(), top.rend());
  for (size_t i = 0; i < top.size() && i < 6; ++i)
    std::printf("    %-14s %6.0f started = %6.2f/s (handled %.0f)\n", top[i].second.c_str(), top[i].first,
                top[i].first / L.seconds, by_method_handled[top[i].second]);
  // etcd 3.4 counts a Txn call's operations as puts and ranges; its txn counter stays at 0 for them.
  std::printf("  mvcc (member 0): puts %.0f = %.2f/s, txns %.0f = %.2f/s, ranges %.0f = %.2f/s; lease renewals "
              "(etcd leader) %.0f = %.2f/s\n",
              L.puts, L.puts / L.seconds, L.txns, L.txns / L.seconds, L.ranges, L.ranges / L.seconds, L.renewals,
              L.renewals / L.seconds);
  std::printf("  WAL bytes written (sum of 3 members): %.0f = %.2f MB/h (%.2f MB/h per member); WAL fsyncs %.0f = "
              "%.2f/s (3 members)\n",
              L.wal_bytes, L.wal_bytes * h / 1e6, L.wal_bytes * h / 3 / 1e6, L.fsyncs, L.fsyncs / L.seconds);
  std::printf("  put key+value bytes (mvcc, member 0): %.0f = %.2f MB/h; gRPC bytes received from clients (3 "
              "members): %.0f = %.2f MB/h; db file growth (member 0): %.0f bytes\n",
              L.put_bytes, L.put_bytes * h / 1e6, L.grpc_in_bytes, L.grpc_in_bytes * h / 1e6, L.db_growth);
  std::printf("  under %s/: %lld keys, %lld bytes of keys+values (%lld of values); so %.1f rewrites of the "
              "whole prefix per hour by put bytes\n",
              ms.prefix().c_str(), L.keys, L.key_bytes, L.value_bytes,
              L.key_bytes ? L.put_bytes * h / static_cast<double>(L.key_bytes) : 0.0);
  std::fflush(stdout);
  g_loads.push_back(L);
  (void)site;
}

// ---------------------------------------------------------------------------------------------------
// 2. failover RTO with the active and the leading manager killed together
// ---------------------------------------------------------------------------------------------------

std::string socket_conninfo(const PgCluster& c, const std::string& db) {
  return "host=" + bench::conninfo_value(c.socket_dir().string()) + " port=" + std::to_string(c.port()) +
         " user=" + kWriterRole + " dbname=" + bench::conninfo_value(db) + " connect_timeout=2 application_name=ha-bench";
}

// One session: whether cm2 is out of recovery (*promoted) and whether the INSERT committed.
bool try_write(const std::string& conninfo, bool* promoted, std::string* error) {
  PGconn* c = PQconnectdb(conninfo.c_str());
  bool ok = false;
  if (PQstatus(c) == CONNECTION_OK) {
    PQsetNoticeProcessor(c, [](void*, const char*) {}, nullptr);
    PGresult* r = PQexec(c, "SELECT pg_is_in_recovery()");
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) *promoted = std::string(PQgetvalue(r, 0, 0)) == "f";
    PQclear(r);
    if (*promoted) {
      r = PQexec(c,
                 "INSERT INTO status_messages (site_code, component, message_id, severity, machine_name, message) "
                 "VALUES ('CEN', 'ha-bench', 1, 'informational', 'BENCHPC', 'first write')");
      ok = PQresultStatus(r) == PGRES_COMMAND_OK;
      if (!ok) *error = PQerrorMessage(c);
      PQclear(r);
    }
  } else {
    *error = PQerrorMessage(c);
  }
  PQfinish(c);
  return ok;
}

struct Rto {
  double promoted = -1, write = -1;
};

Rto failover_round(EtcdCluster& etcd, int failures, int ttl, int round, const std::string& prefix) {
  StandbySiteOptions o;
  o.mode = "automatic";
  o.failures = failures;
  StandbySite site(o);
  site.active().psql(std::string("CREATE ROLE ") + kWriterRole + " LOGIN IN ROLE site_admin");
  auto init = site.run({"standby", "init"});
  if (init.code != 0) throw std::runtime_error("standby init failed: " + bench::tail(init.out + init.err, 1500));
  wait_until([&] { return standby_caught_up(site); }, 120s, "cm2 streams with no lag");
  Managers ms(site, etcd, prefix, "", ttl);
  ms.start_all();
  Manager& leader = ms.wait_for_leader();
  wait_until([&] { return http_get(leader.port, "/active").status == 200; }, 60s, "the leader serves cm1 as active");
  // A few probes in, and a random phase of the probe ticks and the lease renewals.
  std::uniform_int_distribution<int> phase(0, 999);
  std::this_thread::sleep_for(std::chrono::milliseconds(3000 + phase(rng())));
  const std::string conninfo = socket_conninfo(site.standby(), site.db());
  const auto t0 = steady::now();
  leader.kill9();
  site.active().kill9();
  Rto out;
  std::string last_error;
  bool promoted = false;
  while (steady::now() - t0 < 120s) {
    const bool wrote = try_write(conninfo, &promoted, &last_error);
    if (promoted && out.promoted < 0) out.promoted = seconds_since(t0);
    if (wrote) {
      out.write = seconds_since(t0);
      break;
    }
    std::this_thread::sleep_for(20ms);
  }
  std::string by;
  for (auto& m : ms.all)
    if (&m != &leader && m.acting()) by = m.name;
  if (out.write < 0) {
    std::printf("  round %d: no write on cm2 within 120 s (last error: %s)\n%s", round,
                last_error.substr(0, last_error.find('\n')).c_str(), ms.log_tails().c_str());
  } else {
    std::printf("  round %d: killed %s and cm1; cm2 out of recovery after %.3f s, first write after %.3f s "
                "(ttl %+.3f s, %.3f x ttl); %s leads\n",
                round, leader.name.c_str(), out.promoted, out.write, out.write - ttl, out.write / ttl, by.c_str());
  }
  std::fflush(stdout);
  return out;
}

void failover_config(EtcdCluster& etcd, int failures, int ttl, int rounds, int* prefix_no) {
  std::printf("\n-- failover RTO, the active and the leading manager killed together: failures %d x probe_interval "
              "1 s, ttl %d s (goal <= %d s) --\n",
              failures, ttl, ttl + 5);
  std::vector<double> writes, promos;
  for (int r = 1; r <= rounds; ++r) {
    try {
      auto x = failover_round(etcd, failures, ttl, r, "/bench/ha" + std::to_string(++*prefix_no));
      if (x.write >= 0) writes.push_back(x.write);
      if (x.promoted >= 0) promos.push_back(x.promoted);
    } catch (const std::exception& e) {
      std::printf("  round %d: error: %s\n", r, e.what());
    }
  }
  if (!writes.empty()) {
    auto s = stats(writes), p = stats(promos);
    std::printf("  first write: min %.3f / median %.3f / max %.3f s; minus ttl %+.3f / %+.3f / %+.3f s; x ttl %.3f / "
                "%.3f / %.3f\n",
                s.min, s.median, s.max, s.min - ttl, s.median - ttl, s.max - ttl, s.min / ttl, s.median / ttl,
                s.max / ttl);
    std::printf("  out of recovery: min %.3f / median %.3f / max %.3f s\n", p.min, p.median, p.max);
  }
  const std::string cfg = "failures " + std::to_string(failures) + ", ttl " + std::to_string(ttl) + " s";
  add_row("RTO (first write), " + cfg, writes, ttl + 5);
  add_row("  cm2 out of recovery, " + cfg, promos, ttl + 5);
}

int run() {
  if (auto why = EtcdCluster::missing(); !why.empty()) {
    std::printf("skipped: %s\n", why.c_str());
    return 0;
  }
  const int rounds = env_int("SK_BENCH_ROUNDS", 5, 1, 20);
  const int rto_rounds = env_int("SK_BENCH_RTO_ROUNDS", 3, 1, 10);
  const int window = env_int("SK_BENCH_STEADY_S", 60, 10, 600);
  const auto started = steady::now();
  int errors = 0;
  EtcdCluster etcd;
  const std::string version = run_capture({kEtcdBinary, "--version"}).out;
  std::printf("etcd: 3 members of %s (%s; heartbeat 100 ms, election timeout 1 s)\n", kEtcdBinary,
              version.substr(0, version.find('\n')).c_str());
  int prefix_no = 0;
  const std::string schedule = "[[schedule]]\njob = \"check\"\nevery = \"1m\"\n";

  if (part_wanted(3) || part_wanted(1)) {
    for (int replicas : {0, 2, 4}) {
      if (replicas && !part_wanted(3)) break;
      try {
        StandbySiteOptions o;
        o.replicas = replicas;
        StandbySite site(o);
        auto init = site.run({"standby", "init"});
        if (init.code != 0) throw std::runtime_error("standby init failed: " + bench::tail(init.out + init.err, 1500));
        wait_until([&] { return standby_caught_up(site); }, 120s, "cm2 streams with no lag");
        Managers ms(site, etcd, "/bench/ha" + std::to_string(++prefix_no), schedule, 10);
        ms.start_all();
        if (part_wanted(3)) steady_load(site, etcd, ms, replicas, window);
        if (replicas == 0 && part_wanted(1)) {
          takeover_rounds(ms, 10, rounds);
          ms.stop_all();
          ms.configure(3);
          ms.start_all();
          takeover_rounds(ms, 3, rounds);
        }
      } catch (const std::exception& e) {
        ++errors;
        std::printf("error (%d replicas): %s\n", replicas, e.what());
      }
    }
  }
  if (part_wanted(2)) {
    failover_config(etcd, 3, 10, rto_rounds, &prefix_no);
    failover_config(etcd, 2, 3, rto_rounds, &prefix_no);
  }

  std::printf("\n== manager HA summary (min / median / max) ==\n");
  for (const auto& r : g_table)
    std::printf("  %-44s %-34s %-8s %s\n", r.what.c_str(), r.value.c_str(), r.goal.c_str(), r.verdict.c_str());
  if (!g_loads.empty()) {
    std::printf("  steady etcd load of one site, 3 managers, ttl 10 s:\n");
    std::printf("    %-9s %-11s %-11s %-10s %-13s %-13s %-13s %s\n", "replicas", "calls/s", "puts/s", "Txn/s",
                "WAL MB/h (3)", "put MB/h", "grpc-in MB/h", "keys / bytes under prefix");
    for (const auto& L : g_loads) {
      const double h = 3600.0 / L.seconds;
      std::printf("    %-9d %-11.2f %-11.2f %-10.2f %-13.2f %-13.2f %-13.2f %lld / %lld\n", L.replicas,
                  L.requests / L.seconds, L.puts / L.seconds, L.txn_calls / L.seconds, L.wal_bytes * h / 1e6,
                  L.put_bytes * h / 1e6, L.grpc_in_bytes * h / 1e6, L.keys, L.key_bytes);
    }
  }
  std::printf("  bench time %.0f s\n", seconds_since(started));
  return errors ? 1 : 0;
}

}  // namespace
}  // namespace sk::test

int main() {
  try {
    return sk::test::run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "manager_ha_bench: %s\n", e.what());
    return 1;
  }
}
