// backup, retention and refresh against a scripted fake engine, a fake process runner and a fixed clock,
// with a real archive and a real state store in a folder whose path holds spaces and non-ASCII.
// The invariants under test: a replica serves a complete, validated copy at every moment (nothing is
// swapped in unless every check passed), only sealed backups with matching checksums are restored, and
// retention keeps the newest verified backup.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <map>
#include <condition_variable>
#include <mutex>
#include <sstream>

#include "core/clock.hpp"
#include "core/config.hpp"
#include "core/error.hpp"
#include "core/process.hpp"
#include "core/state/store.hpp"
#include "replicator/archive.hpp"
#include "replicator/backup.hpp"
#include "replicator/context.hpp"
#include "replicator/refresh.hpp"
#include "replicator/verify.hpp"
#include "sql/engine.hpp"
#include "support/fake_clock.hpp"
#include "support/fake_runner.hpp"
#include "support/files.hpp"
#include "support/refresh_fixture.hpp"
#include "support/scripted_engine.hpp"

namespace {

namespace fs = std::filesystem;
using namespace sk;
using sk::replicator::Archive;
using sk::replicator::JobContext;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

const std::string kLive = "CM_CEN";
const std::string kStaging = "CM_CEN__sk_staging";

using test::at;
using test::Call;
using test::FakeClock;
using test::FakeRunner;
using test::FakeEngine;
using test::slurp;
using test::World;
using test::write;

// ------------------------------------------------------------------------------------------------
// Fixture

class RefreshTest : public test::RefreshFixture {
 protected:
  // True when, on `server`, a drop of the staging copy follows its last restore.
  bool staging_dropped_after_restore(const std::string& server) {
    auto log = world_->log();
    int last_restore = -1, last_drop = -1;
    for (int i = 0; i < static_cast<int>(log.size()); ++i) {
      if (log[i].server != server) continue;
      if (log[i].op == "restore_to_staging") last_restore = i;
      if (log[i].op == "drop_database" && log[i].arg == kStaging) last_drop = i;
    }
    return last_drop > last_restore;
  }

  void expect_live_never_dropped() {
    for (const auto& c : world_->calls_of("drop_database")) EXPECT_NE(c.arg, kLive) << c.server;
  }

};

const std::vector<std::string> kRefreshOrder = {"replay_roles",   "restore_to_staging", "replay_grants",
                                                "make_read_only", "validate",           "swap_in"};

// ------------------------------------------------------------------------------------------------
// Backup

TEST_F(RefreshTest, BackupSealsVerifiesAndRecords) {
  const std::string id = backup_at("2026-11-22T02:00:00Z");
  EXPECT_EQ(id, "20261122T020000Z");
  Archive a = replicator::open_archive(cfg_);
  EXPECT_TRUE(a.complete(id));
  EXPECT_THAT(a.check(id, true, nullptr), IsEmpty());
  EXPECT_EQ(slurp(a.path(id) / replicator::kPermissionsFile), world_->script);
  EXPECT_TRUE(fs::exists(a.path(id) / replicator::kProfileFile));
  auto m = a.manifest(id);
  EXPECT_EQ(m.kind, "backup");
  EXPECT_EQ(m.site, "CEN");
  EXPECT_EQ(m.database, kLive);
  EXPECT_EQ(m.server, "cm1");
  EXPECT_EQ(m.created_at, "2026-11-22T02:00:00Z");
  EXPECT_EQ(world_->ops("cm1"), (std::vector<std::string>{"backup", "capture_permissions", "capture_profile"}));
  // The snapshot was read back by the restore tool before the backup was called verified.
  EXPECT_THAT(world_->calls_of("check_snapshot"), ElementsAre(::testing::Field(&Call::server, "cm1")));
  auto g = state_->generation(id);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->status, "verified");
  EXPECT_EQ(g->verified_at, "2026-11-22T02:00:00Z");
  EXPECT_GT(g->size_bytes, static_cast<std::int64_t>(world_->snapshot_bytes));
  // Nothing touched a replica.
  EXPECT_THAT(world_->ops("hd1"), IsEmpty());
  EXPECT_THAT(world_->ops("hd2"), IsEmpty());
}

TEST_F(RefreshTest, FailedBackupLeavesNoGenerationAndRunsNoHook) {
  cfg_.archive.after_backup = {"/usr/local/bin/copy-offsite", "{backup}"};
  struct {
    const char* op;
  } cases[] = {{"backup"}, {"capture_permissions"}, {"check_snapshot"}};
  int minute = 0;
  for (const auto& c : cases) {
    world_->on_call = [&](const Call& call) {
      if (call.op == c.op) throw Error(std::string(c.op) + " failed: disk full");
    };
    clock_->set(at("2026-11-22T02:00:00Z") + std::chrono::minutes(minute++));
    try {
      replicator::run_backup(ctx());
      ADD_FAILURE() << c.op << ": backup succeeded";
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), HasSubstr("disk full")) << c.op;
    }
    EXPECT_THAT(Archive(cfg_.archive.path, nullptr).list(), IsEmpty()) << c.op;
    auto gens = state_->generations();
    ASSERT_FALSE(gens.empty());
    EXPECT_EQ(gens.front().status, "failed") << c.op;
  }
  EXPECT_THAT(runner_->argvs(), IsEmpty());
}

