// Failover under real network partitions: the active and the standby run in network namespaces of
// their own, the daemon in the root namespace, and nftables drops cut one link at a time, silently
// (partition_fixture.hpp, netlab.hpp). Automatic mode, probe every 1 s with a 1 s timeout, 3 failures.
//   - the active dies silently (isolated): the fence runs, then the standby is promoted and takes writes;
//   - only the manager loses the active while the standby still streams: no failover, an alert;
//   - only the replication link is cut: no failover, a lag alert;
//   - the manager's link to the active flaps: no failover, and no flapping decisions;
//   - the silently dead active comes back: fenced, never active, then rejoined as the new standby.
// Tests wait for conditions with generous deadlines (a loaded 2-core machine) and never sleep-then-assert.
#include <gtest/gtest.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "integration_support.hpp"
#include "netlab.hpp"
#include "partition_fixture.hpp"
#include "standby_fixture.hpp"

using namespace sk::test;
using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;
using Wall = std::chrono::system_clock;

namespace {

constexpr auto kLong = std::chrono::seconds(120);

// Each test: a PartitionSite with its standby built on its machine, the daemon watching and the
// standby caught up; the daemon's log is printed when the test fails.
class Partition : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto why = NetLab::unavailable()) GTEST_SKIP() << "no network namespaces here: " << *why;
  }
  void TearDown() override {
    if (HasFailure() && site_ && site_->log_size() > 0)
      std::cerr << "---- daemon log ----\n" << tail(site_->daemon().log()) << "\n--------------------\n";
    site_.reset();
  }
  void start(PartitionSiteOptions o = {}) {
    site_ = std::make_unique<PartitionSite>(o);
    ASSERT_NO_FATAL_FAILURE(init_standby(site_->site()));
    site_->start_daemon();
    wait_until([&] { return standby_caught_up(site_->site()); }, kLong, "the standby to catch up");
  }
  PartitionSite& site() { return *site_; }

 private:
  std::unique_ptr<PartitionSite> site_;
};

double seconds_between(Steady::time_point a, Steady::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}
double unix_seconds(Wall::time_point t) { return std::chrono::duration<double>(t.time_since_epoch()).count(); }

const char* const kInsert =
    "INSERT INTO status_messages (site_code, component, message_id, severity, machine_name, message) "
    "VALUES ('CEN', 'sitekeeper-test', 7, 'informational', 'TESTPC', 'partition test') RETURNING record_id";

std::string dump(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += "  " + l + "\n";
  return s;
}

std::string dump(const std::vector<AlertLine>& alerts) {
  std::string s;
  for (const auto& a : alerts) s += "  job=" + a.job + " message=" + a.message + "\n";
  return s.empty() ? "  (no alert)\n" : s;
}

bool has_alert(const PartitionSite& ps, const std::string& job, const std::function<bool(const std::string&)>& about) {
  for (const auto& a : ps.alerts())
    if (a.job == job && about(a.message)) return true;
  return false;
}

// The first decision sentence the HA loop logged that contains `phrase`.
std::optional<std::string> decision_with(const PartitionSite& ps, const std::string& phrase) {
  for (const auto& d : ps.decisions())
    if (contains(d, phrase)) return d;
  return std::nullopt;
}

// What a silent death of the active came to, in seconds after isolate().
struct SilentDeath {
  double fence_after = -1;         // the fence script started
  double first_write_after = -1;   // a write committed on the standby
  double failover_ok_after = -1;   // the history holds a failover run with outcome ok
};

// Isolates the active's machine, then waits for a write to commit on the standby and for the failover
// run in the history. Assertions: the fence ran for cm1, before the promotion.
void die_silently_and_fail_over(PartitionSite& ps, SilentDeath& out) {
  const auto t0 = Steady::now();
  const auto wall0 = Wall::now();
  ps.lab().isolate(Host::active);
  std::optional<Wall::time_point> first_write;
  wait_until(
      [&] {
        if (!ps.site().try_sql(ps.standby(), kInsert, ps.site().db()).ok()) return false;
        first_write = Wall::now();
        return true;
      },
      kLong, "a write to commit on the standby after the active's silent death");
  out.first_write_after = seconds_between(t0, Steady::now());
  wait_until([&] { return count_runs(ps.site(), "failover", "ok") >= 1; }, kLong, "a failover run with outcome ok");
  out.failover_ok_after = seconds_between(t0, Steady::now());

  EXPECT_FALSE(ps.site().in_recovery(ps.standby()));
  EXPECT_EQ(ps.site().json({"status"})["active"]["name"], "cm2");
  const auto calls = ps.fence_calls();
  ASSERT_FALSE(calls.empty()) << "the fence command never ran, yet the standby was promoted";
  EXPECT_EQ(calls.front().server, "cm1");
  EXPECT_EQ(calls.front().standby_in_recovery, "t") << "the standby was promoted before the fence ran";
  EXPECT_LT(calls.front().at, unix_seconds(*first_write)) << "the first write committed before the fence ran";
  out.fence_after = calls.front().at - unix_seconds(wall0);
}

}  // namespace

