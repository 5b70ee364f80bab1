// backup, capture and verify of a site of several databases ([site] databases), against the scripted
// fake engine (support/scripted_engine.hpp), a fake process runner, a fixed clock and a real archive.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "core/error.hpp"
#include "replicator/archive.hpp"
#include "replicator/backup.hpp"
#include "replicator/verify.hpp"
#include "support/fake_clock.hpp"
#include "support/fake_runner.hpp"
#include "support/files.hpp"
#include "support/scripted_engine.hpp"

namespace {

namespace fs = std::filesystem;
using namespace sk;
using replicator::JobContext;
using ::testing::HasSubstr;

class BackupDatabasesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = sk::test::test_dir_path("sk backup dbs é");
    fs::remove_all(base_);
    fs::create_directories(base_);
    base_ = fs::canonical(base_);
    cfg_.file = base_ / "sitekeeper.toml";
    // The second name needs percent-encoding in the archive (database_prefix).
    cfg_.site = {"CEN", {"CM_CEN", "CM REP"}, "CM_CEN"};
    cfg_.state_path = base_ / "state" / "sitekeeper.db";
    cfg_.archive.path = base_ / "archive";
    cfg_.archive.keep = 7;
    cfg_.archive.key_file = base_ / "state" / "archive.keys";
    for (const char* n : {"cm1", "trial"}) {
      ServerConfig s;
      s.name = n;
      cfg_.servers[n] = s;
    }
    cfg_.roles.active = "cm1";
    cfg_.roles.trial = "trial";
    state_ = std::make_unique<StateStore>(cfg_.state_path);
    world_ = std::make_shared<test::World>();
    runner_ = std::make_shared<test::FakeRunner>();
    clock_ = std::make_shared<test::FakeClock>(test::at("2026-11-22T02:00:00Z"));
  }
  void TearDown() override {
    state_.reset();
    std::error_code ec;
    fs::remove_all(base_, ec);
  }
  JobContext ctx(const CancelToken* cancel = nullptr) {
    auto world = world_;
    sql::EngineFactory factory = [world](const ServerConfig& s) -> std::unique_ptr<sql::Engine> {
      return std::make_unique<test::FakeEngine>(s.name, world);
    };
    return JobContext{cfg_, *state_, factory, runner_, clock_, cancel};
  }
  std::vector<std::string> args_of(const std::string& op) {
    std::vector<std::string> out;
    for (const auto& c : world_->calls_of(op)) out.push_back(c.arg);
    return out;
  }

  fs::path base_;
  Config cfg_;
  std::unique_ptr<StateStore> state_;
  std::shared_ptr<test::World> world_;
  std::shared_ptr<test::FakeRunner> runner_;
  std::shared_ptr<test::FakeClock> clock_;
};

TEST_F(BackupDatabasesTest, EveryDatabaseIsDumpedAndCapturedInItsOwnPlaceUnderTheManifest) {
  const auto r = replicator::run_backup(ctx());
  EXPECT_EQ(r.summary.substr(0, r.summary.find(" verified")), "backup " + r.id + " of CM_CEN, CM REP");
  EXPECT_EQ(args_of("backup"), (std::vector<std::string>{"CM_CEN", "CM REP"}));
  EXPECT_EQ(args_of("capture_permissions"), (std::vector<std::string>{"CM_CEN", "CM REP"}));
  EXPECT_EQ(args_of("capture_profile"), (std::vector<std::string>{"CM_CEN", "CM REP"}));
  EXPECT_EQ(world_->calls_of("check_snapshot").size(), 2u) << "each snapshot read back after the seal";

  auto archive = replicator::open_archive(cfg_);
  const auto m = archive.manifest(r.id);
  EXPECT_EQ(m.databases, (std::vector<std::string>{"CM_CEN", "CM REP"}));
  EXPECT_EQ(m.database, "CM_CEN");
  std::set<std::string> files;
  for (const auto& f : m.files) files.insert(f.path);
  for (const char* f : {"snapshot/toc.dat", "permissions.sql", "profile.json", "databases/CM%20REP/snapshot/toc.dat",
                        "databases/CM%20REP/permissions.sql", "databases/CM%20REP/profile.json"})
    EXPECT_TRUE(files.count(f)) << f << " is not under the manifest";
  // Each database's own capture: its profile names it.
  EXPECT_THAT(test::slurp(archive.path(r.id) / "databases" / "CM%20REP" / "profile.json"), HasSubstr("\"CM REP\""));
  EXPECT_THAT(test::slurp(archive.path(r.id) / "profile.json"), HasSubstr("\"CM_CEN\""));

  const auto v = replicator::run_verify(ctx(), r.id, true);
  EXPECT_TRUE(v.ok) << v.summary;
  // The deep check restores each database into its own trial copy, and checks each.
  std::vector<std::string> restored;
  for (const auto& a : args_of("restore_to_staging")) restored.push_back(a.substr(0, a.find('|')));
  EXPECT_EQ(restored, (std::vector<std::string>{"CM_CEN__sk_verify", "CM REP__sk_verify"}));
  EXPECT_EQ(args_of("integrity_check"), (std::vector<std::string>{"CM_CEN__sk_verify", "CM REP__sk_verify"}));
  EXPECT_EQ(args_of("drop_database"), (std::vector<std::string>{"CM_CEN__sk_verify", "CM REP__sk_verify"}));
}

