// The Runner, driven through poll()/finished() by a fake clock. No sleeping, no threads.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/clock.hpp"
#include "schedules/runner.hpp"
#include "support/fake_clock.hpp"

namespace {

using namespace std::chrono;
using sk::sched::JobContext;
using sk::sched::JobHistory;
using sk::sched::JobOutcome;
using sk::sched::JobSpec;
using sk::sched::Launch;
using sk::sched::Runner;
using sk::sched::RunReason;
using sk::sched::Schedule;
using sk::sched::time_point;

using sk::test::FakeClock;

time_point utc(int y, unsigned mo, unsigned d, int h = 0, int mi = 0, int s = 0) {
  return time_point{sys_days{year{y} / month{mo} / day{d}} + hours(h) + minutes(mi) + seconds(s)};
}
const time_point T0 = utc(2026, 1, 1);

std::string fmt(time_point t) {
  auto day = floor<days>(t);
  year_month_day ymd{day};
  hh_mm_ss hms{floor<seconds>(t - day)};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02ld:%02ld:%02ldZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<long>(hms.hours().count()), static_cast<long>(hms.minutes().count()),
                static_cast<long>(hms.seconds().count()));
  return buf;
}
std::string fmt(std::optional<time_point> t) { return t ? fmt(*t) : "none"; }

JobOutcome ok_job(const JobContext&) { return {true, ""}; }

JobSpec every(const std::string& name, nanoseconds period, int retries = 0, milliseconds retry_delay = minutes(1)) {
  return JobSpec{name, Schedule::every(duration_cast<milliseconds>(period)), true, retries, retry_delay, ok_job};
}
JobSpec after(const std::string& name, const std::string& target, nanoseconds delay) {
  return JobSpec{name, Schedule::after(target, duration_cast<milliseconds>(delay)), true, 0, minutes(1), ok_job};
}

// "job@due" for each launch, to compare whole poll results at once.
std::vector<std::string> names(const std::vector<Launch>& launches) {
  std::vector<std::string> out;
  for (const auto& l : launches) out.push_back(l.context.job + "@" + fmt(l.context.due));
  return out;
}
using Names = std::vector<std::string>;

class RunnerTest : public ::testing::Test {
 protected:
  std::shared_ptr<FakeClock> clock = std::make_shared<FakeClock>(T0 + seconds(30));
  std::map<std::string, JobHistory> history;
  Runner runner{clock, [this](const std::string& job) {
                  auto it = history.find(job);
                  return it == history.end() ? JobHistory{} : it->second;
                }};

  std::vector<Launch> poll_at(time_point t) {
    clock->set(t);
    return runner.poll();
  }
  void finish_at(time_point t, const std::string& job, bool ok) {
    clock->set(t);
    runner.finished(job, ok);
  }
};

// ---- every: no drift ---------------------------------------------------------------------------

TEST_F(RunnerTest, EveryStaysOnTheGridWhateverTheRunTime) {
  runner.add(every("capture", seconds(60)));
  EXPECT_TRUE(runner.poll().empty());
  EXPECT_EQ(fmt(runner.next_wakeup()), "2026-01-01T00:01:00Z");
  for (int k = 1; k <= 5; ++k) {
    time_point due = T0 + minutes(k);
    EXPECT_TRUE(poll_at(due - seconds(1)).empty());
    auto l = poll_at(due);
    ASSERT_EQ(l.size(), 1u) << k;
    EXPECT_EQ(fmt(l[0].context.due), fmt(due));
    EXPECT_EQ(l[0].lateness(), nanoseconds(0));
    finish_at(due + seconds(40), "capture", true);  // a 40 s job on a 60 s period
    EXPECT_EQ(fmt(runner.next_wakeup()), fmt(due + minutes(1)));  // not due + 100 s
  }
}