// ------------------------------------------------------------------------------------------------
// Refresh: the happy path

TEST_F(RefreshTest, HappyPathOrderAndServing) {
  const std::string id = backup_at("2026-11-22T02:00:00Z");
  world_->clear();
  clock_->set(at("2026-11-22T04:00:00Z"));
  auto res = replicator::run_refresh(ctx());
  EXPECT_TRUE(res.ok) << res.summary;
  EXPECT_EQ(res.id, id);
  ASSERT_EQ(res.replicas.size(), 2u);
  EXPECT_EQ(res.replicas[0].replica, "hd1");
  EXPECT_EQ(res.replicas[1].replica, "hd2");
  for (const char* r : {"hd1", "hd2"}) {
    SCOPED_TRACE(r);
    EXPECT_EQ(outcome(res, r)->outcome, "refreshed") << outcome(res, r)->message;
    EXPECT_EQ(world_->ops(r), kRefreshOrder);
    const std::map<std::string, std::string> want = {
        {"replay_roles", world_->script},
        {"restore_to_staging", kStaging + "|" + snapshot_of(id).string()},
        {"replay_grants", kStaging},
        {"make_read_only", kStaging + "|helpdesk,Help Desk é"},
        {"validate", kStaging + "|1|2"},  // one smoke query, two readers
        {"swap_in", kLive + "|" + kStaging},
    };
    for (const auto& c : world_->log()) {
      auto it = want.find(c.op);
      if (c.server == r && it != want.end()) {
        EXPECT_EQ(c.arg, it->second) << c.op;
      }
    }
    auto s = state_->serving(r);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->backup_id, id);
    EXPECT_EQ(s->backup_time, "2026-11-22T02:00:00Z");
    EXPECT_EQ(s->restored_at, "2026-11-22T04:00:00Z");
  }
  EXPECT_THAT(world_->ops("cm1"), IsEmpty());  // the active server is not touched by a refresh
  EXPECT_THAT(world_->calls_of("drop_database"), IsEmpty());
  EXPECT_THAT(state_->alerts(10), IsEmpty());
}

TEST_F(RefreshTest, AWithdrawnReplicaIsNeverRefreshedAgain) {
  backup_at("2026-11-22T02:00:00Z");
  world_->clear();
  EXPECT_FALSE(replicator::replica_withdrawn(*state_, "hd1"));
  replicator::withdraw_replica(ctx(), "hd1");  // recover --from-replica made it the active
  EXPECT_TRUE(replicator::replica_withdrawn(*state_, "hd1"));
  auto res = replicator::run_refresh(ctx());
  EXPECT_EQ(outcome(res, "hd1")->outcome, "skipped");
  EXPECT_THAT(outcome(res, "hd1")->message, HasSubstr("withdrawn"));
  EXPECT_THAT(world_->ops("hd1"), IsEmpty());
  EXPECT_EQ(outcome(res, "hd2")->outcome, "refreshed");
}

TEST_F(RefreshTest, OnlyOneReplica) {
  const std::string id = backup_at("2026-11-22T02:00:00Z");
  world_->clear();
  auto res = replicator::run_refresh(ctx(), "hd2");
  EXPECT_TRUE(res.ok);
  ASSERT_EQ(res.replicas.size(), 1u);
  EXPECT_EQ(res.replicas[0].replica, "hd2");
  EXPECT_EQ(world_->ops("hd2"), kRefreshOrder);
  EXPECT_THAT(world_->ops("hd1"), IsEmpty());
  EXPECT_EQ(serving("hd1"), "");
  EXPECT_EQ(serving("hd2"), id);
  EXPECT_THROW(replicator::run_refresh(ctx(), "cm1"), ConfigError);  // not a replica
  EXPECT_THROW(replicator::run_refresh(ctx(), "hd3"), ConfigError);
}

// ------------------------------------------------------------------------------------------------
// Refresh: a damaged newest backup is refused everywhere, with no fallback

struct Corruption {
  std::string name;
  std::string file;  // relative to the generation
  bool truncate;
  bool replicas_may_restore;  // the snapshot is hashed alongside the restores; the small files first
};

void PrintTo(const Corruption& c, std::ostream* os) { *os << c.name; }

class RefreshCorrupted : public RefreshTest, public ::testing::WithParamInterface<Corruption> {};

