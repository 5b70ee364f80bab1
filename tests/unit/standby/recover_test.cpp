// recover --server under fault injection, with no servers: the simulated site (support/sim_site.hpp)
// behind the forwarding engine that makes any named operation fail (support/faulty_engine.hpp), a fake
// process runner for the fence and alias argvs, a fake clock, and a real state store and archive with
// a sealed backup. Each test drives the real recover_site.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "replicator/archive.hpp"
#include "replicator/backup.hpp"
#include "standby/failover.hpp"
#include "standby/recover.hpp"
#include "standby/site_state.hpp"
#include "support/fake_clock.hpp"
#include "support/fake_runner.hpp"
#include "support/faulty_engine.hpp"
#include "support/files.hpp"
#include "support/runbook_checks.hpp"

namespace {

namespace fs = std::filesystem;
using namespace sk;
using sk::standby::RecoverOptions;
using sk::standby::RunbookOptions;
using sk::test::Fault;
using ::testing::HasSubstr;

using test::Crash;

const std::vector<std::string> kSteps = {"verify", "fence", "roles", "restore", "grants", "profile",
                                         "serials", "swap",  "epoch", "smoke",   "alias",  "repoint"};
// The one operation only its step performs on the new server (verify: the trial server's restore).
const std::map<std::string, std::string> kSignature = {
    {"verify", "trial.restore_to_staging"}, {"roles", "cm3.replay_roles"},   {"restore", "cm3.restore_to_staging"},
    {"grants", "cm3.replay_grants"},        {"profile", "cm3.apply_profile"}, {"serials", "cm3.resync_serials"},
    {"swap", "cm3.swap_in"},                {"epoch", "cm3.write_epoch"},    {"smoke", "cm3.smoke_test"}};

class RecoverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = sk::test::test_dir_path("sk recover é");
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    cfg_.file = dir_ / "sitekeeper.toml";
    cfg_.site = {"CEN", {"CM_CEN"}, "CM_CEN"};
    cfg_.state_path = dir_ / "state" / "sitekeeper.db";
    cfg_.archive.path = dir_ / "archive";
    cfg_.archive.key_file = dir_ / "state" / "archive.keys";
    for (const char* n : {"cm1", "cm3", "trial", "hd1"}) {
      ServerConfig s;
      s.name = n;
      cfg_.servers[n] = s;
    }
    cfg_.roles.active = "cm1";
    cfg_.roles.replicas = {"hd1"};
    cfg_.roles.trial = "trial";
    cfg_.failover.probe_timeout = std::chrono::milliseconds(200);
    cfg_.failover.fence = {"/usr/local/bin/power-off", "{server}"};
    cfg_.failover.alias = {"/usr/local/bin/point-alias", "{server}"};
    state_ = std::make_unique<StateStore>(cfg_.state_path);
    world_ = std::make_shared<test::SimWorld>();
    world_->servers.erase("cm2");
    world_->servers["trial"].databases.clear();
    world_->servers["hd1"] = test::SimServer{};
    world_->servers["cm3"].databases.clear();  // a fresh cluster
    runner_ = std::make_shared<test::FakeRunner>();
    clock_ = std::make_shared<test::FakeClock>(test::at("2026-11-22T02:00:00Z"));
    id_ = replicator::run_backup(ctx()).id;
    // After the backup the old active issued up to 500; the daemon saw its last write at 02:40.
    standby::SiteState st(*state_);
    st.merge_serial_marks({{"public.status_messages_record_id_seq", 500}});
    st.note_active_seen("cm1", "2026-11-22T02:40:00Z", "1000");
    clock_->advance(std::chrono::hours(1));
    world_->servers["cm1"].reachable = false;  // the site server is lost
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
  std::string recover(RunbookOptions o = yes(), RecoverOptions r = {"cm3", "", {}}) {
    return standby::recover_site(ctx(), o, r);
  }
  static RunbookOptions yes() {
    RunbookOptions o;
    o.yes = true;
    return o;
  }
  std::set<std::string> journaled() { return test::journaled_steps(*state_); }
  static std::set<std::string> upto(const std::string& step, bool with) { return test::steps_before(kSteps, step, with); }
  // Nothing written anywhere: the new server untouched, no journal, no roles recorded.
  void expect_nothing_changed() {
    for (const auto& op : {"cm3.replay_roles", "cm3.restore_to_staging", "cm3.write_epoch"})
      EXPECT_EQ(world_->count(op), 0) << op;
    EXPECT_FALSE(standby::SiteState(*state_).open_journal());
    EXPECT_EQ(standby::SiteState(*state_).active(cfg_), "cm1");
  }

  fs::path dir_;
  Config cfg_;
  std::unique_ptr<StateStore> state_;
  std::shared_ptr<test::SimWorld> world_;
  std::shared_ptr<test::FakeRunner> runner_;
  std::shared_ptr<test::FakeClock> clock_;
  std::unique_ptr<CancelToken> cancel_ = std::make_unique<CancelToken>();
  std::string id_;
};

