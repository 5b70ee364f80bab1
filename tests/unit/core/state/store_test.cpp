#include "core/state/store.hpp"

#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <vector>
#include <atomic>
#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include "core/error.hpp"

namespace sk {
namespace {

namespace fs = std::filesystem;

// A temporary folder whose name holds a space and a non-ASCII letter.
class CoreState : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "sk state é XXXXXX").string();
    ASSERT_TRUE(mkdtemp(tmpl.data()));
    dir_ = tmpl;
    file_ = dir_ / "nested folder" / "sitekeeper.db";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Opens the file directly, to look at or tamper with what the store wrote.
  soci::session raw() { return soci::session(soci::sqlite3, "db=\"" + file_.string() + "\""); }

  std::string open_error() {
    try {
      StateStore s(file_);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }

  fs::path dir_, file_;
};

TEST_F(CoreState, MigratesAnEmptyFile) {
  StateStore s(file_);
  EXPECT_TRUE(fs::exists(file_));
  EXPECT_EQ(s.schema_version(), StateStore::kSchemaVersion);
  soci::session db = raw();
  std::string mode;
  db << "PRAGMA journal_mode", soci::into(mode);
  EXPECT_EQ(mode, "wal");
  int tables = 0;
  db << "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN"
        " ('job_runs', 'generations', 'replica_serving', 'alerts', 'kv')",
      soci::into(tables);
  EXPECT_EQ(tables, 5);
}

TEST_F(CoreState, MigratesAZeroByteFile) {
  fs::create_directories(file_.parent_path());
  std::ofstream(file_).close();
  StateStore s(file_);
  EXPECT_EQ(s.schema_version(), StateStore::kSchemaVersion);
}

TEST_F(CoreState, ReopenKeepsData) {
  std::int64_t id;
  {
    StateStore s(file_);
    id = s.begin_run("backup", "cm1");
    s.end_run(id, "ok", "done");
    s.put("epoch", "3");
  }
  StateStore s(file_);
  EXPECT_EQ(s.schema_version(), StateStore::kSchemaVersion);
  EXPECT_EQ(s.get("epoch"), "3");
  auto last = s.last_run("backup");
  ASSERT_TRUE(last);
  EXPECT_EQ(last->id, id);
  EXPECT_EQ(last->outcome, "ok");
}

TEST_F(CoreState, NewerSchemaIsRefused) {
  { StateStore s(file_); }
  {
    soci::session db = raw();
    db << "PRAGMA user_version = 99";
  }
  std::string err = open_error();
  EXPECT_NE(err.find("schema version 99"), std::string::npos) << err;
  EXPECT_NE(err.find("newer"), std::string::npos) << err;
  // Refusing changes nothing.
  soci::session db = raw();
  int v = 0;
  db << "PRAGMA user_version", soci::into(v);
  EXPECT_EQ(v, 99);
}

TEST_F(CoreState, NonSqliteFileIsRefused) {
  fs::create_directories(file_.parent_path());
  const std::string junk(4096, 'x');
  std::ofstream(file_, std::ios::binary) << junk;
  std::string err = open_error();
  EXPECT_NE(err.find("not an SQLite database"), std::string::npos) << err;
  std::ifstream in(file_, std::ios::binary);
  std::string after((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(after, junk);
}

TEST_F(CoreState, ForeignSqliteDatabaseIsRefused) {
  fs::create_directories(file_.parent_path());
  {
    soci::session db = raw();
    db << "CREATE TABLE customers (id INTEGER)";
  }
  std::string err = open_error();
  EXPECT_NE(err.find("not a sitekeeper state store"), std::string::npos) << err;
}

TEST_F(CoreState, PathWithAQuoteIsRefused) {
  file_ = dir_ / "a\"b" / "sitekeeper.db";
  EXPECT_NE(open_error().find("double quote"), std::string::npos);
}

TEST_F(CoreState, VersionedFileWithoutOurIdIsRefused) {
  fs::create_directories(file_.parent_path());
  {
    soci::session db = raw();
    db << "PRAGMA user_version = 1";
  }
  EXPECT_NE(open_error().find("not a sitekeeper state store"), std::string::npos);
}

TEST_F(CoreState, JobRunsRoundTrip) {
  StateStore s(file_);
  auto a = s.begin_run("backup", "cm1");
  auto b = s.begin_run("refresh", "hd 1");
  auto c = s.begin_run("backup", "cm1");
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  s.end_run(a, "ok", "");
  s.end_run(b, "failed", "pg_restore: error: it's broken; DROP TABLE job_runs; --");

  auto all = s.runs(10);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].id, c);  // newest first
  EXPECT_EQ(all[0].outcome, "running");
  EXPECT_TRUE(all[0].ended_at.empty());
  EXPECT_EQ(all[1].job, "refresh");
  EXPECT_EQ(all[1].target, "hd 1");
  EXPECT_EQ(all[1].outcome, "failed");
  EXPECT_EQ(all[1].message, "pg_restore: error: it's broken; DROP TABLE job_runs; --");
  EXPECT_FALSE(all[1].started_at.empty());
  EXPECT_EQ(all[1].started_at.back(), 'Z');
  EXPECT_FALSE(all[1].ended_at.empty());
  EXPECT_GE(all[1].duration_ms, 0);

  EXPECT_EQ(s.runs(2).size(), 2u);
  EXPECT_EQ(s.runs(0).size(), 3u);  // no limit
  auto backups = s.runs(10, "backup");
  ASSERT_EQ(backups.size(), 2u);
  EXPECT_EQ(backups[1].id, a);

  EXPECT_EQ(s.last_run("backup")->id, c);
  EXPECT_EQ(s.last_run("backup", "ok")->id, a);
  EXPECT_FALSE(s.last_run("backup", "failed"));
  EXPECT_FALSE(s.last_run("verify"));
}

TEST_F(CoreState, DurationIsMeasured) {
  StateStore s(file_);
  auto id = s.begin_run("verify", "");
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  s.end_run(id, "ok", "");
  EXPECT_GE(s.last_run("verify")->duration_ms, 25);
}

TEST_F(CoreState, GenerationsRoundTrip) {
  StateStore s(file_);
  GenerationRecord g1{"20260101T020000Z", "2026-01-01T02:00:00Z", "complete", "", "", 1234, ""};
  GenerationRecord g2{"20260102T020000Z", "2026-01-02T02:00:00Z", "verified",
                      "2026-01-02T02:10:00Z", "", 5ll << 32, "ok"};
  s.put_generation(g1);
  s.put_generation(g2);
  g1.status = "verified";
  g1.verified_at = "2026-01-01T03:00:00Z";
  g1.deep_verified_at = "2026-01-01T04:00:00Z";
  s.put_generation(g1);  // replaces

  auto got = s.generation(g1.id);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->status, "verified");
  EXPECT_EQ(got->verified_at, "2026-01-01T03:00:00Z");
  EXPECT_EQ(got->deep_verified_at, "2026-01-01T04:00:00Z");
  EXPECT_EQ(got->size_bytes, 1234);
  EXPECT_FALSE(s.generation("nope"));