TEST_P(RefreshCorrupted, RefusedNoSwapNoFallback) {
  const auto& c = GetParam();
  const std::string good = backup_at("2026-11-21T02:00:00Z");
  ASSERT_TRUE(replicator::run_refresh(ctx()).ok);
  const std::string bad = backup_at("2026-11-22T02:00:00Z");
  const fs::path victim = archive_root() / bad / c.file;
  if (c.truncate) {
    fs::resize_file(victim, fs::file_size(victim) / 2);
  } else {
    std::string s = slurp(victim);
    s[s.size() / 2] ^= 0x20;
    write(victim, s);
  }
  world_->clear();
  clock_->set(at("2026-11-22T04:00:00Z"));

  for (int attempt = 1; attempt <= 2; ++attempt) {
    SCOPED_TRACE("attempt " + std::to_string(attempt));
    try {
      replicator::run_refresh(ctx());
      ADD_FAILURE() << "refresh of a damaged backup succeeded";
    } catch (const SafetyError& e) {
      ADD_FAILURE() << "expected a failure, not a safety refusal: " << e.what();
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), HasSubstr(bad));
      if (attempt == 1) {
        EXPECT_THAT(e.what(), HasSubstr(c.file));
      }
      EXPECT_EQ(e.exit_code(), kFailed);
    }
    EXPECT_THAT(world_->calls_of("swap_in"), IsEmpty());
    for (const char* r : {"hd1", "hd2"}) {
      EXPECT_EQ(serving(r), good) << r;  // still the old, complete copy
      if (!world_->calls_of("restore_to_staging").empty()) {
        bool restored = false;
        for (const auto& call : world_->calls_of("restore_to_staging")) restored |= call.server == r;
        if (restored) {
          EXPECT_TRUE(staging_dropped_after_restore(r)) << r;
        }
      }
    }
    // Never falls back to the older good generation.
    for (const auto& call : world_->calls_of("restore_to_staging"))
      EXPECT_THAT(call.arg, AllOf(HasSubstr(bad), Not(HasSubstr(good)))) << call.server;
    if (!c.replicas_may_restore) {
      EXPECT_THAT(world_->ops("hd1"), IsEmpty());
      EXPECT_THAT(world_->ops("hd2"), IsEmpty());
    }
    expect_live_never_dropped();
    world_->clear();
  }
  EXPECT_TRUE(has_alert("refresh", bad));
  EXPECT_EQ(state_->generation(bad)->status, "failed");
  EXPECT_EQ(state_->generation(good)->status, "verified");
}

INSTANTIATE_TEST_SUITE_P(
    Cases, RefreshCorrupted,
    ::testing::Values(Corruption{"SnapshotByteFlipped", "snapshot/3001.dat", false, true},
                      Corruption{"NestedSnapshotByteFlipped", "snapshot/sub dir é/3002.dat", false, true},
                      Corruption{"SnapshotTruncated", "snapshot/3001.dat", true, false},
                      Corruption{"PermissionScriptChanged", "permissions.sql", false, false},
                      Corruption{"ProfileChanged", "profile.json", false, false}),
    [](const auto& info) { return info.param.name; });

TEST_F(RefreshTest, UnreadableSnapshotIsRefusedBeforeAnyReplicaIsTouched) {
  const std::string id = backup_at("2026-11-22T02:00:00Z");
  world_->clear();
  world_->on_call = [](const Call& c) {
    if (c.op == "check_snapshot") throw Error("pg_restore: unsupported version (1.16) in file header");
  };
  EXPECT_THROW(replicator::run_refresh(ctx()), Error);
  EXPECT_EQ(world_->ops("hd1"), std::vector<std::string>{});
  EXPECT_EQ(world_->ops("hd2"), std::vector<std::string>{});
  EXPECT_EQ(state_->generation(id)->status, "failed");
  EXPECT_TRUE(has_alert("refresh", id));
}

// ------------------------------------------------------------------------------------------------
// Refresh: per-replica failures

TEST_F(RefreshTest, ValidationFailureKeepsTheOldCopyOnThatReplicaOnly) {
  const std::string id = backup_at("2026-11-22T02:00:00Z");
  world_->clear();
  world_->on_call = [](const Call& c) {
    if (c.server == "hd1" && c.op == "validate")
      throw Error("reader helpdesk could write to dbo.site_systems on the staging copy");
  };
  auto res = replicator::run_refresh(ctx());
  EXPECT_FALSE(res.ok);
  EXPECT_EQ(outcome(res, "hd1")->outcome, "failed");
  EXPECT_THAT(outcome(res, "hd1")->message, HasSubstr("could write"));
  EXPECT_EQ(outcome(res, "hd2")->outcome, "refreshed");
  // Roles are server-wide: the failed replica's role changes are undone after its staging copy goes.
  EXPECT_EQ(world_->ops("hd1"), (std::vector<std::string>{"replay_roles", "restore_to_staging", "replay_grants",
                                                           "make_read_only", "validate", "drop_database",
                                                           "undo_roles"}));
  EXPECT_EQ(world_->calls_of("undo_roles").at(0).arg, "replica");  // what the replay under the policy returned
  EXPECT_EQ(world_->calls_of("replay_roles").size(), 2u);
  EXPECT_EQ(world_->ops("hd2"), kRefreshOrder);
  EXPECT_TRUE(staging_dropped_after_restore("hd1"));
  EXPECT_EQ(serving("hd1"), "");
  EXPECT_EQ(serving("hd2"), id);
  EXPECT_TRUE(has_alert("refresh", "hd1"));
  EXPECT_FALSE(has_alert("refresh", "hd2"));
  EXPECT_EQ(state_->generation(id)->status, "verified");  // the backup itself is fine
  expect_live_never_dropped();
}

