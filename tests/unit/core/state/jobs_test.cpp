// The one job-recording path: every outcome leaves the same trace whoever ran the job.
#include "core/state/jobs.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>

#include "core/error.hpp"
#include "support/fake_runner.hpp"
#include "support/files.hpp"

namespace {

namespace fs = std::filesystem;
using namespace sk;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

struct Listener : JobListener {
  std::vector<std::string> finished, alerts;
  void job_finished(const std::string& job, const std::string& outcome, double seconds) override {
    EXPECT_GE(seconds, 0);
    finished.push_back(job + ":" + outcome);
  }
  void alert_raised(const std::string& job) override { alerts.push_back(job); }
};

class JobRecorderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = sk::test::test_dir_path("sk jobs é");
    fs::remove_all(dir_);
    state_ = std::make_unique<StateStore>(dir_ / "state.db");
    runner_ = std::make_shared<test::FakeRunner>();
    jobs_ = std::make_unique<JobRecorder>(*state_, runner_,
                                          std::vector<std::string>{"/bin/page", "{job}", "{message}"}, &listener_);
  }
  void TearDown() override {
    jobs_.reset();
    state_.reset();
    fs::remove_all(dir_);
  }
  JobRun last() { return state_->runs(1).at(0); }

  fs::path dir_;
  std::unique_ptr<StateStore> state_;
  std::shared_ptr<test::FakeRunner> runner_;
  Listener listener_;
  std::unique_ptr<JobRecorder> jobs_;
};

TEST_F(JobRecorderTest, OkIsRecordedWithoutAlert) {
  EXPECT_EQ(jobs_->run("backup", "cm1", [] { return std::string("backup 1 verified"); }), "backup 1 verified");
  EXPECT_EQ(last().outcome, "ok");
  EXPECT_EQ(last().message, "backup 1 verified");
  EXPECT_EQ(last().target, "cm1");
  EXPECT_THAT(listener_.finished, ElementsAre("backup:ok"));
  EXPECT_THAT(listener_.alerts, IsEmpty());
  EXPECT_THAT(state_->alerts(10), IsEmpty());
  EXPECT_THAT(runner_->argvs(), IsEmpty());
}

TEST_F(JobRecorderTest, FailureIsRecordedAlertedAndRethrown) {
  EXPECT_THROW(jobs_->run("refresh", "all", []() -> std::string { throw Error("pg_restore failed"); }), Error);
  EXPECT_EQ(last().outcome, "failed");
  EXPECT_EQ(last().message, "pg_restore failed");
  EXPECT_THAT(listener_.finished, ElementsAre("refresh:failed"));
  EXPECT_THAT(listener_.alerts, ElementsAre("refresh"));
  ASSERT_EQ(state_->alerts(10).size(), 1u);
  EXPECT_EQ(state_->alerts(10)[0].message, "pg_restore failed");
  EXPECT_THAT(runner_->argvs(), ElementsAre(ElementsAre("/bin/page", "refresh", "pg_restore failed")));
}

TEST_F(JobRecorderTest, ANonSitekeeperExceptionIsAFailureToo) {
  EXPECT_THROW(jobs_->run("capture", "", []() -> std::string { throw std::runtime_error("bad_alloc-ish"); }),
               std::runtime_error);
  EXPECT_EQ(last().outcome, "failed");
  EXPECT_EQ(runner_->argvs().size(), 1u);
}

TEST_F(JobRecorderTest, RefusalIsRecordedAsRefusedAndAlerted) {
  auto r = jobs_->run_quietly("failover", "cm2",
                              []() -> std::string { throw SafetyError("automatic promotion refused: lag"); });
  EXPECT_EQ(r.outcome, "refused");
  EXPECT_EQ(r.message, "automatic promotion refused: lag");
  EXPECT_EQ(last().outcome, "refused");
  EXPECT_THAT(listener_.finished, ElementsAre("failover:refused"));
  EXPECT_THAT(runner_->argvs(), ElementsAre(ElementsAre("/bin/page", "failover", "automatic promotion refused: lag")));
}

TEST_F(JobRecorderTest, CancellationIsNotAFailure) {
  auto r = jobs_->run_quietly("refresh", "all", []() -> std::string { throw Cancelled(); });
  EXPECT_EQ(r.outcome, "cancelled");
  EXPECT_EQ(last().outcome, "cancelled");
  EXPECT_THAT(listener_.alerts, IsEmpty());
  EXPECT_THAT(state_->alerts(10), IsEmpty());
  EXPECT_THAT(runner_->argvs(), IsEmpty());
}

TEST_F(JobRecorderTest, AFailingAlertCommandDoesNotBecomeASecondFailure) {
  runner_->fail_with(7, "pager: no route\n");
  auto r = jobs_->run_quietly("backup", "cm1", []() -> std::string { throw Error("disk full"); });
  EXPECT_EQ(r.outcome, "failed");
  EXPECT_EQ(r.message, "disk full");
  EXPECT_EQ(state_->alerts(10).size(), 1u);
}

TEST_F(JobRecorderTest, AlertCommandFollowsAReload) {
  jobs_->set_alert_command({});
  jobs_->alert("monitor", "only this manager lost the active server");
  EXPECT_THAT(runner_->argvs(), IsEmpty());
  jobs_->set_alert_command({"/bin/other", "{message}"});
  jobs_->alert("monitor", "again");
  EXPECT_THAT(runner_->argvs(), ElementsAre(ElementsAre("/bin/other", "again")));
  EXPECT_EQ(state_->alerts(10).size(), 2u);
  EXPECT_THAT(listener_.alerts, ElementsAre("monitor", "monitor"));
}

}  // namespace