  auto all = s.generations();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].id, g2.id);  // newest first
  EXPECT_EQ(all[0].size_bytes, 5ll << 32);
  EXPECT_EQ(all[0].message, "ok");
}

TEST_F(CoreState, ServingRoundTrip) {
  StateStore s(file_);
  EXPECT_FALSE(s.serving("hd1"));
  s.set_serving({"hd1", "b1", "2026-01-01T02:00:00Z", "2026-01-01T04:00:00Z"});
  s.set_serving({"hd1", "b2", "2026-01-02T02:00:00Z", "2026-01-02T04:00:00Z"});
  s.set_serving({"hd 2", "b1", "2026-01-01T02:00:00Z", "2026-01-01T05:00:00Z"});
  auto hd1 = s.serving("hd1");
  ASSERT_TRUE(hd1);
  EXPECT_EQ(hd1->replica, "hd1");
  EXPECT_EQ(hd1->backup_id, "b2");
  EXPECT_EQ(hd1->backup_time, "2026-01-02T02:00:00Z");
  EXPECT_EQ(hd1->restored_at, "2026-01-02T04:00:00Z");
  EXPECT_EQ(s.serving("hd 2")->backup_id, "b1");
}

TEST_F(CoreState, AlertsRoundTrip) {
  StateStore s(file_);
  s.add_alert("backup", "first");
  s.add_alert("refresh", "second 'quoted'");
  s.add_alert("backup", "third");
  auto all = s.alerts(10);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].message, "third");
  EXPECT_EQ(all[1].job, "refresh");
  EXPECT_EQ(all[1].message, "second 'quoted'");
  EXPECT_EQ(all[2].at.back(), 'Z');
  EXPECT_GT(all[0].id, all[1].id);
  EXPECT_EQ(s.alerts(1).size(), 1u);
}

TEST_F(CoreState, KeyValueRoundTrip) {
  StateStore s(file_);
  EXPECT_FALSE(s.get("epoch"));
  s.put("epoch", "1");
  s.put("epoch", "2");
  s.put("it's", "a \"value\"\nwith lines");
  s.put("empty", "");
  EXPECT_EQ(s.get("epoch"), "2");
  EXPECT_EQ(s.get("it's"), "a \"value\"\nwith lines");
  EXPECT_EQ(s.get("empty"), "");
}

TEST_F(CoreState, PutIfSetsAMissingKeyOrTheExpectedValueOnly) {
  StateStore a(file_), b(file_);  // two processes' stores on one file
  EXPECT_TRUE(a.put_if("journal.open", "null", "run-a"));   // missing: set
  EXPECT_FALSE(b.put_if("journal.open", "null", "run-b"));  // taken by a: refused, unchanged
  EXPECT_EQ(b.get("journal.open"), "run-a");
  a.put("journal.open", "null");
  EXPECT_TRUE(b.put_if("journal.open", "null", "run-b"));
  EXPECT_EQ(a.get("journal.open"), "run-b");
  // Racing threads on both stores: exactly one wins.
  a.put("journal.open", "null");
  std::atomic<int> won{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < 8; ++i)
    ts.emplace_back([&, i] { won += (i % 2 ? a : b).put_if("journal.open", "null", "run-" + std::to_string(i)); });
  for (auto& t : ts) t.join();
  EXPECT_EQ(won.load(), 1);
}