TEST_F(RefreshTest, AnyStepFailingBeforeTheSwapDropsStaging) {
  const std::string id = backup_at("2026-11-22T02:00:00Z");
  for (const std::string step : {"replay_roles", "restore_to_staging", "replay_grants", "make_read_only", "swap_in"}) {
    SCOPED_TRACE(step);
    world_->clear();
    world_->on_call = [step](const Call& c) {
      if (c.server == "hd2" && c.op == step) throw Error(step + " failed");
    };
    auto res = replicator::run_refresh(ctx(), "hd2", /*force=*/true);
    EXPECT_FALSE(res.ok);
    EXPECT_EQ(outcome(res, "hd2")->outcome, "failed");
    auto ops = world_->ops("hd2");
    ASSERT_FALSE(ops.empty());
    // A replay that failed changed nothing (one transaction): nothing to undo. Any later failure undoes it.
    if (step == "replay_roles") {
      EXPECT_EQ(ops.back(), "drop_database");
    } else {
      ASSERT_GE(ops.size(), 2u);
      EXPECT_EQ(ops[ops.size() - 2], "drop_database");
      EXPECT_EQ(ops.back(), "undo_roles");
    }
    EXPECT_EQ(std::count(ops.begin(), ops.end(), "swap_in"), step == "swap_in" ? 1 : 0);
    EXPECT_EQ(serving("hd2"), "");
    expect_live_never_dropped();
  }
}

// ------------------------------------------------------------------------------------------------
// Refresh: which replicas are touched

TEST_F(RefreshTest, ReplicaServingNewerBackupIsSkipped) {
  const std::string id = backup_at("2026-11-22T02:00:00Z");
  state_->set_serving({"hd1", "20991231T000000Z", "2099-12-31T00:00:00Z", "2099-12-31T01:00:00Z"});
  world_->clear();
  auto res = replicator::run_refresh(ctx());
  EXPECT_TRUE(res.ok) << res.summary;
  EXPECT_EQ(outcome(res, "hd1")->outcome, "skipped");
  EXPECT_THAT(outcome(res, "hd1")->message, HasSubstr("20991231T000000Z"));
  EXPECT_THAT(world_->ops("hd1"), IsEmpty());
  EXPECT_EQ(serving("hd1"), "20991231T000000Z");
  EXPECT_EQ(outcome(res, "hd2")->outcome, "refreshed");
  EXPECT_EQ(serving("hd2"), id);
  // Not even with force.
  world_->clear();
  res = replicator::run_refresh(ctx(), "hd1", /*force=*/true);
  EXPECT_EQ(outcome(res, "hd1")->outcome, "skipped");
  EXPECT_THAT(world_->ops("hd1"), IsEmpty());
}

// Generation counters compare as numbers: "-10" is newer than "-2".
TEST_F(RefreshTest, NewerMeansNewerByCounterToo) {
  cfg_.archive.keep = 20;
  std::vector<std::string> ids;
  for (int i = 0; i < 10; ++i) ids.push_back(backup_at("2026-11-22T02:00:00Z"));
  ASSERT_EQ(ids[1], "20261122T020000Z-2");
  ASSERT_EQ(ids.back(), "20261122T020000Z-10");
  state_->set_serving({"hd1", ids[1], "2026-11-22T02:00:00Z", "2026-11-22T03:00:00Z"});
  state_->set_serving({"hd2", ids.back(), "2026-11-22T02:00:00Z", "2026-11-22T03:00:00Z"});
  world_->clear();
  auto res = replicator::run_refresh(ctx());
  EXPECT_EQ(res.id, ids.back());
  EXPECT_EQ(outcome(res, "hd1")->outcome, "refreshed") << outcome(res, "hd1")->message;
  EXPECT_EQ(outcome(res, "hd2")->outcome, "current") << outcome(res, "hd2")->message;
  EXPECT_EQ(serving("hd1"), ids.back());
}

TEST_F(RefreshTest, ReplicaServingSameBackupIsCurrentUnlessForced) {
  const std::string id = backup_at("2026-11-22T02:00:00Z");
  ASSERT_TRUE(replicator::run_refresh(ctx()).ok);

  world_->clear();
  auto res = replicator::run_refresh(ctx());
  EXPECT_TRUE(res.ok);
  for (const char* r : {"hd1", "hd2"}) {
    EXPECT_EQ(outcome(res, r)->outcome, "current") << r;
    EXPECT_THAT(world_->ops(r), IsEmpty()) << r;
  }

  // The live database is gone on hd2 (dropped by hand): "current" would be a lie, so it is restored.
  world_->clear();
  world_->exists = [](const std::string& server, const std::string& db) { return !(server == "hd2" && db == kLive); };
  res = replicator::run_refresh(ctx());
  EXPECT_EQ(outcome(res, "hd1")->outcome, "current");
  EXPECT_EQ(outcome(res, "hd2")->outcome, "refreshed");
  EXPECT_EQ(world_->ops("hd2"), kRefreshOrder);
  world_->exists = nullptr;

  world_->clear();
  res = replicator::run_refresh(ctx(), "", /*force=*/true);
  EXPECT_TRUE(res.ok);
  for (const char* r : {"hd1", "hd2"}) {
    EXPECT_EQ(outcome(res, r)->outcome, "refreshed") << r;
    EXPECT_EQ(world_->ops(r), kRefreshOrder) << r;
    EXPECT_EQ(serving(r), id);
  }
}