TEST_F(RunnerTest, RunLongerThanThePeriodStartsLateThenReturnsToTheGrid) {
  runner.add(every("capture", seconds(60)));
  ASSERT_EQ(poll_at(T0 + minutes(1)).size(), 1u);
  EXPECT_TRUE(poll_at(T0 + minutes(2)).empty());  // still running
  finish_at(T0 + minutes(2) + seconds(10), "capture", true);
  EXPECT_EQ(fmt(runner.next_wakeup()), "2026-01-01T00:02:00Z");  // the pending run: poll now
  auto l = runner.poll();
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(fmt(l[0].context.due), "2026-01-01T00:02:00Z");
  EXPECT_EQ(l[0].lateness(), seconds(10));
  finish_at(T0 + minutes(2) + seconds(20), "capture", true);
  EXPECT_EQ(fmt(runner.next_wakeup()), "2026-01-01T00:03:00Z");
  auto st = runner.status();
  ASSERT_EQ(st.size(), 1u);
  EXPECT_EQ(st[0].last_lateness, seconds(10));
  EXPECT_EQ(st[0].started_runs, 2u);
}

// ---- no overlap, merging -----------------------------------------------------------------------

TEST_F(RunnerTest, ThreeDueTimesWhileRunningMergeIntoOneRun) {
  runner.add(every("capture", seconds(60)));
  ASSERT_EQ(poll_at(T0 + minutes(1)).size(), 1u);
  for (int k = 2; k <= 4; ++k) EXPECT_TRUE(poll_at(T0 + minutes(k)).empty()) << k;
  finish_at(T0 + minutes(4) + seconds(20), "capture", true);
  auto l = runner.poll();
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(fmt(l[0].context.due), "2026-01-01T00:02:00Z");
  EXPECT_EQ(l[0].context.merged, 2);
  EXPECT_TRUE(runner.poll().empty());
  finish_at(T0 + minutes(4) + seconds(30), "capture", true);
  EXPECT_TRUE(runner.poll().empty());  // nothing more owed before 00:05
  EXPECT_EQ(names(poll_at(T0 + minutes(5))), Names{"capture@2026-01-01T00:05:00Z"});
}

TEST_F(RunnerTest, MergingAlsoHappensWithoutIntermediatePolls) {
  runner.add(every("capture", seconds(60)));
  ASSERT_EQ(poll_at(T0 + minutes(1)).size(), 1u);
  finish_at(T0 + minutes(4) + seconds(20), "capture", true);
  auto l = runner.poll();
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0].context.merged, 2);
  EXPECT_TRUE(runner.poll().empty());
}

TEST_F(RunnerTest, ClockJumpFarAheadGivesOneRun) {
  runner.add(every("tick", seconds(1)));
  runner.start();  // at 00:00:30
  auto l = poll_at(T0 + hours(24 * 365));
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(fmt(l[0].context.due), "2026-01-01T00:00:30Z");
  EXPECT_GT(l[0].context.merged, 0);
  finish_at(T0 + hours(24 * 365) + milliseconds(500), "tick", true);
  EXPECT_TRUE(runner.poll().empty());
  EXPECT_EQ(fmt(runner.next_wakeup()), fmt(T0 + hours(24 * 365) + seconds(1)));
}

TEST_F(RunnerTest, FireTimeExactlyAtStartIsDue) {
  clock->set(T0 + minutes(1));
  runner.add(every("capture", seconds(60)));
  EXPECT_EQ(names(runner.poll()), Names{"capture@2026-01-01T00:01:00Z"});
}

TEST_F(RunnerTest, JobsDueTogetherAllStartInNameOrder) {
  runner.add(every("b", minutes(1)));
  runner.add(every("a", minutes(1)));
  runner.add(every("c", minutes(2)));
  EXPECT_EQ(names(poll_at(T0 + minutes(1))), (Names{"a@2026-01-01T00:01:00Z", "b@2026-01-01T00:01:00Z"}));
  EXPECT_EQ(names(poll_at(T0 + minutes(2))), Names{"c@2026-01-01T00:02:00Z"});  // a and b still run
}

// ---- after chains ------------------------------------------------------------------------------

