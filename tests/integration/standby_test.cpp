// The passive standby and the recovery runbooks on real PostgreSQL 15 clusters: `standby init` and
// `standby status` (lag in bytes from WAL positions), a manual failover after the active died, a failover
// that crashed half-way and resumes from its journal, an old active that comes back writable and is
// fenced again and rejoined, a switchover under write load that loses no acknowledged transaction, and
// an automatic failover by the daemon. (Real network partitions are in partition_test.cpp.)
// The sitekeeper binary is run as an operator (or a service manager) would; tests watch from the side
// (psql, `--json` reports, the daemon's log) and never sleep-then-assert.
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <iostream>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "pg_cluster.hpp"
#include "site_fixture.hpp"
#include "standby_fixture.hpp"

using namespace sk::test;
namespace fs = std::filesystem;
using Steady = std::chrono::steady_clock;

namespace {

constexpr auto kLong = std::chrono::seconds(120);

// The site's serial numbers advance on the active: a bigserial (status_messages), an identity column
// (resources) and a free-standing sequence (site_serials).
void advance_serials(StandbySite& site, const std::string& tag) {
  site.active().psql(
      "INSERT INTO status_messages (site_code, component, message_id, severity, machine_name, message) "
      "SELECT 'CEN', 'sitekeeper-test', 1, 'informational', 'TESTPC', '" + tag + "' FROM generate_series(1, 700);"
      "INSERT INTO resources (site_code, name, os_name, os_version) "
      "SELECT 'CEN', 'SK-" + tag + "-' || g, 'Windows', '10.0' FROM generate_series(1, 300) g;"
      "SELECT count(nextval('site_serials')) FROM generate_series(1, 500);",
      site.db());
}

// Everything a failover needs to prove something: a profile setting that only the captured profile
// carries (set after `standby init`, and ALTER SYSTEM does not replicate), serials advanced past what
// the standby saw at init, and the standby caught up. `seqs` receives the active's sequence values.
void prepare_failover(StandbySite& site, std::map<std::string, long long>& seqs) {
  ASSERT_NO_FATAL_FAILURE(init_standby(site));
  site.active().psql("ALTER SYSTEM SET work_mem = '7MB'; SELECT pg_reload_conf();");
  wait_until([&] { return site.sql(site.active(), "SHOW work_mem") == "7MB"; }, kLong, "work_mem 7MB on the active");
  ASSERT_NO_FATAL_FAILURE(expect_ok(site.run({"capture"}), "capture"));
  advance_serials(site, "before-failover");
  seqs = site.sequences(site.active());
  EXPECT_GE(seqs.size(), 4u);
  EXPECT_GE(seqs["public.site_serials"], 500);
  wait_until([&] { return standby_caught_up(site); }, kLong, "the standby to replay the serials");
  // Without the profile the standby runs with the default: the failover must bring 7MB.
  EXPECT_EQ(site.sql(site.standby(), "SHOW work_mem"), "4MB");
}

// The new active cm2 after a failover: writable, profile re-applied, serials past the old active's,
// help desk logs in, status names it active, check reports the old active fenced.
void expect_cm2_took_over(StandbySite& site, const std::map<std::string, long long>& before) {
  auto& cm2 = site.standby();
  EXPECT_FALSE(site.in_recovery(cm2));
  EXPECT_EQ(site.sql(cm2, "SHOW work_mem"), "7MB") << "the captured profile was not re-applied";
  auto after = site.sequences(cm2);
  const long long headroom = site.options().serial_headroom;
  for (const auto& [name, value] : before) {
    ASSERT_TRUE(after.count(name)) << name;
    EXPECT_GE(after[name], value + headroom) << name << " was not moved past the old active's " << value;
  }
  EXPECT_EQ(site.sql(cm2, "SELECT 1", site.db()), "1");
  EXPECT_NE(cm2.psql_as("helpdesk", "helpdesk-demo", "SELECT count(*) FROM resources", site.db()), "");
  const std::string id = site.sql(cm2,
                                  "INSERT INTO status_messages (site_code, component, message_id, severity, "
                                  "machine_name, message) VALUES ('CEN', 'sitekeeper-test', 2, 'informational', "
                                  "'TESTPC', 'after failover') RETURNING record_id",
                                  site.db());
  EXPECT_GE(std::stoll(id), before.at("public.status_messages_record_id_seq") + headroom);

  auto status = site.json({"status"});
  EXPECT_EQ(status["active"]["name"], "cm2") << status.dump(2);
  auto check = site.json({"check"});
  bool fenced = false;
  for (const auto& f : check["fenced"])
    if (f["server"] == "cm1") fenced = true;
  EXPECT_TRUE(fenced) << check.dump(2);
  auto sb = standby_status(site);
  EXPECT_EQ(sb["active"], "cm2") << sb.dump(2);
  EXPECT_GE(sb["epoch"].get<long>(), 1) << sb.dump(2);
}

// ----- a client that keeps writing: the measure of "zero lost transactions" ------------------------

// Inserts an increasing counter in autocommit, one row per statement, and remembers every counter whose
// COMMIT the server acknowledged, with the time of the acknowledgment. It connects like a site console
// configured with both servers would: a multi-host connection string with target_session_attrs =
// read-write, so it lands on whichever server accepts writes, and reconnects (2 s connect timeout,
// 5 s statement timeout) after any error.
class Writer {
 public:
  Writer(const StandbySite& site, int port_a, int port_b) {
    const auto& c = site.active();
    conninfo_ = "host=127.0.0.1,127.0.0.1 port=" + std::to_string(port_a) + "," + std::to_string(port_b) +
                " user=" + c.superuser() + " password=" + c.password() + " dbname=" + site.db() +
                " connect_timeout=2 target_session_attrs=read-write application_name=sk_test_writer"
                " options='-c statement_timeout=5000'";
    thread_ = std::thread([this] { loop(); });
  }
  ~Writer() { stop(); }

  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  size_t acked() const {
    std::lock_guard lock(mu_);
    return acked_.size();
  }
  std::vector<std::pair<long, Steady::time_point>> acknowledged() const {
    std::lock_guard lock(mu_);
    return acked_;
  }
  int errors() const { return errors_.load(); }
  std::string last_error() const {
    std::lock_guard lock(mu_);
    return last_error_;
  }