TEST_F(RefreshTest, NewerBackupIsPickedUp) {
  const std::string first = backup_at("2026-11-21T02:00:00Z");
  ASSERT_TRUE(replicator::run_refresh(ctx()).ok);
  const std::string second = backup_at("2026-11-22T02:00:00Z");
  world_->clear();
  auto res = replicator::run_refresh(ctx());
  EXPECT_TRUE(res.ok);
  EXPECT_EQ(res.id, second);
  for (const char* r : {"hd1", "hd2"}) {
    EXPECT_EQ(outcome(res, r)->outcome, "refreshed");
    EXPECT_EQ(serving(r), second);
  }
  for (const auto& c : world_->calls_of("restore_to_staging")) EXPECT_THAT(c.arg, HasSubstr(second));
}

// An unfinished newest generation (no marker) is never restored: the newest complete one is used.
TEST_F(RefreshTest, UnfinishedNewestGenerationIsIgnored) {
  const std::string good = backup_at("2026-11-21T02:00:00Z");
  Archive a = replicator::open_archive(cfg_);
  const std::string unfinished = a.create(at("2026-11-22T02:00:00Z"));
  write(a.path(unfinished) / "snapshot" / "toc.dat", "half");
  world_->clear();
  auto res = replicator::run_refresh(ctx());
  EXPECT_TRUE(res.ok);
  EXPECT_EQ(res.id, good);
  for (const auto& c : world_->calls_of("restore_to_staging")) EXPECT_THAT(c.arg, Not(HasSubstr(unfinished)));
}

// ------------------------------------------------------------------------------------------------
// Refresh: cancellation

TEST_F(RefreshTest, CancelledMidRestoreLeavesLiveAloneAndTheBackupGood) {
  // A large snapshot, so the checksum pass that runs beside the restores is still going when the
  // cancellation comes: cancelling is not a verdict on the backup.
  world_->snapshot_bytes = 48u << 20;
  const std::string id = backup_at("2026-11-22T02:00:00Z");
  world_->clear();
  CancelToken cancel;
  world_->on_call = [&](const Call& c) {
    if (c.op == "restore_to_staging") {
      cancel.cancel();
      throw Cancelled();  // what a killed pg_restore reports
    }
  };
  // A stop request surfaces as Cancelled (recorded as "cancelled", no alert), not as a failed refresh.
  EXPECT_THROW(replicator::run_refresh(ctx(&cancel)), sk::Cancelled);
  for (const char* r : {"hd1", "hd2"}) {
    SCOPED_TRACE(r);
    EXPECT_THAT(world_->ops(r), Not(Contains("swap_in")));
    EXPECT_THAT(world_->ops(r), Contains("drop_database"));
    EXPECT_TRUE(staging_dropped_after_restore(r));
    EXPECT_EQ(serving(r), "");
  }
  EXPECT_EQ(state_->generation(id)->status, "verified");
  EXPECT_FALSE(has_alert("refresh", "refused"));
  expect_live_never_dropped();

  // The next run (not cancelled) restores the same backup.
  world_->on_call = nullptr;
  world_->clear();
  auto res = replicator::run_refresh(ctx());
  EXPECT_TRUE(res.ok) << res.summary;
  EXPECT_EQ(serving("hd1"), id);
  EXPECT_EQ(serving("hd2"), id);
}

TEST_F(RefreshTest, CancelledBeforeStartTouchesNothing) {
  const std::string id = backup_at("2026-11-22T02:00:00Z");
  world_->clear();
  CancelToken cancel;
  cancel.cancel();
  try {
    auto res = replicator::run_refresh(ctx(&cancel));
    EXPECT_FALSE(res.ok);
    for (const auto& o : res.replicas) EXPECT_EQ(o.outcome, "cancelled") << o.replica;
  } catch (const Cancelled&) {
    // stopping before any replica was touched is fine too
  }
  EXPECT_THAT(world_->calls_of("swap_in"), IsEmpty());
  EXPECT_THAT(world_->calls_of("restore_to_staging"), IsEmpty());
  EXPECT_EQ(state_->generation(id)->status, "verified");
}

// ------------------------------------------------------------------------------------------------
// Refresh: nothing to restore

TEST_F(RefreshTest, NoCompleteBackupIsASafetyRefusal) {
  auto expect_refused = [&] {
    try {
      replicator::run_refresh(ctx());
      ADD_FAILURE() << "refresh without a complete backup succeeded";
    } catch (const SafetyError& e) {
      EXPECT_EQ(e.exit_code(), 3);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "wrong error: " << e.what();
    }
    EXPECT_THAT(world_->log(), IsEmpty());
  };
  expect_refused();  // empty archive
  Archive a = replicator::open_archive(cfg_);
  const std::string id = a.create(at("2026-11-22T02:00:00Z"));
  write(a.path(id) / "snapshot" / "toc.dat", "a killed backup");
  expect_refused();  // only an unfinished generation
}

// ------------------------------------------------------------------------------------------------
// after_backup

TEST_F(RefreshTest, AfterBackupGetsTheGenerationPath) {
  cfg_.archive.after_backup = {"/usr/local/bin/copy offsite", "{backup}", "--id={id}", "--label=site {backup}"};
  clock_->set(at("2026-11-22T02:00:00Z"));
  auto r = replicator::run_backup(ctx());
  EXPECT_FALSE(r.hook_failed);
  EXPECT_THAT(r.summary, HasSubstr("after_backup ok"));
  EXPECT_EQ(r.path, archive_root() / r.id);
  const std::string path = (archive_root() / r.id).string();
  EXPECT_THAT(runner_->argvs(),
              ElementsAre(ElementsAre("/usr/local/bin/copy offsite", path, "--id=" + r.id, "--label=site " + path)));
  EXPECT_THAT(path, HasSubstr(" "));  // one argument although the path holds spaces
}