TEST_F(RunnerTest, AfterChainFollowsSuccessfulRuns) {
  runner.add(every("backup", hours(1)));
  runner.add(after("refresh", "backup", minutes(10)));
  runner.add(after("verify", "refresh", minutes(5)));
  EXPECT_EQ(names(poll_at(T0 + hours(1))), Names{"backup@2026-01-01T01:00:00Z"});
  finish_at(T0 + hours(1) + seconds(30), "backup", true);
  EXPECT_EQ(fmt(runner.next_wakeup()), "2026-01-01T01:10:30Z");
  EXPECT_TRUE(poll_at(T0 + hours(1) + minutes(10)).empty());
  auto l = poll_at(T0 + hours(1) + minutes(10) + seconds(30));
  EXPECT_EQ(names(l), Names{"refresh@2026-01-01T01:10:30Z"});
  EXPECT_EQ(l[0].context.reason, RunReason::after);
  finish_at(T0 + hours(1) + minutes(11), "refresh", true);
  EXPECT_EQ(fmt(runner.next_wakeup()), "2026-01-01T01:16:00Z");
  EXPECT_EQ(names(poll_at(T0 + hours(1) + minutes(16))), Names{"verify@2026-01-01T01:16:00Z"});
}

TEST_F(RunnerTest, FailedRunDoesNotTriggerItsAfterJobs) {
  runner.add(every("backup", hours(1)));
  runner.add(after("refresh", "backup", minutes(10)));
  runner.add(after("verify", "refresh", minutes(5)));
  ASSERT_EQ(poll_at(T0 + hours(1)).size(), 1u);
  finish_at(T0 + hours(1) + seconds(30), "backup", false);
  EXPECT_EQ(fmt(runner.next_wakeup()), "2026-01-01T02:00:00Z");
  EXPECT_TRUE(poll_at(T0 + hours(1) + minutes(30)).empty());
  // Next hour: backup succeeds, refresh fails, verify never comes.
  ASSERT_EQ(poll_at(T0 + hours(2)).size(), 1u);
  finish_at(T0 + hours(2) + seconds(1), "backup", true);
  ASSERT_EQ(names(poll_at(T0 + hours(2) + minutes(10) + seconds(1))), Names{"refresh@2026-01-01T02:10:01Z"});
  finish_at(T0 + hours(2) + minutes(11), "refresh", false);
  EXPECT_TRUE(poll_at(T0 + hours(2) + minutes(59)).empty());
}

TEST_F(RunnerTest, AfterTriggerWhileTheJobRunsIsMerged) {
  runner.add(every("a", minutes(1)));
  runner.add(after("b", "a", seconds(0)));
  poll_at(T0 + minutes(1));
  finish_at(T0 + minutes(1) + seconds(1), "a", true);
  EXPECT_EQ(names(runner.poll()), Names{"b@2026-01-01T00:01:01Z"});
  // b is slow: a succeeds twice more meanwhile.
  for (int k = 2; k <= 3; ++k) {
    EXPECT_EQ(names(poll_at(T0 + minutes(k))).size(), 1u);
    finish_at(T0 + minutes(k) + seconds(1), "a", true);
    EXPECT_TRUE(runner.poll().empty());
  }
  finish_at(T0 + minutes(3) + seconds(30), "b", true);
  auto l = runner.poll();
  EXPECT_EQ(names(l), Names{"b@2026-01-01T00:02:01Z"});
  EXPECT_EQ(l[0].context.merged, 1);
}

// ---- retries -----------------------------------------------------------------------------------

