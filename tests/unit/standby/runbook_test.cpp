// The failover and switchover runbooks under fault injection, with no servers: a simulated site
// (support/sim_site.hpp) behind a forwarding engine that can make any named operation fail or hang
// (support/faulty_engine.hpp), a fake process runner for the fence and alias argvs, a fake clock, and a
// real state store and archive. Each test drives the real run_failover / run_switchover.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <set>

#include "core/error.hpp"
#include "replicator/backup.hpp"
#include "standby/failover.hpp"
#include "standby/site_state.hpp"
#include "support/fake_clock.hpp"
#include "support/fake_runner.hpp"
#include "support/faulty_engine.hpp"
#include "support/files.hpp"
#include "support/runbook_checks.hpp"

namespace {

namespace fs = std::filesystem;
using namespace sk;
using sk::standby::RunbookOptions;
using sk::test::Fault;
using ::testing::HasSubstr;

using test::Crash;

const std::vector<std::string> kFailoverSteps = {"fence", "lag",   "promote", "serials", "profile", "permissions",
                                                 "epoch", "smoke", "open",    "alias",   "repoint"};
const std::vector<std::string> kSwitchoverSteps = {"check",   "block", "catchup", "stop",  "promote", "serials",
                                                   "profile", "epoch", "smoke",   "open",  "rejoin"};

// The one operation that only its step performs (repoint does nothing but say so).
const std::map<std::string, std::string> kSignature = {
    {"lag", "cm2.wal_position"},          {"promote", "cm2.promote_closed"},  {"serials", "cm2.resync_serials"},
    {"profile", "cm2.apply_profile"},     {"permissions", "cm2.replay_grants"}, {"epoch", "cm2.write_epoch"},
    {"smoke", "cm2.smoke_test"},          {"open", "cm2.open_to_clients"},    {"block", "cm1.fence"},
    {"catchup", "cm1.wal_position"},      {"stop", "cm1.stop_server"},        {"rejoin", "cm1.follow"},
    {"check", "cm2.replication_state"}};

class RunbookTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = sk::test::test_dir_path("sk runbook é");
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    cfg_.file = dir_ / "sitekeeper.toml";
    cfg_.site = {"CEN", {"CM_CEN"}, "CM_CEN"};
    cfg_.state_path = dir_ / "state" / "sitekeeper.db";
    cfg_.archive.path = dir_ / "archive";
    cfg_.archive.key_file = dir_ / "state" / "archive.keys";
    for (const char* n : {"cm1", "cm2"}) {
      ServerConfig s;
      s.name = n;
      s.data_dir = dir_ / n;
      cfg_.servers[n] = s;
    }
    cfg_.roles.active = "cm1";
    cfg_.roles.standby = "cm2";
    cfg_.failover.probe_timeout = std::chrono::milliseconds(200);
    cfg_.failover.fence = {"/usr/local/bin/power-off", "{server}"};
    cfg_.failover.alias = {"/usr/local/bin/point-alias", "{server}"};
    state_ = std::make_unique<StateStore>(cfg_.state_path);
    world_ = std::make_shared<test::SimWorld>();
    runner_ = std::make_shared<test::FakeRunner>();
    clock_ = std::make_shared<test::FakeClock>(test::at("2026-11-22T03:00:00Z"));
    // A capture in the archive, as the daemon takes every hour: the profile and permissions steps use it.
    replicator::run_capture(ctx());
    // The daemon's high-water mark: the old active issued up to 500 before it died.
    standby::SiteState(*state_).merge_serial_marks({{"public.status_messages_record_id_seq", 500}});
    standby::SiteState(*state_).set_last_active_lsn("1000");  // and its WAL position, every few seconds
    world_->servers["cm1"].reachable = false;  // the active has failed
    world_->clear_log();
  }
  void TearDown() override {
    state_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  replicator::JobContext ctx(std::set<sql::Duty> unsupported = {}) {
    return {cfg_, *state_, test::sim_engines(world_, unsupported), runner_, clock_, cancel_.get()};
  }
  std::string failover(RunbookOptions o = yes()) { return standby::run_failover(ctx(), o); }
  static RunbookOptions yes() {
    RunbookOptions o;
    o.yes = true;
    return o;
  }
  std::set<std::string> journaled() { return test::journaled_steps(*state_); }
  static std::set<std::string> before(const std::vector<std::string>& steps, const std::string& step, bool with = false) {
    return test::steps_before(steps, step, with);
  }
  std::vector<std::vector<std::string>> argvs() { return runner_->argvs(); }

  fs::path dir_;
  Config cfg_;
  std::unique_ptr<StateStore> state_;
  std::shared_ptr<test::SimWorld> world_;
  std::shared_ptr<test::FakeRunner> runner_;
  std::shared_ptr<test::FakeClock> clock_;
  std::unique_ptr<CancelToken> cancel_ = std::make_unique<CancelToken>();
};