TEST_F(RefreshTest, FailingAfterBackupKeepsTheVerifiedBackup) {
  cfg_.archive.after_backup = {"/usr/local/bin/copy-offsite", "{backup}"};
  runner_->fail_with(4, "copy-offsite: no route to the offsite store\n");
  clock_->set(at("2026-11-22T02:00:00Z"));
  auto r = replicator::run_backup(ctx());
  EXPECT_TRUE(r.hook_failed);
  EXPECT_THAT(r.summary, HasSubstr("after_backup FAILED"));
  EXPECT_THAT(r.summary, HasSubstr("no route"));
  ASSERT_EQ(runner_->argvs().size(), 1u);
  EXPECT_TRUE(has_alert("backup", "after_backup failed"));
  EXPECT_EQ(state_->generation(r.id)->status, "verified");
  Archive a = replicator::open_archive(cfg_);
  EXPECT_TRUE(a.complete(r.id));
  EXPECT_THAT(a.check(r.id, true, nullptr), IsEmpty());
  // And it is what the next refresh restores.
  auto res = replicator::run_refresh(ctx());
  EXPECT_TRUE(res.ok);
  EXPECT_EQ(res.id, r.id);
}

// ------------------------------------------------------------------------------------------------
// Retention through run_backup

TEST_F(RefreshTest, RetentionKeepsTwoAfterFourBackups) {
  cfg_.archive.keep = 2;
  std::vector<std::string> ids;
  std::vector<std::vector<std::string>> deleted;
  for (const char* day : {"2026-11-19T02:00:00Z", "2026-11-20T02:00:00Z", "2026-11-21T02:00:00Z",
                          "2026-11-22T02:00:00Z"}) {
    clock_->set(at(day));
    auto r = replicator::run_backup(ctx());
    ids.push_back(r.id);
    deleted.push_back(r.deleted);
    Archive a = replicator::open_archive(cfg_);
    EXPECT_LE(a.list().size(), 2u);
    EXPECT_EQ(a.newest_complete(), r.id);  // the newest verified backup is never deleted
  }
  EXPECT_THAT(deleted[0], IsEmpty());
  EXPECT_THAT(deleted[1], IsEmpty());
  EXPECT_THAT(deleted[2], ElementsAre(ids[0]));
  EXPECT_THAT(deleted[3], ElementsAre(ids[1]));
  Archive a = replicator::open_archive(cfg_);
  EXPECT_THAT(a.list(), ElementsAre(ids[2], ids[3]));
  for (const auto& id : a.list()) EXPECT_TRUE(a.complete(id));
  EXPECT_EQ(state_->generation(ids[0])->status, "deleted");
  EXPECT_EQ(state_->generation(ids[1])->status, "deleted");
  EXPECT_EQ(state_->generation(ids[3])->status, "verified");
}

TEST_F(RefreshTest, RetentionNeverDeletesTheNewestVerified) {
  cfg_.archive.keep = 10;
  std::vector<std::string> ids;
  for (const char* day : {"2026-11-19T02:00:00Z", "2026-11-20T02:00:00Z", "2026-11-21T02:00:00Z",
                          "2026-11-22T02:00:00Z"})
    ids.push_back(backup_at(day));
  // The three newest later failed verification (for example a deep trial restore); they stay on disk.
  for (size_t i = 1; i < ids.size(); ++i) {
    auto g = *state_->generation(ids[i]);
    g.status = "failed";
    state_->put_generation(g);
  }
  cfg_.archive.keep = 2;
  auto victims = replicator::apply_retention(ctx());
  EXPECT_THAT(victims, ElementsAre(ids[1]));
  Archive a = replicator::open_archive(cfg_);
  EXPECT_THAT(a.list(), ElementsAre(ids[0], ids[2], ids[3]));
  EXPECT_TRUE(a.complete(ids[0]));
  EXPECT_THAT(a.check(ids[0], true, nullptr), IsEmpty());
}

TEST_F(RefreshTest, RetentionRemovesAKilledBackupsLeftovers) {
  cfg_.archive.keep = 2;
  const std::string first = backup_at("2026-11-20T02:00:00Z");
  Archive a = replicator::open_archive(cfg_);
  const std::string killed = a.create(at("2026-11-21T02:00:00Z"));
  write(a.path(killed) / "snapshot" / "toc.dat", "half written");
  // A leftover newer than the newest complete backup might still be in progress elsewhere: kept.
  EXPECT_THAT(replicator::apply_retention(ctx()), IsEmpty());
  const std::string second = backup_at("2026-11-22T02:00:00Z");
  EXPECT_THAT(a.list(), ElementsAre(first, second));
  EXPECT_FALSE(fs::exists(archive_root() / killed));
}

