// Which archived WAL no kept base backup needs (PgEngine::obsolete_wal): pure file work, no server.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.hpp"
#include "sql/engine.hpp"
#include "support/fake_runner.hpp"
#include "support/files.hpp"

namespace sk::sql {
namespace {

namespace fs = std::filesystem;

class ObsoleteWal : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = test::test_dir_path("sk obsolete wal é");
    fs::remove_all(base_);
    fs::create_directories(wal_ = base_ / "wal");
    ServerConfig s;
    s.name = "cm1";
    engine_ = make_engine(s, std::make_shared<test::FakeRunner>());
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(base_, ec);
  }
  void segment(const std::string& name, std::size_t size = 1 << 16) { test::write(wal_ / name, std::string(size, 'w')); }
  fs::path backup(const std::string& start_lsn) {
    const fs::path b = base_ / "physical";
    test::write(b / "backup_manifest", R"({"PostgreSQL-Backup-Manifest-Version": 1, "Files": [],
        "WAL-Ranges": [{"Timeline": 2, "Start-LSN": ")" + start_lsn + R"(", "End-LSN": "0/5000100"}]})");
    return b;
  }
  std::vector<std::string> names(const std::vector<fs::path>& files) {
    std::vector<std::string> out;
    for (const auto& f : files) {
      EXPECT_EQ(f.parent_path(), wal_);
      out.push_back(f.filename().string());
    }
    return out;
  }

  fs::path base_, wal_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(ObsoleteWal, SegmentsBeforeTheBaseBackupGoTheRestAndHistoryFilesStay) {
  // 64 KiB segments (initdb --wal-segsize is in MB, but the rule is the same): 0/50000 is segment 5.
  for (const char* n : {"000000010000000000000003", "000000010000000000000004", "000000020000000000000004",
                        "000000020000000000000005", "000000020000000000000006"})
    segment(n);
  segment("000000020000000000000007.partial");
  segment("00000002.history", 40);
  segment("000000010000000000000001.partial");  // an old timeline's last partial segment
  segment("README", 10);
  segment("0000000100000000000000ZZ");
  EXPECT_EQ(names(engine_->obsolete_wal(wal_, backup("0/50028"))),
            (std::vector<std::string>{"000000010000000000000001.partial", "000000010000000000000003",
                                      "000000010000000000000004", "000000020000000000000004"}));
}

TEST_F(ObsoleteWal, TheHighHalfOfThePositionCounts) {
  // 16 MiB segments: 1/2000028 is segment 0x102; 0/FF000000 is segment 0xFF, before it.
  segment("0000000100000000000000FF", 16 << 20);
  segment("000000010000000100000001", 16 << 20);
  segment("000000010000000100000002.partial", 16 << 20);
  EXPECT_EQ(names(engine_->obsolete_wal(wal_, backup("1/2000028"))),
            (std::vector<std::string>{"0000000100000000000000FF", "000000010000000100000001"}));
}

TEST_F(ObsoleteWal, AnUnreadableBaseBackupRemovesNothing) {
  segment("000000010000000000000001");
  test::write(base_ / "physical" / "backup_manifest", "{\"WAL-Ranges\": []}");
  EXPECT_THROW(engine_->obsolete_wal(wal_, base_ / "physical"), Error);
  test::write(base_ / "physical" / "backup_manifest", "not json");
  EXPECT_THROW(engine_->obsolete_wal(wal_, base_ / "physical"), Error);
  EXPECT_THROW(engine_->obsolete_wal(wal_, backup("0/zz")), Error);
  EXPECT_TRUE(fs::exists(wal_ / "000000010000000000000001"));
}

}  // namespace
}  // namespace sk::sql