TEST_F(RecoverTest, EveryStepInOrderAndTheLiveNameAppearsOnlyPastTheSerials) {
  bool live_during_resync = true;
  world_->on_call = [&](const std::string& server, const std::string& op) {
    if (server == "cm3" && op == "resync_serials") live_during_resync = world_->servers["cm3"].databases.count("CM_CEN") > 0;
  };
  const auto s = recover();
  EXPECT_THAT(s, HasSubstr("recover done: cm3 is active (epoch 1) with backup " + id_));
  EXPECT_THAT(s, HasSubstr("changes on cm1 from the backup at 2026-11-22T02:00:00Z to its last observed write at "
                           "2026-11-22T02:40:00Z (40m 0s) are lost"));
  auto& cm3 = world_->servers["cm3"];
  EXPECT_FALSE(live_during_resync) << "clients could reach the site database before its serials were resynced";
  EXPECT_EQ(cm3.databases, (std::set<std::string>{"CM_CEN"}));
  EXPECT_EQ(cm3.serials["public.status_messages_record_id_seq"], 1500);  // the mark 500 + serial_headroom
  EXPECT_EQ(cm3.epoch, 1);
  EXPECT_EQ(cm3.roles_replayed, 1);
  EXPECT_EQ(cm3.grants_replayed, 1);
  EXPECT_EQ(cm3.profile_applied.size(), 1u);
  ASSERT_EQ(runner_->argvs().size(), 2u);
  EXPECT_EQ(runner_->argvs()[0], (std::vector<std::string>{"/usr/local/bin/power-off", "cm1"}));
  EXPECT_EQ(runner_->argvs()[1], (std::vector<std::string>{"/usr/local/bin/point-alias", "cm3"}));
  standby::SiteState st(*state_);
  EXPECT_EQ(st.active(cfg_), "cm3");
  EXPECT_EQ(st.epoch(), 1);
  EXPECT_EQ(st.fenced().count("cm1"), 1u);
  EXPECT_FALSE(st.open_journal());
  ASSERT_TRUE(st.last_journal());
  EXPECT_EQ((*st.last_journal())["kind"], "recover");
  // The trial restore never touched the new server; roles before the restore, the restore before grants.
  for (auto [a, b] : std::vector<std::pair<std::string, std::string>>{{"trial.restore_to_staging", "cm3.replay_roles"},
                                                                      {"cm3.replay_roles", "cm3.restore_to_staging"},
                                                                      {"cm3.restore_to_staging", "cm3.checkpoint"},
                                                                      {"cm3.checkpoint", "cm3.replay_grants"},
                                                                      {"cm3.resync_serials", "cm3.swap_in"},
                                                                      {"cm3.swap_in", "cm3.write_epoch"}})
    EXPECT_LT(world_->first(a), world_->first(b)) << a << " before " << b;
}

// A kill -9 after the rename but before the swap step was journaled: the resume finds the site database
// live and its staging copy gone, says so, and renames nothing.
TEST_F(RecoverTest, ACrashAfterTheRenameBeforeItsJournalResumesWithoutRenamingAgain) {
  RunbookOptions o = test::crash_after("serials");
  EXPECT_THROW(recover(o), Crash);
  {
    std::lock_guard lock(world_->mu());
    auto& cm3 = world_->servers["cm3"];
    cm3.databases.erase("CM_CEN__sk_staging");  // the rename committed, then the process died
    cm3.databases.insert("CM_CEN");
  }
  EXPECT_THAT(recover(yes(), {"", "", {}}), HasSubstr("cm3 is active"));
  EXPECT_EQ(world_->count("cm3.swap_in"), 0);
  const auto last = *standby::SiteState(*state_).last_journal();
  EXPECT_EQ(last["steps"]["swap"]["detail"], "CM_CEN was already live");
}

// The daemon resumes an interrupted failover by itself, never a recover: that is the operator's to run.
TEST_F(RecoverTest, TheDaemonNeverResumesARecover) {
  RunbookOptions o = test::crash_after("restore");
  EXPECT_THROW(recover(o), Crash);
  standby::SiteState st(*state_);
  auto j = *st.open_journal();
  j["pid"] = 0;  // its process is gone
  st.put_journal(j);
  EXPECT_FALSE(standby::interrupted_failover(*state_));
  // Nor may a failover start over it.
  cfg_.roles.standby = "cm3";
  EXPECT_THAT([&] { standby::run_failover(ctx(), yes()); },
              ::testing::ThrowsMessage<SafetyError>(HasSubstr("an unfinished recover is in the journal")));
}

class RecoverStepFails : public RecoverTest, public ::testing::WithParamInterface<std::string> {};

// A failure at each step: the error names it, the journal holds exactly the steps before it, nothing
// after it ran, and the site database never went live before the swap.
TEST_P(RecoverStepFails, StopsThereAndNothingAfterRuns) {
  const std::string step = GetParam();
  test::expect_step_fails(*world_, *runner_, kSignature, step, "smoke_test", [&] { recover(); });
  EXPECT_EQ(journaled(), upto(step, false));
  test::expect_nothing_ran_after(*world_, kSteps, kSignature, step);
  const bool past_swap = journaled().count("swap") > 0;
  EXPECT_EQ(world_->servers["cm3"].databases.count("CM_CEN") > 0, past_swap);
  EXPECT_EQ(standby::SiteState(*state_).active(cfg_), journaled().count("epoch") ? "cm3" : "cm1")
      << "no new active before the epoch step";
}

INSTANTIATE_TEST_SUITE_P(EachStep, RecoverStepFails,
                         ::testing::Values("verify", "fence", "roles", "restore", "grants", "profile", "serials", "swap",
                                           "epoch", "smoke", "alias"));

class RecoverCrashes : public RecoverTest, public ::testing::WithParamInterface<std::string> {};

// A crash right after each step, then a resume (without naming the server again): the recovery
// completes and no step runs twice.
TEST_P(RecoverCrashes, ResumeCompletesAndNoStepRunsTwice) {
  const std::string step = GetParam();
  RunbookOptions o = test::crash_after(step);
  EXPECT_THROW(recover(o), Crash);
  EXPECT_EQ(journaled(), upto(step, true));
  EXPECT_THAT(recover(yes(), {"", "", {}}), HasSubstr("cm3 is active"));
  for (const auto& [s, op] : kSignature) EXPECT_EQ(world_->count(op), 1) << s;
  const auto runs = runner_->argvs();
  EXPECT_EQ(std::count_if(runs.begin(), runs.end(), [](const auto& a) { return a[0] == "/usr/local/bin/power-off"; }), 1);
  EXPECT_EQ(std::count_if(runs.begin(), runs.end(), [](const auto& a) { return a[0] == "/usr/local/bin/point-alias"; }), 1);
  EXPECT_EQ(world_->servers["cm3"].databases, (std::set<std::string>{"CM_CEN"}));
  EXPECT_EQ(world_->servers["cm3"].serials["public.status_messages_record_id_seq"], 1500);
}

