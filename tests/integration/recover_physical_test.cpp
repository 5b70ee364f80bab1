// recover --server onto a spare with data_dir, on real PostgreSQL 15: a physical base backup in the
// archive and pg_receivewal streaming the active's WAL into the archive's wal folder (this test runs it,
// standing in for the daemon's WAL stream). Commits keep coming, each acknowledged, until the active
// is killed (-9) and its data directory removed; recover restores the base backup into the spare's
// data directory (its old one moved aside) and replays the archived WAL. The acknowledged commits that
// are missing afterwards are the data lost: none may be older than 1 s. With --until, exactly the rows
// committed before the time come back. A serving server's data directory is refused and untouched.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "pg_cluster.hpp"
#include "site_fixture.hpp"

namespace {

namespace fs = std::filesystem;
using namespace sk::test;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

// A site whose archive holds physical base backups and the WAL stream, one replica (hd1), and a spare
// cm3: an initdb'd cluster of its own, running, in no role.
class RecoverPhysicalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(fs::path(kPgBinDir) / "pg_receivewal")) GTEST_SKIP() << "pg_receivewal is not installed";
    site_ = std::make_unique<Site>(SiteOptions{.archive_extra = "kinds = [\"logical\", \"physical\"]\nwal_stream = true\n"});
    spare_ = PgCluster::start({.name = "cm3"});
    site_->write_config("[servers.cm3]\nhost = \"127.0.0.1\"\nport = " + std::to_string(spare_->port()) + "\nuser = \"" +
                        spare_->superuser() + "\"\npassword_file = \"secrets/pw\"\ndata_dir = \"" +
                        spare_->data_dir().string() + "\"\n");
    spare_->psql("CREATE TABLE spare_marker (x int)");  // its own cluster: moved aside, never deleted
    site_->active().psql("CREATE TABLE ticks (id bigint PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())",
                         site_->db());
  }
  void TearDown() override {
    stream_.reset();
    spare_.reset();
    site_.reset();
  }

  fs::path wal_dir() const { return site_->archive() / "wal"; }

  // pg_receivewal into the archive's wal folder on a slot of its own, as the daemon runs it; returns
  // once it has written its first file.
  void start_wal_stream() {
    fs::create_directories(wal_dir());
    fs::permissions(wal_dir(), fs::perms::owner_all, fs::perm_options::replace);
    auto& a = site_->active();
    const std::vector<std::string> conn = {"--host=127.0.0.1", "--port=" + std::to_string(a.port()),
                                           "--username=" + a.superuser(), "--no-password", "--slot=sk_test_stream"};
    const Environment env = {{"PGPASSWORD", a.password()}};
    std::vector<std::string> create = {(fs::path(kPgBinDir) / "pg_receivewal").string(), "--create-slot", "--if-not-exists"};
    create.insert(create.end(), conn.begin(), conn.end());
    std::string out, err;
    ASSERT_EQ(run_command(create, env, &out, &err), 0) << out << err;
    std::vector<std::string> argv = {(fs::path(kPgBinDir) / "pg_receivewal").string(), "--directory=" + wal_dir().string(),
                                     "--status-interval=1"};
    argv.insert(argv.end(), conn.begin(), conn.end());
    stream_ = std::make_unique<BackgroundProcess>(argv, site_->dir() / "pg_receivewal.log", env);
    wait_until([&] { return !fs::is_empty(wal_dir()); }, 30s, "pg_receivewal to write its first WAL file");
  }

  void backup() {
    ASSERT_NO_FATAL_FAILURE(expect_ok(site_->run({"backup"}), "backup with kinds physical"));
    bool physical = false;
    for (const auto& e : fs::directory_iterator(site_->archive()))
      physical |= fs::exists(e.path() / "physical" / "backup_manifest");
    ASSERT_TRUE(physical) << "the backup holds no physical base backup";
  }

  // One commit, acknowledged when psql returns 0.
  bool commit(long id) {
    return site_->active().try_psql("INSERT INTO ticks (id) VALUES (" + std::to_string(id) + ")", site_->db()).ok();
  }

  // The active is lost: killed, and its data directory gone.
  void lose_the_active() {
    site_->active().kill9();
    fs::remove_all(site_->active().data_dir());
  }

  std::set<long> rows_on_spare() {
    std::set<long> out;
    std::istringstream in(spare_->psql("SELECT id FROM ticks ORDER BY id", site_->db()));
    for (std::string l; std::getline(in, l);)
      if (!l.empty()) out.insert(std::stol(l));
    return out;
  }

  CommandResult recover(std::vector<std::string> more = {}) {
    std::vector<std::string> a = {"recover", "--server", "cm3", "--yes", "--old-active-is-down"};
    a.insert(a.end(), more.begin(), more.end());
    return site_->run(a);
  }

  void recovers_to_the_last_second(bool by_daemon);

  std::unique_ptr<Site> site_;
  std::unique_ptr<PgCluster> spare_;
  std::unique_ptr<BackgroundProcess> stream_;
};