TEST_F(RunbookTest, FailoverDoesEveryStepInOrderAndNoClientWritesBeforeTheSerials) {
  bool closed_during_resync = false;
  world_->on_call = [&](const std::string& server, const std::string& op) {
    if (server == "cm2" && op == "resync_serials") closed_during_resync = world_->servers["cm2"].closed;
  };
  EXPECT_THAT(failover(), HasSubstr("cm2 is active (epoch 1)"));
  auto& cm2 = world_->servers["cm2"];
  EXPECT_FALSE(cm2.in_recovery);
  EXPECT_FALSE(cm2.closed) << "clients must be let in at the end";
  EXPECT_TRUE(closed_during_resync) << "clients could connect before the serials were resynced";
  EXPECT_EQ(cm2.serials["public.status_messages_record_id_seq"], 1500);  // the mark 500 + serial_headroom
  EXPECT_EQ(cm2.epoch, 1);
  EXPECT_EQ(cm2.profile_applied.size(), 1u);
  EXPECT_EQ(cm2.grants_replayed, 1);
  ASSERT_EQ(argvs().size(), 2u);
  EXPECT_EQ(argvs()[0], (std::vector<std::string>{"/usr/local/bin/power-off", "cm1"}));
  EXPECT_EQ(argvs()[1], (std::vector<std::string>{"/usr/local/bin/point-alias", "cm2"}));
  standby::SiteState st(*state_);
  EXPECT_EQ(st.epoch(), 1);
  EXPECT_EQ(st.active(cfg_), "cm2");
  EXPECT_EQ(st.fenced().count("cm1"), 1u);
  EXPECT_FALSE(st.open_journal());
  // Promote before serials before profile before open: the order the invariants need.
  for (auto [a, b] : std::vector<std::pair<std::string, std::string>>{{"cm2.promote_closed", "cm2.resync_serials"},
                                                                      {"cm2.resync_serials", "cm2.apply_profile"},
                                                                      {"cm2.write_epoch", "cm2.open_to_clients"},
                                                                      {"cm2.smoke_test", "cm2.open_to_clients"}})
    EXPECT_LT(world_->first(a), world_->first(b)) << a << " before " << b;
}

// Each new engine opens new sessions (a password exchange and a backend start each): the steps share
// one per server instead of making one for every operation.
TEST_F(RunbookTest, TheStepsOfARunShareOneEnginePerServer) {
  std::map<std::string, int> made;
  auto inner = test::sim_engines(world_);
  replicator::JobContext c{cfg_, *state_,
                           [&](const ServerConfig& s) {
                             ++made[s.name];
                             return inner(s);
                           },
                           runner_, clock_, cancel_.get()};
  standby::run_failover(c, yes());
  EXPECT_GE(world_->count("cm2.resync_serials"), 1);
  // The check that the standby is in recovery, the duty check before the first step, and the run.
  EXPECT_LE(made["cm2"], 3) << "the nine steps that use cm2 made an engine each";
}

class FailoverStepFails : public RunbookTest, public ::testing::WithParamInterface<std::string> {};

// A failure at each step: the error names it, the journal holds exactly the steps before it, and
// nothing after it ran.
TEST_P(FailoverStepFails, StopsThereAndNothingAfterRuns) {
  const std::string step = GetParam();
  test::expect_step_fails(*world_, *runner_, kSignature, step, "open_to_clients", [&] { failover(); });
  EXPECT_EQ(journaled(), before(kFailoverSteps, step));
  test::expect_nothing_ran_after(*world_, kFailoverSteps, kSignature, step);
  if (step == "fence" || step == "lag") {
    EXPECT_TRUE(world_->servers["cm2"].in_recovery) << "nothing may be promoted";
  }
}