TEST_F(RunnerTest, RetriesDoubleTheirDelay) {
  runner.add(every("backup", hours(24), 3, minutes(5)));
  time_point t = T0 + hours(24);
  ASSERT_EQ(poll_at(t).size(), 1u);
  t += minutes(1);
  finish_at(t, "backup", false);
  for (int n = 1; n <= 3; ++n) {
    time_point due = t + minutes(5) * (1 << (n - 1));  // 5, 10, 20 minutes
    EXPECT_EQ(fmt(runner.next_wakeup()), fmt(due)) << n;
    EXPECT_TRUE(poll_at(due - seconds(1)).empty());
    auto l = poll_at(due);
    ASSERT_EQ(l.size(), 1u) << n;
    EXPECT_EQ(l[0].context.reason, RunReason::retry);
    EXPECT_EQ(l[0].context.attempt, n);
    t = due + minutes(1);
    finish_at(t, "backup", false);
  }
  // Out of retries: the next chance is the next scheduled day.
  EXPECT_EQ(fmt(runner.next_wakeup()), "2026-01-03T00:00:00Z");
  auto l = poll_at(utc(2026, 1, 3));
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0].context.attempt, 0);
  EXPECT_EQ(l[0].context.reason, RunReason::scheduled);
}

TEST_F(RunnerTest, SuccessfulRetryTriggersTheAfterJob) {
  runner.add(every("backup", hours(24), 1, minutes(5)));
  runner.add(after("refresh", "backup", hours(2)));
  poll_at(T0 + hours(24));
  finish_at(T0 + hours(24) + minutes(1), "backup", false);
  EXPECT_EQ(names(poll_at(T0 + hours(24) + minutes(6))), Names{"backup@2026-01-02T00:06:00Z"});
  finish_at(T0 + hours(24) + minutes(7), "backup", true);
  EXPECT_EQ(fmt(runner.next_wakeup()), "2026-01-02T02:07:00Z");
}

TEST_F(RunnerTest, ScheduledRunReplacesAPendingRetry) {
  runner.add(every("capture", minutes(10), 2, minutes(30)));
  poll_at(T0 + minutes(10));
  finish_at(T0 + minutes(11), "capture", false);  // retry would be at 00:41
  auto l = poll_at(T0 + minutes(20));
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0].context.reason, RunReason::scheduled);
  EXPECT_EQ(l[0].context.attempt, 0);
  finish_at(T0 + minutes(21), "capture", true);
  EXPECT_TRUE(poll_at(T0 + minutes(29)).empty());
  EXPECT_EQ(fmt(runner.next_wakeup()), "2026-01-01T00:30:00Z");
  // The 00:41 retry is gone: only the grid remains.
  ASSERT_EQ(poll_at(T0 + minutes(40)).size(), 1u);
  finish_at(T0 + minutes(40) + seconds(30), "capture", true);
  EXPECT_TRUE(poll_at(T0 + minutes(41)).empty());
  EXPECT_EQ(fmt(runner.next_wakeup()), "2026-01-01T00:50:00Z");
}

TEST_F(RunnerTest, RunCountsAnExceptionAsAFailure) {
  int calls = 0;
  runner.add(JobSpec{"flaky", Schedule::every(minutes(1)), true, 1, seconds(10), [&](const JobContext& c) -> JobOutcome {
                       ++calls;
                       if (c.attempt == 0) throw std::runtime_error("disk full");
                       return {true, "fine"};
                     }});
  int changes = 0;
  runner.on_change([&] { ++changes; });
  auto l = poll_at(T0 + minutes(1));
  ASSERT_EQ(l.size(), 1u);
  JobOutcome out = runner.run(l[0]);
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.message, "disk full");
  EXPECT_EQ(changes, 1);
  auto retry = poll_at(T0 + minutes(1) + seconds(10));
  ASSERT_EQ(retry.size(), 1u);
  EXPECT_TRUE(runner.run(retry[0]).ok);
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(changes, 2);
  EXPECT_EQ(runner.status()[0].last_ok, std::optional<bool>(true));
}

// ---- catch-up ----------------------------------------------------------------------------------