// (a) The active's machine dies silently: nothing in or out, no RST, no ICMP. The daemon fences it
// (the fence command, since it cannot be reached) and only then promotes the standby, which takes writes.
TEST_F(Partition, SilentDeathOfTheActiveFencesThenFailsOver) {
  ASSERT_NO_FATAL_FAILURE(start());
  auto& ps = site();
  SilentDeath d;
  ASSERT_NO_FATAL_FAILURE(die_silently_and_fail_over(ps, d));
  EXPECT_TRUE(contains(ps.daemon().log(), "promoting the standby")) << tail(ps.daemon().log());
  EXPECT_EQ(count_runs(ps.site(), "failover", "ok"), 1);
  EXPECT_LT(d.first_write_after, 120.0);
  std::cout << "[ silent  ] isolate(A) -> fence script " << d.fence_after << " s, -> first committed write on cm2 "
            << d.first_write_after << " s, -> failover ok in history " << d.failover_ok_after << " s\n";
  ::testing::Test::RecordProperty("silent_death_to_first_write_ms",
                                  std::to_string(static_cast<long>(d.first_write_after * 1000)));
}

// (b) Only the manager's link to the active is cut; the standby still streams from it directly. The
// HA loop asks the standby, hears that it still streams, promotes nothing, and raises an alert.
TEST_F(Partition, OnlyTheManagerLosesTheActiveNoFailoverButAnAlert) {
  ASSERT_NO_FATAL_FAILURE(start());
  auto& ps = site();
  ps.lab().cut(Link::manager_active);

  const std::string phrase = "only this manager lost the active server";
  auto alerted = [&] {
    auto sentence = decision_with(ps, phrase);
    return sentence && has_alert(ps, "monitor", [&](const std::string& m) { return contains(m, *sentence); });
  };
  const auto w = watch(60s, 75s, [&] { return ps.promoted(); }, alerted);
  EXPECT_FALSE(w.forbidden_seen) << "a promotion began while the standby still streamed from the active";
  const auto sentence = decision_with(ps, phrase);
  EXPECT_TRUE(sentence) << "the HA loop never decided '" << phrase << "'; its decisions:\n" << dump(ps.decisions());
  EXPECT_TRUE(w.wanted_after) << "no alert with job 'monitor' holding the decision sentence '"
                              << sentence.value_or(phrase) << "'; alerts:\n"
                              << dump(ps.alerts());

  EXPECT_TRUE(ps.site().in_recovery(ps.standby()));
  EXPECT_EQ(ps.site().sql(ps.standby(), "SELECT status FROM pg_stat_wal_receiver"), "streaming");
  EXPECT_EQ(ps.site().sql(ps.active(), "SHOW default_transaction_read_only"), "off") << "the active must not be fenced";
  EXPECT_TRUE(ps.site().try_sql(ps.active(), kInsert, ps.site().db()).ok()) << "the active must keep taking writes";
  const auto active = ps.get("/active");
  EXPECT_EQ(active.status, 503) << active.body;  // this manager cannot reach it, and says so
  int failovers = 0;
  for (const auto& run : history(ps.site())) failovers += run["job"] == "failover";
  EXPECT_EQ(failovers, 0);
  stop_daemon(ps.daemon());
}

// (c) Only the replication link is cut: the manager still reaches the active, so nothing is promoted,
// but the standby falls behind (the active keeps writing) and that is alerted.
TEST_F(Partition, OnlyTheReplicationLinkIsCutNoFailoverButALagAlert) {
  ASSERT_NO_FATAL_FAILURE(start({.max_lag = "1MB"}));
  auto& ps = site();
  ps.lab().cut(Link::active_standby);
  // About 10 MB of WAL the standby cannot receive.
  ps.active().psql(
      "CREATE TABLE sk_unreplicated AS SELECT g, repeat(md5(g::text), 8) AS pad FROM generate_series(1, 30000) g",
      ps.site().db());

  auto lag_alert = [&] {
    return has_alert(ps, "monitor", [](const std::string& m) { return contains(m, "lag") || contains(m, "stream"); });
  };
  const auto w = watch(45s, 90s, [&] { return ps.promoted(); }, lag_alert);
  EXPECT_FALSE(w.forbidden_seen) << "a promotion began while the manager still reached the active";
  EXPECT_TRUE(w.wanted_after) << "no alert with job 'monitor' about the standby's lag or streaming; alerts:\n"
                              << dump(ps.alerts());
  if (w.wanted_after) std::cout << "[ lag     ] lag alert " << w.wanted_after->count() / 1000.0 << " s after the cut\n";

  EXPECT_TRUE(ps.site().in_recovery(ps.standby()));
  EXPECT_EQ(ps.site().sql(ps.active(), "SHOW default_transaction_read_only"), "off") << "the active must not be fenced";
  const auto active = ps.get("/active");
  EXPECT_EQ(active.status, 200) << active.body;
  auto sb = standby_status(ps.site());
  EXPECT_FALSE(sb.value("healthy", true)) << sb.dump(2);
  stop_daemon(ps.daemon());
}