INSTANTIATE_TEST_SUITE_P(EachStep, FailoverStepFails,
                         ::testing::Values("fence", "lag", "promote", "serials", "profile", "permissions", "epoch",
                                           "smoke", "open", "alias"));

class FailoverCrashes : public RunbookTest, public ::testing::WithParamInterface<std::string> {};

// A crash right after each step, then a resume: the failover completes and no step runs twice.
TEST_P(FailoverCrashes, ResumeCompletesAndNoStepRunsTwice) {
  const std::string step = GetParam();
  RunbookOptions o = test::crash_after(step);
  EXPECT_THROW(failover(o), Crash);
  EXPECT_EQ(journaled(), before(kFailoverSteps, step, /*with=*/true));
  EXPECT_THAT(failover(), HasSubstr("cm2 is active"));
  for (const auto& [s, op] : kSignature)
    if (std::count(kFailoverSteps.begin(), kFailoverSteps.end(), s)) {
      EXPECT_EQ(world_->count(op), 1) << s;
    }
  const auto runs = argvs();
  EXPECT_EQ(std::count_if(runs.begin(), runs.end(), [](const auto& a) { return a[0] == "/usr/local/bin/power-off"; }), 1);
  EXPECT_EQ(std::count_if(runs.begin(), runs.end(), [](const auto& a) { return a[0] == "/usr/local/bin/point-alias"; }), 1);
  EXPECT_FALSE(world_->servers["cm2"].closed);
  EXPECT_EQ(world_->servers["cm2"].serials["public.status_messages_record_id_seq"], 1500);
}

INSTANTIATE_TEST_SUITE_P(EachStep, FailoverCrashes, ::testing::ValuesIn(kFailoverSteps));

TEST_F(RunbookTest, AnOldActiveThatAnswersIsFencedBeforeThePromotion) {
  world_->servers["cm1"].reachable = true;
  world_->fault("cm1.probe", Fault{.times = 1});  // the HA loop's view: down; the fence step's: it answers
  failover();
  EXPECT_TRUE(world_->servers["cm1"].fenced);
  ASSERT_GE(world_->first("cm1.fence"), 0);
  EXPECT_LT(world_->first("cm1.fence"), world_->first("cm2.promote_closed"));
  EXPECT_EQ(argvs().size(), 1u) << "no fence command for a server fenced through SQL";
}

TEST_F(RunbookTest, FencingThatFailsPromotesNothing) {
  world_->servers["cm1"].reachable = true;
  world_->fault("cm1.probe", Fault{.times = 1});
  world_->fault("cm1.fence", Fault{.message = "sessions did not end"});
  EXPECT_THROW(failover(), Error);
  EXPECT_EQ(world_->count("cm2.promote_closed"), 0);
  EXPECT_TRUE(world_->servers["cm2"].in_recovery);
  EXPECT_EQ(standby::SiteState(*state_).fenced().count("cm1"), 0u);
}

TEST_F(RunbookTest, WithoutAFenceCommandAnUnreachableActiveIsNotPromotedPastUnlessTheOperatorSaysSo) {
  cfg_.failover.fence.clear();
  try {
    failover();
    FAIL() << "promoted past an active that cannot be fenced";
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), kRefused);
    EXPECT_THAT(e.what(), HasSubstr("cannot be fenced"));
    EXPECT_THAT(e.hint(), HasSubstr("--old-active-is-down"));
  }
  EXPECT_EQ(world_->count("cm2.promote_closed"), 0);
  RunbookOptions o = yes();
  o.old_active_is_down = true;
  failover(o);
  auto last = standby::SiteState(*state_).last_journal();
  ASSERT_TRUE(last);
  EXPECT_THAT((*last)["steps"]["fence"]["detail"].get<std::string>(), HasSubstr("the operator confirmed"));
  EXPECT_THAT(last->value("operator", ""), HasSubstr("confirmed cm1 is powered off"));
}

TEST_F(RunbookTest, AutomaticWithoutAFenceCommandRefuses) {
  cfg_.failover.fence.clear();
  RunbookOptions o;
  o.automatic = true;
  try {
    failover(o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), kRefused);
    EXPECT_THAT(e.hint(), HasSubstr("configure [failover] fence"));
  }
  EXPECT_TRUE(world_->servers["cm2"].in_recovery);
}