INSTANTIATE_TEST_SUITE_P(EachStep, RecoverCrashes, ::testing::ValuesIn(kSteps));

TEST_F(RecoverTest, TargetsThatServeOrHoldTheSiteAreRefusedBeforeAnythingChanges) {
  auto refused = [&](const std::string& server, const std::string& why) {
    try {
      recover(yes(), {server, "", {}});
      ADD_FAILURE() << server << " was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.exit_code(), kRefused) << e.what();
      EXPECT_THAT(e.what(), HasSubstr(why)) << server;
    }
  };
  refused("hd1", "help-desk replica");
  world_->servers["cm3"].databases.insert("CM_CEN");
  refused("cm3", "already holds database CM_CEN");
  world_->servers["cm3"].databases.clear();
  world_->servers["cm3"].in_recovery = true;
  refused("cm3", "is in recovery");
  world_->servers["cm3"].in_recovery = false;
  world_->servers["cm3"].reachable = false;
  refused("cm3", "recover needs cm3 running and empty");
  world_->servers["cm3"].reachable = true;
  cfg_.roles.standby = "cm3";
  refused("cm3", "is the standby");
  cfg_.roles.standby.clear();
  try {
    recover(yes(), {"cm3", "20990101T000000Z", {}});
    ADD_FAILURE() << "an unknown backup was accepted";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("not a complete backup"));
  }
  EXPECT_THROW(recover(yes(), {"cm3", "../x", {}}), Error);
  EXPECT_THROW(recover(yes(), {"nosuch", "", {}}), Error);
  expect_nothing_changed();
}

TEST_F(RecoverTest, AnEngineThatCannotRestoreIsRefusedBeforeAnythingChanges) {
  try {
    standby::recover_site(ctx({sql::Duty::restore}), yes(), {"cm3", "", {}});
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("step restore needs restore into a staging copy and rename it to the live name on cm3"));
  }
  expect_nothing_changed();
}

TEST_F(RecoverTest, AResumeWithAnotherServerOrBackupIsRefusedOnceAServerChanged) {
  world_->fault("cm3.replay_grants", Fault{.times = 1});
  EXPECT_THROW(recover(), Error);
  for (const RecoverOptions& other : {RecoverOptions{"trial", "", {}}, RecoverOptions{"cm3", "20261101T020000Z", {}},
                                      RecoverOptions{"hd1", "", {}, true}}) {
    try {
      recover(yes(), other);
      ADD_FAILURE() << other.server << " " << other.backup << " accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.exit_code(), kRefused);
      EXPECT_THAT(e.what(), HasSubstr("an unfinished recover onto cm3 (backup " + id_ + ") has changed servers already"));
      EXPECT_THAT(e.hint(), HasSubstr("sitekeeper recover --server cm3 --yes"));
    }
  }
  EXPECT_THAT(recover(), HasSubstr("cm3 is active"));
}

TEST_F(RecoverTest, ARunThatChangedNoServerYetIsReplacedByAnotherChoice) {
  // The backup fails its deep verification: only the verify step was tried, nothing changed.
  world_->fault("trial.restore_to_staging", Fault{});
  EXPECT_THROW(recover(), Error);
  ASSERT_TRUE(standby::SiteState(*state_).open_journal());
  world_->clear_faults();
  // Another server: the open run is replaced, not resumed.
  world_->servers["cm4"].databases.clear();
  cfg_.servers["cm4"] = cfg_.servers["cm3"];
  cfg_.servers["cm4"].name = "cm4";
  EXPECT_THAT(recover(yes(), {"cm4", "", {}}), HasSubstr("cm4 is active"));
  EXPECT_EQ(world_->count("cm3.replay_roles"), 0);
  EXPECT_TRUE(world_->servers["cm3"].databases.empty());
  EXPECT_EQ(world_->count("trial.restore_to_staging"), 2) << "the new run verifies its backup again";
}

TEST_F(RecoverTest, ASiteThatStillStandsIsRefused) {
  world_->servers["cm1"].reachable = true;  // the active answers and accepts writes
  try {
    recover();
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), kRefused);
    EXPECT_THAT(e.what(), HasSubstr("active server cm1 answers and accepts writes"));
    EXPECT_THAT(e.hint(), HasSubstr("switchover"));
  }
  world_->servers["cm1"].reachable = false;
  cfg_.roles.standby = "cm2";
  test::SimServer standby;
  standby.in_recovery = true;
  world_->servers["cm2"] = standby;
  ServerConfig s2;
  s2.name = "cm2";
  cfg_.servers["cm2"] = s2;
  try {
    recover();
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("standby cm2 stands by"));
    EXPECT_THAT(e.hint(), HasSubstr("failover"));
  }
  cfg_.roles.trial = "cm3";
  cfg_.roles.standby.clear();
  EXPECT_THROW(recover(), SafetyError);  // the trial server
  cfg_.roles.trial = "trial";
  // The old active's own name: only on the operator's word that the old machine is off.
  world_->servers["cm1"].reachable = true;
  world_->servers["cm1"].databases.clear();
  try {
    recover(yes(), {"cm1", "", {}});
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("cm1 is the old active's name"));
  }
  expect_nothing_changed();
  RunbookOptions o = yes();
  o.old_active_is_down = true;
  EXPECT_THAT(recover(o, {"cm1", "", {}}), HasSubstr("cm1 is active"));
  EXPECT_EQ(world_->count("cm1.fence"), 0) << "the rebuilt machine must not be fenced";
  EXPECT_EQ(world_->servers["cm1"].databases, (std::set<std::string>{"CM_CEN"}));
}