 private:
  void loop() {
    PGconn* c = nullptr;
    long n = 0;
    while (!stop_) {
      if (!c) {
        c = PQconnectdb(conninfo_.c_str());
        if (PQstatus(c) != CONNECTION_OK) {
          failed(PQerrorMessage(c));
          PQfinish(c);
          c = nullptr;
          continue;
        }
      }
      ++n;
      const std::string stmt = "INSERT INTO sk_writes (n) VALUES (" + std::to_string(n) + ")";
      PGresult* r = PQexec(c, stmt.c_str());
      const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
      PQclear(r);
      if (ok) {
        std::lock_guard lock(mu_);
        acked_.push_back({n, Steady::now()});
      } else {
        failed(PQerrorMessage(c));
        PQfinish(c);
        c = nullptr;
      }
    }
    if (c) PQfinish(c);
  }
  void failed(const char* why) {
    ++errors_;
    {
      std::lock_guard lock(mu_);
      last_error_ = why ? why : "";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // a retry pace, not a wait for a state
  }

  std::string conninfo_;
  std::atomic<bool> stop_{false};
  std::atomic<int> errors_{0};
  mutable std::mutex mu_;
  std::vector<std::pair<long, Steady::time_point>> acked_;
  std::string last_error_;
  std::thread thread_;
};

}  // namespace

// standby init builds a streaming standby; status reports lag in bytes from WAL positions (the standby
// down and 50 MB behind is unhealthy), and init refuses to touch a data directory that is not empty.
TEST(Standby, InitAndLag) {
  StandbySite site;
  auto r = site.run({"standby", "init"});
  ASSERT_NO_FATAL_FAILURE(expect_ok(r, "standby init"));
  EXPECT_TRUE(contains(r.out, "streaming")) << r.out;
  wait_until([&] { return standby_caught_up(site); }, kLong, "the standby to stream with no lag");
  auto j = standby_status(site);
  EXPECT_EQ(j["role"], "standby") << j.dump(2);
  EXPECT_EQ(j["state"], "streaming") << j.dump(2);
  EXPECT_EQ(j["lag_bytes"], 0) << j.dump(2);
  EXPECT_TRUE(j["healthy"].get<bool>()) << j.dump(2);
  EXPECT_TRUE(site.in_recovery(site.standby()));
  EXPECT_EQ(site.run({"standby", "status"}).code, 0);
  // check's readiness table carries the standby and its lag.
  auto ready = site.run({"check"});
  {
    const auto at = ready.out.find("standby  cm2: streaming, lag ");
    ASSERT_NE(at, std::string::npos) << ready.out << ready.err;
    const std::string line = ready.out.substr(at, ready.out.find('\n', at) - at);
    EXPECT_TRUE(line.size() > 4 && line.substr(line.size() - 4) == ": ok") << line;  // some WAL may arrive in between
  }

  // The standby goes down; the active writes ~50 MB of WAL meanwhile.
  site.standby().stop();
  ASSERT_FALSE(site.standby().running());
  site.active().psql("CREATE TABLE sk_bulk AS SELECT g, repeat(md5(g::text), 16) AS pad FROM generate_series(1, 100000) g",
                     site.db());
  j = standby_status(site);
  EXPECT_FALSE(j["healthy"].get<bool>()) << j.dump(2);
  ASSERT_TRUE(j.contains("lag_bytes") && j["lag_bytes"].is_number()) << j.dump(2);
  EXPECT_GT(j["lag_bytes"].get<std::uint64_t>(), 40ull << 20) << j.dump(2);
  auto text = site.run({"standby", "status"});
  EXPECT_EQ(text.code, 1) << text.out << text.err;
  EXPECT_TRUE(contains(text.out, "NOT HEALTHY")) << text.out;
  std::cout << "[ lag     ] standby down, 50 MB written: lag_bytes = " << j["lag_bytes"] << "\n";
  auto not_ready = site.run({"check"});
  EXPECT_EQ(not_ready.code, 1) << not_ready.out;
  EXPECT_TRUE(contains(not_ready.out, "NOT HEALTHY")) << not_ready.out;

  // A second init on the (stopped, non-empty) standby data directory is refused for safety.
  auto again = site.run({"standby", "init"});
  EXPECT_EQ(again.code, 3) << again.out << again.err;
  EXPECT_TRUE(contains(again.err, "not empty")) << again.err;
  EXPECT_TRUE(fs::exists(site.standby().data_dir() / "PG_VERSION")) << "the refused init must not touch the data";

  // Back up, it catches up through its slot.
  site.standby().start_server();
  wait_until([&] { return standby_caught_up(site); }, kLong, "the standby to catch up after its restart");
  EXPECT_EQ(site.sql(site.standby(), "SELECT count(*) FROM sk_bulk", site.db()), "100000");
}

// The active dies (SIGKILL, as a machine death): failover without --yes shows the plan and refuses;
// with --yes the standby becomes the active with the profile re-applied, serials moved past the old
// active's, logins working and writes accepted; the old active is recorded as fenced.
TEST(Standby, ManualFailoverAfterActiveKilled) {
  StandbySite site;
  std::map<std::string, long long> before;
  ASSERT_NO_FATAL_FAILURE(prepare_failover(site, before));
  site.active().kill9();

  auto refused = site.run({"failover"});
  EXPECT_EQ(refused.code, 3) << refused.out << refused.err;
  EXPECT_TRUE(contains(refused.out, "failover plan: cm1 -> cm2")) << refused.out;
  EXPECT_TRUE(contains(refused.out, "promote")) << refused.out;
  EXPECT_TRUE(site.in_recovery(site.standby())) << "failover without --yes must change nothing";

  auto r = site.run({"failover", "--yes"});
  ASSERT_NO_FATAL_FAILURE(expect_ok(r, "failover --yes"));
  EXPECT_TRUE(contains(r.out, "cm2 is active")) << r.out;
  expect_cm2_took_over(site, before);
  auto h = history(site);
  ASSERT_FALSE(h.empty());
  EXPECT_EQ(h[0]["job"], "failover");
  EXPECT_EQ(h[0]["outcome"], "ok") << h[0].dump(2);
}

// A failover killed (SIGKILL) in the middle of its alias step leaves its journal; running it again
// skips every step already done and finishes the job. (Unit tests crash after every step; this one does
// it to the real binary, on real servers.)
TEST(Standby, CrashMidRunbookThenResume) {
  StandbySite site;
  std::map<std::string, long long> before;
  ASSERT_NO_FATAL_FAILURE(prepare_failover(site, before));
  // The alias command kills the sitekeeper that runs it, the first time only.
  const fs::path once = site.dir() / "alias-ran";
  {
    std::ofstream sh(site.dir() / "alias.sh");
    sh << "#!/bin/sh\nif [ ! -e '" << once.string() << "' ]; then touch '" << once.string()
       << "'; kill -9 $PPID; sleep 5; fi\nexit 0\n";
  }
  ::chmod((site.dir() / "alias.sh").c_str(), 0755);
  site.write_config("alias = [\"" + (site.dir() / "alias.sh").string() + "\", \"{server}\"]\n");  // in [failover]
  site.active().kill9();

  auto crashed = site.run({"failover", "--yes"});
  ASSERT_EQ(crashed.code, 128 + SIGKILL) << crashed.out << crashed.err;

  auto plan = site.json({"failover", "--plan"});
  ASSERT_TRUE(plan["steps"].is_array()) << plan.dump(2);
  std::set<std::string> done, pending;
  for (const auto& s : plan["steps"]) (s["done"].get<bool>() ? done : pending).insert(s["name"].get<std::string>());
  const std::set<std::string> before_alias = {"fence", "lag",   "promote", "serials", "profile",
                                               "permissions", "epoch", "smoke", "open"};
  EXPECT_EQ(done, before_alias) << plan.dump(2);
  EXPECT_EQ(pending, (std::set<std::string>{"alias", "repoint"})) << plan.dump(2);

  auto r = site.run({"failover", "--yes"});
  ASSERT_NO_FATAL_FAILURE(expect_ok(r, "failover --yes (resume)"));
  for (const auto& step : before_alias)
    EXPECT_TRUE(contains(r.err, "step " + step + " already done")) << step << "\n" << r.err;
  EXPECT_TRUE(contains(r.err, "resuming failover")) << r.err;
  EXPECT_FALSE(contains(r.err, "step promote: promote")) << "promote ran again:\n" << r.err;
  EXPECT_TRUE(contains(r.err, "step alias done")) << r.err;
  expect_cm2_took_over(site, before);
  // The journal is closed (an open one would still name cm2 as the target): there is nothing left to
  // promote until cm1 rejoins.
  auto after = site.run({"failover", "--plan"});
  EXPECT_EQ(after.code, 3) << after.out << after.err;
  EXPECT_TRUE(contains(after.err, "no standby to promote")) << after.err;
}

// A site of two databases: after a failover, new numbers in BOTH databases are above every number the
// old active handed out, each database's own sequences past its own values.
TEST(Standby, FailoverWithTwoDatabasesMovesTheSerialsOfBoth) {
  StandbySite site({.more_databases = {"CM_REP"}});
  ASSERT_NO_FATAL_FAILURE(init_standby(site));
  ASSERT_NO_FATAL_FAILURE(expect_ok(site.run({"capture"}), "capture"));
  advance_serials(site, "before-failover");
  advance_report_serials(site.active(), "CM_REP", 200);
  const auto site_before = site.sequences(site.active());
  const auto rep_before = site.sequences(site.active(), "CM_REP");
  ASSERT_EQ(rep_before.size(), 2u);
  wait_until([&] { return standby_caught_up(site); }, kLong, "the standby to replay the serials");
  site.active().kill9();

  auto plan = site.run({"failover", "--plan"});
  EXPECT_TRUE(contains(plan.out, "CM_CEN, CM_REP closed to clients")) << plan.out;
  auto r = site.run({"failover", "--yes"});
  ASSERT_NO_FATAL_FAILURE(expect_ok(r, "failover --yes"));
  const long long headroom = site.options().serial_headroom;
  auto& cm2 = site.standby();
  for (const auto& [db, before] : {std::pair{std::string("CM_CEN"), site_before}, std::pair{std::string("CM_REP"), rep_before}}) {
    auto after = site.sequences(cm2, db);
    for (const auto& [name, value] : before) {
      ASSERT_TRUE(after.count(name)) << db << " " << name;
      EXPECT_GE(after[name], value + headroom) << db << " " << name << " was not moved past the old active's " << value;
    }
  }
  const auto report = std::stoll(site.sql(cm2, "INSERT INTO reports (title) VALUES ('after failover') RETURNING report_id", "CM_REP"));
  EXPECT_GT(report, rep_before.at("public.reports_report_id_seq") + headroom);
  EXPECT_GT(std::stoll(site.sql(cm2, "SELECT nextval('report_serials')", "CM_REP")), rep_before.at("public.report_serials") + headroom);
  const auto id = std::stoll(site.sql(cm2,
                                      "INSERT INTO status_messages (site_code, component, message_id, severity, "
                                      "machine_name, message) VALUES ('CEN', 'sitekeeper-test', 2, 'informational', "
                                      "'TESTPC', 'after failover') RETURNING record_id",
                                      site.db()));
  EXPECT_GT(id, site_before.at("public.status_messages_record_id_seq") + headroom);
  // Both databases are open to clients again, and the help desk reads the second.
  EXPECT_EQ(cm2.psql_as("helpdesk", "helpdesk-demo", "SELECT count(*) FROM reports WHERE title LIKE 'report %'", "CM_REP"), "50");
}

// Invariant 4 without a fence command: a failover while the active does not answer is refused and
// changes nothing, until the operator says the old active is powered off; that word is journaled.
TEST(Standby, NoFenceCommandRefusesUntilTheOperatorSaysTheOldActiveIsDown) {
  StandbySite site({.fence = false});
  std::map<std::string, long long> before;
  ASSERT_NO_FATAL_FAILURE(prepare_failover(site, before));
  site.active().kill9();
  auto refused = site.run({"failover", "--yes"});
  EXPECT_EQ(refused.code, 3) << refused.out << refused.err;
  EXPECT_TRUE(contains(refused.err, "cannot be fenced")) << refused.err;
  EXPECT_TRUE(contains(refused.err, "--old-active-is-down")) << refused.err;
  EXPECT_TRUE(site.in_recovery(site.standby())) << "nothing may be promoted";
  auto h = history(site);
  ASSERT_FALSE(h.empty());
  EXPECT_EQ(h[0]["outcome"], "refused") << h[0].dump(2);

  auto r = site.run({"failover", "--yes", "--old-active-is-down"});
  ASSERT_NO_FATAL_FAILURE(expect_ok(r, "failover --yes --old-active-is-down"));
  expect_cm2_took_over(site, before);
  auto status = site.json({"status"});
  EXPECT_EQ(status["active"]["name"], "cm2");
}

// After a failover the old active comes back writable: check flags it, the daemon fences it again,
// and rejoin turns it into the new active's streaming standby (rewinding its divergent write).
TEST(Standby, OldActiveComesBackIsFencedAndRejoined) {
  StandbySite site;
  ASSERT_NO_FATAL_FAILURE(init_standby(site));
  site.active().kill9();
  ASSERT_NO_FATAL_FAILURE(expect_ok(site.run({"failover", "--yes"}), "failover --yes"));

  // The old machine boots again, writable: split-brain danger.
  site.active().start_server();
  EXPECT_FALSE(site.in_recovery(site.active()));
  site.sql(site.active(),
           "INSERT INTO status_messages (site_code, component, message_id, severity, machine_name, message) "
           "VALUES ('CEN', 'sitekeeper-test', 3, 'error', 'TESTPC', 'written on the stale server')",
           site.db());
  auto check = site.run({"check"});
  EXPECT_EQ(check.code, 1) << check.out << check.err;
  EXPECT_TRUE(contains(check.out, "cm1") && contains(check.out, "ACCEPTS WRITES AGAIN")) << check.out;
  EXPECT_TRUE(contains(check.out, "never treated as active")) << check.out;
  auto status = site.json({"status"});
  EXPECT_EQ(status["active"]["name"], "cm2") << "the stale server must never be treated as active";

  // A daemon fences it again.
  BackgroundProcess daemon(site.argv({"run"}), site.dir() / "daemon.log");
  LogOnFailure show{daemon};
  wait_until([&] { return site.sql(site.active(), "SHOW default_transaction_read_only") == "on"; }, kLong,
             "the daemon to fence the old active again");
  wait_until([&] { return contains(daemon.log(), "server cm1 fenced again"); }, kLong, "the re-fence in the log");
  EXPECT_TRUE(contains(daemon.log(), "older epoch")) << tail(daemon.log());
  auto w = site.try_sql(site.active(), "INSERT INTO status_messages (site_code, component, message_id, severity, "
                                       "machine_name, message) VALUES ('CEN', 'x', 4, 'error', 'PC', 'refused')",
                        site.db());
  EXPECT_FALSE(w.ok()) << "the fenced server still accepts writes to the site database";
  EXPECT_FALSE(site.in_recovery(site.standby()));
  stop_daemon(daemon);

  auto rj = site.run({"rejoin"});
  ASSERT_NO_FATAL_FAILURE(expect_ok(rj, "rejoin"));
  wait_until([&] { return standby_caught_up(site, "cm1"); }, kLong, "cm1 to stream from cm2 as its standby");
  auto sb = standby_status(site);
  EXPECT_EQ(sb["active"], "cm2");
  EXPECT_EQ(sb["standby"], "cm1");
  EXPECT_TRUE(site.in_recovery(site.active()));
  EXPECT_EQ(site.sql(site.standby(),
                     "SELECT count(*) FROM pg_stat_replication WHERE application_name = 'cm1' AND state = 'streaming'"),
            "1");
  // The divergent write was rewound away; a write on cm2 arrives on cm1.
  EXPECT_EQ(site.sql(site.active(), "SELECT count(*) FROM status_messages WHERE message = 'written on the stale server'",
                     site.db()),
            "0");
  site.sql(site.standby(),
           "INSERT INTO status_messages (site_code, component, message_id, severity, machine_name, message) "
           "VALUES ('CEN', 'sitekeeper-test', 5, 'informational', 'TESTPC', 'after rejoin')",
           site.db());
  wait_until([&] {
    return site.sql(site.active(), "SELECT count(*) FROM status_messages WHERE message = 'after rejoin'", site.db()) == "1";
  }, kLong, "a write on cm2 to reach cm1");
  auto cj = site.json({"check"});
  EXPECT_TRUE(cj["fenced"].empty()) << cj.dump(2);
  auto ct = site.run({"check"});
  EXPECT_FALSE(contains(ct.out, "ACCEPTS WRITES AGAIN")) << ct.out;
  EXPECT_FALSE(contains(ct.out, "fenced ")) << ct.out;
}

// A planned switchover while a client writes: every acknowledged commit is on the new active, the old
// active streams from it, and the write downtime is measured.
TEST(Standby, SwitchoverUnderWriteLoadLosesNothing) {
  StandbySite site;
  site.active().psql("CREATE TABLE sk_writes (n bigint PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())",
                     site.db());
  ASSERT_NO_FATAL_FAILURE(init_standby(site));

  Writer writer(site, site.active().port(), site.standby().port());
  wait_until([&] { return writer.acked() >= 300; }, kLong, "the writer to commit on the active");
  const size_t acked_before = writer.acked();
  const auto t0 = Steady::now();
  auto r = site.run({"switchover", "--yes"});
  const auto t1 = Steady::now();
  ASSERT_NO_FATAL_FAILURE(expect_ok(r, "switchover --yes"));
  wait_until([&] { return site.json({"status"})["active"]["name"] == "cm2"; }, kLong, "status to name cm2 active");
  // The writer follows the new active.
  const size_t acked_after_switch = writer.acked();
  wait_until([&] { return writer.acked() >= acked_after_switch + 300; }, kLong,
             "the writer to commit on the new active (last error: " + writer.last_error() + ")");
  writer.stop();

  const auto acked = writer.acknowledged();
  ASSERT_GT(acked.size(), acked_before);
  // Zero lost transactions: every acknowledged counter is on the new active.
  std::set<long> present;
  {
    std::istringstream in(site.sql(site.standby(), "SELECT n FROM sk_writes ORDER BY n", site.db()));
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) present.insert(std::stol(line));
  }
  std::vector<long> lost;
  for (const auto& [n, at] : acked)
    if (!present.count(n)) lost.push_back(n);
  EXPECT_TRUE(lost.empty()) << lost.size() << " acknowledged commits lost, first " << (lost.empty() ? 0 : lost.front());