TEST_F(RunbookTest, APromotionThatFailsKeepsTheFenceAndSaysHowToFinish) {
  world_->fault("cm2.promote_closed", Fault{.message = "pg_promote did not finish within 60 s"});
  try {
    failover();
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("step promote failed: pg_promote did not finish"));
    EXPECT_THAT(e.hint(), HasSubstr("cm1 stays fenced"));
    EXPECT_THAT(e.hint(), HasSubstr("promote it by hand and resume"));
  }
  EXPECT_EQ(standby::SiteState(*state_).fenced().count("cm1"), 1u);
  EXPECT_EQ(journaled(), (std::set<std::string>{"fence", "lag"}));
  world_->clear_faults();
  EXPECT_THAT(failover(), HasSubstr("cm2 is active"));
  EXPECT_EQ(runner_->argvs().size(), 2u) << "the fence command ran again";
}

// An engine that cannot do one duty refuses before the first step: no journal, no fence, nothing.
TEST_F(RunbookTest, AnUnsupportedDutyIsRefusedBeforeAnythingChanges) {
  for (auto duty : {sql::Duty::promote, sql::Duty::open, sql::Duty::serials, sql::Duty::epoch, sql::Duty::fence}) {
    SCOPED_TRACE(sql::to_string(duty));
    world_->clear_log();
    try {
      standby::run_failover(ctx({duty}), yes());
      FAIL();
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), HasSubstr("is not supported for postgresql; nothing was changed"));
    }
    EXPECT_FALSE(standby::SiteState(*state_).open_journal());
    EXPECT_TRUE(argvs().empty());
    EXPECT_TRUE(world_->servers["cm2"].in_recovery);
    for (const auto& c : world_->log()) EXPECT_THAT(c, ::testing::AnyOf(HasSubstr(".probe"), HasSubstr("wal_position"))) << c;
  }
}

// SIGTERM sets the token: the run stops at the next step boundary, and the journal resumes it.
TEST_F(RunbookTest, CancellationStopsBetweenStepsAndTheJournalResumes) {
  world_->on_call = [&](const std::string&, const std::string& op) {
    if (op == "resync_serials") cancel_->cancel();
  };
  EXPECT_THROW(failover(), Cancelled);
  EXPECT_EQ(journaled(), before(kFailoverSteps, "serials", /*with=*/true));
  EXPECT_EQ(world_->count("cm2.apply_profile"), 0);
  world_->on_call = nullptr;
  cancel_ = std::make_unique<CancelToken>();  // a new daemon, a new token
  EXPECT_THAT(failover(), HasSubstr("cm2 is active"));
  EXPECT_EQ(world_->count("cm2.resync_serials"), 1);
}

// A silent old active (every operation hangs like a dead host): no step waits on it longer than
// probe_timeout, so the whole failover takes a few probe_timeouts.
TEST_F(RunbookTest, ASilentOldActiveHoldsNoStepLongerThanProbeTimeout) {
  world_->servers["cm1"].reachable = true;
  for (const char* op : {"probe", "fence", "wal_position", "read_serials"}) world_->fault(std::string("cm1.") + op, Fault{.kind = Fault::hang});
  const auto t0 = std::chrono::steady_clock::now();
  failover();
  const auto took = std::chrono::steady_clock::now() - t0;
  // Four bounded waits (the check that the active is down, fence, lag, serials) of 200 ms each.
  EXPECT_LT(took, std::chrono::milliseconds(4 * 200 + 3000));
  EXPECT_EQ(argvs().at(0)[0], "/usr/local/bin/power-off");
}

// ---- switchover --------------------------------------------------------------------------------------

class SwitchoverTest : public RunbookTest {
 protected:
  void SetUp() override {
    RunbookTest::SetUp();
    world_->servers["cm1"].reachable = true;  // a planned swap: both servers are up
  }
  std::string switchover(RunbookOptions o = yes()) { return standby::run_switchover(ctx(), o); }
};