TEST_F(RecoverTest, WithoutAFenceCommandAnUnreachableOldActiveNeedsTheOperatorsWord) {
  cfg_.failover.fence.clear();
  try {
    recover();
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), kRefused);
    EXPECT_THAT(e.what(), HasSubstr("cannot be fenced"));
  }
  EXPECT_EQ(world_->count("cm3.replay_roles"), 0);
  RunbookOptions o = yes();
  o.old_active_is_down = true;
  EXPECT_THAT(recover(o), HasSubstr("cm3 is active"));
  EXPECT_THAT((*standby::SiteState(*state_).last_journal())["operator"].get<std::string>(),
              HasSubstr("confirmed cm1 is powered off"));
}

TEST_F(RecoverTest, AnOldActiveThatAnswersIsFencedBeforeTheNewOneIsBuilt) {
  // It answers, read-only (a failing server): not a healthy active, but it must still be fenced.
  world_->servers["cm1"].reachable = true;
  world_->servers["cm1"].in_recovery = false;
  world_->servers["cm1"].fenced = true;
  recover();
  EXPECT_TRUE(world_->servers["cm1"].fenced);
  EXPECT_LT(world_->first("cm1.fence"), world_->first("cm3.replay_roles"));
  EXPECT_TRUE(runner_->argvs().size() == 1u) << "only the alias runs: the old active was fenced through SQL";
}

TEST_F(RecoverTest, ThePlanNamesTheBackupAndChangesNothing) {
  auto p = standby::recover_plan(ctx(), yes(), {"cm3", "", {}});
  EXPECT_EQ(p["backup"], id_);
  EXPECT_EQ(p["kind"], "recover");
  ASSERT_EQ(p["steps"].size(), kSteps.size());
  for (size_t i = 0; i < kSteps.size(); ++i) EXPECT_EQ(p["steps"][i]["name"], kSteps[i]);
  expect_nothing_changed();
}

// ---- recover --from-replica -----------------------------------------------------------------------

const std::vector<std::string> kReplicaSteps = {"withdraw", "fence", "writable", "serials", "roles", "grants",
                                                "profile",  "epoch", "smoke",    "alias",   "repoint"};

class FromReplicaTest : public RecoverTest {
 protected:
  void SetUp() override {
    RecoverTest::SetUp();
    // hd1 serves the backup, read-only for readers by privilege and by its database default.
    state_->set_serving({"hd1", id_, "2026-11-22T02:00:00Z", "2026-11-22T02:30:00Z"});
    world_->servers["hd1"].read_only_default = true;
  }
  std::string from_replica(RunbookOptions o = yes()) { return recover(o, {"hd1", "", {}, true}); }
};

TEST_F(FromReplicaTest, TheReplicaBecomesTheActiveWithoutARestoreAndItsSerialsMoveBeforeAnyWriterMayLogIn) {
  const auto s = from_replica();
  EXPECT_THAT(s, HasSubstr("hd1 is active (epoch 1) with backup " + id_ + ", which it served as a replica"));
  auto& hd1 = world_->servers["hd1"];
  EXPECT_EQ(world_->count("hd1.restore_to_staging"), 0);
  EXPECT_EQ(world_->count("trial.restore_to_staging"), 0);
  EXPECT_FALSE(hd1.read_only_default);
  EXPECT_EQ(hd1.serials["public.status_messages_record_id_seq"], 1500);
  EXPECT_EQ(hd1.epoch, 1);
  for (auto [a, b] : std::vector<std::pair<std::string, std::string>>{{"hd1.resync_serials", "hd1.replay_roles"},
                                                                      {"hd1.resync_serials", "hd1.replay_grants"},
                                                                      {"hd1.lift_read_only", "hd1.resync_serials"},
                                                                      {"cm1.probe", "hd1.resync_serials"}})
    EXPECT_LT(world_->first(a), world_->first(b)) << a << " before " << b;
  std::vector<std::string> names;
  const auto last = *standby::SiteState(*state_).last_journal();
  for (const auto& [k, v] : last["steps"].items()) names.push_back(k);
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()),
            std::set<std::string>(kReplicaSteps.begin(), kReplicaSteps.end()));
  // The active in force is no replica any more: a refresh can never restore over it.
  const auto eff = standby::effective_config(cfg_, *state_);
  EXPECT_EQ(eff.roles.active, "hd1");
  EXPECT_TRUE(eff.roles.replicas.empty());
}

class FromReplicaCrashes : public FromReplicaTest, public ::testing::WithParamInterface<std::string> {};

TEST_P(FromReplicaCrashes, ResumeCompletesAndNoStepRunsTwice) {
  const std::string step = GetParam();
  RunbookOptions o = test::crash_after(step);
  EXPECT_THROW(from_replica(o), Crash);
  EXPECT_THAT(recover(yes(), {"", "", {}}), HasSubstr("hd1 is active"));
  for (const auto* op : {"hd1.resync_serials", "hd1.replay_roles", "hd1.replay_grants", "hd1.lift_read_only",
                         "hd1.apply_profile", "hd1.write_epoch", "hd1.smoke_test"})
    EXPECT_EQ(world_->count(op), 1) << op;
  EXPECT_EQ(world_->servers["hd1"].serials["public.status_messages_record_id_seq"], 1500);
}

INSTANTIATE_TEST_SUITE_P(EachStep, FromReplicaCrashes, ::testing::ValuesIn(kReplicaSteps));

TEST_F(FromReplicaTest, OnlyAReplicaThatServesACopyIsAccepted) {
  for (const std::string server : {"cm3", "trial"}) {
    try {
      recover(yes(), {server, "", {}, true});
      ADD_FAILURE() << server << " accepted";
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), HasSubstr("is not a replica"));
    }
  }
  world_->servers["hd1"].databases.clear();
  EXPECT_THROW(from_replica(), SafetyError);
  world_->servers["hd1"].databases.insert("CM_CEN");
  world_->servers["hd1"].reachable = false;
  EXPECT_THROW(from_replica(), SafetyError);
  EXPECT_THROW(recover(yes(), {"hd1", id_, {}, true}), ConfigError);
  expect_nothing_changed();
  EXPECT_TRUE(world_->servers["hd1"].read_only_default);
}

