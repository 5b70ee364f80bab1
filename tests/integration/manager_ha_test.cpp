// Several managers of one site on a real etcd cluster (Debian's etcd-server, three members) and real
// PostgreSQL: one leads and acts, the others follow and answer from the shared state; a killed leader
// is replaced within the ttl and a second; losing one etcd member changes nothing; losing etcd's quorum
// stops the leader within the ttl and marks every answer stale, and nothing is promoted meanwhile; a
// leader killed in the middle of a failover is replaced by one that resumes the journal and finishes
// it; three sites share one etcd cluster under their own prefixes.
#include <signal.h>

#include <fstream>
#include <map>
#include <regex>
#include <set>

#include <gtest/gtest.h>

#include "etcd_cluster.hpp"
#include "integration_support.hpp"
#include "standby_fixture.hpp"

namespace sk::test {
namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

constexpr int kTtlSeconds = 3;

// One `sitekeeper run` of a site: its own config file (its own state store and HTTP port, the same
// site, servers and archive), started and stopped by the test.
struct Manager {
  std::string name;
  fs::path config;
  int port = 0;
  std::unique_ptr<BackgroundProcess> process;
  std::unique_ptr<LogOnFailure> log_on_failure;

  fs::path log;  // outside the site's folder, which goes before the managers do

  void start() {
    process = std::make_unique<BackgroundProcess>(
        std::vector<std::string>{SK_BINARY, "--config", config.string(), "--log-level", "debug", "run"}, log);
    log_on_failure = std::make_unique<LogOnFailure>(*process);
  }
  void kill9() {
    process->signal(SIGKILL);
    process->wait(10s);
  }
  // The manager section of /health: {"name", "leader", "leading", "acting", "stale", ...}.
  nlohmann::json health() const { return http_get(port, "/health").json().at("manager"); }
  bool acting() const {
    try {
      return health().value("acting", false);
    } catch (const std::exception&) {
      return false;
    }
  }
};

// The base config with its state store and HTTP port replaced, and a [dcs] table for `name`.
std::string manager_config(const std::string& base, const std::string& name, int port,
                           const std::vector<std::string>& etcd, const std::string& site_code = "CEN",
                           int ttl = kTtlSeconds) {
  std::string text = std::regex_replace(base, std::regex("path = \"state/sitekeeper.db\""),
                                        "path = \"state/" + name + ".db\"");
  if (site_code != "CEN") text = std::regex_replace(text, std::regex("code = \"CEN\""), "code = \"" + site_code + "\"");
  text += "\n" + http_section(port) + "\n[dcs]\netcd = " + toml_array(etcd) + "\nname = \"" + name + "\"\nttl = \"" +
          std::to_string(ttl) + "s\"\n";
  return text;
}

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream f(p);
  f << text;
  f.close();
  ::chmod(p.c_str(), 0600);
}

std::string read_file(const fs::path& p) {
  std::ifstream f(p);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

class ManagerHA : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto why = EtcdCluster::missing(); !why.empty()) GTEST_SKIP() << why;
  }

  // Three managers of `site`, with `extra` appended to the site's config first.
  void make_managers(StandbySite& site, const std::string& extra = "", int ttl = kTtlSeconds) {
    site.write_config(extra);
    const std::string base = read_file(site.config());
    for (int i = 1; i <= 3; ++i) {
      Manager m;
      m.name = "mgr" + std::to_string(i);
      m.port = free_port();
      m.config = site.dir() / (m.name + ".toml");
      m.log = logs.path() / (m.name + ".log");
      write_file(m.config, manager_config(base, m.name, m.port, etcd->endpoints(), "CEN", ttl));
      managers.push_back(std::move(m));
    }
  }
  void start_all() {
    for (auto& m : managers) m.start();
  }
  // The one manager that acts, once exactly one does and the others name it as their leader.
  Manager& wait_for_leader(std::chrono::milliseconds timeout = 30s) {
    Manager* found = nullptr;
    wait_until(
        [&] {
          std::vector<Manager*> acting;
          for (auto& m : managers)
            if (m.process && m.process->running() && m.acting()) acting.push_back(&m);
          if (acting.size() != 1) return false;
          for (auto& m : managers) {
            if (!m.process || !m.process->running() || &m == acting[0]) continue;
            if (m.health().value("leader", "") != acting[0]->name) return false;
          }
          found = acting[0];
          return true;
        },
        timeout, "exactly one manager leads and the others follow it");
    return *found;
  }
  // Until the leader has recorded the active's WAL position in the shared state: a promotion checks
  // the standby's lag against it once the active is gone.
  void wait_for_active_position() {
    wait_until([&] { return !etcd->etcdctl({"get", "/sitekeeper/CEN/state/kv/active.last_lsn", "--print-value-only"})
                                 .empty(); },
               30s, "the active's WAL position in the shared state");
  }
  // The standby built, three managers started, the leader found and the active's position recorded:
  // ready for a failover. Throws (through wait_until) when any of it does not happen.
  Manager& start_failover_site(StandbySite& site) {
    expect_ok(site.run({"standby", "init"}), "standby init");
    make_managers(site);
    start_all();
    Manager& leader = wait_for_leader();
    wait_until([&] { return http_get(leader.port, "/active").status == 200; }, 30s, "the active is up");
    wait_for_active_position();
    return leader;
  }
  void stop_all() {
    for (auto& m : managers)
      if (m.process && m.process->running()) stop_daemon(*m.process);
  }

  std::unique_ptr<EtcdCluster> etcd = EtcdCluster::missing().empty() ? std::make_unique<EtcdCluster>() : nullptr;
  TempDir logs{"/tmp/sk managers-"};
  std::vector<Manager> managers;
};