TEST_F(BackupDatabasesTest, ATamperedFileOfTheSecondDatabaseFailsVerification) {
  const auto r = replicator::run_backup(ctx());
  const fs::path file = replicator::open_archive(cfg_).path(r.id) / "databases" / "CM%20REP" / "snapshot" / "3001.dat";
  auto text = test::slurp(file);
  text[10] = text[10] == 'x' ? 'y' : 'x';  // same size, other bytes
  test::write(file, text);
  const auto v = replicator::run_verify(ctx(), r.id, false);
  EXPECT_FALSE(v.ok);
  ASSERT_FALSE(v.problems.empty());
  EXPECT_THAT(v.problems.front(), HasSubstr("databases/CM%20REP/snapshot/3001.dat"));
  EXPECT_EQ(state_->generation(r.id)->status, "failed");
}

TEST_F(BackupDatabasesTest, AGenerationThatLacksAConfiguredDatabaseIsAProblemNamingIt) {
  cfg_.site.databases = {"CM_CEN"};
  const auto r = replicator::run_backup(ctx());  // taken before the second database was listed
  cfg_.site.databases = {"CM_CEN", "CM REP"};
  const auto v = replicator::run_verify(ctx(), r.id, false);
  EXPECT_FALSE(v.ok);
  ASSERT_EQ(v.problems.size(), 1u);
  EXPECT_THAT(v.problems.front(), HasSubstr("database CM REP: not in this generation, which holds CM_CEN"));
  // The generation itself is sound: it keeps its status, and its own database was still checked.
  EXPECT_EQ(state_->generation(r.id)->status, "verified");
  EXPECT_THAT(v.summary, HasSubstr("is intact but not enough for the site"));
  EXPECT_EQ(world_->calls_of("check_snapshot").size(), 2u) << "once by the backup, once by verify";
}

TEST_F(BackupDatabasesTest, ACaptureHoldsEveryDatabase) {
  const auto r = replicator::run_capture(ctx());
  EXPECT_THAT(r.summary, HasSubstr("(CM_CEN, CM REP)"));
  auto archive = replicator::open_archive(cfg_, true);
  EXPECT_EQ(archive.manifest(r.id).databases, (std::vector<std::string>{"CM_CEN", "CM REP"}));
  EXPECT_TRUE(archive.check(r.id, true, nullptr).empty());
  EXPECT_TRUE(fs::exists(archive.path(r.id) / "databases" / "CM%20REP" / "permissions.sql"));
  EXPECT_TRUE(fs::exists(archive.path(r.id) / "databases" / "CM%20REP" / "profile.json"));
}

