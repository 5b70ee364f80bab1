// PostgreSQL's roll-forward planning on files alone (no server): which WAL files a base backup needs
// from the folder pg_receivewal writes, with .partial and timeline history files, and the exact
// recovery settings the plan shows (paths with spaces, quotes and percent signs).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "sql/postgres/pg_engine.hpp"
#include "support/fake_runner.hpp"
#include "support/files.hpp"

namespace {

namespace fs = std::filesystem;
using namespace sk;
using ::testing::HasSubstr;

class PgRecoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::test_dir_path("sk pg recovery 'é' %");
    fs::remove_all(dir_);
    backup_ = dir_ / "gen" / "physical";
    wal_ = dir_ / "archive" / "wal";
    fs::create_directories(backup_);
    fs::create_directories(wal_);
    manifest("0/2000028", "0/2000100", 1);
    ServerConfig s;
    s.name = "cm3";
    s.port = 5433;
    s.data_dir = dir_ / "data";
    engine_ = std::make_unique<sql::PgEngine>(s, std::make_shared<test::FakeRunner>());
  }
  void TearDown() override { fs::remove_all(dir_); }

  void manifest(const std::string& start, const std::string& end, int tli) {
    std::ofstream(backup_ / "backup_manifest")
        << "{\"PostgreSQL-Backup-Manifest-Version\": 1, \"Files\": [], \"WAL-Ranges\": [{\"Timeline\": " << tli
        << ", \"Start-LSN\": \"" << start << "\", \"End-LSN\": \"" << end << "\"}]}";
  }
  // A WAL file of the real size (16 MB segments, as pg_receivewal pads a .partial too), sparse.
  void segment(const std::string& name) {
    std::ofstream f(wal_ / name);
    f.seekp((16 << 20) - 1);
    f.put('\0');
  }
  sql::Engine::WalCoverage coverage(const std::string& until = "") { return engine_->wal_coverage(backup_, wal_, until); }

  fs::path dir_;
  fs::path backup_, wal_;
  std::unique_ptr<sql::PgEngine> engine_;
};

TEST_F(PgRecoveryTest, EverySegmentFromTheStartAndThePartialOneAtTheEnd) {
  segment("000000010000000000000001");  // before the backup: not needed
  segment("000000010000000000000002");
  segment("000000010000000000000003");
  segment("000000010000000000000004.partial");
  const auto c = coverage();
  EXPECT_EQ(c.missing, "");
  EXPECT_EQ(c.start_segment, "000000010000000000000002");
  EXPECT_EQ(c.end_lsn, "0/2000100");
  EXPECT_EQ(c.newest, "000000010000000000000004.partial");
  EXPECT_FALSE(c.newest_at.empty());
}

TEST_F(PgRecoveryTest, AGapOrAMissingStartIsNamed) {
  segment("000000010000000000000002");
  segment("000000010000000000000004.partial");
  EXPECT_THAT(coverage().missing, HasSubstr("WAL file 000000010000000000000003 is missing from"));
  fs::remove(wal_ / "000000010000000000000002");
  EXPECT_THAT(coverage().missing, HasSubstr("does not hold 000000010000000000000002, where the base backup starts"));
  fs::remove_all(wal_);
  EXPECT_THAT(coverage().missing, HasSubstr("does not hold 000000010000000000000002"));
}

TEST_F(PgRecoveryTest, AnLsnTargetNeedsItsSegmentAndMayNotComeBeforeTheConsistentPoint) {
  segment("000000010000000000000002");
  segment("000000010000000000000003");
  EXPECT_EQ(coverage("0/3000060").missing, "");
  EXPECT_THAT(coverage("0/4000000").missing, HasSubstr("WAL file 000000010000000000000004 is missing"));
  EXPECT_THAT(coverage("0/2000050").missing, HasSubstr("position 0/2000050 is before the base backup's consistent point 0/2000100"));
}

// A failover after the backup: timeline 2 begins in segment 3; from there on its files are read.
TEST_F(PgRecoveryTest, TimelinesAreFollowedThroughTheirHistoryFiles) {
  segment("000000010000000000000002");
  segment("000000010000000000000003.partial");  // the old timeline's last, superseded
  segment("000000020000000000000003");
  segment("000000020000000000000004.partial");
  std::ofstream(wal_ / "00000002.history") << "1\t0/3000A00\tno recovery target specified\n";
  auto c = coverage();
  EXPECT_EQ(c.missing, "");
  EXPECT_EQ(c.newest, "000000020000000000000004.partial");
  fs::remove(wal_ / "000000020000000000000003");
  EXPECT_THAT(coverage().missing, HasSubstr("WAL file 000000020000000000000003 is missing"));
}

TEST_F(PgRecoveryTest, ThePlanQuotesThePathsForTheShellAndForPostgres) {
  const auto lines = engine_->describe_recovery(backup_, wal_, {"2026-11-22T02:40:00.5Z", ""});
  std::string all;
  for (const auto& l : lines) all += l + "\n";
  // In the conf literal '' is one quote; in sh '\'' is one quote; %% is one percent sign.
  EXPECT_THAT(all, HasSubstr("restore_command = 'cp ''"));
  EXPECT_THAT(all, HasSubstr("sk pg recovery ''\\''''é''\\'''' %%"));
  EXPECT_THAT(all, HasSubstr("/''%f \"%p\" 2>/dev/null || cp ''"));
  EXPECT_THAT(all, HasSubstr("/''%f.partial \"%p\"'\n"));
  EXPECT_THAT(all, HasSubstr("recovery_target_timeline = 'latest'"));
  EXPECT_THAT(all, HasSubstr("recovery_target_time = '2026-11-22 02:40:00.5+00'"));
  EXPECT_THAT(all, HasSubstr("recovery_target_inclusive = 'off'"));
  EXPECT_THAT(all, HasSubstr("recovery_target_action = 'promote'"));
  EXPECT_THAT(all, HasSubstr("ALTER SYSTEM RESET \"restore_command\""));
  const auto to_end = engine_->describe_recovery(backup_, wal_, {});
  for (const auto& l : to_end) EXPECT_THAT(l, ::testing::Not(HasSubstr("recovery_target_action = "))) << "to the end: no target";
}

}  // namespace