// The runs of `job` in a manager's `history --json`, oldest first.
std::vector<nlohmann::json> runs_of(const Manager& m, const std::string& job) {
  auto r = run_capture({SK_BINARY, "--config", m.config.string(), "--json", "history", "--limit", "500"});
  auto j = parse_json(r);
  std::vector<nlohmann::json> out;
  for (const auto& x : j)
    if (x["job"] == job) out.push_back(x);
  std::reverse(out.begin(), out.end());
  return out;
}

TEST_F(ManagerHA, AKilledLeaderIsReplacedWithinTheTtlAndASecondAndTheScheduleGoesOnWithNoRunTwiceOrLost) {
  StandbySiteOptions o;
  StandbySite site(o);
  ASSERT_NO_FATAL_FAILURE(expect_ok(site.run({"standby", "init"}), "standby init"));
  // `check` every 2 s: cheap, and it records a run each time.
  make_managers(site, "[[schedule]]\njob = \"check\"\nevery = \"2s\"\n");
  start_all();
  Manager& first = wait_for_leader();
  // The followers answer from the shared state: the leader's runs are in their history.
  wait_until([&] { return runs_of(managers[first.name == "mgr1" ? 1 : 0], "check").size() >= 3; }, 30s,
             "three check runs of the leader seen in a follower's history");
  for (auto& m : managers) {
    auto st = http_get(m.port, "/status").json();
    EXPECT_EQ(st["manager"]["leader"], first.name) << m.name;
  }
  // On a follower's machine: a command that would change the site is refused before it changes
  // anything, naming the leader; reading commands, the page and the metrics say who leads.
  Manager& follower = managers[first.name == "mgr1" ? 1 : 0];
  const size_t runs_before = runs_of(follower, "backup").size();
  auto refused = run_capture({SK_BINARY, "--config", follower.config.string(), "backup"});
  EXPECT_EQ(refused.code, 3) << refused.err;
  EXPECT_TRUE(contains(refused.err, "does not lead (the leader: " + first.name + ")")) << refused.err;
  EXPECT_EQ(runs_of(follower, "backup").size(), runs_before);
  EXPECT_TRUE(fs::is_empty(site.dir() / "site archive") || !fs::exists(site.dir() / "site archive") ||
              newest_generation(site.dir() / "site archive").empty());
  auto status = run_capture({SK_BINARY, "--config", follower.config.string(), "status"});
  EXPECT_TRUE(contains(status.out, "managers " + first.name + " leads (this is " + follower.name + ", a follower)"))
      << status.out;
  EXPECT_TRUE(contains(status.out, "managers up: mgr1, mgr2, mgr3")) << status.out;
  auto check = run_capture({SK_BINARY, "--config", follower.config.string(), "check"});
  EXPECT_TRUE(contains(check.out, "etcd     ok; " + first.name + " leads, this is " + follower.name)) << check.out;
  EXPECT_TRUE(contains(http_get(follower.port, "/").body, "<strong>" + first.name + "</strong> leads; this page is from " +
                                                              follower.name + ", a follower"));
  EXPECT_TRUE(contains(http_get(first.port, "/metrics").body, "sitekeeper_manager_leading 1"));
  EXPECT_TRUE(contains(http_get(follower.port, "/metrics").body, "sitekeeper_manager_leading 0"));
  // kill -9 of the leader: a follower leads within ttl + 1 s.
  const auto killed = steady::now();
  first.kill9();
  Manager* next = nullptr;
  while (steady::now() - killed < 20s && !next) {
    for (auto& m : managers)
      if (&m != &first && m.acting()) next = &m;
    if (!next) std::this_thread::sleep_for(20ms);
  }
  ASSERT_NE(next, nullptr) << "no manager took the lead within 20 s";
  const double took = std::chrono::duration<double>(steady::now() - killed).count();
  std::printf("takeover after kill -9 of the leader: %.2f s (ttl %d s)\n", took, kTtlSeconds);
  EXPECT_LE(took, kTtlSeconds + 1.0);
  // The schedule goes on under the new leader.
  const size_t before = runs_of(*next, "check").size();
  wait_until([&] { return runs_of(*next, "check").size() >= before + 3; }, 30s, "three more check runs");
  auto runs = runs_of(*next, "check");
  // Each run is for one fire of the 2 s schedule: a scheduled run starts at its fire, a catch-up run
  // is for the newest fire before it (several missed fires are caught up by one run, as catch_up says).
  std::set<std::string> by;
  std::set<long long> fires;
  long long last_fire = 0;
  for (const auto& r : runs) {
    EXPECT_TRUE(std::regex_match(r["started_at_ms"].get<std::string>(),
                                 std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")))
        << r.dump();
    if (r["outcome"] == "interrupted") continue;  // cut off with its leader: caught up, not counted
    if (&r != &runs.back()) {
      EXPECT_NE(r["outcome"], "running") << "only the newest may still run: " << r.dump();
    }
    by.insert(r["manager"].get<std::string>());
    const long long fire = r["started_ms"].get<long long>() / 2000 * 2000;
    EXPECT_TRUE(fires.insert(fire).second) << "two runs of one fire: " << r.dump();
    // None lost: across the takeover at most the fires within ttl + 1 s go by before the catch-up.
    if (last_fire) {
      EXPECT_LE(fire - last_fire, 2000 * ((kTtlSeconds + 1) * 1000 / 2000 + 1)) << "fires lost before " << r.dump();
    }
    last_fire = fire;
  }
  EXPECT_TRUE(by.count(first.name) && by.count(next->name)) << "runs of both leaders in the history";
  stop_all();
}

TEST_F(ManagerHA, OneEtcdMemberLostChangesNothingAndQuorumLostStopsTheLeaderAndMarksAnswersStale) {
  StandbySiteOptions o;
  o.mode = "automatic";
  StandbySite site(o);
  ASSERT_NO_FATAL_FAILURE(expect_ok(site.run({"standby", "init"}), "standby init"));
  // Losing etcd's own leader costs an etcd election (about 1-2 s here) during which no lease can be
  // renewed: a ttl of 6 s (4 s of acting window) rides it out, as the default 10 s does.
  constexpr int ttl = 6;
  make_managers(site, "", ttl);
  start_all();
  Manager& leader = wait_for_leader();
  wait_until([&] { return http_get(leader.port, "/active").status == 200; }, 30s, "the active is up");
  // One member lost (etcd's own leader, the worst one): the same manager leads throughout.
  etcd->kill(etcd->leader());
  const auto t0 = steady::now();
  while (steady::now() - t0 < std::chrono::seconds(2 * ttl)) {
    ASSERT_TRUE(leader.acting()) << "the manager lost the lead when one etcd member of three went";
    std::this_thread::sleep_for(100ms);
  }
  // Quorum lost: the leader stops acting within the ttl.
  for (int i = 0; i < etcd->size(); ++i)
    if (etcd->is_running(i)) {
      etcd->kill(i);
      break;
    }
  const auto lost = steady::now();
  wait_until([&] { return !leader.acting(); }, std::chrono::seconds(ttl + 5), "the leader stops acting");
  const double stopped = std::chrono::duration<double>(steady::now() - lost).count();
  std::printf("the leader stopped acting %.2f s after etcd lost its quorum (ttl %d s)\n", stopped, ttl);
  EXPECT_LE(stopped, ttl);
  // Health answers go on from the last known state, marked stale.
  wait_until([&] { return http_get(leader.port, "/health").json()["manager"].value("stale", false); }, 10s,
             "health marked stale");
  auto active = http_get(leader.port, "/active");
  EXPECT_EQ(active.status, 200) << active.body;
  EXPECT_TRUE(active.json()["manager"]["stale"].get<bool>()) << active.body;
  // The active dies now: nothing is promoted while no manager may act (automatic mode, 3 failures of
  // 1 s would promote within seconds otherwise).
  site.active().kill9();
  const auto died = steady::now();
  while (steady::now() - died < 10s) {
    ASSERT_TRUE(site.in_recovery(site.standby())) << "promoted without a leader";
    std::this_thread::sleep_for(200ms);
  }
  for (auto& m : managers) EXPECT_FALSE(m.acting()) << m.name;
  stop_all();
}

// The promotion runs on the leader; a fence that takes 4 s holds the runbook in its fence step while
// the test kills the leader there.
TEST_F(ManagerHA, ALeaderKilledInTheMiddleOfAFailoverIsReplacedByOneThatResumesTheJournalAndFinishesIt) {
  StandbySiteOptions o;
  o.mode = "automatic";
  o.failures = 2;
  TempDir scratch{"/tmp/sk fence-"};
  const fs::path log = scratch.path() / "fence.log";
  o.fence_argv = {"/bin/sh", "-c", "echo \"$0\" >> '" + log.string() + "'; sleep 4", "{server}"};
  StandbySite site(o);
  Manager& first = start_failover_site(site);
  site.active().kill9();
  wait_until([&] { return fs::exists(log) && !read_file(log).empty(); }, 60s, "the failover reaches its fence step");
  first.kill9();  // in the middle of the fence step: the journal holds the steps before it
  Manager& next = wait_for_leader(30s);
  EXPECT_NE(next.name, first.name);
  wait_until([&] { return !site.in_recovery(site.standby()); }, 90s, "cm2 promoted by the new leader");
  wait_until(
      [&] {
        auto st = http_get(next.port, "/status").json();
        return st["active"]["name"] == "cm2";
      },
      60s, "the new leader serves cm2 as the active");
  // The fence ran again on resume (a step is redone unless journaled done), and the failover that
  // finished is the new leader's.
  EXPECT_GE(std::count(read_file(log).begin(), read_file(log).end(), '\n'), 2) << read_file(log);
  std::vector<nlohmann::json> failovers;
  wait_until(
      [&] {
        failovers = runs_of(next, "failover");
        return !failovers.empty() && failovers.back()["outcome"] != "running";
      },
      60s, "the resumed failover finishes");
  EXPECT_EQ(failovers.back()["manager"], next.name) << failovers.back().dump();
  EXPECT_EQ(failovers.back()["outcome"], "ok") << failovers.back().dump();
  bool interrupted = false;
  for (const auto& f : failovers)
    interrupted = interrupted || (f["manager"] == first.name && f["outcome"] == "interrupted");
  EXPECT_TRUE(interrupted) << "the killed leader's failover run is recorded as interrupted";
  stop_all();
}

TEST_F(ManagerHA, TheActiveAndTheLeadingManagerKilledTogetherStillFailOver) {
  StandbySiteOptions o;
  o.mode = "automatic";
  o.failures = 2;
  StandbySite site(o);
  Manager& first = start_failover_site(site);
  const auto t0 = steady::now();
  first.kill9();
  site.active().kill9();
  wait_until([&] { return !site.in_recovery(site.standby()); }, 60s, "cm2 promoted");
  const double rto = std::chrono::duration<double>(steady::now() - t0).count();
  std::printf("failover RTO with the active and the leading manager killed together: %.2f s (ttl %d s, "
              "failures 2 x probe_interval 1 s)\n",
              rto, kTtlSeconds);
  EXPECT_LE(rto, kTtlSeconds + 5.0);
  stop_all();
}

// Three sites, one manager each, on one etcd cluster: each leads its own prefix, and one site's manager
// stopping leaves the others' leaders and keys alone.
TEST_F(ManagerHA, ThreeSitesShareOneEtcdClusterUnderTheirOwnPrefixes) {
  StandbySiteOptions o;
  StandbySite site(o);
  site.write_config();
  const std::string base = read_file(site.config());
  const std::vector<std::string> codes = {"CEN", "NOR", "SOU"};
  for (const auto& code : codes) {
    Manager m;
    m.name = "mgr-" + code;
    m.port = free_port();
    m.config = site.dir() / (m.name + ".toml");
    m.log = logs.path() / (m.name + ".log");
    std::string text = manager_config(base, m.name, m.port, etcd->endpoints(), code);
    text = std::regex_replace(text, std::regex("path = \"site archive\""), "path = \"archive " + code + "\"");
    write_file(m.config, text);
    managers.push_back(std::move(m));
  }
  start_all();
  wait_until(
      [&] {
        for (auto& m : managers)
          if (!m.acting()) return false;
        return true;
      },
      30s, "each site's manager leads its own site");
  for (size_t i = 0; i < codes.size(); ++i) {
    const auto key = etcd->etcdctl({"get", "/sitekeeper/" + codes[i] + "/leader", "--print-value-only"});
    EXPECT_NE(key.find("\"name\":\"" + managers[i].name + "\""), std::string::npos) << key;
  }
  stop_daemon(*managers[0].process);  // resigns: CEN's key goes at once
  EXPECT_EQ(etcd->etcdctl({"get", "/sitekeeper/CEN/leader", "--print-value-only"}), "");
  for (size_t i = 1; i < managers.size(); ++i) EXPECT_TRUE(managers[i].acting()) << managers[i].name;
  stop_all();
}

}  // namespace
}  // namespace sk::test
