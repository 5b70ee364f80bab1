// The HA loop on a simulated site (support/sim_site.hpp): what it decides is heard (history, alerts),
// once per episode, and a refusal is decided again on every tick, so a fence command added by a
// reload lets the promotion follow. Real time with a short probe interval; every wait has a deadline.
#include "standby/monitor.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <mutex>
#include <thread>

#include "core/error.hpp"
#include "standby/site_state.hpp"
#include "support/fake_runner.hpp"
#include "support/faulty_engine.hpp"
#include "support/files.hpp"

namespace {

namespace fs = std::filesystem;
using namespace sk;
using ::testing::HasSubstr;

class MonitorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = sk::test::test_dir_path("sk monitor");
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto cfg = std::make_shared<Config>();
    cfg->file = dir_ / "sitekeeper.toml";
    cfg->site = {"CEN", {"CM_CEN"}, "CM_CEN"};
    cfg->state_path = dir_ / "state.db";
    cfg->archive.path = dir_ / "archive";
    cfg->archive.key_file = dir_ / "archive.keys";
    for (const char* n : {"cm1", "cm2"}) {
      ServerConfig s;
      s.name = n;
      cfg->servers[n] = s;
    }
    cfg->roles.active = "cm1";
    cfg->roles.standby = "cm2";
    cfg->failover.mode = "automatic";
    cfg->failover.probe_interval = std::chrono::milliseconds(50);
    cfg->failover.probe_timeout = std::chrono::milliseconds(50);
    cfg->failover.failures = 2;
    cfg->alerts.command = {"/bin/page", "{job}", "{message}"};
    cfg_ = cfg;
    state_ = std::make_unique<StateStore>(cfg->state_path);
    standby::SiteState(*state_).set_last_active_lsn("1000");  // what the daemon saw of the active before
    world_ = std::make_shared<test::SimWorld>();
    runner_ = std::make_shared<test::FakeRunner>();
    jobs_ = std::make_unique<JobRecorder>(*state_, runner_, cfg->alerts.command);
  }
  void TearDown() override {
    monitor_.reset();
    jobs_.reset();
    state_.reset();
    fs::remove_all(dir_);
  }

  void start() {
    monitor_ = std::make_unique<standby::Monitor>(
        [this] {
          std::lock_guard lock(mu_);
          return std::shared_ptr<const Config>(cfg_);
        },
        *state_, *jobs_, test::sim_engines(world_), runner_, system_clock(), &cancel_);
    monitor_->start();
  }
  void reload(const std::function<void(Config&)>& change) {
    std::lock_guard lock(mu_);
    auto next = std::make_shared<Config>(*cfg_);
    change(*next);
    cfg_ = next;
  }
  bool wait_until(const std::function<bool()>& cond, std::chrono::seconds limit = std::chrono::seconds(20)) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      if (cond()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return cond();
  }
  int pages(const std::string& job) {
    int n = 0;
    for (const auto& a : runner_->argvs())
      if (a.size() == 3 && a[0] == "/bin/page" && a[1] == job) ++n;
    return n;
  }
  std::string page_text(const std::string& job) {
    for (const auto& a : runner_->argvs())
      if (a.size() == 3 && a[0] == "/bin/page" && a[1] == job) return a[2];
    return "";
  }

  fs::path dir_;
  std::mutex mu_;
  std::shared_ptr<Config> cfg_;
  std::unique_ptr<StateStore> state_;
  std::shared_ptr<test::SimWorld> world_;
  std::shared_ptr<test::FakeRunner> runner_;
  std::unique_ptr<JobRecorder> jobs_;
  CancelToken cancel_;
  std::unique_ptr<standby::Monitor> monitor_;
};

// The manager alone lost the active; the standby still hears it: no failover, one alert that says why.
TEST_F(MonitorTest, AManagerCutOffFromTheActivePagesOnceAndDoesNotPromote) {
  reload([](Config& c) { c.failover.fence = {"/bin/fence", "{server}"}; });
  start();
  world_->servers["cm1"].reachable = false;  // the standby still hears it (heard 0.5 s ago)
  ASSERT_TRUE(wait_until([&] { return pages("monitor") > 0; }));
  EXPECT_THAT(page_text("monitor"), HasSubstr("only this manager lost the active server"));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // many more ticks: still one page
  EXPECT_EQ(pages("monitor"), 1);
  EXPECT_TRUE(world_->servers["cm2"].in_recovery);
  EXPECT_EQ(world_->count("cm2.promote_closed"), 0);
}

// No fence command: an automatic failover is refused, heard as a refused failover run, and decided
// again on each tick; once a reload brings a fence command the promotion follows.
TEST_F(MonitorTest, ARefusalIsHeardAndAReloadWithAFenceLetsThePromotionFollow) {
  start();
  world_->servers["cm1"].reachable = false;
  world_->servers["cm2"].heard_seconds_ago = 300;  // the standby does not hear it either: a real death
  ASSERT_TRUE(wait_until([&] { return pages("failover") > 0; }));
  EXPECT_THAT(page_text("failover"), HasSubstr("cannot be fenced"));
  auto runs = state_->runs(10, "failover");
  ASSERT_FALSE(runs.empty());
  EXPECT_EQ(runs[0].outcome, "refused");
  EXPECT_TRUE(world_->servers["cm2"].in_recovery);
  EXPECT_EQ(pages("failover"), 1) << "a refusal pages once, not every tick";

  reload([](Config& c) { c.failover.fence = {"/bin/fence", "{server}"}; });
  ASSERT_TRUE(wait_until([&] { return !world_->servers["cm2"].in_recovery && !world_->servers["cm2"].closed; }));
  ASSERT_TRUE(wait_until([&] { return state_->runs(10, "failover").at(0).outcome == "ok"; }));
  EXPECT_EQ(standby::SiteState(*state_).active(*cfg_), "cm2");
}