  // Downtime: the longest gap between two acknowledged commits.
  std::chrono::nanoseconds gap{0};
  for (size_t i = 1; i < acked.size(); ++i) gap = std::max(gap, acked[i].second - acked[i - 1].second);
  const double gap_ms = std::chrono::duration<double, std::milli>(gap).count();
  const double run_ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
  std::cout << "[ switch  ] " << acked.size() << " acknowledged commits, 0 of them lost; " << writer.errors()
            << " failed attempts; write downtime (longest gap between acknowledged commits) " << gap_ms
            << " ms; `switchover --yes` ran " << run_ms << " ms; the old active "
            << (contains(r.out, "rewound") ? "needed a rewind" : "followed the new timeline without a rewind") << "\n";
  ::testing::Test::RecordProperty("switchover_downtime_ms", std::to_string(static_cast<long>(gap_ms)));
  EXPECT_LT(gap_ms, 60000.0);

  // The old active is now a streaming standby of the new one, with every row.
  wait_until([&] { return standby_caught_up(site, "cm1"); }, kLong, "cm1 to stream from cm2");
  EXPECT_TRUE(site.in_recovery(site.active()));
  EXPECT_FALSE(site.in_recovery(site.standby()));
  EXPECT_EQ(site.sql(site.active(), "SELECT count(*) FROM sk_writes", site.db()),
            site.sql(site.standby(), "SELECT count(*) FROM sk_writes", site.db()));
  auto h = history(site);
  ASSERT_FALSE(h.empty());
  EXPECT_EQ(h[0]["job"], "switchover");
  EXPECT_EQ(h[0]["outcome"], "ok");
}