TEST_F(BackupDatabasesTest, AFailureInTheSecondDatabaseDiscardsTheWholeGeneration) {
  world_->on_call = [](const test::Call& c) {
    if (c.op == "backup" && c.arg == "CM REP") throw Error("pg_dump: connection lost");
  };
  EXPECT_THROW(replicator::run_backup(ctx()), Error);
  EXPECT_TRUE(replicator::open_archive(cfg_).list().empty()) << "a half-written generation was left behind";
}

TEST_F(BackupDatabasesTest, ATrialRestoreOfTheSecondDatabaseThatFailsNamesItAndDropsEveryTrialCopy) {
  const auto r = replicator::run_backup(ctx());
  world_->on_call = [](const test::Call& c) {
    if (c.op == "restore_to_staging" && c.arg.rfind("CM REP__sk_verify|", 0) == 0) throw Error("pg_restore: corrupt");
  };
  const auto v = replicator::run_verify(ctx(), r.id, true);
  EXPECT_FALSE(v.ok);
  ASSERT_FALSE(v.problems.empty());
  EXPECT_THAT(v.problems.front(), HasSubstr("trial restore on trial: CM REP: pg_restore: corrupt"));
  EXPECT_EQ(args_of("drop_database"), (std::vector<std::string>{"CM_CEN__sk_verify", "CM REP__sk_verify"}));
}

TEST_F(BackupDatabasesTest, ACancellationWhileTheSecondDatabaseIsDumpedDiscardsTheWholeGeneration) {
  CancelToken cancel;
  world_->on_call = [&cancel](const test::Call& c) {
    if (c.op == "backup" && c.arg == "CM REP") cancel.cancel();  // the stop request arrives mid-dump
  };
  EXPECT_THROW(replicator::run_backup(ctx(&cancel)), Cancelled);
  EXPECT_TRUE(replicator::open_archive(cfg_).list().empty()) << "a cancelled backup left its generation behind";
  EXPECT_TRUE(world_->calls_of("capture_permissions").empty()) << "the capture ran after the stop request";
}

// [archive] kinds = ["logical", "physical"]: the base backup beside the dumps, under the manifest, and
// checked by the engine's own tool after the seal and by every verify.
TEST_F(BackupDatabasesTest, APhysicalBaseBackupIsTakenUnderTheManifestAndVerified) {
  cfg_.archive.kinds = {"logical", "physical"};
  const auto r = replicator::run_backup(ctx());
  EXPECT_THAT(r.summary, HasSubstr("(logical and physical) verified"));
  auto archive = replicator::open_archive(cfg_);
  std::set<std::string> files;
  for (const auto& f : archive.manifest(r.id).files) files.insert(f.path);
  for (const char* f : {"physical/base.tar", "physical/pg_wal.tar", "physical/backup_manifest"})
    EXPECT_TRUE(files.count(f)) << f << " is not under the manifest";
  const std::string scratch = (cfg_.state_path.parent_path() / (".unpacked-" + r.id)).string();
  EXPECT_EQ(args_of("verify_base_backup"),
            (std::vector<std::string>{(archive.path(r.id) / "physical").string() + "|" + scratch}))
      << "unpacked beside the state store, not in the archive";
  world_->clear();
  const auto v = replicator::run_verify(ctx(), r.id, false);
  EXPECT_TRUE(v.ok) << v.summary;
  EXPECT_TRUE(v.physical);
  EXPECT_THAT(v.summary, HasSubstr("physical base backup verified"));
  EXPECT_EQ(args_of("verify_base_backup").size(), 1u);
}

TEST_F(BackupDatabasesTest, ABaseBackupThatFailsItsCheckFailsTheBackupAndVerify) {
  cfg_.archive.kinds = {"logical", "physical"};
  world_->on_call = [](const test::Call& c) {
    if (c.op == "verify_base_backup") throw Error("pg_verifybackup: error: \"base/1/1259\" has size 0 on disk but size 8192 in the manifest");
  };
  EXPECT_THROW(replicator::run_backup(ctx()), Error);
  auto archive = replicator::open_archive(cfg_);
  EXPECT_FALSE(archive.newest_complete()) << "a backup whose base backup fails its check is discarded";
  world_->on_call = nullptr;
  const auto r = replicator::run_backup(ctx());
  world_->on_call = [](const test::Call& c) {
    if (c.op == "verify_base_backup") throw Error("pg_verifybackup: error: manifest checksum mismatch");
  };
  const auto v = replicator::run_verify(ctx(), r.id, false);
  EXPECT_FALSE(v.ok);
  ASSERT_FALSE(v.problems.empty());
  EXPECT_THAT(v.problems.front(), HasSubstr("physical: pg_verifybackup: error: manifest checksum mismatch"));
  EXPECT_EQ(state_->generation(r.id)->status, "failed");
}