TEST_F(CoreState, CallsFromManyThreads) {
  StateStore s(file_);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&s, t] {
      for (int i = 0; i < 25; ++i) {
        auto id = s.begin_run("check", std::to_string(t));
        s.end_run(id, "ok", "");
        s.put("last-" + std::to_string(t), std::to_string(i));
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(s.runs(0, "check").size(), 100u);
  EXPECT_EQ(s.get("last-3"), "24");
}

}  // namespace
}  // namespace sk

namespace sk {
namespace {
// A store written by the previous schema keeps its rows and gains the history tables.
TEST_F(CoreState, EachDatabaseOfAReplicaKeepsTheGenerationItWasSwappedTo) {
  StateStore s(file_);
  EXPECT_TRUE(s.serving_databases("hd1").empty());
  s.set_serving({"hd1", "20261122T020000Z", "2026-11-22T02:00:00Z", "2026-11-22T04:00:00Z"}, {"CM_CEN", "CM_REP"});
  s.set_serving({"hd1", "20261123T020000Z", "2026-11-23T02:00:00Z", "2026-11-23T04:00:00Z"}, {"CM_REP"});
  s.set_serving({"hd2", "20261123T020000Z", "2026-11-23T02:00:00Z", "2026-11-23T04:00:00Z"});
  EXPECT_EQ(s.serving_databases("hd1"),
            (std::map<std::string, std::string>{{"CM_CEN", "20261122T020000Z"}, {"CM_REP", "20261123T020000Z"}}));
  EXPECT_TRUE(s.serving_databases("hd2").empty()) << "no databases named: none recorded";
  EXPECT_EQ(s.serving("hd1")->backup_id, "20261123T020000Z");
}

TEST(CoreStateMigration, AVersionOneStoreIsMigratedAndKeepsItsRows) {
  const auto dir = std::filesystem::temp_directory_path() / ("sk state v1 " + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  {
    soci::session db(soci::sqlite3, "db=\"" + (dir / "s.db").string() + "\"");
    db << "PRAGMA application_id = 1399542612";  // "SkST"
    db << "CREATE TABLE job_runs (id INTEGER PRIMARY KEY AUTOINCREMENT, job TEXT NOT NULL, target TEXT NOT NULL "
          "DEFAULT '', started_at TEXT NOT NULL, started_ms INTEGER NOT NULL, ended_at TEXT NOT NULL DEFAULT '', "
          "outcome TEXT NOT NULL, message TEXT NOT NULL DEFAULT '', duration_ms INTEGER NOT NULL DEFAULT 0)";
    db << "CREATE INDEX job_runs_by_job ON job_runs (job, id)";
    db << "CREATE TABLE generations (id TEXT PRIMARY KEY, created_at TEXT NOT NULL, status TEXT NOT NULL, "
          "verified_at TEXT NOT NULL DEFAULT '', deep_verified_at TEXT NOT NULL DEFAULT '', size_bytes INTEGER NOT NULL "
          "DEFAULT 0, message TEXT NOT NULL DEFAULT '')";
    db << "CREATE TABLE replica_serving (replica TEXT PRIMARY KEY, backup_id TEXT NOT NULL, backup_time TEXT NOT NULL, "
          "restored_at TEXT NOT NULL)";
    db << "CREATE TABLE alerts (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, job TEXT NOT NULL, message TEXT NOT NULL)";
    db << "CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)";
    db << "INSERT INTO job_runs (job, started_at, started_ms, outcome) VALUES ('backup', '2026-11-01T02:00:00Z', 1, 'ok')";
    db << "PRAGMA user_version = 1";
  }
  StateStore s(dir / "s.db");
  EXPECT_EQ(s.schema_version(), StateStore::kSchemaVersion);
  ASSERT_EQ(s.runs(10).size(), 1u);
  EXPECT_EQ(s.runs(10)[0].job, "backup");
  s.set_serving({"hd1", "20261122T020000Z", "2026-11-22T02:00:00Z", "2026-11-22T04:00:00Z"});
  s.set_serving({"hd1", "20261123T020000Z", "2026-11-23T02:00:00Z", "2026-11-23T04:00:00Z"});
  auto h = s.serving_history(0);
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[1].backup_id, "20261123T020000Z");
  s.add_lag_sample({1000, 0, 0.0, "streaming"});
  s.add_lag_sample({2000, 4096, 0.5, "streaming"});
  EXPECT_EQ(s.lag_samples(1500).size(), 1u);
  // Two days later the old samples are gone.
  s.add_lag_sample({2000 + 49LL * 3600 * 1000, 0, 0.0, "streaming"});
  EXPECT_EQ(s.lag_samples(0).size(), 1u);
  std::filesystem::remove_all(dir);
}
}  // namespace
}  // namespace sk