// ---- a site of two databases ------------------------------------------------------------------------

// The site lists CM_REP too, and the newest backup holds both. The restore brings each database's own
// sequences (the same name in both); the daemon's marks of each are kept apart.
class RecoverTwoDatabases : public RecoverTest {
 protected:
  void SetUp() override {
    RecoverTest::SetUp();
    one_db_id_ = id_;
    cfg_.site.databases = {"CM_CEN", "CM_REP"};
    {
      std::lock_guard lock(world_->mu());
      world_->servers["cm1"].reachable = true;
      world_->servers["cm1"].databases.insert("CM_REP");
      world_->servers["hd1"].databases.insert("CM_REP");
      for (const char* n : {"cm3", "hd1"})
        world_->servers[n].serials_of["CM_REP"] = {{"public.status_messages_record_id_seq", 40}, {"public.report_id_seq", 7}};
    }
    id_ = replicator::run_backup(ctx()).id;
    world_->servers["cm1"].reachable = false;
    standby::SiteState(*state_).merge_serial_marks({{"public.status_messages_record_id_seq", 60}, {"public.report_id_seq", 900}},
                                                   "CM_REP");
    world_->clear_log();
  }
  int acted(const std::string& server, const std::string& op_db) { return world_->acted(server, op_db); }
  void expect_serials_past_their_own_marks(const std::string& server) {
    auto& s = world_->servers[server];
    EXPECT_EQ(s.serials["public.status_messages_record_id_seq"], 1500);
    EXPECT_EQ(s.serials_of["CM_REP"]["public.status_messages_record_id_seq"], 1060) << "the site database's mark leaked";
    EXPECT_EQ(s.serials_of["CM_REP"]["public.report_id_seq"], 1900);
  }
  // Each database restored, granted, profiled and resynced in its staging copy, then swapped, once.
  void expect_each_database_rebuilt_once() {
    for (const std::string db : {"CM_CEN", "CM_REP"}) {
      const std::string staging = db + "__sk_staging";
      for (const char* op : {"restore", "replay_grants", "apply_profile"})
        EXPECT_EQ(acted("cm3", std::string(op) + " " + staging), 1) << op << " " << db;
      EXPECT_EQ(acted("cm3", "resync_serials " + staging), 1) << db;
      EXPECT_EQ(acted("cm3", "swap_in " + db), 1) << db;
      EXPECT_EQ(acted("cm3", "smoke_test " + db), 1) << db;
    }
    EXPECT_EQ(world_->servers["cm3"].databases, (std::set<std::string>{"CM_CEN", "CM_REP"}));
    expect_serials_past_their_own_marks("cm3");
  }
  std::string one_db_id_;
};

TEST_F(RecoverTwoDatabases, EveryDatabaseIsRestoredThroughItsOwnStagingCopyAndResyncedBeforeItIsLive) {
  std::set<std::string> live_during_resync;
  world_->on_call = [&](const std::string& server, const std::string& op) {
    if (server == "cm3" && op == "resync_serials")
      for (const char* db : {"CM_CEN", "CM_REP"})
        if (world_->servers["cm3"].databases.count(db)) live_during_resync.insert(db);
  };
  EXPECT_THAT(recover(), HasSubstr("recover done: cm3 is active (epoch 1) with backup " + id_));
  EXPECT_TRUE(live_during_resync.empty()) << "a database was live before its serials moved";
  expect_each_database_rebuilt_once();
  EXPECT_EQ(world_->count("cm3.replay_roles"), 1) << "roles are server-wide: replayed once";
  EXPECT_EQ(world_->count("trial.restore_to_staging"), 2) << "the deep verification restores each database";
  const auto last = *standby::SiteState(*state_).last_journal();
  EXPECT_EQ(last["databases"], (nlohmann::json{"CM_CEN", "CM_REP"}));
}

TEST_F(RecoverTwoDatabases, ThePlanNamesBothDatabases) {
  const auto plan = standby::render_plan(standby::recover_plan(ctx(), yes(), {"cm3", "", {}}));
  for (const char* want : {"a staging copy of each of CM_CEN, CM_REP", "CM_REP__sk_staging renamed to CM_REP",
                           "-- database CM_REP:"})
    EXPECT_THAT(plan, HasSubstr(want));
  expect_nothing_changed();
}

// A kill -9 after the first database was renamed and before the second: the resume renames only the
// second, and every other step ran once.
TEST_F(RecoverTwoDatabases, ACrashAfterTheFirstDatabasesSwapResumesWithTheSecond) {
  int swaps = 0;
  world_->on_call = [&](const std::string& server, const std::string& op) {
    if (server == "cm3" && op == "swap_in" && ++swaps == 2) throw Crash{};
  };
  EXPECT_THROW(recover(), Crash);
  EXPECT_EQ(acted("cm3", "swap_in CM_CEN"), 1);
  EXPECT_EQ(acted("cm3", "swap_in CM_REP"), 0);
  world_->on_call = nullptr;
  EXPECT_THAT(recover(yes(), {"", "", {}}), HasSubstr("cm3 is active"));
  expect_each_database_rebuilt_once();
}

class RecoverTwoDatabasesCrash : public RecoverTwoDatabases, public ::testing::WithParamInterface<std::string> {};

TEST_P(RecoverTwoDatabasesCrash, ResumeCompletesAndNoDatabaseIsDoneTwice) {
  const std::string step = GetParam();
  RunbookOptions o = test::crash_after(step);
  EXPECT_THROW(recover(o), Crash);
  EXPECT_THAT(recover(yes(), {"", "", {}}), HasSubstr("cm3 is active"));
  expect_each_database_rebuilt_once();
}

INSTANTIATE_TEST_SUITE_P(EachStep, RecoverTwoDatabasesCrash, ::testing::ValuesIn(kSteps));