// A failover that fails is a failed job run and pages with job failover.
TEST_F(MonitorTest, AFailedAutomaticFailoverIsAFailedRunAndPages) {
  reload([](Config& c) { c.failover.fence = {"/bin/fence", "{server}"}; });
  world_->fault("cm2.promote_closed", test::Fault{.message = "pg_promote did not finish"});
  start();
  world_->servers["cm1"].reachable = false;
  world_->servers["cm2"].heard_seconds_ago = 300;
  ASSERT_TRUE(wait_until([&] {
    auto r = state_->runs(10, "failover");
    return !r.empty() && r[0].outcome == "failed";
  }));
  EXPECT_THAT(state_->runs(10, "failover")[0].message, HasSubstr("step promote failed"));
  // The history row is written before the [alerts] command runs: wait for the page, do not race it.
  EXPECT_TRUE(wait_until([&] { return pages("failover") >= 1; })) << "a failed automatic failover must page";
  EXPECT_TRUE(world_->servers["cm2"].in_recovery);
}

// A standby that stops streaming while the active is fine: one alert.
TEST_F(MonitorTest, AStandbyThatDoesNotStreamPages) {
  start();
  ASSERT_TRUE(wait_until([&] { return monitor_->last_decision().action == standby::Action::kNone; }));
  world_->servers["cm2"].streaming = false;
  ASSERT_TRUE(wait_until([&] { return pages("monitor") > 0; }, std::chrono::seconds(30)));
  EXPECT_THAT(page_text("monitor"), HasSubstr("does not stream"));
}

// The active in force answers with an older epoch than the site's: not up for GET /active.
TEST_F(MonitorTest, AnActiveWithAnOlderEpochIsNotUp) {
  standby::SiteState(*state_).set_epoch(3);
  world_->servers["cm1"].epoch = 2;
  start();
  ASSERT_TRUE(wait_until([&] { return monitor_->active_up().has_value(); }));
  ASSERT_TRUE(wait_until([&] { return monitor_->active_up() == false; }));
  EXPECT_THAT(monitor_->active_error(), HasSubstr("carries epoch 2, older than the site's 3"));
  world_->servers["cm1"].epoch = 3;
  ASSERT_TRUE(wait_until([&] { return monitor_->active_up() == true; }, std::chrono::seconds(30)));
}

}  // namespace

namespace {
// A failover that stopped for safety after its fence (the lag step refused) is not retried on every
// tick: one page, and the decision says an operator must finish it.
TEST_F(MonitorTest, AFailoverStoppedForSafetyWaitsForTheOperator) {
  reload([](Config& c) { c.failover.fence = {"/bin/fence", "{server}"}; });
  standby::SiteState(*state_).set_last_active_lsn("");  // the daemon never saw the active's position
  start();
  world_->servers["cm1"].reachable = false;
  world_->servers["cm2"].heard_seconds_ago = 300;
  ASSERT_TRUE(wait_until([&] {
    return monitor_->last_decision().sentence.find("not retried automatically") != std::string::npos;
  }));
  ASSERT_TRUE(wait_until([&] { return pages("monitor") >= 1; }));
  // A window in which a retry would show: nothing may happen in it.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(state_->runs(100, "failover").size(), 1u) << "retried behind the operator's back";
  EXPECT_THAT(monitor_->last_decision().sentence, HasSubstr("failover stopped: step lag failed"));
  EXPECT_TRUE(world_->servers["cm2"].in_recovery);
  EXPECT_EQ(pages("monitor"), 1);
}
}  // namespace

namespace {

// A site of two databases with a sequence of the same name in each: each database's high-water marks
// are kept apart, the site database's under the key they always had.
TEST_F(MonitorTest, TheMarksOfEachDatabaseAreKeptApart) {
  reload([](Config& c) { c.site.databases = {"CM_CEN", "CM_REP"}; });
  {
    std::lock_guard lock(world_->mu());
    auto& cm1 = world_->servers["cm1"];
    cm1.databases.insert("CM_REP");
    cm1.serials = {{"public.status_messages_record_id_seq", 700}};
    cm1.serials_of["CM_REP"] = {{"public.status_messages_record_id_seq", 30}, {"public.report_id_seq", 9}};
  }
  start();
  standby::SiteState st(*state_);
  ASSERT_TRUE(wait_until([&] { return !st.serial_marks("CM_REP").empty(); }));
  EXPECT_EQ(st.serial_marks(), (std::map<std::string, std::int64_t>{{"public.status_messages_record_id_seq", 700}}));
  EXPECT_EQ(st.serial_marks("CM_REP"), (std::map<std::string, std::int64_t>{{"public.status_messages_record_id_seq", 30},
                                                                            {"public.report_id_seq", 9}}));
}

// The key the site database's marks always had belongs to the database that held it first: listing
// the databases in another order later never hands CM_CEN's marks to CM_REP.
TEST(SiteStateMarks, TheOldKeyStaysWithItsDatabaseWhenTheListIsReordered) {
  const auto dir = sk::test::test_dir_path("sk marks owner");
  std::filesystem::remove_all(dir);
  {
    StateStore store(dir / "s.db");
    standby::SiteState st(store);
    EXPECT_EQ(st.marks_of("CM_CEN", "CM_CEN"), "");
    EXPECT_EQ(st.marks_of("CM_REP", "CM_CEN"), "CM_REP");
    // [site] databases = ["CM_REP", "CM_CEN"] now: CM_REP is the site database.
    EXPECT_EQ(st.marks_of("CM_REP", "CM_REP"), "CM_REP");
    EXPECT_EQ(st.marks_of("CM_CEN", "CM_REP"), "");
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
