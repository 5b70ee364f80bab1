// sk::standby::decide(): the HA loop's one pure decision per tick. Table-driven: each row is a snapshot
// of the world, the action expected and words the logged sentence must hold. Then scripted sequences
// that drive decide() tick by tick the way monitor.cpp does (a failure counter, the standby asked as a
// witness once the threshold is reached), with no clock and no servers.
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "standby/decision.hpp"

namespace {

using sk::standby::Action;
using sk::standby::Decision;
using sk::standby::decide;
using sk::standby::Snapshot;

constexpr std::uint64_t kMB = 1ull << 20;

// ----- building blocks ---------------------------------------------------------------------------------

// A healthy site: active answers, standby streams with no lag, three failures needed, manual mode.
Snapshot healthy() { return Snapshot{}; }

// The active has failed `failures` probes in a row (the default: exactly the threshold).
Snapshot active_down(int failures = 3) {
  Snapshot s;
  s.active_reachable = false;
  s.failures = failures;
  s.failures_needed = 3;
  return s;
}

// Active down past the threshold and the standby, asked as witness, no longer hears it.
Snapshot witness_agrees(bool automatic) {
  Snapshot s = active_down();
  s.witness_hears_active = false;
  s.automatic = automatic;
  return s;
}

template <typename F>
Snapshot with(Snapshot s, F change) {
  change(s);
  return s;
}

struct Row {
  std::string name;                  // test name suffix: [A-Za-z0-9_] only
  Snapshot snapshot;
  Action expected;
  std::vector<std::string> words;    // each must appear in the sentence
  std::vector<std::string> absent = {};  // none may appear in the sentence
};

// GoogleTest prints the parameter on failure; keep that short and readable.
void PrintTo(const Row& r, std::ostream* os) { *os << r.name << " -> " << sk::standby::to_string(r.expected); }

std::vector<Row> rows() {
  return {
      // ---- the active answers ----
      {"HealthyActive_None", healthy(), Action::kNone, {"active server answers", "nothing to do"}},
      {"HealthyActiveAutomatic_None", with(healthy(), [](Snapshot& s) { s.automatic = true; }), Action::kNone,
       {"nothing to do"}},
      // A healthy active with a standby that falls behind is worth saying (and alerting): a failover then
      // would refuse or lose data.
      {"HealthyActiveStandbyLags_Wait",
       with(healthy(), [](Snapshot& s) { s.lag_bytes = 100 * kMB; s.standby = "cm2"; }), Action::kWait,
       {"the standby cm2 lags 100.0 MB", "max_lag 16.0 MB"}},
      {"HealthyActiveStandbyNotStreaming_Wait",
       with(healthy(), [](Snapshot& s) { s.standby_streaming = false; s.active = "cm1"; }), Action::kWait,
       {"active server cm1 answers", "does not stream"}},
      {"HealthyActiveStandbyUnreachable_Wait", with(healthy(), [](Snapshot& s) { s.standby_reachable = false; }),
       Action::kWait, {"cannot be reached", "no failover is possible"}},
      {"HealthyActiveNoStandbyAtAll_None",
       with(healthy(), [](Snapshot& s) { s.has_standby = false; s.standby_reachable = false; }), Action::kNone,
       {"nothing to do"}},
      {"ActiveWithAnOlderEpoch_Wait", with(healthy(), [](Snapshot& s) { s.active_epoch_stale = true; }), Action::kWait,
       {"older epoch", "not treated as active"}},
      // A run that stopped on a failure or a refusal waits for the operator, whatever the mode.
      {"StoppedRunAutomatic_WaitForOperator",
       with(witness_agrees(true), [](Snapshot& s) { s.journal_stopped = "failover stopped: step lag failed: x"; }),
       Action::kWait, {"failover stopped: step lag failed", "not retried automatically", "sitekeeper failover --yes"}},
      // Invariant 4: an unreachable active is promoted past only when it can be fenced.
      {"WitnessAgreesAutomaticNoFence_Refuse",
       with(witness_agrees(true), [](Snapshot& s) { s.fence_available = false; s.active = "cm1"; s.standby = "cm2"; }),
       Action::kRefuse, {"cm1 is down but cannot be fenced", "no [failover] fence command", "not promoting cm2",
                         "--old-active-is-down"}},
      {"WitnessAgreesManualNoFence_WaitForOperator",
       with(witness_agrees(false), [](Snapshot& s) { s.fence_available = false; }), Action::kWait, {"manual mode"}},

      // ---- counting failures ----
      {"OneFailure_WaitCounting", active_down(1), Action::kWait, {"1 of 3"}},
      {"TwoFailures_WaitCounting", active_down(2), Action::kWait, {"2 of 3"}},
      {"FailuresBelowCustomThreshold_Wait",
       with(active_down(4), [](Snapshot& s) { s.failures_needed = 5; }), Action::kWait, {"4 of 5"}},
      // Below the threshold, automatic mode and a witness answer must not shortcut the count.
      {"BelowThresholdAutomaticWitnessAgrees_StillWait",
       with(active_down(2), [](Snapshot& s) { s.automatic = true; s.witness_hears_active = false; }), Action::kWait,
       {"2 of 3"}},

      // ---- threshold reached ----
      {"ThresholdNoWitnessYet_AskWitness", active_down(3), Action::kAskWitness, {"3 probes", "standby"}},
      {"PastThresholdNoWitnessYet_AskWitness", active_down(7), Action::kAskWitness, {"7 probes"}},
      {"WitnessStillHearsActive_Wait",
       with(active_down(), [](Snapshot& s) { s.witness_hears_active = true; s.automatic = true; }), Action::kWait,
       {"only this manager lost", "no failover"}},
      {"StandbyUnreachable_Refuse", with(active_down(), [](Snapshot& s) { s.standby_reachable = false; }),
       Action::kRefuse, {"standby cannot be reached"}},
      {"StandbyUnreachableAutomatic_Refuse",
       with(active_down(), [](Snapshot& s) { s.standby_reachable = false; s.automatic = true; }), Action::kRefuse,
       {"standby cannot be reached"}},
      {"NoStandby_Refuse", with(active_down(), [](Snapshot& s) { s.has_standby = false; s.automatic = true; }),
       Action::kRefuse, {"no standby to promote"}},
      {"StandbyNotInRecovery_Refuse",
       with(witness_agrees(true), [](Snapshot& s) { s.standby_in_recovery = false; }), Action::kRefuse,
       {"not in recovery"}},
      {"StandbyNotInRecoveryManual_Refuse",
       with(witness_agrees(false), [](Snapshot& s) { s.standby_in_recovery = false; }), Action::kRefuse,
       {"not in recovery"}},

      // ---- the witness agrees: mode, maintenance, lag ----
      {"WitnessAgreesManual_WaitForOperator", witness_agrees(false), Action::kWait,
       {"manual mode", "sitekeeper failover --yes"}},
      {"WitnessAgreesAutomaticPaused_WaitMaintenance",
       with(witness_agrees(true), [](Snapshot& s) { s.paused = true; }), Action::kWait, {"maintenance"}},
      {"WitnessAgreesManualPaused_WaitMaintenance",
       with(witness_agrees(false), [](Snapshot& s) { s.paused = true; }), Action::kWait, {"maintenance"}},
      {"AutomaticLagBeyondMax_Refuse",
       with(witness_agrees(true), [](Snapshot& s) { s.lag_bytes = 20 * kMB; s.max_lag = 16 * kMB; }), Action::kRefuse,
       {"20.0 MB", "16.0 MB", "max_lag", "refused"}},
      {"AutomaticLagOneByteBeyondMax_Refuse",
       with(witness_agrees(true), [](Snapshot& s) { s.lag_bytes = 16 * kMB + 1; s.max_lag = 16 * kMB; }),
       Action::kRefuse, {"max_lag 16.0 MB"}},
      // "refused past max_lag": exactly at the limit is still within it.
      {"AutomaticLagExactlyMax_Failover",
       with(witness_agrees(true), [](Snapshot& s) { s.lag_bytes = 16 * kMB; s.max_lag = 16 * kMB; }),
       Action::kFailover, {"promoting the standby"}},
      // Manual mode never promotes on its own, whatever the lag: the operator decides.
      {"ManualLagBeyondMax_WaitForOperator",
       with(witness_agrees(false), [](Snapshot& s) { s.lag_bytes = 64 * kMB; }), Action::kWait,
       {"failover --yes"}},
      {"AutomaticAllGood_Failover", witness_agrees(true), Action::kFailover, {"standby agrees", "promoting"}},
      {"AutomaticAllGoodSmallLag_Failover",
       with(witness_agrees(true), [](Snapshot& s) { s.lag_bytes = 4096; }), Action::kFailover, {"promoting"}},

      // ---- an interrupted failover in the journal ----
      {"JournalOpenAutomatic_Resume", with(active_down(), [](Snapshot& s) { s.journal_open = true; s.automatic = true; }),
       Action::kResume, {"interrupted failover", "resuming"}},
      // The journal is resumed even when the active answers again: a half-done failover must finish.
      {"JournalOpenAutomaticActiveUp_Resume",
       with(healthy(), [](Snapshot& s) { s.journal_open = true; s.automatic = true; }), Action::kResume,
       {"resuming"}},
      {"JournalOpenManual_WaitForOperator", with(active_down(), [](Snapshot& s) { s.journal_open = true; }),
       Action::kWait, {"interrupted failover", "sitekeeper failover --yes"}},
      {"JournalOpenAutomaticPaused_Wait",
       with(active_down(), [](Snapshot& s) { s.journal_open = true; s.automatic = true; s.paused = true; }),
       Action::kWait, {"failover --yes"}, {"resuming"}},

      // ---- a promotion is running ----
      {"ActionRunning_Wait", with(witness_agrees(true), [](Snapshot& s) { s.action_running = true; }), Action::kWait,
       {"promotion is running"}},
      {"ActionRunningJournalOpen_Wait",
       with(witness_agrees(true), [](Snapshot& s) { s.action_running = true; s.journal_open = true; }), Action::kWait,
       {"promotion is running"}, {"resuming"}},

      // ---- a stale writable server comes first, whatever else is true ----
      {"StaleWritable_Refence", with(healthy(), [](Snapshot& s) { s.stale_writable = {"cm1"}; }), Action::kRefence,
       {"cm1", "older epoch", "rejoin"}},
      {"StaleWritableOverFailover_Refence",
       with(witness_agrees(true), [](Snapshot& s) { s.stale_writable = {"old one"}; }), Action::kRefence,
       {"server old one"}},
      {"StaleWritableOverRunningAction_Refence",
       with(witness_agrees(true), [](Snapshot& s) { s.stale_writable = {"cm1"}; s.action_running = true; }),
       Action::kRefence, {"cm1"}},
      {"StaleWritableOverJournal_Refence",
       with(active_down(), [](Snapshot& s) { s.stale_writable = {"cm1"}; s.journal_open = true; s.automatic = true; }),
       Action::kRefence, {"cm1"}},
      {"StaleWritableOverNoStandby_Refence",
       with(active_down(), [](Snapshot& s) { s.stale_writable = {"cm3", "cm4"}; s.has_standby = false; s.paused = true; }),
       Action::kRefence, {"server cm3 "}},
  };
}

class DecideTable : public ::testing::TestWithParam<Row> {};

TEST_P(DecideTable, ActionAndSentence) {
  const Row& r = GetParam();
  const Decision d = decide(r.snapshot);
  EXPECT_EQ(sk::standby::to_string(d.action), std::string(sk::standby::to_string(r.expected)))
      << "sentence: " << d.sentence;
  ASSERT_FALSE(r.words.empty()) << "a row must name words to look for";
  for (const auto& w : r.words) EXPECT_NE(d.sentence.find(w), std::string::npos) << "'" << w << "' not in: " << d.sentence;
  for (const auto& w : r.absent) EXPECT_EQ(d.sentence.find(w), std::string::npos) << "'" << w << "' in: " << d.sentence;
}

INSTANTIATE_TEST_SUITE_P(Rows, DecideTable, ::testing::ValuesIn(rows()),
                         [](const ::testing::TestParamInfo<Row>& i) { return i.param.name; });

// Every action except none has a distinct name, so the loop's log and a test failure say what happened.
TEST(DecideNames, EveryActionHasItsOwnName) {
  const std::vector<Action> all = {Action::kNone,   Action::kWait,    Action::kAskWitness, Action::kFailover,
                                   Action::kResume, Action::kRefence, Action::kRefuse};
  std::vector<std::string> names;
  for (Action a : all) {
    std::string n = sk::standby::to_string(a);
    EXPECT_NE(n, "?");
    for (const auto& seen : names) EXPECT_NE(n, seen);
    names.push_back(n);
  }
}

// The same snapshot gives the same decision: the loop logs a sentence only when it changes, so a
// sentence that varied between identical ticks would flood the log.
TEST(DecideNames, SameSnapshotSameSentence) {
  for (const auto& r : rows()) {
    const Decision a = decide(r.snapshot), b = decide(r.snapshot);
    EXPECT_EQ(a.action, b.action) << r.name;
    EXPECT_EQ(a.sentence, b.sentence) << r.name;
    EXPECT_FALSE(a.sentence.empty()) << r.name;
  }
}

// ----- scripted sequences ----------------------------------------------------------------------------

// A clock-free model of monitor.cpp's loop: each tick takes the scripted probe result, counts
// consecutive failures (reset when the active answers), and asks the scripted witness once decide()
// says so; the answer is part of the next tick's snapshot. kFailover "starts" a promotion: the next
// ticks see action_running, as the real loop does while the promotion thread works.
class FakeLoop {
 public:
  FakeLoop(bool automatic, std::optional<bool> witness_answer) : automatic_(automatic), witness_(witness_answer) {}