TEST_F(RecoverTwoDatabases, ABackupThatLacksAConfiguredDatabaseIsRefused) {
  try {
    recover(yes(), {"cm3", one_db_id_, {}});
    FAIL() << "a backup without CM_REP was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), kRefused);
    EXPECT_THAT(e.what(), HasSubstr("backup " + one_db_id_ + " does not hold database CM_REP"));
    EXPECT_THAT(e.hint(), HasSubstr("--backup"));
  }
  expect_nothing_changed();
}

TEST_F(RecoverTwoDatabases, ATargetThatHoldsAnyOfTheDatabasesIsRefused) {
  world_->servers["cm3"].databases.insert("CM_REP");
  try {
    recover();
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("already holds database CM_REP"));
  }
  expect_nothing_changed();
}

TEST_F(RecoverTwoDatabases, FromAReplicaThatServesEveryDatabase) {
  // CM_REP recorded at an older generation than CM_CEN: the replica's copy is a mix.
  state_->set_serving({"hd1", "20261121T030000Z", "2026-11-21T03:00:00Z", "2026-11-21T03:30:00Z"}, {"CM_REP"});
  state_->set_serving({"hd1", id_, "2026-11-22T03:00:00Z", "2026-11-22T03:30:00Z"}, {"CM_CEN"});
  try {
    recover(yes(), {"hd1", "", {}, true});
    FAIL() << "a replica serving a mix of generations was accepted";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("hd1 serves database CM_REP at 20261121T030000Z, not at " + id_));
    EXPECT_THAT(e.hint(), HasSubstr("sitekeeper refresh --replica hd1"));
  }
  expect_nothing_changed();
  state_->set_serving({"hd1", id_, "2026-11-22T03:00:00Z", "2026-11-22T03:30:00Z"}, {"CM_CEN", "CM_REP"});
  world_->servers["hd1"].databases.erase("CM_REP");
  try {
    recover(yes(), {"hd1", "", {}, true});
    FAIL() << "a replica without CM_REP was accepted";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("hd1 does not serve database CM_REP"));
  }
  expect_nothing_changed();
  world_->servers["hd1"].databases.insert("CM_REP");
  EXPECT_THAT(recover(yes(), {"hd1", "", {}, true}), HasSubstr("hd1 is active"));
  for (const std::string db : {"CM_CEN", "CM_REP"})
    for (const char* op : {"lift_read_only", "replay_grants", "apply_profile", "resync_serials", "smoke_test"})
      EXPECT_EQ(acted("hd1", std::string(op) + " " + db), 1) << op << " " << db;
  expect_serials_past_their_own_marks("hd1");
}

// ---- recover --server onto a data_dir: the physical base backup rolled forward ----------------------

const std::vector<std::string> kPhysicalSteps = {"verify", "fence", "aside",   "restore", "replay", "roles", "grants",
                                                 "profile", "serials", "epoch", "smoke",   "alias",  "repoint"};
const std::map<std::string, std::string> kPhysicalSignature = {
    {"verify", "cm3.verify_base_backup"}, {"aside", "cm3.stop_server"},    {"restore", "cm3.prepare_recovery"},
    {"replay", "cm3.finish_recovery"},     {"roles", "cm3.replay_roles"},   {"grants", "cm3.replay_grants"},
    {"profile", "cm3.apply_profile"},      {"serials", "cm3.resync_serials"}, {"epoch", "cm3.write_epoch"},
    {"smoke", "cm3.smoke_test"}};

// The archive holds physical base backups and the WAL stream; cm3 is a spare with a data directory
// that holds an old cluster of its own.
class RecoverPhysical : public RecoverTest {
 protected:
  void SetUp() override {
    RecoverTest::SetUp();
    cfg_.archive.kinds = {"logical", "physical"};
    cfg_.archive.wal_stream = true;
    world_->servers["cm1"].reachable = true;
    clock_->advance(std::chrono::minutes(-30));  // 02:30
    id_ = replicator::run_backup(ctx()).id;
    clock_->advance(std::chrono::minutes(30));
    world_->servers["cm1"].reachable = false;
    data_ = dir_ / "cm3 'data'";
    cfg_.servers["cm3"].data_dir = data_;
    sk::test::write(data_ / "PG_VERSION", "15 of the spare's own cluster\n");
    world_->servers["cm3"].reachable = false;  // stopped: the physical path does not need it running
    world_->clear_log();
  }
  fs::path aside() { return (*standby::SiteState(*state_).last_journal())["aside"].get<std::string>(); }
  void expect_untouched() {
    expect_nothing_changed();
    EXPECT_EQ(read_file(data_ / "PG_VERSION"), "15 of the spare's own cluster\n");
    for (const char* op : {"cm3.stop_server", "cm3.prepare_recovery", "cm3.finish_recovery"}) EXPECT_EQ(world_->count(op), 0) << op;
  }
  void refused(RecoverOptions r, const std::string& why, int code = kRefused) {
    try {
      recover(yes(), r);
      ADD_FAILURE() << r.server << " " << r.until << " was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.exit_code(), code) << e.what();
      EXPECT_THAT(e.what(), HasSubstr(why));
      EXPECT_FALSE(e.hint().empty());
    }
  }
  fs::path data_;
};