TEST_F(RunnerTest, CatchUpRunsOnceForAMissedCronFire) {
  clock->set(utc(2026, 1, 11, 10));
  history["backup"] = JobHistory{utc(2026, 1, 9, 2), utc(2026, 1, 9, 3)};
  runner.add(JobSpec{"backup", Schedule::cron("0 2 * * *"), true, 0, minutes(5), ok_job});
  auto l = runner.poll();
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0].context.reason, RunReason::catch_up);
  EXPECT_EQ(fmt(l[0].context.due), "2026-01-11T02:00:00Z");
  EXPECT_EQ(l[0].lateness(), hours(8));
  finish_at(utc(2026, 1, 11, 10, 30), "backup", true);
  EXPECT_TRUE(runner.poll().empty());
  EXPECT_EQ(fmt(runner.next_wakeup()), "2026-01-12T02:00:00Z");
}

TEST_F(RunnerTest, NoCatchUpWhenTheLastRunIsRecent) {
  clock->set(utc(2026, 1, 11, 10));
  history["backup"] = JobHistory{utc(2026, 1, 11, 2, 0, 3), utc(2026, 1, 11, 2, 40)};
  runner.add(JobSpec{"backup", Schedule::cron("0 2 * * *"), true, 0, minutes(5), ok_job});
  EXPECT_TRUE(runner.poll().empty());
}

TEST_F(RunnerTest, NoCatchUpWhenDisabled) {
  clock->set(utc(2026, 1, 11, 10));
  history["backup"] = JobHistory{utc(2026, 1, 1, 2), utc(2026, 1, 1, 3)};
  runner.add(JobSpec{"backup", Schedule::cron("0 2 * * *"), false, 0, minutes(5), ok_job});
  EXPECT_TRUE(runner.poll().empty());
  EXPECT_EQ(fmt(runner.next_wakeup()), "2026-01-12T02:00:00Z");
}

TEST_F(RunnerTest, NoCatchUpForAJobThatNeverRan) {
  clock->set(utc(2026, 1, 11, 10));
  runner.add(JobSpec{"backup", Schedule::cron("0 2 * * *"), true, 0, minutes(5), ok_job});
  EXPECT_TRUE(runner.poll().empty());
}

TEST_F(RunnerTest, CatchUpOfAnIntervalJobIsOneRun) {
  clock->set(T0 + hours(5) + minutes(20));
  history["capture"] = JobHistory{T0 + hours(2), T0 + hours(2) + minutes(1)};
  runner.add(every("capture", hours(1)));
  auto l = runner.poll();
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(fmt(l[0].context.due), "2026-01-01T05:00:00Z");
  EXPECT_EQ(l[0].context.reason, RunReason::catch_up);
  finish_at(T0 + hours(5) + minutes(21), "capture", true);
  EXPECT_TRUE(runner.poll().empty());
}

TEST_F(RunnerTest, AfterJobCatchesUpOrWaitsForItsDelay) {
  runner.add(JobSpec{"backup", Schedule::cron("0 2 * * *"), false, 0, minutes(5), ok_job});
  runner.add(after("refresh", "backup", hours(2)));
  runner.add(after("verify", "backup", hours(6)));
  history["backup"] = JobHistory{utc(2026, 1, 11, 2), utc(2026, 1, 11, 3)};
  history["refresh"] = JobHistory{utc(2026, 1, 10, 5), utc(2026, 1, 10, 6)};  // before the backup
  clock->set(utc(2026, 1, 11, 7));
  // refresh was due at 05:00 and missed; verify is due at 09:00 and simply still pending.
  auto l = runner.poll();
  EXPECT_EQ(names(l), Names{"refresh@2026-01-11T05:00:00Z"});
  EXPECT_EQ(l[0].context.reason, RunReason::catch_up);
  EXPECT_EQ(fmt(runner.next_wakeup()), "2026-01-11T09:00:00Z");
  EXPECT_EQ(names(poll_at(utc(2026, 1, 11, 9))), Names{"verify@2026-01-11T09:00:00Z"});
}

