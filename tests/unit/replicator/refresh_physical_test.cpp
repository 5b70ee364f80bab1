// The physical refresh of a replica (refresh = "physical") against the scripted fake engine, with a
// real archive, a real state store and real data directory folders: the fake engine's copies are
// folders holding a file that says which backup they came from, so that the tests see which copy
// sits in the replica's data_dir after each step, each failure and each crash left-over.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "replicator/refresh_physical.hpp"
#include "support/refresh_fixture.hpp"

namespace {

namespace fs = std::filesystem;
using namespace sk;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using test::at;
using test::Call;
using test::slurp;
using test::World;
using test::write;

const std::string kOld = "the old copy";

class PhysicalRefreshTest : public test::RefreshFixture {
 protected:
  void SetUp() override {
    RefreshFixture::SetUp();
    cfg_.archive.kinds = {"logical", "physical"};
    cfg_.servers["hd1"].refresh = "physical";
    cfg_.servers["hd1"].data_dir = base_ / "hd1 servers" / "data";
    write(live() / "PG_VERSION", "15");
    write(live() / "copy", kOld);
  }
  fs::path live() const { return cfg_.servers.at("hd1").data_dir; }
  fs::path next() const { return fs::path(live().string() + ".sk-new"); }
  fs::path old() const { return fs::path(live().string() + ".sk-old"); }
  std::string copy_in(const fs::path& dir) const { return fs::exists(dir / "copy") ? slurp(dir / "copy") : ""; }
  bool hd1_running() { return !world_->stopped.count("hd1"); }
  // Only the replica's own folders exist beside its data directory.
  void expect_only_the_live_copy() {
    EXPECT_TRUE(fs::exists(live()));
    EXPECT_FALSE(fs::exists(next()));
    EXPECT_FALSE(fs::exists(old()));
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(live().parent_path())) names.push_back(e.path().filename().string());
    EXPECT_THAT(names, ElementsAre("data"));
  }
};

const std::vector<std::string> kPhysicalOrder = {"restore_physical_copy", "start_physical_copy",
                                                 "stop_physical_copy",    "stop_server",
                                                 "start_server"};

TEST_F(PhysicalRefreshTest, RestoresValidatesAndSwapsInByRenamesWithoutAnyReplay) {
  const std::string id = backup_at("2026-11-22T02:00:00Z");
  world_->clear();
  clock_->set(at("2026-11-22T04:00:00Z"));
  auto res = replicator::run_refresh(ctx());
  EXPECT_TRUE(res.ok) << res.summary;
  EXPECT_EQ(outcome(res, "hd1")->outcome, "refreshed") << outcome(res, "hd1")->message;
  EXPECT_THAT(outcome(res, "hd1")->message, HasSubstr("physical copy"));
  EXPECT_EQ(world_->ops("hd1"), kPhysicalOrder);
  // Validated on the new copy itself, while the old one served: the site database and the smoke query.
  EXPECT_THAT(world_->ops("hd1 (new copy)"), ElementsAre("validate_physical_copy"));
  EXPECT_EQ(world_->calls_of("validate_physical_copy").at(0).arg, "1|1");
  EXPECT_EQ(world_->calls_of("restore_physical_copy").at(0).arg, "data.sk-new");
  EXPECT_EQ(copy_in(live()), "restored from " + id);
  expect_only_the_live_copy();
  EXPECT_TRUE(hd1_running());
  auto s = state_->serving("hd1");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->backup_id, id);
  EXPECT_EQ(s->restored_at, "2026-11-22T04:00:00Z");
  // The logical replica beside it takes the logical path, as before.
  EXPECT_EQ(outcome(res, "hd2")->outcome, "refreshed");
  EXPECT_THAT(world_->ops("hd2"), ElementsAre("replay_roles", "restore_to_staging", "replay_grants",
                                              "make_read_only", "validate", "swap_in"));
  EXPECT_EQ(serving("hd2"), id);
}

TEST_F(PhysicalRefreshTest, AFailureAtAnyStepLeavesTheOldCopyServingAndNoNewFolder) {
  backup_at("2026-11-22T02:00:00Z");
  for (const std::string step : {"restore_physical_copy", "start_physical_copy", "validate_physical_copy",
                                 "stop_physical_copy", "stop_server", "start_server"}) {
    SCOPED_TRACE(step);
    world_->clear();
    int seen = 0;
    // start_server fails once: the new copy does not start, the old one must start again.
    world_->on_call = [step, &seen](const Call& c) {
      if (c.op == step && c.server.rfind("hd1", 0) == 0 && seen++ == 0) throw Error(step + " failed");
    };
    auto res = replicator::run_refresh(ctx(), "hd1", /*force=*/true);
    world_->on_call = nullptr;
    EXPECT_FALSE(res.ok);
    EXPECT_EQ(outcome(res, "hd1")->outcome, "failed");
    EXPECT_THAT(outcome(res, "hd1")->message, HasSubstr(step + " failed"));
    EXPECT_EQ(copy_in(live()), kOld);
    expect_only_the_live_copy();
    EXPECT_TRUE(hd1_running());
    EXPECT_EQ(serving("hd1"), "");
    const auto ops = world_->ops("hd1");
    // The old server is stopped only once the new copy is validated and stopped.
    const bool reached_swap = step == "stop_server" || step == "start_server";
    EXPECT_EQ(std::count(ops.begin(), ops.end(), "stop_server") > 0, reached_swap);
  }
}