// The data lost after kill -9 of the active and the loss of its data directory, with the WAL stream
// run by `sitekeeper run` itself (`by_daemon`) or by pg_receivewal alone.
void RecoverPhysicalTest::recovers_to_the_last_second(bool by_daemon) {
  std::unique_ptr<BackgroundProcess> daemon;
  std::unique_ptr<LogOnFailure> dump;
  auto wal_stream = [&] { return site_->json({"status"})["wal_stream"]; };
  if (by_daemon) {
    daemon = std::make_unique<BackgroundProcess>(site_->argv({"run"}), site_->dir() / "daemon.log");
    dump = std::make_unique<LogOnFailure>(*daemon);
    wait_until([&] { return wal_stream().value("state", "") == "streaming"; }, 120s, "the daemon's WAL stream");
  } else {
    ASSERT_NO_FATAL_FAILURE(start_wal_stream());
  }
  ASSERT_NO_FATAL_FAILURE(backup());

  const auto check = site_->json({"check"});
  EXPECT_EQ(check["roll_forward"]["ok"], true) << check.dump(2);
  auto runbook = site_->run({"runbook"});
  EXPECT_TRUE(contains(runbook.out, "rolled forward to the last second")) << runbook.out;
  // Commits keep coming after the backup; each one psql acknowledged is recorded with when. Nothing else
  // runs a command meanwhile, so the writer is never held up.
  struct Ack {
    long id;
    SteadyClock::time_point at;
  };
  std::mutex mu;
  std::vector<Ack> acked;
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (long id = 1; !stop; ++id) {
      if (!commit(id)) break;  // the active is gone
      std::lock_guard lock(mu);
      acked.push_back({id, SteadyClock::now()});
    }
  });
  wait_until(
      [&] {
        std::lock_guard lock(mu);
        return acked.size() >= 150;
      },
      120s, "150 acknowledged commits");
  const auto killed = SteadyClock::now();  // the SIGKILL follows at once; the reaping takes longer
  lose_the_active();
  stop = true;
  writer.join();

  const auto plan = site_->json({"recover", "--server", "cm3", "--plan", "--old-active-is-down"});
  EXPECT_EQ(plan["path"], "physical") << plan.dump(2);
  std::vector<std::string> names;
  for (const auto& s : plan["steps"]) names.push_back(s["name"]);
  EXPECT_EQ(names, (std::vector<std::string>{"verify", "fence", "aside", "restore", "replay", "roles", "grants", "profile", "serials",
                                             "epoch", "smoke", "alias", "repoint"}))
      << plan.dump(2);

  const auto started = SteadyClock::now();
  auto r = recover();
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - started);
  ASSERT_NO_FATAL_FAILURE(expect_ok(r, "recover --server cm3 (physical)"));
  EXPECT_TRUE(contains(r.out, "rolled forward with the archived WAL")) << r.out;
  EXPECT_TRUE(contains(r.out, "recovered to the last commit replayed from the archived WAL, at 20")) << r.out;
  EXPECT_TRUE(contains(r.out, "its old data directory is kept at")) << r.out;

  // The spare's own cluster is kept beside, and the restored one is the site.
  bool kept = false;
  for (const auto& e : fs::directory_iterator(spare_->data_dir().parent_path()))
    kept |= e.path().filename().string().rfind("data.before-recover-", 0) == 0 && fs::exists(e.path() / "PG_VERSION");
  EXPECT_TRUE(kept) << "the spare's old data directory was not moved aside";
  EXPECT_EQ(spare_->psql("SELECT count(*) FROM pg_class WHERE relname = 'spare_marker'"), "0");
  EXPECT_EQ(spare_->psql("SELECT CAST(pg_is_in_recovery() AS int)"), "0");
  EXPECT_NE(spare_->psql_as("helpdesk", "helpdesk-demo", "SELECT count(*) FROM resources", site_->db()), "");
  spare_->psql("INSERT INTO ticks (id) VALUES (-1)", site_->db());  // it takes writes
  EXPECT_EQ(site_->json({"status"})["active"]["name"], "cm3");
  // A restart does not recover again.
  EXPECT_EQ(spare_->psql("SELECT count(*) FROM pg_settings WHERE name = 'restore_command' AND setting <> ''"), "0");

  // The data lost: acknowledged commits missing now, and how long before the kill the oldest was.
  const auto present = rows_on_spare();
  long missing = 0, last_second = 0;
  std::chrono::milliseconds oldest_missing{0};
  for (const auto& a : acked) {
    last_second += killed - a.at <= 1s;
    if (!present.count(a.id)) {
      ++missing;
      oldest_missing = std::max(oldest_missing, std::chrono::duration_cast<std::chrono::milliseconds>(killed - a.at));
    }
  }
  std::cout << "[ figures  ] recover physical with the WAL stream of " << (by_daemon ? "the daemon" : "pg_receivewal alone") << ": " << acked.size() << " commits acknowledged (" << last_second
            << " in the last second before the kill), " << missing
            << " missing after recovery, oldest missing acknowledged " << oldest_missing.count()
            << " ms before the kill; recover took " << took.count() << " ms" << std::endl;
  EXPECT_LE(oldest_missing, 1000ms) << missing << " acknowledged commits lost";
  EXPECT_GT(last_second, 10) << "the commits had stopped before the kill: the figure would say nothing";
  EXPECT_GT(present.size(), 100u);
  if (by_daemon) {
    // The stream follows the recovered active: the same system, on its new timeline.
    wait_until([&] {
      auto w = wal_stream();
      return w.value("server", "") == "cm3" && w.value("state", "") == "streaming";
    }, 120s, "the daemon's WAL stream to follow cm3");
    stop_daemon(*daemon);
  }
}