// [replica] parallel: as many replicas restore at once as it says, never more.
TEST_F(RefreshTest, ReplicasRestoreAtOnceUpToReplicaParallel) {
  for (const char* n : {"hd3", "hd4"}) {
    ServerConfig s;
    s.name = n;
    cfg_.servers[n] = s;
  }
  cfg_.roles.replicas = {"hd1", "hd2", "hd3", "hd4"};
  backup_at("2026-11-22T02:00:00Z");
  for (int parallel : {1, 3}) {
    SCOPED_TRACE(parallel);
    cfg_.replica.parallel = parallel;
    std::mutex mu;
    std::condition_variable cv;
    int inside = 0, most = 0, started = 0;
    world_->on_call = [&](const Call& c) {
      if (c.op != "restore_to_staging") return;
      std::unique_lock lock(mu);
      most = std::max(most, ++inside);
      ++started;
      cv.notify_all();
      // Each restore waits (with a generous deadline) until `parallel` are in flight, or every replica
      // has started: fewer at once than allowed shows in `most`. Then it holds on a moment longer, so
      // that a restore beyond the limit would start while it is in flight, and show in `most` too.
      cv.wait_for(lock, std::chrono::seconds(30), [&] { return inside >= parallel || started == 4; });
      cv.wait_for(lock, std::chrono::milliseconds(300), [&] { return inside > parallel; });
      --inside;
    };
    auto r = replicator::run_refresh(ctx(), "", true);
    world_->on_call = nullptr;
    EXPECT_TRUE(r.ok) << r.summary;
    EXPECT_EQ(most, parallel);
  }
}

// ------------------------------------------------------------------------------------------------
// A site of several databases

class SeveralDatabasesTest : public RefreshTest {
 protected:
  void SetUp() override {
    RefreshTest::SetUp();
    cfg_.site = {"CEN", {kLive, kReports}, kLive};
  }
  std::vector<std::string> args_of(const std::string& server, const std::string& op) {
    std::vector<std::string> out;
    for (const auto& c : world_->calls_of(op))
      if (c.server == server) out.push_back(c.arg);
    return out;
  }
  static inline const std::string kReports = "CM_REP";
};

TEST_F(SeveralDatabasesTest, EveryDatabaseIsRestoredValidatedAndSwappedInAtOnce) {
  const std::string id = backup_at("2026-11-22T02:00:00Z");
  Archive a = replicator::open_archive(cfg_);
  EXPECT_THAT(a.manifest(id).databases, ElementsAre(kLive, kReports));
  world_->clear();
  auto r = replicator::run_refresh(ctx(), "hd1");
  ASSERT_TRUE(r.ok) << r.summary;
  EXPECT_THAT(outcome(r, "hd1")->message, HasSubstr("in all 2 databases"));
  // Roles are server-wide: replayed once.
  EXPECT_EQ(args_of("hd1", "replay_roles").size(), 1u);
  EXPECT_THAT(args_of("hd1", "restore_to_staging"),
              ElementsAre(kStaging + "|" + (a.path(id) / "snapshot").string(),
                          "CM_REP__sk_staging|" + (a.path(id) / "databases/CM_REP/snapshot").string()));
  EXPECT_THAT(args_of("hd1", "replay_grants"), ElementsAre(kStaging, "CM_REP__sk_staging"));
  // [replica] validate is written for the site database; the other gets the refused writes only.
  EXPECT_THAT(args_of("hd1", "validate"), ElementsAre(kStaging + "|1|2", "CM_REP__sk_staging|0|2"));
  EXPECT_THAT(args_of("hd1", "swap_in"), IsEmpty()) << "one database at a time would leave a mix between swaps";
  EXPECT_THAT(args_of("hd1", "swap_in_all"), ElementsAre(kLive + "|" + kStaging + ";CM_REP|CM_REP__sk_staging"));
  EXPECT_EQ(state_->serving_databases("hd1"), (std::map<std::string, std::string>{{kLive, id}, {kReports, id}}));
  EXPECT_EQ(replicator::mixed_generations(cfg_, *state_, "hd1"), "");
  // Run again: every database already serves it.
  r = replicator::run_refresh(ctx(), "hd1");
  EXPECT_EQ(outcome(r, "hd1")->outcome, "current");
}

TEST_F(SeveralDatabasesTest, AFailureInAnyDatabaseSwapsNoneAndDropsEveryStagingCopy) {
  const std::string id = backup_at("2026-11-22T02:00:00Z");
  for (const std::string op : {"restore_to_staging", "replay_grants", "validate"}) {
    SCOPED_TRACE(op);
    world_->clear();
    world_->on_call = [&](const Call& c) {
      if (c.server == "hd1" && c.op == op && c.arg.rfind("CM_REP__sk_staging", 0) == 0)
        throw Error("scripted failure in the second database");
    };
    auto r = replicator::run_refresh(ctx(), "", true);
    world_->on_call = nullptr;
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(outcome(r, "hd1")->outcome, "failed");
    EXPECT_THAT(outcome(r, "hd1")->message, HasSubstr("second database"));
    EXPECT_EQ(outcome(r, "hd2")->outcome, "refreshed") << "the other replica is not held back";
    EXPECT_THAT(args_of("hd1", "swap_in_all"), IsEmpty());
    EXPECT_THAT(args_of("hd1", "drop_database"), AllOf(Contains(kStaging), Contains("CM_REP__sk_staging")));
    EXPECT_THAT(args_of("hd1", "undo_roles"), Not(IsEmpty()));
    expect_live_never_dropped();
  }
  EXPECT_EQ(serving("hd1"), "");
  EXPECT_EQ(serving("hd2"), id);
}

