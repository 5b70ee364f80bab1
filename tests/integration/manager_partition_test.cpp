// The old leader partitioned from etcd but not from the servers: its writes fail, and it does nothing.
//
// A real network fault, not a killed process: manager mgr1 runs on a machine of its own (the NetLab's
// machine "active", a network namespace behind a veth pair), and reaches the etcd members and the
// PostgreSQL servers, which run in the root namespace, at the root end of that veth (10.77.N.5: they
// listen there as well as on loopback). mgr2 and mgr3 run in the root namespace on loopback. The cut is
// an nft rule on mgr1's machine that silently drops its traffic to and from etcd's client ports only;
// PostgreSQL stays reachable from there throughout, and the test proves it with a query over TCP.
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "etcd_cluster.hpp"
#include "integration_support.hpp"
#include "netlab.hpp"
#include "standby_fixture.hpp"

namespace sk::test {
namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

constexpr int kTtlSeconds = 4;

std::string read_text(const fs::path& p) {
  std::ifstream f(p);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

void write_text(const fs::path& p, const std::string& text, mode_t mode = 0600) {
  std::ofstream f(p);
  f << text;
  f.close();
  ::chmod(p.c_str(), mode);
}

long long now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// One `sitekeeper run`: in the root namespace, or on the lab's machine `at` (its HTTP API then listens
// on that machine's loopback, and the test asks it from a thread inside that namespace).
struct Manager {
  std::string name;
  fs::path config, log;
  int port = 0;
  const NetLab* lab = nullptr;  // set: runs on lab->netns(Host::active)
  std::unique_ptr<BackgroundProcess> process;
  std::unique_ptr<LogOnFailure> log_on_failure;

  void start() {
    std::vector<std::string> argv = {SK_BINARY, "--config", config.string(), "--log-level", "debug", "run"};
    if (lab) argv = lab->exec_in(Host::active, argv);  // `ip netns exec` execs: the pid is sitekeeper's
    process = std::make_unique<BackgroundProcess>(argv, log);
    log_on_failure = std::make_unique<LogOnFailure>(*process);
  }
  HttpReply get(const std::string& target) const {
    if (!lab) return http_get(port, target);
    HttpReply r;
    lab->run_in(Host::active, [&] { r = http_get(port, target); });
    return r;
  }
  nlohmann::json health() const { return get("/health").json().at("manager"); }
  bool acting() const {
    try {
      return health().value("acting", false);
    } catch (const std::exception&) {
      return false;
    }
  }
  std::string leader() const {
    try {
      return health().value("leader", "");
    } catch (const std::exception&) {
      return "";
    }
  }
};

// The runs in a manager's `history --json` (read from its config: a follower answers from the shared
// state it pulled), oldest first.
std::vector<nlohmann::json> runs_in_history(const Manager& m) {
  auto j = parse_json(run_capture({SK_BINARY, "--config", m.config.string(), "--json", "history", "--limit", "500"}));
  std::vector<nlohmann::json> out(j.begin(), j.end());
  std::reverse(out.begin(), out.end());
  return out;
}

// The lines of `text` from byte `from` on that match `re` (case-insensitive).
std::vector<std::string> lines_matching(const std::string& text, size_t from, const std::string& re) {
  std::vector<std::string> out;
  const std::regex r(re, std::regex::icase);
  std::istringstream in(from < text.size() ? text.substr(from) : std::string());
  for (std::string line; std::getline(in, line);)
    if (std::regex_search(line, r)) out.push_back(line);
  return out;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += l + "\n";
  return s;
}

TEST(ManagerPartition, TheOldLeaderCutFromEtcdButNotFromTheServersStopsActingAndDoesNothingWhileTheNewOneFailsOver) {
  if (auto why = EtcdCluster::missing(); !why.empty()) GTEST_SKIP() << why;
  if (auto why = NetLab::unavailable()) GTEST_SKIP() << "no network namespaces for mgr1's machine: " << *why;

  // Declared in this order so that they go in the reverse one: managers, site, etcd, then the lab
  // (which kills whatever still runs on mgr1's machine, and removes the veth, the nft table and the
  // namespaces; its guardian and the atexit sweep do the same when this process dies uncleanly).
  TempDir scratch{"/tmp/sk manager partition-"};
  NetLab lab;
  const std::string root_end = lab.address(Host::manager);  // the root namespace's end of mgr1's veth
  EtcdClusterOptions eo;
  eo.also_client_host = root_end;
  EtcdCluster etcd(eo);
  StandbySiteOptions o;
  o.mode = "automatic";
  o.failures = 2;
  o.also_listen = {root_end};
  o.clients = {lab.subnet()};
  StandbySite site(o);
  std::vector<Manager> managers(3);

  ASSERT_NO_FATAL_FAILURE(expect_ok(site.run({"standby", "init"}), "standby init"));
  site.write_config("[[schedule]]\njob = \"check\"\nevery = \"2s\"\n");
  const std::string base = read_text(site.config());
  // Whose fence call it was: each manager's fence is a wrapper that records its name, then runs the
  // site's fence script (which records the server in fence_log() and kills its postmaster).
  const fs::path callers = scratch.path() / "fence callers.log";
  for (int i = 0; i < 3; ++i) {
    Manager& m = managers[static_cast<size_t>(i)];
    m.name = "mgr" + std::to_string(i + 1);
    m.port = free_port();
    m.config = site.dir() / (m.name + ".toml");
    m.log = scratch.path() / (m.name + ".log");
    if (i == 0) m.lab = &lab;
    const fs::path fence = scratch.path() / ("fence-" + m.name + ".sh");
    write_text(fence,
               "#!/bin/sh\necho \"" + m.name + " $1\" >> '" + callers.string() + "'\nexec '" +
                   (site.dir() / "fence.sh").string() + "' \"$1\"\n",
               0755);
    std::string text = std::regex_replace(base, std::regex("path = \"state/sitekeeper.db\""),
                                          "path = \"state/" + m.name + ".db\"");
    text = std::regex_replace(text, std::regex("\nfence = [^\n]*"), "\nfence = " + toml_array({fence.string(), "{server}"}));
    std::vector<std::string> endpoints = etcd.endpoints();
    if (m.lab) {
      // The same servers, reached at the root end of mgr1's veth.
      text = std::regex_replace(text, std::regex("\nhost = \"127\\.0\\.0\\.1\""), "\nhost = \"" + root_end + "\"");
      endpoints = etcd.endpoints_on_also_host();
    }
    text += "\n" + http_section(m.port) + "\n[dcs]\netcd = " + toml_array(endpoints) + "\nname = \"" + m.name +
            "\"\nttl = \"" + std::to_string(kTtlSeconds) + "s\"\n";
    write_text(m.config, text);
  }
  Manager& mgr1 = managers[0];
  ASSERT_NE(read_text(mgr1.config).find("host = \"" + root_end + "\""), std::string::npos) << read_text(mgr1.config);

  // mgr1 first, so that it leads; then the others, which follow it.
  mgr1.start();
  wait_until([&] { return mgr1.acting(); }, 60s, "mgr1 leads");
  managers[1].start();
  managers[2].start();
  wait_until(
      [&] {
        for (size_t i = 1; i < 3; ++i)
          if (managers[i].leader() != "mgr1" || managers[i].acting()) return false;
        return mgr1.acting();
      },
      60s, "mgr2 and mgr3 follow mgr1");
  wait_until([&] { return mgr1.get("/active").status == 200; }, 60s, "mgr1 sees the active up");
  wait_until(
      [&] {
        int n = 0;
        for (const auto& r : runs_in_history(managers[1])) n += r["job"] == "check" && r["manager"] == "mgr1";
        return n >= 2;
      },
      60s, "two check runs of mgr1 in a follower's history");

  // PostgreSQL over TCP from mgr1's machine, at the address its config names.
  auto query_from_mgr1 = [&](const PgCluster& c) {
    std::string out, err;
    RunOptions ro;
    ro.timeout = 20s;
    const int code = run_command(
        lab.exec_in(Host::active, {(c.bin_dir() / "psql").string(), "-X", "-At", "-c", "SELECT 'reached'",
                                   "host=" + root_end + " port=" + std::to_string(c.port()) + " user=" +
                                       c.superuser() + " dbname=postgres connect_timeout=5"}),
        {{"PGPASSWORD", c.password()}}, &out, &err, ro);
    return code == 0 && out.find("reached") != std::string::npos ? std::string() : "exit " + std::to_string(code) + ": " + err;
  };
  ASSERT_EQ(query_from_mgr1(site.active()), "") << "cm1 over TCP from mgr1's machine before the cut";

  // ===== the cut: etcd's client ports, silently, on mgr1's machine only =====
  const size_t log_at_cut = mgr1.process->log().size();
  const auto ports = etcd.client_ports();
  const auto cut = steady::now();
  lab.cut_ports(Host::active, std::set<int>(ports.begin(), ports.end()));

  // mgr1 stops acting by its own clock within the ttl, and another leads within the ttl and 2 s.
  std::optional<double> stopped_after, taken_after;
  long long stopped_ms = 0;
  Manager* next = nullptr;
  double slowest_answer = 0;  // of mgr1's /health while it still acted: it answers from what it knows
  std::printf("cut at %lld ms since the epoch\n", now_ms());
  while (steady::now() - cut < 30s && (!stopped_after || !taken_after)) {
    const double since = std::chrono::duration<double>(steady::now() - cut).count();
    if (!stopped_after) {
      const auto asked = steady::now();
      const bool acting = mgr1.acting();
      slowest_answer = std::max(slowest_answer, std::chrono::duration<double>(steady::now() - asked).count());
      if (!acting) {
        stopped_after = since;  // when it was asked: the answer said "not acting" at that moment or later
        stopped_ms = now_ms();
      }
    }
    if (!taken_after)
      for (size_t i = 1; i < 3; ++i)
        if (managers[i].acting()) {
          taken_after = std::chrono::duration<double>(steady::now() - cut).count();
          next = &managers[i];
        }
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_TRUE(stopped_after) << "mgr1 still acts 30 s after it was cut from etcd";
  ASSERT_TRUE(taken_after) << "neither mgr2 nor mgr3 leads 30 s after mgr1 was cut from etcd";
  std::printf("mgr1 stopped acting %.2f s after the cut from etcd (ttl %d s); %s took the lead %.2f s after it\n",
              *stopped_after, kTtlSeconds, next->name.c_str(), *taken_after);
  std::printf("mgr1's slowest /health answer before it said it stopped: %.3f s\n", slowest_answer);
  EXPECT_LE(*stopped_after, kTtlSeconds);
  EXPECT_LE(*taken_after, kTtlSeconds + 2.0);
  EXPECT_GT(lab.dropped(Host::active), 0u) << "the cut met mgr1's etcd traffic";
  Manager& other = managers[next == &managers[1] ? 2 : 1];
  wait_until([&] { return other.leader() == next->name && next->acting() && !other.acting(); }, 30s,
             "the third manager follows the new leader");
  {
    const auto key = etcd.etcdctl({"get", "/sitekeeper/CEN/leader", "--print-value-only"});
    EXPECT_NE(key.find("\"name\":\"" + next->name + "\""), std::string::npos) << key;
  }
  // The servers are still reachable from mgr1's machine: the cut is etcd's alone.
  ASSERT_EQ(query_from_mgr1(site.active()), "") << "cm1 over TCP from mgr1's machine during the cut";
  ASSERT_EQ(query_from_mgr1(site.standby()), "") << "cm2 over TCP from mgr1's machine during the cut";
  EXPECT_TRUE(mgr1.process->running());

  // The schedule goes on under the new leader, and none of mgr1's runs started after it stopped.
  wait_until(
      [&] {
        int n = 0;
        for (const auto& r : runs_in_history(other)) n += r["job"] == "check" && r["manager"] == next->name;
        return n >= 2;
      },
      60s, "two check runs of the new leader in the third manager's history");
  int mgr1_runs = 0;
  for (const auto& r : runs_in_history(other)) {
    if (r["manager"] != "mgr1") continue;
    ++mgr1_runs;
    EXPECT_LE(r["started_ms"].get<long long>(), stopped_ms) << "a run of mgr1 after it stopped acting: " << r.dump();
  }
  EXPECT_GE(mgr1_runs, 2) << "mgr1's runs before the cut are in the shared state";

  // ===== the active dies: the new leader fails over, mgr1 does nothing =====
  wait_until([&] { return next->get("/active").status == 200; }, 30s, "the new leader sees the active up");
  const auto killed = steady::now();
  site.active().kill9();
  wait_until([&] { return !site.in_recovery(site.standby()); }, 90s, "cm2 promoted by the new leader");
  const double failover = std::chrono::duration<double>(steady::now() - killed).count();
  wait_until([&] { return next->get("/status").json()["active"]["name"] == "cm2"; }, 60s,
             "the new leader serves cm2 as the active");
  std::vector<nlohmann::json> failovers;
  wait_until(
      [&] {
        failovers.clear();
        for (const auto& r : runs_in_history(*next))
          if (r["job"] == "failover") failovers.push_back(r);
        return !failovers.empty() && failovers.back()["outcome"] != "running";
      },
      60s, "the new leader's failover finishes");
  std::printf("failover by %s: cm2 out of recovery %.2f s after kill -9 of cm1 (failures 2 x probe 1 s)\n",
              next->name.c_str(), failover);
  for (const auto& f : failovers) {
    EXPECT_EQ(f["manager"], next->name) << f.dump();
    EXPECT_EQ(f["outcome"], "ok") << f.dump();
  }
  // Every fence call was the new leader's.
  const std::string calls = read_text(callers);
  EXPECT_FALSE(calls.empty()) << "the failover fenced cm1 (fence log: " << site.fence_log() << ")";
  std::istringstream call_lines(calls);
  for (std::string line; std::getline(call_lines, line);) EXPECT_EQ(line, next->name + " cm1") << calls;
  EXPECT_NE(site.fence_log().find("cm1"), std::string::npos) << site.fence_log();  // the site's fence ran too
  EXPECT_FALSE(mgr1.acting());
  EXPECT_TRUE(mgr1.process->running());
  // mgr1 saw cm1 die too (it still probes the servers), and did nothing about it.
  const std::string mgr1_log = mgr1.process->log();
  // What a leader's failover logs: "promoting the standby", "step fence: ...", "running <fence>", "job failover".
  const std::string acts = "promoting|\\[standby\\] step |running fence|job failover";
  EXPECT_FALSE(lines_matching(next->process->log(), 0, acts).empty()) << "the pattern finds the new leader's failover";
  const auto actions = lines_matching(mgr1_log, log_at_cut, acts);
  EXPECT_TRUE(actions.empty()) << "mgr1, cut from etcd, acted:\n" << joined(actions);
  const auto writes = lines_matching(mgr1_log, log_at_cut, "journal");
  for (const auto& w : writes)
    EXPECT_TRUE(std::regex_search(w, std::regex("refused|lost the lead"))) << "a journal write of mgr1 not refused: " << w;
  // Every write of the shared state it tried after the cut was refused (or never reached etcd).
  for (const auto& w : lines_matching(mgr1_log, log_at_cut, "the write of "))
    EXPECT_TRUE(std::regex_search(w, std::regex("refused"))) << "a write of mgr1 not refused: " << w;
  std::printf("mgr1's log after the cut: %zu journal line(s), %zu refused / lost-the-lead line(s)\n", writes.size(),
              lines_matching(mgr1_log, log_at_cut, "refused|lost the lead").size());

  // ===== healed: mgr1 follows the new leader and pulls the shared state =====
  lab.heal_ports(Host::active);
  const auto healed = steady::now();
  wait_until([&] { return mgr1.leader() == next->name && !mgr1.acting(); }, 60s, "mgr1 follows the new leader");
  wait_until(
      [&] {
        return mgr1.get("/status").json()["active"]["name"] == "cm2" && !mgr1.health().value("stale", true);
      },
      60s, "mgr1's status shows cm2 as the active in force, not stale");
  std::printf("mgr1 followed %s with the shared state pulled %.2f s after the heal\n", next->name.c_str(),
              std::chrono::duration<double>(steady::now() - healed).count());
  EXPECT_TRUE(next->acting());
  const auto after_heal = lines_matching(mgr1.process->log(), log_at_cut, acts);
  EXPECT_TRUE(after_heal.empty()) << "mgr1 acted after the heal:\n" << joined(after_heal);

  // The followers first, then the leader: a follower that takes the lead while SIGTERM stops it can
  // abort (see the report of this test's first runs: "Resource deadlock avoided", exit 134).
  for (Manager* m : {&mgr1, &other, next}) stop_daemon(*m->process);
}

}  // namespace
}  // namespace sk::test