// In automatic mode the daemon promotes the standby once the active fails `failures` probes and the
// standby no longer hears it either.
TEST(Standby, AutomaticFailover) {
  StandbySite site({.mode = "automatic"});
  ASSERT_NO_FATAL_FAILURE(init_standby(site));
  advance_serials(site, "before-automatic");
  BackgroundProcess daemon(site.argv({"run"}), site.dir() / "daemon.log");
  LogOnFailure show{daemon};
  wait_until([&] { return contains(daemon.log(), "active server answers"); }, kLong, "the daemon to watch the active");
  wait_until([&] { return standby_caught_up(site); }, kLong, "the standby to replay the serials");
  auto before = site.sequences(site.active());

  site.active().kill9();
  wait_until([&] { return count_runs(site, "failover", "ok") >= 1; }, kLong, "the daemon to promote the standby");
  EXPECT_TRUE(contains(daemon.log(), "promoting the standby")) << tail(daemon.log());
  EXPECT_FALSE(site.in_recovery(site.standby()));
  EXPECT_EQ(site.json({"status"})["active"]["name"], "cm2");
  EXPECT_EQ(standby_status(site)["active"], "cm2");
  auto after = site.sequences(site.standby());
  for (const auto& [name, value] : before) EXPECT_GE(after[name], value + site.options().serial_headroom) << name;
  site.sql(site.standby(),
           "INSERT INTO status_messages (site_code, component, message_id, severity, machine_name, message) "
           "VALUES ('CEN', 'sitekeeper-test', 6, 'informational', 'TESTPC', 'after automatic failover')",
           site.db());
  EXPECT_EQ(site.sql(site.standby(), "SELECT count(*) FROM status_messages WHERE message = 'after automatic failover'",
                     site.db()),
            "1");
  EXPECT_EQ(count_runs(site, "failover", "ok"), 1);
  stop_daemon(daemon);
}