TEST_F(SeveralDatabasesTest, ABackupWithoutEveryDatabaseIsRefusedAndNotCondemned) {
  cfg_.site = {"CEN", {kLive}, kLive};
  const std::string id = backup_at("2026-11-22T02:00:00Z");
  cfg_.site = {"CEN", {kLive, kReports}, kLive};  // a database joined the site after that backup
  world_->clear();
  try {
    replicator::run_refresh(ctx());
    FAIL() << "refresh went on without a copy of " << kReports;
  } catch (const SafetyError& e) {
    EXPECT_THAT(e.what(), HasSubstr("holds no copy of CM_REP"));
    EXPECT_THAT(e.hint(), HasSubstr("sitekeeper backup"));
  }
  EXPECT_THAT(world_->ops("hd1"), IsEmpty());
  EXPECT_THAT(world_->ops("hd2"), IsEmpty());
  EXPECT_TRUE(has_alert("refresh", "holds no copy of CM_REP"));
  EXPECT_EQ(state_->generation(id)->status, "verified") << "nothing is wrong with the backup itself";
}

TEST_F(SeveralDatabasesTest, AReplicaLackingADatabaseIsNotCurrentAndShowsAsAMix) {
  const std::string id = backup_at("2026-11-22T02:00:00Z");
  // Refreshed by a sitekeeper that knew of one database only.
  state_->set_serving({"hd1", id, "2026-11-22T02:00:00Z", "2026-11-22T04:00:00Z"});
  EXPECT_EQ(replicator::mixed_generations(cfg_, *state_, "hd1"),
            "hd1 serves a mix of generations: CM_CEN " + id + ", CM_REP never restored");
  EXPECT_EQ(replicator::replica_generations(cfg_, *state_, "hd1"),
            (std::map<std::string, std::string>{{kLive, id}, {kReports, ""}}));
  auto r = replicator::run_refresh(ctx(), "hd1");
  EXPECT_EQ(outcome(r, "hd1")->outcome, "refreshed") << outcome(r, "hd1")->message;
  EXPECT_EQ(replicator::mixed_generations(cfg_, *state_, "hd1"), "");
  // Two generations recorded for two databases (an engine without one atomic swap, a manual restore).
  state_->set_serving({"hd2", "20261121T020000Z", "2026-11-21T02:00:00Z", "2026-11-21T04:00:00Z"}, {kReports});
  state_->set_serving({"hd2", id, "2026-11-22T02:00:00Z", "2026-11-22T04:00:00Z"}, {kLive});
  EXPECT_EQ(replicator::mixed_generations(cfg_, *state_, "hd2"),
            "hd2 serves a mix of generations: CM_CEN " + id + ", CM_REP 20261121T020000Z");
  EXPECT_EQ(replicator::mixed_generations(cfg_, *state_, "hd3"), "") << "never refreshed is not a mix";
}

TEST_F(SeveralDatabasesTest, AnEngineThatCannotSwapThemTogetherIsRefusedBeforeAnyChange) {
  backup_at("2026-11-22T02:00:00Z");
  world_->swaps_together = false;
  world_->clear();
  auto r = replicator::run_refresh(ctx(), "hd1");
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(outcome(r, "hd1")->message, HasSubstr("cannot swap several databases in at once"));
  for (const std::string op : {"replay_roles", "restore_to_staging", "swap_in", "swap_in_all"})
    EXPECT_THAT(args_of("hd1", op), IsEmpty()) << op;
  EXPECT_EQ(serving("hd1"), "");
}

TEST_F(SeveralDatabasesTest, CleanupDropsTheLeftoversOfEveryDatabase) {
  replicator::cleanup_replica(ctx(), "hd1");
  EXPECT_THAT(args_of("hd1", "drop_database"),
              ElementsAre(kStaging, "CM_CEN__sk_retired", "CM_REP__sk_staging", "CM_REP__sk_retired"));
}

TEST(DatabasePrefix, TheFirstDatabaseKeepsTheOneDatabaseLayoutAndNoNameLeavesItsFolder) {
  const std::vector<std::string> dbs = {"CM_CEN", "ReportServer", "..", "a/b", "Site DB é", "x-y_1"};
  EXPECT_EQ(replicator::database_prefix(dbs, "CM_CEN"), "");
  EXPECT_EQ(replicator::database_prefix(dbs, "ReportServer"), "databases/ReportServer/");
  EXPECT_EQ(replicator::database_prefix(dbs, ".."), "databases/%2E%2E/");
  EXPECT_EQ(replicator::database_prefix(dbs, "a/b"), "databases/a%2Fb/");
  EXPECT_EQ(replicator::database_prefix(dbs, "Site DB é"), "databases/Site%20DB%20%C3%A9/");
  EXPECT_EQ(replicator::database_prefix(dbs, "x-y_1"), "databases/x-y_1/");
  EXPECT_THROW(replicator::database_prefix(dbs, "other"), Error);
}

}  // namespace