TEST_F(RecoverPhysicalTest, RecoversToTheLastSecondWithTheWalStream) { recovers_to_the_last_second(false); }

TEST_F(RecoverPhysicalTest, RecoversToTheLastSecondWithTheDaemonsWalStreamWhichThenFollowsTheNewActive) {
  recovers_to_the_last_second(true);
}

TEST_F(RecoverPhysicalTest, UntilATimeBringsBackExactlyTheRowsCommittedBeforeIt) {
  ASSERT_NO_FATAL_FAILURE(start_wal_stream());
  ASSERT_NO_FATAL_FAILURE(backup());
  for (long id = 1; id <= 20; ++id) ASSERT_TRUE(commit(id));
  // A second between two known commits, so that the time between them is unambiguous.
  std::this_thread::sleep_for(1s);
  for (long id = 21; id <= 40; ++id) ASSERT_TRUE(commit(id));
  const std::string until = site_->active().psql(
      "SELECT to_char(((SELECT at FROM ticks WHERE id = 20) + ((SELECT at FROM ticks WHERE id = 21) - "
      "(SELECT at FROM ticks WHERE id = 20)) / 2) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
      site_->db());
  // The WAL stream has the last commit before the active goes.
  const std::string last = site_->active().psql("SELECT pg_current_wal_lsn()");
  wait_until(
      [&] {
        return site_->active().psql("SELECT count(*) FROM pg_stat_replication WHERE application_name = 'pg_receivewal' "
                                    "AND write_lsn >= '" + last + "'") == "1";
      },
      30s, "pg_receivewal to receive the last commit");
  lose_the_active();

  auto early = recover({"--until", "2000-01-01T00:00:00Z"});
  EXPECT_EQ(early.code, 3) << early.out << early.err;
  EXPECT_TRUE(contains(early.err, "is before every physical base backup")) << early.err;
  EXPECT_EQ(spare_->psql("SELECT count(*) FROM pg_class WHERE relname = 'spare_marker'"), "1") << "refused, yet changed";

  auto r = recover({"--until", until});
  ASSERT_NO_FATAL_FAILURE(expect_ok(r, "recover --until " + until));
  EXPECT_TRUE(contains(r.out, "changes after --until " + until + " were left out")) << r.out;
  std::set<long> want;
  for (long id = 1; id <= 20; ++id) want.insert(id);
  EXPECT_EQ(rows_on_spare(), want) << "--until " << until;
  std::cout << "[ figures  ] recover --until " << until << ": " << rows_on_spare().size() << " of 40 rows present (want 20)"
            << std::endl;
}