TEST_F(BackupDatabasesTest, WithoutPhysicalNoBaseBackupIsTaken) {
  const auto r = replicator::run_backup(ctx());
  EXPECT_TRUE(world_->calls_of("base_backup").empty());
  EXPECT_FALSE(fs::exists(replicator::open_archive(cfg_).path(r.id) / "physical"));
  EXPECT_FALSE(replicator::run_verify(ctx(), r.id, false).physical);
}

}  // namespace

// Retention of the WAL stream's folder: what the engine calls obsolete goes, but only plain files
// directly in <archive>/wal; nothing outside the archive, no symlink's target.
class ObsoleteListingEngine : public test::FakeEngine {
 public:
  ObsoleteListingEngine(std::string server, std::shared_ptr<test::World> w, std::vector<fs::path> listed)
      : FakeEngine(std::move(server), std::move(w)), listed_(std::move(listed)) {}
  std::vector<fs::path> obsolete_wal(const fs::path& dir, const fs::path& oldest) override {
    EXPECT_EQ(dir.filename(), "wal");
    EXPECT_EQ(oldest.filename(), "physical");
    seen_oldest = oldest;
    return listed_;
  }
  static inline fs::path seen_oldest;

 private:
  std::vector<fs::path> listed_;
};

TEST_F(BackupDatabasesTest, RetentionRemovesOnlyWalFilesInTheWalFolderThatTheOldestBaseBackupDoesNotNeed) {
  cfg_.archive.kinds = {"logical", "physical"};
  cfg_.archive.keep = 2;
  const fs::path wal = cfg_.archive.path / "wal";
  const fs::path outside = base_ / "precious";
  test::write(outside, "not the archive's");
  for (const char* n : {"000000010000000000000001", "000000010000000000000002", "000000010000000000000009"})
    test::write(wal / n, "wal");
  fs::create_symlink(outside, wal / "000000010000000000000003");
  std::vector<fs::path> listed = {wal / "000000010000000000000001", wal / "000000010000000000000002",
                                  wal / "000000010000000000000003", outside};
  auto world = world_;
  sql::EngineFactory factory = [world, listed](const ServerConfig& s) -> std::unique_ptr<sql::Engine> {
    return std::make_unique<ObsoleteListingEngine>(s.name, world, listed);
  };
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    clock_->advance(std::chrono::hours(24));
    ids.push_back(replicator::run_backup(JobContext{cfg_, *state_, factory, runner_, clock_, nullptr}).id);
  }
  // Three backups kept two: the oldest kept one bounds the WAL.
  EXPECT_EQ(ObsoleteListingEngine::seen_oldest, replicator::open_archive(cfg_).path(ids[1]) / "physical");
  EXPECT_FALSE(fs::exists(wal / "000000010000000000000001"));
  EXPECT_FALSE(fs::exists(wal / "000000010000000000000002"));
  EXPECT_TRUE(fs::is_symlink(wal / "000000010000000000000003")) << "a symlink in the WAL folder is never followed";
  EXPECT_TRUE(fs::exists(wal / "000000010000000000000009"));
  EXPECT_EQ(test::slurp(outside), "not the archive's");
}

TEST_F(BackupDatabasesTest, WithoutABaseBackupKeptRetentionKeepsEveryWalFile) {
  const fs::path wal = cfg_.archive.path / "wal";
  test::write(wal / "000000010000000000000001", "wal");
  EXPECT_EQ(replicator::trim_wal(ctx()), 0u);
  replicator::run_backup(ctx());
  EXPECT_TRUE(fs::exists(wal / "000000010000000000000001"));
}