// SIGTERM in the middle of an automatic failover (its fence command hangs): the daemon stops within
// 10 s, the journal keeps the finished steps, and the next daemon resumes the failover and finishes it.
TEST(Standby, SigtermMidFailoverStopsQuicklyAndTheNextDaemonResumes) {
  StandbySite site({.mode = "automatic", .fence = false});
  const fs::path once = site.dir() / "fence-hung";
  {
    // The first call hangs (a power switch that does not answer); later calls work.
    std::ofstream sh(site.dir() / "slow-fence.sh");
    sh << "#!/bin/sh\nif [ ! -e '" << once.string() << "' ]; then touch '" << once.string() << "'; sleep 120; fi\nexit 0\n";
  }
  ::chmod((site.dir() / "slow-fence.sh").c_str(), 0755);
  site.write_config("fence = [\"" + (site.dir() / "slow-fence.sh").string() + "\", \"{server}\"]\n");  // in [failover]
  ASSERT_NO_FATAL_FAILURE(init_standby(site));
  {
    BackgroundProcess daemon(site.argv({"run"}), site.dir() / "daemon.log");
    LogOnFailure show{daemon};
    wait_until([&] { return contains(daemon.log(), "active server answers"); }, kLong, "the daemon to watch the active");
    site.active().kill9();
    wait_until([&] { return fs::exists(once); }, kLong, "the failover to reach its fence step");
    const auto t0 = std::chrono::steady_clock::now();
    daemon.signal(SIGTERM);
    auto rc = daemon.wait(std::chrono::seconds(30));
    const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_TRUE(rc.has_value()) << "the daemon did not stop";
    EXPECT_EQ(*rc, 0);
    EXPECT_LT(took, 10.0) << "SIGTERM waited for the failover";
    std::cout << "[ measured ] SIGTERM to exit in the middle of a failover: " << took << " s\n";
  }
  EXPECT_TRUE(site.in_recovery(site.standby())) << "promoted although the fence never finished";
  auto plan = site.json({"failover", "--plan"});
  for (const auto& st : plan["steps"]) EXPECT_FALSE(st["done"].get<bool>()) << st.dump();

  BackgroundProcess again(site.argv({"run"}), site.dir() / "daemon2.log");
  LogOnFailure show{again};
  wait_until([&] { return count_runs(site, "failover", "ok") >= 1; }, kLong, "the next daemon to finish the failover");
  EXPECT_TRUE(contains(again.log(), "resuming failover")) << tail(again.log());
  EXPECT_FALSE(site.in_recovery(site.standby()));
  EXPECT_EQ(site.json({"status"})["active"]["name"], "cm2");
  stop_daemon(again);
}