TEST_F(RecoverPhysical, TheBaseBackupIsRestoredAndRolledForwardAndTheOldDataDirectoryIsKept) {
  const auto s = recover();
  EXPECT_THAT(s, HasSubstr("cm3 is active (epoch 1) with backup " + id_ + " rolled forward with the archived WAL"));
  EXPECT_THAT(s, HasSubstr("recovered to the last commit replayed from the archived WAL, at 2026-11-22T02:59:59.750000Z "
                           "(position 0/5000F28); changes on cm1 after it are lost"));
  EXPECT_THAT(s, HasSubstr("its old data directory is kept at"));
  EXPECT_EQ(read_file(aside() / "PG_VERSION"), "15 of the spare's own cluster\n");
  EXPECT_THAT(aside().string(), HasSubstr("cm3 'data'.before-recover-"));
  EXPECT_EQ(read_file(data_ / "PG_VERSION"), "15\n");
  EXPECT_EQ(world_->count("cm3.restore_to_staging"), 0);
  EXPECT_EQ(world_->count("trial.restore_to_staging"), 0) << "a physical recovery verifies with pg_verifybackup";
  EXPECT_EQ(world_->recovered_until, "end");
  auto& cm3 = world_->servers["cm3"];
  EXPECT_EQ(cm3.serials["public.status_messages_record_id_seq"], 1500);
  EXPECT_EQ(cm3.epoch, 1);
  const auto last = *standby::SiteState(*state_).last_journal();
  EXPECT_EQ(last["path"], "physical");
  std::set<std::string> names;
  for (const auto& [k, v] : last["steps"].items()) names.insert(k);
  EXPECT_EQ(names, std::set<std::string>(kPhysicalSteps.begin(), kPhysicalSteps.end()));
  EXPECT_EQ(last["recovered_to"]["lsn"], "0/5000F28");
  for (auto [a, b] : std::vector<std::pair<std::string, std::string>>{{"cm3.verify_base_backup", "cm3.stop_server"},
                                                                      {"cm3.stop_server", "cm3.prepare_recovery"},
                                                                      {"cm3.prepare_recovery", "cm3.finish_recovery"},
                                                                      {"cm3.finish_recovery", "cm3.resync_serials"},
                                                                      {"cm3.resync_serials", "cm3.write_epoch"}})
    EXPECT_LT(world_->first(a), world_->first(b)) << a << " before " << b;
}

TEST_F(RecoverPhysical, AMissingOrEmptyDataDirectoryIsFine) {
  fs::remove_all(data_);
  EXPECT_THAT(recover(), HasSubstr("rolled forward"));
  EXPECT_THAT((*standby::SiteState(*state_).last_journal())["steps"]["aside"]["detail"].get<std::string>(),
              HasSubstr("missing or empty: nothing to move aside"));
  EXPECT_EQ(world_->count("cm3.stop_server"), 0);
}

class RecoverPhysicalCrashes : public RecoverPhysical, public ::testing::WithParamInterface<std::string> {};

// A crash right after each step, then a resume: no step runs twice, so nothing is restored onto the
// started server and the old data directory is moved once.
TEST_P(RecoverPhysicalCrashes, ResumeCompletesAndNoStepRunsTwice) {
  const std::string step = GetParam();
  EXPECT_THROW(recover(test::crash_after(step)), Crash);
  EXPECT_EQ(journaled(), test::steps_before(kPhysicalSteps, step, true));
  EXPECT_THAT(recover(yes(), {"", "", {}}), HasSubstr("cm3 is active"));
  for (const auto& [s, op] : kPhysicalSignature) EXPECT_EQ(world_->count(op), 1) << s;
  const auto runs = runner_->argvs();
  EXPECT_EQ(std::count_if(runs.begin(), runs.end(), [](const auto& a) { return a[0] == "/usr/local/bin/power-off"; }), 1);
  EXPECT_EQ(std::count_if(runs.begin(), runs.end(), [](const auto& a) { return a[0] == "/usr/local/bin/point-alias"; }), 1);
  EXPECT_EQ(read_file(aside() / "PG_VERSION"), "15 of the spare's own cluster\n");
  EXPECT_EQ(world_->servers["cm3"].serials["public.status_messages_record_id_seq"], 1500);
}

INSTANTIATE_TEST_SUITE_P(EachStep, RecoverPhysicalCrashes, ::testing::ValuesIn(kPhysicalSteps));

// A kill -9 in the middle of the unpacking: the resume keeps the cut-short copy aside and restores
// into the empty folder again, before the server ever starts.
TEST_F(RecoverPhysical, ARestoreCutShortIsMovedAsideAndDoneAgain) {
  EXPECT_THROW(recover(test::crash_after("aside")), Crash);
  sk::test::write(data_ / "base" / "1" / "half", "half a table");
  EXPECT_THAT(recover(yes(), {"", "", {}}), HasSubstr("cm3 is active"));
  const auto last = *standby::SiteState(*state_).last_journal();
  EXPECT_THAT(last["steps"]["restore"]["detail"].get<std::string>(), HasSubstr("a restore cut short moved aside to"));
  EXPECT_EQ(read_file(fs::path(data_.string() + ".partial-restore-" + last["stamp"].get<std::string>()) / "base" / "1" / "half"),
            "half a table");
  EXPECT_EQ(world_->count("cm3.finish_recovery"), 1);
}

TEST_F(RecoverPhysical, AServerThatServesTheSiteKeepsItsDataDirectory) {
  cfg_.servers["hd1"].data_dir = dir_ / "hd1 data";
  refused({"hd1", "", {}}, "hd1 is a help-desk replica: recover never replaces the data directory");
  cfg_.roles.standby = "cm3";
  refused({"cm3", "", {}}, "cm3 is the standby");
  cfg_.roles.standby.clear();
  cfg_.roles.trial = "cm3";
  refused({"cm3", "", {}}, "cm3 is [roles] trial");
  cfg_.roles.trial = "trial";
  cfg_.servers["cm1"].data_dir = dir_ / "cm1 data";
  RunbookOptions down = yes();
  down.old_active_is_down = true;
  EXPECT_THAT([&] { recover(down, {"cm1", "", {}}); }, ::testing::ThrowsMessage<SafetyError>(HasSubstr("cm1 is the active")));
  // Another name for a replica's data directory.
  cfg_.servers["cm3"].data_dir = dir_ / "x" / ".." / "hd1 data";
  refused({"cm3", "", {}}, "cm3's data directory is that of hd1, a help-desk replica");
  cfg_.servers["cm3"].data_dir = data_;
  expect_untouched();
}