TEST_F(SwitchoverTest, SwapsRolesAndTheOldActiveFollows) {
  EXPECT_THAT(switchover(), HasSubstr("cm2 is active, cm1 is its standby"));
  EXPECT_FALSE(world_->servers["cm2"].in_recovery);
  EXPECT_TRUE(world_->servers["cm1"].in_recovery);
  EXPECT_LT(world_->first("cm1.fence"), world_->first("cm2.promote_closed"));
  EXPECT_LT(world_->first("cm1.stop_server"), world_->first("cm2.promote_closed"));
  standby::SiteState st(*state_);
  EXPECT_EQ(st.active(cfg_), "cm2");
  EXPECT_EQ(st.standby(cfg_), "cm1");
}

class SwitchoverCrashes : public SwitchoverTest, public ::testing::WithParamInterface<std::string> {};

TEST_P(SwitchoverCrashes, ResumeCompletesAndNoStepRunsTwice) {
  const std::string step = GetParam();
  RunbookOptions o = test::crash_after(step);
  EXPECT_THROW(switchover(o), Crash);
  EXPECT_EQ(journaled(), before(kSwitchoverSteps, step, /*with=*/true));
  EXPECT_THAT(switchover(), HasSubstr("cm2 is active"));
  for (const auto& s : kSwitchoverSteps)
    if (kSignature.count(s) && s != "check" && s != "catchup") {
      EXPECT_EQ(world_->count(kSignature.at(s)), 1) << s;
    }
  EXPECT_TRUE(world_->servers["cm1"].in_recovery);
  EXPECT_FALSE(world_->servers["cm2"].closed);
}

INSTANTIATE_TEST_SUITE_P(EachStep, SwitchoverCrashes, ::testing::ValuesIn(kSwitchoverSteps));

class SwitchoverStepFails : public SwitchoverTest, public ::testing::WithParamInterface<std::string> {};

TEST_P(SwitchoverStepFails, StopsThereAndNothingAfterRuns) {
  const std::string step = GetParam();
  if (step == "catchup")  // the check before it reads the same position: fail only once writes are blocked
    world_->on_call = [&](const std::string& server, const std::string& op) {
      if (server == "cm1" && op == "wal_position" && world_->servers["cm1"].fenced) throw Error("connection lost");
    };
  else world_->fault(kSignature.at(step), Fault{});
  EXPECT_THROW(switchover(), Error);
  EXPECT_EQ(journaled(), before(kSwitchoverSteps, step));
  if (step == "check" || step == "block" || step == "catchup" || step == "stop") {
    EXPECT_TRUE(world_->servers["cm2"].in_recovery) << "promoted although " << step << " failed";
  }
}

INSTANTIATE_TEST_SUITE_P(EachStep, SwitchoverStepFails,
                         ::testing::Values("check", "block", "catchup", "stop", "promote", "serials", "profile", "epoch",
                                           "smoke", "open", "rejoin"));

// ---- a site of two databases ------------------------------------------------------------------------

// CM_REP, a second database on the same servers, with a sequence of the same name as the site
// database's and one of its own; the daemon's marks of each kept apart (site_state.hpp).
class TwoDatabases : public RunbookTest {
 protected:
  void SetUp() override {
    RunbookTest::SetUp();
    cfg_.site.databases = {"CM_CEN", "CM_REP"};
    {
      std::lock_guard lock(world_->mu());
      for (const char* n : {"cm1", "cm2"}) world_->servers[n].databases.insert("CM_REP");
      world_->servers["cm1"].serials_of["CM_REP"] = {{"public.status_messages_record_id_seq", 50}, {"public.report_id_seq", 800}};
      world_->servers["cm2"].serials_of["CM_REP"] = {{"public.status_messages_record_id_seq", 40}, {"public.report_id_seq", 7}};
      world_->servers["cm1"].reachable = true;
    }
    clock_->advance(std::chrono::minutes(1));
    replicator::run_capture(ctx());  // a capture of both databases, newer than the fixture's
    standby::SiteState(*state_).merge_serial_marks({{"public.status_messages_record_id_seq", 60}, {"public.report_id_seq", 900}},
                                                   "CM_REP");
    world_->servers["cm1"].reachable = false;
    world_->clear_log();
  }
  int acted(const std::string& server, const std::string& op_db) { return world_->acted(server, op_db); }
  // Each database's serials past its own marks: 500 / 60 / 900 + serial_headroom 1000.
  void expect_serials_past_their_own_marks() {
    auto& cm2 = world_->servers["cm2"];
    EXPECT_EQ(cm2.serials["public.status_messages_record_id_seq"], 1500);
    EXPECT_EQ(cm2.serials_of["CM_REP"]["public.status_messages_record_id_seq"], 1060) << "the site database's mark leaked";
    EXPECT_EQ(cm2.serials_of["CM_REP"]["public.report_id_seq"], 1900);
  }
};