TEST_F(RunnerTest, AfterJobThatRanSinceTheTargetIsNotCaughtUp) {
  runner.add(JobSpec{"backup", Schedule::cron("0 2 * * *"), false, 0, minutes(5), ok_job});
  runner.add(after("refresh", "backup", hours(2)));
  history["backup"] = JobHistory{utc(2026, 1, 11, 2), utc(2026, 1, 11, 3)};
  history["refresh"] = JobHistory{utc(2026, 1, 11, 5), utc(2026, 1, 11, 6)};
  clock->set(utc(2026, 1, 11, 7));
  EXPECT_TRUE(runner.poll().empty());
  EXPECT_EQ(fmt(runner.next_wakeup()), "2026-01-12T02:00:00Z");
}

TEST_F(RunnerTest, JobSpecFromConfig) {
  sk::ScheduleConfig sc;
  sc.job = "backup";
  sc.cron = "0 2 * * *";
  sc.timezone = "Europe/Berlin";
  sc.catch_up = false;
  sc.retries = 2;
  sc.retry_delay = minutes(7);
  auto spec = sk::sched::job_spec_from_config(sc, "site.toml", ok_job);
  EXPECT_EQ(spec.name, "backup");
  EXPECT_FALSE(spec.catch_up);
  EXPECT_EQ(spec.retries, 2);
  EXPECT_EQ(spec.retry_delay, minutes(7));
  runner.add(std::move(spec));
  runner.start();
  EXPECT_EQ(fmt(runner.next_wakeup()), "2026-01-01T01:00:00Z");  // 02:00 CET
}

// ---- contract violations -------------------------------------------------------------------------

TEST(RunnerValidation, UnknownAfterTargetCycleAndDuplicate) {
  auto clock = std::make_shared<FakeClock>(T0);
  {
    Runner r(clock);
    r.add(after("refresh", "bakup", hours(1)));
    try {
      r.start();
      FAIL() << "accepted";
    } catch (const sk::ConfigError& e) {
      EXPECT_STREQ(e.what(), "job 'refresh' runs after unknown job 'bakup'");
    }
  }
  {
    Runner r(clock);
    r.add(every("x", hours(1)));
    r.add(after("a", "b", hours(1)));
    r.add(after("b", "c", hours(1)));
    r.add(after("c", "a", hours(1)));
    try {
      r.poll();
      FAIL() << "accepted";
    } catch (const sk::ConfigError& e) {
      EXPECT_STREQ(e.what(), "after cycle: a -> b -> c -> a");
    }
  }
  {
    Runner r(clock);
    r.add(after("self", "self", hours(1)));
    EXPECT_THROW(r.start(), sk::ConfigError);
  }
  {
    Runner r(clock);
    r.add(every("x", hours(1)));
    EXPECT_THROW(r.add(every("x", hours(2))), sk::ConfigError);
    r.start();
    EXPECT_THROW(r.add(every("y", hours(1))), std::logic_error);
  }
}

TEST_F(RunnerTest, FinishedForAJobThatIsNotRunningIsAnError) {
  runner.add(every("capture", minutes(1)));
  runner.start();
  EXPECT_THROW(runner.finished("capture", true), std::logic_error);
  EXPECT_THROW(runner.finished("nope", true), std::logic_error);
}

TEST_F(RunnerTest, NextWakeupIgnoresPendingRunsOfARunningJob) {
  runner.add(every("capture", minutes(1)));
  EXPECT_FALSE(runner.next_wakeup().has_value());  // not started yet: nothing computed
  runner.start();
  ASSERT_EQ(poll_at(T0 + minutes(1)).size(), 1u);
  EXPECT_TRUE(poll_at(T0 + minutes(2)).empty());  // a pending run is now owed
  // The pending run waits for finished(), which reports through on_change: the wakeup is the
  // next fire time, not the past due time of the pending run.
  EXPECT_EQ(fmt(runner.next_wakeup()), "2026-01-01T00:03:00Z");
  finish_at(T0 + minutes(2) + seconds(5), "capture", true);
  EXPECT_EQ(fmt(runner.next_wakeup()), "2026-01-01T00:02:00Z");
}

}  // namespace