TEST_F(PhysicalRefreshTest, CurrentUnlessForced) {
  const std::string id = backup_at("2026-11-22T02:00:00Z");
  ASSERT_TRUE(replicator::run_refresh(ctx(), "hd1").ok);
  world_->clear();
  auto again = replicator::run_refresh(ctx(), "hd1");
  EXPECT_EQ(outcome(again, "hd1")->outcome, "current");
  EXPECT_TRUE(world_->calls_of("restore_physical_copy").empty());
  auto forced = replicator::run_refresh(ctx(), "hd1", /*force=*/true);
  EXPECT_EQ(outcome(forced, "hd1")->outcome, "refreshed") << outcome(forced, "hd1")->message;
  EXPECT_EQ(world_->calls_of("restore_physical_copy").size(), 1u);
  EXPECT_EQ(copy_in(live()), "restored from " + id);
  expect_only_the_live_copy();
}

TEST_F(PhysicalRefreshTest, AGenerationWithoutABaseBackupIsRefusedForThatReplicaOnly) {
  cfg_.archive.kinds = {"logical"};
  const std::string id = backup_at("2026-11-22T02:00:00Z");
  world_->clear();
  auto res = replicator::run_refresh(ctx());
  EXPECT_FALSE(res.ok);
  EXPECT_EQ(outcome(res, "hd1")->outcome, "failed");
  EXPECT_THAT(outcome(res, "hd1")->message, HasSubstr("holds no physical base backup"));
  EXPECT_THAT(outcome(res, "hd1")->message, HasSubstr("kinds"));
  EXPECT_TRUE(world_->calls_of("restore_physical_copy").empty());
  EXPECT_TRUE(world_->calls_of("stop_server").empty());
  EXPECT_EQ(copy_in(live()), kOld);
  EXPECT_EQ(outcome(res, "hd2")->outcome, "refreshed");
  EXPECT_EQ(serving("hd2"), id);
  EXPECT_TRUE(has_alert("refresh", "replica hd1: backup " + id + " holds no physical base backup"));
}

TEST_F(PhysicalRefreshTest, ADamagedBaseBackupIsNeverSwappedIn) {
  const std::string id = backup_at("2026-11-22T02:00:00Z");
  write(cfg_.archive.path / id / replicator::kPhysicalDir / "base.tar", "tar of the data directorz");
  world_->clear();
  EXPECT_THROW(replicator::run_refresh(ctx(), "hd1"), Error);
  EXPECT_TRUE(world_->calls_of("stop_server").empty());
  EXPECT_EQ(copy_in(live()), kOld);
  expect_only_the_live_copy();
  EXPECT_EQ(state_->generation(id)->status, "failed");
}

// The left-overs of a refresh killed at each point of the swap, and what the next run makes of them:
// whatever it finds, the replica ends with one complete copy in data_dir, started.
struct Leftover {
  const char* killed;
  bool live, next, old;    // which folders the kill left
  const char* live_copy;  // what data_dir holds after recovery
};

class PhysicalLeftovers : public PhysicalRefreshTest, public ::testing::WithParamInterface<Leftover> {};

TEST_P(PhysicalLeftovers, TheNextRunServesACompleteCopyAndRemovesTheRest) {
  const auto& l = GetParam();
  fs::remove_all(live());
  if (l.live) write(live() / "PG_VERSION", "15"), write(live() / "copy", l.old && !l.next ? "new" : kOld);
  if (l.next) write(next() / "PG_VERSION", "15"), write(next() / "copy", "new");
  if (l.old) write(old() / "PG_VERSION", "15"), write(old() / "copy", kOld);
  world_->stopped.insert("hd1");  // the kill came after the old server was stopped
  const auto done = replicator::recover_physical_leftovers(*ctx().engines(cfg_.servers.at("hd1")), cfg_.servers.at("hd1"));
  EXPECT_THAT(done, HasSubstr("interrupted"));
  EXPECT_EQ(copy_in(live()), l.live_copy);
  expect_only_the_live_copy();
  EXPECT_TRUE(hd1_running());
  if (l.next) {
    EXPECT_EQ(world_->ops("hd1").front(), "stop_physical_copy");  // a new copy left running is stopped first
  }
  // And the refresh after it goes through.
  const std::string id = backup_at("2026-11-22T02:00:00Z");
  auto res = replicator::run_refresh(ctx(), "hd1");
  EXPECT_EQ(outcome(res, "hd1")->outcome, "refreshed") << outcome(res, "hd1")->message;
  EXPECT_EQ(copy_in(live()), "restored from " + id);
  expect_only_the_live_copy();
}

INSTANTIATE_TEST_SUITE_P(
    KilledAt, PhysicalLeftovers,
    ::testing::Values(Leftover{"while restoring or validating", true, true, false, "the old copy"},
                      Leftover{"after stopping the old copy", true, true, false, "the old copy"},
                      Leftover{"between the two renames", false, true, true, "the old copy"},
                      Leftover{"after the renames, before the start", true, false, true, "new"}),
    [](const auto& info) { return std::string("case") + std::to_string(info.index); });

TEST_F(PhysicalRefreshTest, NothingLeftOverMeansNothingDone) {
  world_->clear();
  EXPECT_EQ(replicator::recover_physical_leftovers(*ctx().engines(cfg_.servers.at("hd1")), cfg_.servers.at("hd1")), "");
  EXPECT_TRUE(world_->ops("hd1").empty());
  EXPECT_EQ(copy_in(live()), kOld);
}

TEST_F(PhysicalRefreshTest, CleanupOfAPhysicalReplicaRecoversItsFoldersAndDropsNoDatabase) {
  write(next() / "copy", "half");
  replicator::cleanup_replica(ctx(), "hd1");
  EXPECT_TRUE(world_->calls_of("drop_database").empty());
  expect_only_the_live_copy();
  EXPECT_EQ(copy_in(live()), kOld);
}

}  // namespace
