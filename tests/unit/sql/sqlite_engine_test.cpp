// The SQLite engine for real, in a temporary folder whose path holds spaces and non-ASCII: the full
// replica refresh (backup, check, restore to staging, read-only, validate, swap) and the ways it must
// refuse (corrupted snapshot, writable copy, hostile names).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include <sys/stat.h>
#include <unistd.h>

#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include "core/error.hpp"
#include "core/hash.hpp"
#include "sql/sqlite/sqlite_engine.hpp"
#include "support/files.hpp"

namespace fs = std::filesystem;
using sk::sql::SqliteEngine;

namespace {

class SqliteEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = sk::test::test_dir_path("sk sqlite ü");
    fs::remove_all(root_);
    server_.name = "hd 1";
    server_.engine = "sqlite";
    server_.data_dir = root_ / "server dir é";
    archive_ = root_ / "archive 站点";
    fs::create_directories(server_.data_dir);
    fs::create_directories(archive_);
    engine_ = std::make_unique<SqliteEngine>(server_, nullptr);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  std::unique_ptr<soci::session> open(const std::string& db) {
    return std::make_unique<soci::session>(*soci::factory_sqlite3(), "db=\"" + engine_->file_of(db).string() + "\"");
  }

  // The live site database: one AUTOINCREMENT table with `rows` rows.
  void make_live(int rows, const std::string& db = "CM_CEN") {
    auto sp = open(db);
    auto& s = *sp;
    s << "CREATE TABLE IF NOT EXISTS site_systems (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL)";
    soci::transaction tx(s);
    for (int i = 0; i < rows; ++i) s << "INSERT INTO site_systems (name) VALUES ('sys ' || :i)", soci::use(i);
    tx.commit();
  }

  long count(const std::string& db) {
    auto sp = open(db);
    auto& s = *sp;
    long n = 0;
    s << "SELECT count(*) FROM site_systems", soci::into(n);
    return n;
  }

  fs::path snapshot_dir(const std::string& name) {
    fs::path p = archive_ / name;
    fs::create_directories(p);
    return p;
  }

  fs::path root_, archive_;
  sk::ServerConfig server_;
  std::unique_ptr<SqliteEngine> engine_;
};

}  // namespace