TEST_F(RecoverPhysical, WithoutDataDirTheLogicalPathRunsAsToday) {
  cfg_.servers["cm3"].data_dir.clear();
  world_->servers["cm3"].reachable = true;
  EXPECT_THAT(recover(), HasSubstr("cm3 is active"));
  EXPECT_EQ(world_->count("cm3.restore_to_staging"), 1);
  EXPECT_EQ(world_->count("cm3.prepare_recovery"), 0);
  EXPECT_EQ((*standby::SiteState(*state_).last_journal())["path"], "logical");
}

TEST_F(RecoverPhysical, AGapInTheArchivedWalIsRefusedBeforeAnythingChanges) {
  world_->wal_missing = "WAL file 000000010000000000000004 is missing from /archive/wal";
  refused({"cm3", "", {}}, "backup " + id_ + " cannot be rolled forward with the archived WAL: WAL file "
                           "000000010000000000000004 is missing");
  expect_untouched();
}

TEST_F(RecoverPhysical, UntilMustFallBetweenTheBaseBackupAndTheEndOfTheWal) {
  refused({"cm3", "", {}, false, "2026-11-22T01:00:00Z"}, "--until 2026-11-22T01:00:00Z is before every physical base backup");
  refused({"cm3", id_, {}, false, "2026-11-22T01:00:00Z"}, "is before backup " + id_ + " was complete");
  refused({"cm3", "", {}, false, "2026-11-22T03:00:01Z"}, "past the end of the archived WAL (000000010000000000000005.partial");
  refused({"cm3", "", {}, false, "yesterday"}, "neither a UTC time nor a WAL position", kUsage);
  cfg_.archive.wal_stream = false;
  refused({"cm3", "", {}, false, "2026-11-22T02:45:00Z"}, "--until needs a physical recovery: [archive] wal_stream is off");
  cfg_.archive.wal_stream = true;
  cfg_.servers["cm3"].data_dir.clear();
  refused({"cm3", "", {}, false, "2026-11-22T02:45:00Z"}, "server cm3 has no data_dir");
  cfg_.servers["cm3"].data_dir = data_;
  // The logical generation of the fixture holds no base backup.
  const std::string logical = replicator::open_archive(cfg_).list().front();
  refused({"cm3", logical, {}, false, "2026-11-22T02:45:00Z"}, "holds no physical base backup");
  expect_untouched();
  EXPECT_THAT(recover(yes(), {"cm3", "", {}, false, "2026-11-22T02:45:00.25Z"}),
              HasSubstr("changes after --until 2026-11-22T02:45:00.25Z were left out"));
  EXPECT_EQ(world_->recovered_until, "2026-11-22T02:45:00.25Z");
  EXPECT_EQ((*standby::SiteState(*state_).last_journal())["until"]["time"], "2026-11-22T02:45:00.25Z");
}

TEST_F(RecoverPhysical, AResumeWithAnotherUntilIsRefusedOnceAServerChanged) {
  EXPECT_THROW(recover(test::crash_after("restore"), {"cm3", "", {}, false, "2026-11-22T02:45:00Z"}), Crash);
  refused({"cm3", "", {}, false, "2026-11-22T02:50:00Z"}, "has changed servers already");
  EXPECT_THAT(recover(yes(), {"", "", {}}), HasSubstr("changes after --until 2026-11-22T02:45:00Z were left out"));
}

TEST_F(RecoverPhysical, ThePlanShowsThePhysicalStepsAndTheirCommands) {
  const auto p = standby::recover_plan(ctx(), yes(), {"cm3", "", {}, false, "2026-11-22T02:45:00Z"});
  EXPECT_EQ(p["path"], "physical");
  ASSERT_EQ(p["steps"].size(), kPhysicalSteps.size());
  for (size_t i = 0; i < kPhysicalSteps.size(); ++i) EXPECT_EQ(p["steps"][i]["name"], kPhysicalSteps[i]);
  const auto text = standby::render_plan(p);
  for (const std::string& want : std::vector<std::string>{"/physical/base.tar", "restore_command from " + (dir_ / "archive" / "wal").string(),
                                 "recovery_target_time = '2026-11-22T02:45:00Z'", "cm3 'data'.before-recover-"})
    EXPECT_THAT(text, HasSubstr(want));
  EXPECT_THAT(p["data_loss_window"].get<std::string>(), HasSubstr("after --until 2026-11-22T02:45:00Z are left out"));
  expect_untouched();
}

TEST(DataLossWindow, SaysWhatIsKnown) {
  using standby::data_loss_window;
  nlohmann::json j = {{"from", "cm1"}, {"backup_at", "2026-11-22T02:00:00Z"}};
  EXPECT_THAT(data_loss_window(j), HasSubstr("no write on it was observed to bound the window"));
  j["old_active_seen"] = {{"seen_at", "2026-11-22T01:59:00Z"}, {"changed_at", "2026-11-22T01:50:00Z"}};
  EXPECT_THAT(data_loss_window(j), HasSubstr("last seen at 2026-11-22T01:59:00Z, before the backup, so nothing bounds"));
  j["old_active_seen"] = {{"seen_at", "2026-11-22T02:30:00Z"}, {"changed_at", "2026-11-22T01:50:00Z"}};
  EXPECT_THAT(data_loss_window(j), HasSubstr("no write on cm1 was observed after the backup"));
  j["old_active_seen"] = {{"seen_at", "2026-11-22T03:00:00Z"}, {"changed_at", "2026-11-22T02:00:00Z"}};
  EXPECT_THAT(data_loss_window(j), HasSubstr("to its last observed write at 2026-11-22T02:00:00Z are lost"));
  j["old_active_seen"]["changed_at"] = "2026-11-22T04:05:00Z";
  EXPECT_THAT(data_loss_window(j), HasSubstr("(2h 5m) are lost; it last answered at 2026-11-22T03:00:00Z"));
}

}  // namespace