TEST_F(RecoverPhysicalTest, AServingServersDataDirectoryIsRefusedAndUntouched) {
  ASSERT_NO_FATAL_FAILURE(start_wal_stream());
  ASSERT_NO_FATAL_FAILURE(backup());
  ASSERT_NO_FATAL_FAILURE(expect_ok(site_->run({"refresh"}), "refresh hd1"));
  const std::string served = site_->count_on_replica(0);
  auto before = [](const fs::path& d) {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(d)) names.insert(e.path().filename().string());
    return names;
  };
  const auto hd1_files = before(site_->replica(0).data_dir());
  const auto cm1_files = before(site_->active().data_dir());
  for (const std::string server : {"hd1", "cm1"}) {
    auto r = site_->run({"recover", "--server", server, "--yes", "--old-active-is-down"});
    EXPECT_EQ(r.code, 3) << server << ": " << r.out << r.err;
    EXPECT_TRUE(contains(r.err, "recover never replaces the data directory of a server that serves the site")) << r.err;
  }
  EXPECT_EQ(before(site_->replica(0).data_dir()), hd1_files);
  EXPECT_EQ(before(site_->active().data_dir()), cm1_files);
  EXPECT_EQ(site_->count_on_replica(0), served);
  EXPECT_EQ(site_->active().psql("SELECT CAST(pg_is_in_recovery() AS int)"), "0");
  EXPECT_FALSE(fs::exists(site_->replica(0).data_dir().string() + ".before-recover-"));

  // A WAL stream that lost its segments: check says so, and recover refuses before anything changes.
  stream_.reset();
  for (const auto& e : fs::directory_iterator(wal_dir()))
    if (e.path().extension() != ".history") fs::remove(e.path());
  const auto check = site_->json({"check"});
  EXPECT_EQ(check["roll_forward"]["ok"], false) << check.dump(2);
  bool warned = false;
  for (const auto& w : check["warnings"])
    warned |= contains(w.get<std::string>(), "cannot be rolled forward with the archived WAL") &&
              contains(w.get<std::string>(), "where the base backup starts");
  EXPECT_TRUE(warned) << check.dump(2);
  site_->active().kill9();
  auto gap = site_->run({"recover", "--server", "cm3", "--yes", "--old-active-is-down"});
  EXPECT_EQ(gap.code, 3) << gap.out << gap.err;
  EXPECT_TRUE(contains(gap.err, "cannot be rolled forward with the archived WAL")) << gap.err;
  EXPECT_TRUE(contains(gap.err, "HINT")) << gap.err;
  EXPECT_EQ(spare_->psql("SELECT count(*) FROM pg_class WHERE relname = 'spare_marker'"), "1") << "refused, yet changed";
}

}  // namespace