// (d) The manager's link to the active flaps (cut 1 s, healed 1 s, ten times): no failover, and the HA
// loop's decision does not flap with it.
TEST_F(Partition, FlappingManagerLinkNeitherFailsOverNorFlapsTheDecision) {
  ASSERT_NO_FATAL_FAILURE(start());
  auto& ps = site();
  const size_t from = ps.log_size();
  const auto dropped_before = ps.lab().dropped(Host::active);
  bool promoted = false;
  for (int i = 0; i < 10; ++i) {
    // Each phase lasts its second while the watch polls for a promotion.
    ps.lab().cut(Link::manager_active);
    promoted = watch(1s, 1s, [&] { return ps.promoted(); }).forbidden_seen || promoted;
    ps.lab().heal(Link::manager_active);
    promoted = watch(1s, 1s, [&] { return ps.promoted(); }).forbidden_seen || promoted;
  }
  // The link is back for good: the manager reaches the active again, and still nothing is promoted.
  wait_until([&] { return ps.get("/active").status == 200; }, kLong, "the daemon to reach the active again");
  promoted = promoted || watch(15s, 15s, [&] { return ps.promoted(); }).forbidden_seen;
  EXPECT_FALSE(promoted) << "a promotion began while only the manager's link flapped";

  // The stimulus was real: the cuts dropped the daemon's probes (the probe retries on a fresh session,
  // so a cut this short may still cost it no failed probe).
  const auto dropped = ps.lab().dropped(Host::active) - dropped_before;
  EXPECT_GT(dropped, 0u);
  const auto changes = ps.decisions(from);
  std::cout << "[ flap    ] 10 cuts dropped " << dropped << " packets; " << changes.size()
            << " decision changes:\n" << dump(changes);
  EXPECT_LE(changes.size(), 4u) << "the decision flapped with the link:\n" << dump(changes);
  EXPECT_TRUE(ps.site().in_recovery(ps.standby()));
  EXPECT_EQ(ps.site().sql(ps.active(), "SHOW default_transaction_read_only"), "off") << "the active must not be fenced";
  stop_daemon(ps.daemon());
}

// (e) After (a), the old active's machine comes back (links healed, its postmaster restarted on its
// old data directory, writable): it is fenced, never active, fenced again while it accepts writes, and
// `rejoin` on its machine makes it the streaming standby of the new active.
TEST_F(Partition, SilentlyDeadActiveComesBackFencedThenRejoins) {
  ASSERT_NO_FATAL_FAILURE(start());
  auto& ps = site();
  SilentDeath d;
  ASSERT_NO_FATAL_FAILURE(die_silently_and_fail_over(ps, d));

  // Powered back on: the fence left nothing running on A.
  wait_until([&] { return ps.lab().pids(Host::active).empty(); }, kLong, "the old active's processes to be gone");
  ps.lab().heal(Host::active);
  ps.active().start_server();

  wait_until(
      [&] {
        const auto check = ps.site().json({"check"});
        for (const auto& f : check["fenced"])
          if (f["server"] == "cm1") return true;
        return false;
      },
      kLong, "check to list cm1 as fenced");
  // The HA loop's next probe after the promotion goes to cm2: /active answers for it, never for cm1.
  wait_until(
      [&] {
        const auto a = ps.get("/active");
        return a.status == 200 && a.json().value("server", "") == "cm2";
      },
      60s, "GET /active to answer 200 for cm2");
  EXPECT_EQ(ps.site().json({"status"})["active"]["name"], "cm2");
  wait_until([&] { return ps.site().sql(ps.active(), "SHOW default_transaction_read_only") == "on"; }, 60s,
             "the daemon to fence the writable old active again");
  wait_until([&] { return contains(ps.daemon().log(), "server cm1 fenced again"); }, 60s, "the re-fence in the log");
  EXPECT_FALSE(ps.site().try_sql(ps.active(), kInsert, ps.site().db()).ok()) << "the fenced old active takes writes";
  EXPECT_EQ(ps.get("/active").json().value("server", ""), "cm2");

  auto rj = ps.site().run_on(ps.active(), {"rejoin"});
  ASSERT_NO_FATAL_FAILURE(expect_ok(rj, "rejoin on the old active's machine"));
  wait_until([&] { return standby_caught_up(ps.site(), "cm1"); }, kLong, "cm1 to stream from cm2 as its standby");
  auto sb = standby_status(ps.site());
  EXPECT_EQ(sb["active"], "cm2") << sb.dump(2);
  EXPECT_EQ(sb["standby"], "cm1") << sb.dump(2);
  EXPECT_EQ(sb["state"], "streaming") << sb.dump(2);
  EXPECT_TRUE(ps.site().in_recovery(ps.active()));
  EXPECT_TRUE(ps.site().json({"check"})["fenced"].empty());
  stop_daemon(ps.daemon());
}