TEST_F(TwoDatabases, EveryStepOfAFailoverCoversBothDatabases) {
  world_->servers["cm1"].reachable = true;
  world_->fault("cm1.probe", Fault{.times = 1});  // down for the HA loop's probe, then it answers the fence
  std::set<std::string> open_during_resync;
  world_->on_call = [&](const std::string& server, const std::string& op) {
    if (server == "cm2" && op == "resync_serials")
      for (const char* db : {"CM_CEN", "CM_REP"})
        if (!world_->servers["cm2"].closed_dbs.count(db)) open_during_resync.insert(db);
  };
  EXPECT_THAT(failover(), HasSubstr("cm2 is active"));
  EXPECT_TRUE(open_during_resync.empty()) << "clients could connect to a database before its serials moved";
  for (const char* db : {"CM_CEN", "CM_REP"}) {
    const std::string d = db;
    EXPECT_EQ(acted("cm1", "fence " + d), 1) << d;
    for (const char* op : {"promote_closed", "resync_serials", "apply_profile", "replay_grants", "smoke_test", "open_to_clients"})
      EXPECT_EQ(acted("cm2", std::string(op) + " " + d), 1) << op << " " << d;
  }
  EXPECT_EQ(world_->count("cm2.replay_roles"), 1) << "roles are server-wide: replayed once";
  EXPECT_TRUE(world_->servers["cm2"].closed_dbs.empty());
  // The old active answered: its own values count too, each in its own database (50 < 60, 800 < 900).
  expect_serials_past_their_own_marks();
  const auto last = *standby::SiteState(*state_).last_journal();
  EXPECT_THAT(last["steps"]["serials"]["detail"].get<std::string>(), HasSubstr("CM_REP: 2 sequences"));
}

TEST_F(TwoDatabases, ThePlanAndTheRunbookNameBothDatabases) {
  const auto plan = standby::render_plan(standby::plan(ctx(), "failover"));
  for (const char* want : {"promote the standby cm2, CM_CEN, CM_REP closed to clients", "-- database CM_REP:",
                           "let clients connect to CM_CEN, CM_REP on cm2", "in each of CM_CEN, CM_REP"})
    EXPECT_THAT(plan, HasSubstr(want));
  const auto book = standby::runbook_markdown(ctx());
  EXPECT_THAT(book, HasSubstr("(databases CM_CEN, CM_REP)"));
  EXPECT_THAT(book, HasSubstr("in each of CM_CEN, CM_REP against its own marks"));
}

class TwoDatabasesCrash : public TwoDatabases, public ::testing::WithParamInterface<std::string> {};

// A crash right after each step, then a resume: done once in each database, never twice.
TEST_P(TwoDatabasesCrash, ResumeCompletesAndNoDatabaseIsDoneTwice) {
  const std::string step = GetParam();
  RunbookOptions o = test::crash_after(step);
  EXPECT_THROW(failover(o), Crash);
  EXPECT_THAT(failover(), HasSubstr("cm2 is active"));
  for (const char* db : {"CM_CEN", "CM_REP"})
    for (const char* op : {"promote_closed", "resync_serials", "apply_profile", "replay_grants", "smoke_test", "open_to_clients"})
      EXPECT_EQ(acted("cm2", std::string(op) + " " + db), 1) << op << " " << db;
  expect_serials_past_their_own_marks();
  EXPECT_TRUE(world_->servers["cm2"].closed_dbs.empty());
}

INSTANTIATE_TEST_SUITE_P(EachStep, TwoDatabasesCrash, ::testing::ValuesIn(kFailoverSteps));