  Decision tick(bool active_answers) {
    Snapshot s;
    s.automatic = automatic_;
    s.failures_needed = 3;
    s.action_running = promoting_;
    s.active_reachable = active_answers;
    if (active_answers) {
      failures_ = 0;
      heard_.reset();
    } else {
      ++failures_;
    }
    s.failures = failures_;
    if (!active_answers && failures_ >= s.failures_needed) s.witness_hears_active = heard_;
    Decision d = decide(s);
    if (d.action == Action::kAskWitness) heard_ = witness_;
    if (d.action == Action::kFailover) {
      ++failovers_;
      promoting_ = true;
    }
    history_.push_back(d.action);
    return d;
  }

  int failovers() const { return failovers_; }
  int failures() const { return failures_; }
  const std::vector<Action>& history() const { return history_; }

 private:
  bool automatic_;
  std::optional<bool> witness_;
  std::optional<bool> heard_;
  int failures_ = 0;
  int failovers_ = 0;
  bool promoting_ = false;
  std::vector<Action> history_;
};

std::string names(const std::vector<Action>& v) {
  std::string out;
  for (Action a : v) out += std::string(out.empty() ? "" : ", ") + sk::standby::to_string(a);
  return out;
}

TEST(DecideSequence, ThreeFailuresThenWitnessAgreesThenFailover) {
  FakeLoop loop(/*automatic=*/true, /*witness_answer=*/false);
  EXPECT_EQ(loop.tick(true).action, Action::kNone);

  Decision d = loop.tick(false);
  EXPECT_EQ(d.action, Action::kWait);
  EXPECT_NE(d.sentence.find("1 of 3"), std::string::npos) << d.sentence;

  d = loop.tick(false);
  EXPECT_EQ(d.action, Action::kWait);
  EXPECT_NE(d.sentence.find("2 of 3"), std::string::npos) << d.sentence;

  d = loop.tick(false);
  EXPECT_EQ(d.action, Action::kAskWitness) << d.sentence;

  d = loop.tick(false);  // the witness said it no longer hears the active
  EXPECT_EQ(d.action, Action::kFailover) << d.sentence;
  EXPECT_EQ(loop.failovers(), 1);

  // While the promotion runs the loop only reports: no second promotion.
  for (int i = 0; i < 5; ++i) {
    d = loop.tick(false);
    EXPECT_EQ(d.action, Action::kWait) << d.sentence;
  }
  EXPECT_EQ(loop.failovers(), 1) << names(loop.history());
  EXPECT_EQ(names(loop.history()), "none, wait, wait, ask-witness, failover, wait, wait, wait, wait, wait");
}

TEST(DecideSequence, WitnessStillHearsActiveNeverFailsOverIn20Ticks) {
  FakeLoop loop(/*automatic=*/true, /*witness_answer=*/true);
  int asked = 0, only_us = 0;
  for (int i = 0; i < 20; ++i) {
    Decision d = loop.tick(false);
    EXPECT_NE(d.action, Action::kFailover) << "tick " << i + 1 << ": " << d.sentence;
    EXPECT_NE(d.action, Action::kRefuse) << "tick " << i + 1 << ": " << d.sentence;
    if (d.action == Action::kAskWitness) ++asked;
    if (d.sentence.find("only this manager lost") != std::string::npos) ++only_us;
  }
  EXPECT_EQ(loop.failovers(), 0);
  EXPECT_EQ(loop.failures(), 20);
  EXPECT_EQ(asked, 1) << names(loop.history());
  EXPECT_EQ(only_us, 17) << names(loop.history());  // ticks 4..20
}

TEST(DecideSequence, ActiveBackBeforeThresholdResetsTheCount) {
  FakeLoop loop(/*automatic=*/true, /*witness_answer=*/false);
  loop.tick(false);
  loop.tick(false);
  EXPECT_EQ(loop.tick(true).action, Action::kNone);
  Decision d = loop.tick(false);
  EXPECT_EQ(d.action, Action::kWait);
  EXPECT_NE(d.sentence.find("1 of 3"), std::string::npos) << d.sentence;
  loop.tick(false);
  EXPECT_EQ(loop.tick(false).action, Action::kAskWitness);
  EXPECT_EQ(loop.tick(false).action, Action::kFailover);
  EXPECT_EQ(names(loop.history()), "wait, wait, none, wait, wait, ask-witness, failover");
}

TEST(DecideSequence, ManualModeWaitsForTheOperatorAcross20Ticks) {
  FakeLoop loop(/*automatic=*/false, /*witness_answer=*/false);
  for (int i = 0; i < 20; ++i) loop.tick(false);
  EXPECT_EQ(loop.failovers(), 0);
  Decision d = loop.tick(false);
  EXPECT_EQ(d.action, Action::kWait);
  EXPECT_NE(d.sentence.find("failover --yes"), std::string::npos) << d.sentence;
}

}  // namespace