TEST_F(SqliteEngineTest, FullRefreshCycle) {
  make_live(5);
  const fs::path snap = snapshot_dir("2024-05-01 0200");
  engine_->backup("CM_CEN", snap, 2, nullptr);
  ASSERT_TRUE(fs::exists(snap / "CM_CEN.sqlite"));
  engine_->check_snapshot(snap);
  engine_->integrity_check("CM_CEN", nullptr);

  // The live copy moves on after the backup; the replica must get the snapshot's 5 rows.
  make_live(3);
  EXPECT_EQ(count("CM_CEN"), 8);

  engine_->restore_to_staging("CM_CEN__sk_staging", snap, 2, nullptr);
  EXPECT_TRUE(engine_->database_exists("CM_CEN__sk_staging"));
  EXPECT_EQ(count("CM_CEN__sk_staging"), 5);

  // validate refuses a writable copy: read-only comes first.
  EXPECT_THROW(engine_->validate("CM_CEN__sk_staging", {}, {}), sk::SafetyError);

  engine_->make_read_only("CM_CEN__sk_staging", {"helpdesk"});
  struct stat st{};
  ASSERT_EQ(::stat(engine_->file_of("CM_CEN__sk_staging").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0444u);

  auto report = engine_->validate("CM_CEN__sk_staging", {"SELECT count(*) FROM site_systems", "SELECT * FROM site_systems"},
                                  {"helpdesk"});
  ASSERT_GE(report.passed.size(), 4u);
  EXPECT_EQ(report.passed[0], "query ok (1 rows): SELECT count(*) FROM site_systems");
  EXPECT_EQ(report.passed[1], "query ok (5 rows): SELECT * FROM site_systems");
  bool refused = false;
  for (const auto& line : report.passed) refused |= line.rfind("write refused: ", 0) == 0;
  EXPECT_TRUE(refused);

  EXPECT_THROW(engine_->validate("CM_CEN__sk_staging", {"SELECT * FROM no_such_table"}, {}), sk::Error);

  engine_->swap_in("CM_CEN", "CM_CEN__sk_staging", std::chrono::milliseconds(5000));
  EXPECT_FALSE(engine_->database_exists("CM_CEN__sk_staging"));
  EXPECT_EQ(count("CM_CEN"), 5);
  ASSERT_EQ(::stat(engine_->file_of("CM_CEN").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0444u);  // the replica serves the read-only copy
}

TEST_F(SqliteEngineTest, CorruptedSnapshotLeavesLiveWhole) {
  make_live(200);
  const fs::path snap = snapshot_dir("bad one");
  engine_->backup("CM_CEN", snap, 1, nullptr);
  // Overwrite everything past the first page with garbage: the header still says "SQLite".
  {
    const fs::path f = snap / "CM_CEN.sqlite";
    const auto size = fs::file_size(f);
    ASSERT_GT(size, 8192u);
    std::fstream io(f, std::ios::in | std::ios::out | std::ios::binary);
    io.seekp(4096);
    std::string junk(size - 4096, '\xA5');
    io.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  const std::string before = sk::sha256_file(engine_->file_of("CM_CEN"));

  EXPECT_THROW(engine_->check_snapshot(snap), sk::Error);
  EXPECT_THROW(engine_->restore_to_staging("CM_CEN__sk_staging", snap, 1, nullptr), sk::Error);
  EXPECT_FALSE(engine_->database_exists("CM_CEN__sk_staging"));
  EXPECT_EQ(sk::sha256_file(engine_->file_of("CM_CEN")), before);
  EXPECT_EQ(count("CM_CEN"), 200);
  // Without a staging copy there is nothing to swap, and live still stands.
  EXPECT_THROW(engine_->swap_in("CM_CEN", "CM_CEN__sk_staging", std::chrono::milliseconds(1)), sk::Error);
  EXPECT_EQ(count("CM_CEN"), 200);
}

TEST_F(SqliteEngineTest, NotADatabaseSnapshotIsRefused) {
  make_live(1);
  const fs::path snap = snapshot_dir("junk");
  std::ofstream(snap / "CM_CEN.sqlite") << "this is not a database file at all, just text that is long enough";
  EXPECT_THROW(engine_->check_snapshot(snap), sk::Error);
  EXPECT_THROW(engine_->restore_to_staging("CM_CEN__sk_staging", snap, 1, nullptr), sk::Error);
  EXPECT_FALSE(engine_->database_exists("CM_CEN__sk_staging"));
  EXPECT_EQ(count("CM_CEN"), 1);
  // A folder with two candidate files is ambiguous.
  std::ofstream(snap / "other.sqlite") << "x";
  EXPECT_THROW(engine_->check_snapshot(snap), sk::Error);
}

TEST_F(SqliteEngineTest, RestoreReplacesLeftoverStaging) {
  make_live(4);
  make_live(9, "CM_CEN__sk_staging");  // a leftover from a crashed refresh
  std::ofstream(engine_->file_of("CM_CEN__sk_staging").string() + "-journal") << "stale journal";
  const fs::path snap = snapshot_dir("s");
  engine_->backup("CM_CEN", snap, 1, nullptr);
  engine_->restore_to_staging("CM_CEN__sk_staging", snap, 1, nullptr);
  EXPECT_EQ(count("CM_CEN__sk_staging"), 4);
  EXPECT_FALSE(fs::exists(engine_->file_of("CM_CEN__sk_staging").string() + "-journal"));
  engine_->drop_database("CM_CEN__sk_staging");
  EXPECT_FALSE(engine_->database_exists("CM_CEN__sk_staging"));
  EXPECT_NO_THROW(engine_->drop_database("CM_CEN__sk_staging"));  // absent is fine
}

TEST_F(SqliteEngineTest, CancelledBackupLeavesNothing) {
  make_live(2000);
  const fs::path snap = snapshot_dir("cancelled");
  sk::CancelToken token;
  token.cancel();
  EXPECT_THROW(engine_->backup("CM_CEN", snap, 1, &token), sk::Cancelled);
  EXPECT_TRUE(fs::is_empty(snap));
  EXPECT_THROW(engine_->restore_to_staging("CM_CEN__sk_staging", snap, 1, &token), sk::Cancelled);
}

TEST_F(SqliteEngineTest, SerialsAndResync) {
  make_live(7);
  {
    auto sp = open("CM_CEN");
    auto& s = *sp;
    s << "CREATE TABLE plain (x INTEGER)";
    s << "CREATE TABLE jobs (id INTEGER PRIMARY KEY AUTOINCREMENT)";
    s << "INSERT INTO jobs DEFAULT VALUES";
  }
  auto serials = engine_->read_serials("CM_CEN");
  ASSERT_EQ(serials.size(), 2u);
  EXPECT_EQ(serials[0].schema, "main");
  EXPECT_EQ(serials[0].name, "jobs");
  EXPECT_EQ(serials[0].value, 1);
  EXPECT_EQ(serials[1].name, "site_systems");
  EXPECT_EQ(serials[1].value, 7);

  engine_->resync_serials("CM_CEN", {{"main", "site_systems", 1007}, {"main", "jobs", 0}});
  serials = engine_->read_serials("CM_CEN");
  EXPECT_EQ(serials[0].value, 1);  // never lowered
  EXPECT_EQ(serials[1].value, 1007);
  make_live(1);
  EXPECT_EQ(engine_->read_serials("CM_CEN")[1].value, 1008);
  EXPECT_THROW(engine_->resync_serials("CM_CEN", {{"main", "plain", 5}}), sk::Error);

  {
    auto sp = open("nothing");
    auto& s = *sp;
    s << "CREATE TABLE t (x)";
  }
  EXPECT_TRUE(engine_->read_serials("nothing").empty());
}

TEST_F(SqliteEngineTest, HostileNamesAreRejected) {
  make_live(1);
  const fs::path snap = snapshot_dir("h");
  const std::vector<std::string> bad = {"", "../CM_CEN", "a/b", "..", std::string("CM\0CEN", 6), "x..y"};
  for (const auto& name : bad) {
    SCOPED_TRACE(name);
    EXPECT_THROW(engine_->file_of(name), sk::Error);
    EXPECT_THROW(engine_->database_exists(name), sk::Error);
    EXPECT_THROW(engine_->backup(name, snap, 1, nullptr), sk::Error);
    EXPECT_THROW(engine_->restore_to_staging(name, snap, 1, nullptr), sk::Error);
    EXPECT_THROW(engine_->drop_database(name), sk::Error);
    EXPECT_THROW(engine_->swap_in(name, "CM_CEN", std::chrono::milliseconds(1)), sk::Error);
    EXPECT_THROW(engine_->swap_in("CM_CEN", name, std::chrono::milliseconds(1)), sk::Error);
    EXPECT_THROW(engine_->make_read_only(name, {}), sk::Error);
    EXPECT_THROW(engine_->read_serials(name), sk::Error);
  }
  // Names with spaces, quotes and non-ASCII are fine: they never leave the data folder.
  make_live(2, "site db 'ü' ]");
  EXPECT_TRUE(engine_->database_exists("site db 'ü' ]"));
  engine_->backup("site db 'ü' ]", snap, 1, nullptr);
  EXPECT_TRUE(fs::exists(snap / "site db 'ü' ].sqlite"));
  EXPECT_EQ(count("CM_CEN"), 1);
  EXPECT_THROW(engine_->database_exists("double\"quote"), sk::Error);
}

TEST_F(SqliteEngineTest, ProbeProfilePermissionsAndLag) {
  auto info = engine_->probe(std::chrono::milliseconds(1000));
  EXPECT_EQ(info.version.rfind("SQLite 3.", 0), 0u) << info.version;
  EXPECT_FALSE(info.in_recovery);
  EXPECT_EQ(engine_->dialect(), "sqlite");

  auto profile = engine_->capture_profile("CM_CEN");
  EXPECT_EQ(profile.at("engine"), "sqlite");
  EXPECT_EQ(info.version, "SQLite " + profile.at("sqlite_version").get<std::string>());
  EXPECT_TRUE(profile.at("compile_options").is_array());
  EXPECT_FALSE(profile.at("compile_options").empty());

  auto script = engine_->capture_permissions("CM_CEN");
  EXPECT_EQ(script.text.rfind("-- ", 0), 0u);
  EXPECT_NE(script.text.find("not applicable"), std::string::npos);
  EXPECT_NO_THROW(engine_->replay_roles(script, {}));
  EXPECT_NO_THROW(engine_->replay_grants(script, "CM_CEN"));

  EXPECT_EQ(engine_->replication_state().state, "stopped");
  make_live(1);
  auto rs = engine_->replication_state();
  EXPECT_EQ(rs.state, "snapshot");
  EXPECT_LT(rs.lag_seconds, 60.0);

  server_.data_dir = root_ / "missing folder";
  SqliteEngine gone(server_, nullptr);
  EXPECT_THROW(gone.probe(std::chrono::milliseconds(100)), sk::Error);
  server_.data_dir.clear();
  EXPECT_THROW(SqliteEngine(server_, nullptr), sk::ConfigError);
}

TEST_F(SqliteEngineTest, WalLiveDatabaseIsSnapshotted) {
  make_live(3);
  {
    auto sp = open("CM_CEN");
    auto& s = *sp;
    std::string mode;
    s << "PRAGMA journal_mode=WAL", soci::into(mode);
    ASSERT_EQ(mode, "wal");
    // Keep a writer's connection open with uncheckpointed frames while the backup runs.
    s << "INSERT INTO site_systems (name) VALUES ('in wal')";
    const fs::path snap = snapshot_dir("wal");
    engine_->backup("CM_CEN", snap, 1, nullptr);
    engine_->restore_to_staging("CM_CEN__sk_staging", snap, 1, nullptr);
  }
  EXPECT_EQ(count("CM_CEN__sk_staging"), 4);
  // WAL database with nobody attached (no -wal/-shm on disk): the read-only open must still work.
  const fs::path idle = snapshot_dir("wal idle");
  engine_->backup("CM_CEN", idle, 1, nullptr);
  engine_->check_snapshot(idle);
  engine_->make_read_only("CM_CEN__sk_staging", {});
  EXPECT_FALSE(fs::exists(engine_->file_of("CM_CEN__sk_staging").string() + "-wal"));
  EXPECT_NO_THROW(engine_->validate("CM_CEN__sk_staging", {"SELECT 1"}, {}));
}