// A crash inside a step, after the first database's part and before the second's: the resume does not
// redo the first and finishes the second.
TEST_F(TwoDatabases, ACrashBetweenTheDatabasesOfAStepResumesWithTheSecond) {
  int smokes = 0;
  world_->on_call = [&](const std::string& server, const std::string& op) {
    if (server == "cm2" && op == "smoke_test" && ++smokes == 2) throw Crash{};
  };
  EXPECT_THROW(failover(), Crash);
  EXPECT_EQ(acted("cm2", "smoke_test CM_CEN"), 1);
  EXPECT_EQ(acted("cm2", "smoke_test CM_REP"), 0);
  world_->on_call = nullptr;
  EXPECT_THAT(failover(), HasSubstr("cm2 is active"));
  EXPECT_EQ(acted("cm2", "smoke_test CM_CEN"), 1) << "the first database's part ran again";
  EXPECT_EQ(acted("cm2", "smoke_test CM_REP"), 1);
}

// The journal fixes the databases a run covers when it begins: [site] databases changed before a
// resume neither skips CM_REP's open step (it was closed at the promotion) nor opens a database whose
// promotion and serials never ran; a journal from before several databases covers the site database.
TEST_F(TwoDatabases, AResumeCoversTheDatabasesTheRunBeganWith) {
  RunbookOptions o = test::crash_after("serials");
  EXPECT_THROW(failover(o), Crash);
  EXPECT_EQ(standby::SiteState(*state_).open_journal()->at("databases"), (nlohmann::json{"CM_CEN", "CM_REP"}));
  EXPECT_EQ(world_->servers["cm2"].closed_dbs, (std::set<std::string>{"CM_CEN", "CM_REP"}));
  cfg_.site.databases = {"CM_CEN"};  // CM_REP dropped from the config between the crash and the resume
  EXPECT_THAT(failover(), HasSubstr("cm2 is active"));
  EXPECT_TRUE(world_->servers["cm2"].closed_dbs.empty()) << "CM_REP was left closed to clients for good";
  EXPECT_EQ(acted("cm2", "open_to_clients CM_REP"), 1);
}

// A newer capture taken while the site listed one database does not cost CM_REP its grants and
// profile: the newest capture holding both is used.
TEST_F(TwoDatabases, ACaptureHoldingEveryDatabaseIsPreferredToANewerOneThatLacksOne) {
  world_->servers["cm1"].reachable = true;
  clock_->advance(std::chrono::minutes(1));
  replicator::run_backup(ctx());  // holds both
  cfg_.site.databases = {"CM_CEN"};
  clock_->advance(std::chrono::minutes(1));
  replicator::run_capture(ctx());  // newer, CM_CEN only
  cfg_.site.databases = {"CM_CEN", "CM_REP"};
  world_->servers["cm1"].reachable = false;
  world_->clear_log();
  EXPECT_THAT(failover(), HasSubstr("cm2 is active"));
  EXPECT_EQ(acted("cm2", "apply_profile CM_REP"), 1);
  EXPECT_EQ(acted("cm2", "replay_grants CM_REP"), 1);
  const auto last = *standby::SiteState(*state_).last_journal();
  EXPECT_THAT(last["steps"]["profile"]["detail"].get<std::string>(), Not(HasSubstr("holds no profile")));
}

TEST_F(TwoDatabases, AJournalFromBeforeSeveralDatabasesCoversTheSiteDatabase) {
  RunbookOptions o = test::crash_after("fence");
  EXPECT_THROW(failover(o), Crash);
  standby::SiteState st(*state_);
  auto j = *st.open_journal();
  j.erase("databases");  // as an older sitekeeper wrote it
  st.put_journal(j);
  EXPECT_THAT(failover(), HasSubstr("cm2 is active"));
  EXPECT_EQ(acted("cm2", "promote_closed CM_CEN"), 1);
  EXPECT_EQ(acted("cm2", "promote_closed CM_REP"), 0) << "a database the run never began with joined it halfway";
}

TEST_F(TwoDatabases, ASwitchoverBlocksWritesInBothDatabases) {
  world_->servers["cm1"].reachable = true;
  EXPECT_THAT(standby::run_switchover(ctx(), yes()), HasSubstr("cm2 is active"));
  EXPECT_EQ(acted("cm1", "fence CM_CEN"), 1);
  EXPECT_EQ(acted("cm1", "fence CM_REP"), 1);
  EXPECT_EQ(acted("cm2", "open_to_clients CM_REP"), 1);
}

}  // namespace
