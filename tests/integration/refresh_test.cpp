// The nightly backup and the read-only replica refresh, on real PostgreSQL 15 clusters, driving the
// sitekeeper binary as an operator would. Each transport (native libpq, ODBC via psqlODBC) is covered.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <thread>

#include "pg_cluster.hpp"
#include "site_fixture.hpp"

using namespace sk::test;
namespace fs = std::filesystem;

namespace {

std::string newest_generation(const Site& site) {
  std::vector<std::string> ids;
  for (const auto& e : fs::directory_iterator(site.archive()))
    if (e.is_directory() && e.path().filename().string().size() >= 16 && std::isdigit(e.path().filename().string()[0]))
      ids.push_back(e.path().filename().string());
  std::sort(ids.begin(), ids.end());
  return ids.empty() ? "" : ids.back();
}

// Flips one byte in the middle of the largest data file of a generation's snapshot: size unchanged.
fs::path corrupt_largest_file(const fs::path& gen) {
  fs::path biggest;
  std::uintmax_t size = 0;
  for (const auto& e : fs::directory_iterator(gen / "snapshot"))
    if (e.is_regular_file() && e.file_size() > size) {
      size = e.file_size();
      biggest = e.path();
    }
  std::fstream f(biggest, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(size / 2));
  char c;
  f.get(c);
  f.seekp(static_cast<std::streamoff>(size / 2));
  f.put(static_cast<char>(c ^ 0x5a));
  return biggest;
}

class RefreshBothTransports : public ::testing::TestWithParam<std::string> {};

// A site of several databases on real servers: every database of the replica comes to the same
// generation in one swap, helpdesk reads each; a database that joins the site later makes the replica
// MIXED in status (a failure) and its check 503, the refresh refuses the older backup (exit 3,
// nothing touched), and the next backup and refresh bring all three to one generation.
TEST(Refresh, EveryDatabaseOfAReplicaComesToOneGeneration) {
  Site site({.replicas = 1, .more_databases = {"CM_REP"}});
  auto& hd = site.replica(0);
  expect_ok(site.run({"backup"}), "backup 1");
  expect_ok(site.run({"refresh"}), "refresh 1");
  const std::string id1 = newest_generation(site);
  EXPECT_EQ(hd.psql_as("helpdesk", "helpdesk-demo", "SELECT count(*) FROM reports", "CM_REP"), "50");
  auto st = site.json({"status"});
  EXPECT_EQ(st["replicas"][0]["databases"], (nlohmann::json{{"CM_CEN", id1}, {"CM_REP", id1}})) << st.dump();
  EXPECT_EQ(st["replicas"][0]["state"], "fresh");

  advance_report_serials(site.active(), "CM_REP", 7);
  site.add_messages(3, "second night");
  expect_ok(site.run({"backup"}), "backup 2");
  expect_ok(site.run({"refresh"}), "refresh 2");
  const std::string id2 = newest_generation(site);
  EXPECT_EQ(hd.psql("SELECT count(*) FROM reports", "CM_REP"), "57");
  EXPECT_EQ(site.count_on_replica(0, "message = 'second night'"), "3");
  EXPECT_EQ(hd.psql("SELECT count(*) FROM pg_database WHERE datname LIKE '%__sk_%'"), "0");

  // CM_ARCH joins the site.
  load_report_database(site.active(), "CM_ARCH");
  {
    std::ifstream in(site.config());
    std::string t((std::istreambuf_iterator<char>(in)), {});
    const std::string two = "databases = [\"CM_CEN\", \"CM_REP\"]";
    ASSERT_NE(t.find(two), std::string::npos) << t;
    t.replace(t.find(two), two.size(), "databases = [\"CM_CEN\", \"CM_REP\", \"CM_ARCH\"]");
    std::ofstream(site.config()) << t;
  }
  auto status = site.run({"status", "--json"});
  EXPECT_NE(status.code, 0) << "a replica serving a mix must fail status";
  st = parse_json(status);
  EXPECT_EQ(st["replicas"][0]["state"], "MIXED") << st.dump();
  EXPECT_EQ(st["replicas"][0]["error"],
            "hd1 serves a mix of generations: CM_CEN " + id2 + ", CM_REP " + id2 + ", CM_ARCH never restored");
  EXPECT_FALSE(st["ok"].get<bool>());
  auto text = site.run({"status"});
  EXPECT_NE(text.out.find("MIXED: hd1 serves a mix of generations"), std::string::npos) << text.out;
  auto refused = site.run({"refresh"});
  EXPECT_EQ(refused.code, 3) << refused.out << refused.err;
  EXPECT_NE((refused.out + refused.err).find("holds no copy of CM_ARCH"), std::string::npos) << refused.out << refused.err;
  EXPECT_EQ(hd.psql("SELECT count(*) FROM pg_database WHERE datname = 'CM_ARCH'"), "0");
  EXPECT_EQ(hd.psql("SELECT count(*) FROM reports", "CM_REP"), "57") << "the refused refresh touched the replica";

  expect_ok(site.run({"backup"}), "backup 3");
  expect_ok(site.run({"refresh"}), "refresh 3");
  const std::string id3 = newest_generation(site);
  st = site.json({"status"});
  EXPECT_EQ(st["replicas"][0]["databases"], (nlohmann::json{{"CM_ARCH", id3}, {"CM_CEN", id3}, {"CM_REP", id3}}));
  EXPECT_EQ(st["replicas"][0]["state"], "fresh");
  EXPECT_EQ(hd.psql_as("helpdesk", "helpdesk-demo", "SELECT count(*) FROM reports", "CM_ARCH"), "50");
}

}  // namespace

// capture -> backup -> verify -> refresh, then the help desk reads and cannot write, over each transport.
TEST_P(RefreshBothTransports, NightlyCycleGivesReadOnlyReplica) {
  Site site({.replicas = 1, .transport = GetParam()});
  expect_ok(site.run({"capture"}), "capture");
  expect_ok(site.run({"backup"}), "backup");
  const std::string id = newest_generation(site);
  ASSERT_FALSE(id.empty());
  for (const char* f : {"COMPLETE", "manifest.json", "permissions.sql", "profile.json", "snapshot/toc.dat"})
    EXPECT_TRUE(fs::exists(site.archive() / id / f)) << f;
  expect_ok(site.run({"verify"}), "verify");
  expect_ok(site.run({"refresh"}), "refresh");

  auto& hd = site.replica(0);
  EXPECT_EQ(hd.psql("SELECT count(*) FROM status_messages", site.db()),
            site.active().psql("SELECT count(*) FROM status_messages", site.db()));
  // The help-desk login works with its own password on the replica (roles replayed with their hash).
  EXPECT_NE(hd.psql_as("helpdesk", "helpdesk-demo", "SELECT count(*) FROM resources", site.db()), "");
  // Writes are refused by privilege, even when the reader overrides the read-only default.
  auto w1 = hd.try_psql_as("helpdesk", "helpdesk-demo",
                           "BEGIN READ WRITE; DELETE FROM status_messages; COMMIT;", site.db());
  EXPECT_FALSE(w1.ok());
  EXPECT_NE(w1.err.find("permission denied"), std::string::npos) << w1.err;
  auto w2 = hd.try_psql_as("helpdesk", "helpdesk-demo",
                           "SET default_transaction_read_only = off; CREATE TABLE public.mine (x int);", site.db());
  EXPECT_FALSE(w2.ok());
  EXPECT_NE(w2.err.find("permission denied"), std::string::npos) << w2.err;
  auto w3 = hd.try_psql_as("helpdesk", "helpdesk-demo",
                           "SET default_transaction_read_only = off; CREATE TEMP TABLE t (x int);", site.db());
  EXPECT_FALSE(w3.ok());
  // Indexes and constraints came through (a restore straight into live would lose them when killed).
  EXPECT_EQ(hd.psql("SELECT count(*) > 5 FROM pg_indexes WHERE schemaname = 'public'", site.db()), "t");
  // No staging or retired copy is left behind.
  EXPECT_EQ(hd.psql("SELECT count(*) FROM pg_database WHERE datname LIKE '%__sk_%'"), "0");

  auto status = site.json({"status"});
  ASSERT_EQ(status["replicas"].size(), 1u);
  EXPECT_EQ(status["replicas"][0]["backup_id"], id);
  EXPECT_TRUE(status["replicas"][0]["fresh"].get<bool>());
  auto history = site.json({"history"});
  ASSERT_GE(history.size(), 4u);
  EXPECT_EQ(history[0]["job"], "refresh");
  EXPECT_EQ(history[0]["outcome"], "ok");
  auto check = site.json({"check"});
  EXPECT_TRUE(check["ok"].get<bool>()) << check.dump(2);

  // A second refresh of the same backup changes nothing; a newer backup is picked up.
  auto again = site.run({"refresh"});
  expect_ok(again, "refresh again");
  EXPECT_NE(again.out.find("current"), std::string::npos) << again.out;
  site.add_messages(7, "second night");
  expect_ok(site.run({"backup"}), "second backup");
  expect_ok(site.run({"refresh"}), "second refresh");
  EXPECT_EQ(site.count_on_replica(0, "message = 'second night'"), "7");
}

INSTANTIATE_TEST_SUITE_P(Transports, RefreshBothTransports, ::testing::Values("native", "odbc"));

// Invariant 2: a corrupted newest backup is never restored, and the replica keeps its old copy.
TEST(Refresh, CorruptedNewestBackupIsRefusedAndReplicasKeepTheirCopy) {
  Site site({.replicas = 2, .transport = "native"});
  expect_ok(site.run({"backup"}), "backup 1");
  expect_ok(site.run({"refresh"}), "refresh 1");
  const std::string before = site.count_on_replica(0);
  site.add_messages(50, "after first backup");
  expect_ok(site.run({"backup"}), "backup 2");
  const std::string id2 = newest_generation(site);
  const fs::path bad = corrupt_largest_file(site.archive() / id2);

  auto verify = site.run({"verify", id2});
  EXPECT_EQ(verify.code, 1) << verify.out << verify.err;
  EXPECT_NE(verify.err.find(bad.filename().string()), std::string::npos) << verify.err;
  EXPECT_NE(verify.err.find("checksum mismatch"), std::string::npos) << verify.err;

  auto refresh = site.run({"refresh"});
  EXPECT_EQ(refresh.code, 1) << refresh.out << refresh.err;
  EXPECT_NE(refresh.err.find("refused"), std::string::npos) << refresh.err;
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(site.count_on_replica(i), before) << "replica " << i << " changed";
    EXPECT_EQ(site.replica(i).psql("SELECT count(*) FROM pg_database WHERE datname LIKE '%__sk_%'"), "0");
  }
  auto status = site.json({"status"});
  EXPECT_FALSE(status["alerts"].empty());
  EXPECT_NE(status["replicas"][0]["backup_id"], id2);
}

// A truncated data file and a missing completion marker are reported with the file that fails.
TEST(Refresh, TruncatedOrUnfinishedGenerationsAreNeverRestored) {
  Site site({.replicas = 1});
  expect_ok(site.run({"backup"}), "backup");
  expect_ok(site.run({"refresh"}), "refresh");
  site.add_messages(5, "later");
  expect_ok(site.run({"backup"}), "backup 2");
  const std::string id2 = newest_generation(site);
  fs::path toc = site.archive() / id2 / "snapshot" / "toc.dat";
  fs::resize_file(toc, fs::file_size(toc) / 2);
  auto v = site.run({"verify"});
  EXPECT_EQ(v.code, 1);
  EXPECT_NE(v.err.find("toc.dat"), std::string::npos) << v.err;
  EXPECT_EQ(site.run({"refresh"}).code, 1);

  // Without its marker the generation is not complete: refresh ignores it, serves the older one,
  // and it must not go back from what the replica already serves.
  fs::remove(site.archive() / id2 / "COMPLETE");
  auto v2 = site.run({"verify", id2});
  EXPECT_EQ(v2.code, 1);
  EXPECT_NE(v2.err.find("COMPLETE"), std::string::npos) << v2.err;
  auto r = site.run({"refresh"});
  expect_ok(r, "refresh with an unfinished newest generation");
  EXPECT_EQ(site.count_on_replica(0, "message = 'later'"), "0");
}

// Invariant 1 under kill -9: the replica serves its old, complete copy, and the next run cleans up.
TEST(Refresh, KilledMidRestoreLeavesTheOldCopyAndTheNextRunCleansUp) {
  Site site({.replicas = 1});
  expect_ok(site.run({"backup"}), "backup 1");
  expect_ok(site.run({"refresh"}), "refresh 1");
  const std::string before = site.count_on_replica(0);
  // Make the next restore long enough to be caught in the middle.
  site.active().psql(
      "INSERT INTO status_messages (site_code, component, message_id, severity, machine_name, message) "
      "SELECT 'CEN', 'bulk', g % 1000, 'informational', 'PC' || g, repeat(md5(g::text), 8) "
      "FROM generate_series(1, 400000) g",
      site.db());
  expect_ok(site.run({"backup"}), "backup 2");

  BackgroundProcess refresh(site.argv({"refresh"}), site.dir() / "refresh.log");
  auto& hd = site.replica(0);
  // Worst moment: the staging copy exists and pg_restore is writing into it.
  wait_until([&] {
    return hd.psql("SELECT count(*) FROM pg_stat_activity WHERE datname = '" + site.db() +
                   "__sk_staging' AND application_name = 'sitekeeper'") != "0";
  }, std::chrono::seconds(120), "pg_restore writing into the staging copy");
  ::kill(refresh.pid(), SIGKILL);
  refresh.wait(std::chrono::seconds(30));

  // The live copy is the old one, whole: every row and its indexes.
  EXPECT_EQ(site.count_on_replica(0), before);
  EXPECT_EQ(hd.psql("SELECT count(*) > 5 FROM pg_indexes WHERE schemaname = 'public'", site.db()), "t");
  EXPECT_EQ(hd.psql_as("helpdesk", "helpdesk-demo", "SELECT count(*) FROM status_messages", site.db()), before);
  // The restore tool died with sitekeeper (parent-death signal), it did not keep writing.
  wait_until([&] {
    return hd.psql("SELECT count(*) FROM pg_stat_activity WHERE datname LIKE '%__sk_staging'") == "0";
  }, "pg_restore to end after sitekeeper was killed");

  expect_ok(site.run({"refresh"}), "refresh after the kill");
  EXPECT_EQ(site.count_on_replica(0), site.active().psql("SELECT count(*) FROM status_messages", site.db()));
  EXPECT_EQ(hd.psql("SELECT count(*) FROM pg_database WHERE datname LIKE '%__sk_%'"), "0");
}

// The swap ends reader sessions that are in the middle of a query and completes within swap_timeout.
TEST(Refresh, SwapWhileReaderSessionsAreLive) {
  Site site({.replicas = 1});
  expect_ok(site.run({"backup"}), "backup 1");
  expect_ok(site.run({"refresh"}), "refresh 1");
  site.add_messages(3, "new copy");
  expect_ok(site.run({"backup"}), "backup 2");
  auto& hd = site.replica(0);
  std::vector<std::unique_ptr<BackgroundProcess>> readers;
  for (int i = 0; i < 3; ++i)
    readers.push_back(std::make_unique<BackgroundProcess>(
        std::vector<std::string>{std::string(kPgBinDir) + "/psql", "-X", "-h", "127.0.0.1", "-p",
                                 std::to_string(hd.port()), "-U", "helpdesk", "-d", site.db(), "-c",
                                 "SELECT count(*) FROM status_messages, pg_sleep(300)"},
        site.dir() / ("reader" + std::to_string(i) + ".log"), Environment{{"PGPASSWORD", "helpdesk-demo"}}));
  wait_until([&] {
    return hd.psql("SELECT count(*) FROM pg_stat_activity WHERE usename = 'helpdesk' AND state = 'active'") == "3";
  }, "three reader sessions in a query");
  auto r = site.run({"refresh"}, std::chrono::minutes(2));
  expect_ok(r, "refresh with live readers");
  EXPECT_EQ(site.count_on_replica(0, "message = 'new copy'"), "3");
  for (auto& p : readers) EXPECT_TRUE(p->wait(std::chrono::seconds(30)).has_value());
  EXPECT_EQ(hd.psql("SELECT count(*) FROM pg_database WHERE datname LIKE '%__sk_%'"), "0");
}

// A session the swap cannot end (a prepared transaction holds the live copy): the swap gives up after
// swap_timeout and the replica keeps serving its old copy; once it is gone the next refresh swaps.
TEST(Refresh, SwapGivesUpAfterSwapTimeoutAndKeepsTheOldCopy) {
  Site site({.replicas = 1, .replica_settings = {{"max_prepared_transactions", "5"}}});
  expect_ok(site.run({"backup"}), "backup 1");
  expect_ok(site.run({"refresh"}), "refresh 1");
  const std::string id1 = newest_generation(site);
  const std::string before = site.count_on_replica(0);
  site.add_messages(4, "blocked copy");
  expect_ok(site.run({"backup"}), "backup 2");
  auto& hd = site.replica(0);
  hd.psql("BEGIN READ WRITE; LOCK TABLE sites IN ACCESS SHARE MODE; PREPARE TRANSACTION 'sitekeeper_test_stuck';",
          site.db());
  {  // the same config with a short swap_timeout
    std::ifstream in(site.config());
    std::string t((std::istreambuf_iterator<char>(in)), {});
    t.replace(t.find("swap_timeout = \"10s\""), std::string("swap_timeout = \"10s\"").size(), "swap_timeout = \"2s\"");
    std::ofstream(site.config()) << t;
  }
  auto t0 = std::chrono::steady_clock::now();
  auto r = site.run({"refresh"});
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("swap gave up"), std::string::npos) << r.out;
  EXPECT_LT(secs, 60.0);
  EXPECT_EQ(site.count_on_replica(0), before);
  EXPECT_EQ(hd.psql("SELECT count(*) FROM pg_database WHERE datname LIKE '%__sk_%'"), "0");
  EXPECT_EQ(site.json({"status"})["replicas"][0]["backup_id"], id1);
  hd.psql("ROLLBACK PREPARED 'sitekeeper_test_stuck'", site.db());
  expect_ok(site.run({"refresh"}), "refresh after the prepared transaction is gone");
  EXPECT_EQ(site.count_on_replica(0, "message = 'blocked copy'"), "4");
}

// Invariant 3: retention keeps `keep` generations inside an archive named with a space and deletes
// nothing in sibling folders that share its prefix.
TEST(Refresh, RetentionStaysInsideAnArchiveNamedWithASpace) {
  Site site({.replicas = 1, .archive = "site archive", .keep = 2});
  for (const char* sibling : {"site archive-old", "site", "site archive old"}) {
    fs::create_directories(site.dir() / sibling / "20200101T000000Z");
    std::ofstream(site.dir() / sibling / "20200101T000000Z" / "keep.txt") << "precious";
  }
  fs::create_directories(site.archive());
  fs::create_directory_symlink(site.dir() / "site archive-old" / "20200101T000000Z",
                               site.archive() / "20200102T000000Z");
  for (int i = 0; i < 4; ++i) expect_ok(site.run({"backup"}), "backup " + std::to_string(i));
  int complete = 0;
  for (const auto& e : fs::directory_iterator(site.archive()))
    if (!e.is_symlink() && fs::exists(e.path() / "COMPLETE")) ++complete;
  EXPECT_EQ(complete, 2);
  for (const char* sibling : {"site archive-old", "site", "site archive old"})
    EXPECT_TRUE(fs::exists(site.dir() / sibling / "20200101T000000Z" / "keep.txt")) << sibling;
  expect_ok(site.run({"refresh"}), "refresh from the spaced archive");
}

// Bad input changes nothing: an unreachable replica fails alone, with a clear error.
TEST(Refresh, UnreachableReplicaFailsAloneWithAClearError) {
  Site site({.replicas = 2});
  expect_ok(site.run({"backup"}), "backup");
  site.write_config("", free_port());  // hd1 now points at a port nobody listens on
  auto r = site.run({"refresh"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("hd1: failed"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("cannot connect to server hd1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("hd2: refreshed"), std::string::npos) << r.out;
  auto check = site.json({"check"});
  EXPECT_FALSE(check["ok"].get<bool>());
  EXPECT_EQ(site.run({"check"}).code, 1);
}

// Identifiers are quoted everywhere: a site database whose name holds a quote, a space and é.
TEST(Refresh, HostileDatabaseNameIsQuotedEverywhere) {
  Site site({.replicas = 1, .database = "Site \"Ops\"; DROP é"});
  expect_ok(site.run({"capture"}), "capture");
  expect_ok(site.run({"backup"}), "backup");
  expect_ok(site.run({"verify", "--deep"}), "verify --deep");
  expect_ok(site.run({"refresh"}), "refresh");
  EXPECT_EQ(site.count_on_replica(0), site.active().psql("SELECT count(*) FROM status_messages", site.db()));
  EXPECT_EQ(site.replica(0).psql("SELECT count(*) FROM pg_database WHERE datname = 'postgres'"), "1");
}

// A config error names file:line:column and the key, and nothing runs.
TEST(Refresh, ConfigErrorsStopBeforeAnythingRuns) {
  Site site({.replicas = 1, .load_site = false});
  site.write_config("[failover]\nmax_lag = \"16 parsecs\"\n");
  auto r = site.run({"backup"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("sitekeeper.toml:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("max_lag"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(site.archive()));
  // A plain password in a config others can read is refused.
  site.write_config("");
  {
    std::ofstream f(site.config(), std::ios::app);
  }
  std::string text;
  {
    std::ifstream in(site.config());
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  auto pos = text.find("password_file = \"secrets/pw\"");
  text.replace(pos, std::string("password_file = \"secrets/pw\"").size(), "password = \"sitekeeper-test-pw\"");
  {
    std::ofstream out(site.config());
    out << text;
  }
  ::chmod(site.config().c_str(), 0644);
  auto r2 = site.run({"status"});
  EXPECT_EQ(r2.code, 2) << r2.err;
  EXPECT_EQ(r2.err.find("sitekeeper-test-pw"), std::string::npos) << "password leaked: " << r2.err;
}

// The replica restore profile: check names every setting of a replica on PostgreSQL's defaults that
// slows restores, as advice (check still passes), and none once the replica runs the profile, on which
// a refresh works (wal_level = minimal).
TEST(Refresh, CheckAdvisesTheReplicaRestoreProfileAndARefreshRunsOnIt) {
  const std::vector<std::string> judged = {"checkpoint_timeout", "maintenance_work_mem", "max_wal_senders",
                                           "max_wal_size", "wal_level"};
  {
    Site site({.replicas = 1});
    expect_ok(site.run({"backup"}), "backup");  // check fails without a verified backup
    auto c = site.json({"check"});
    nlohmann::json replica;
    for (const auto& s : c["servers"])
      if (s["role"] == "replica") replica = s;
    ASSERT_TRUE(replica.is_object()) << c.dump();
    std::vector<std::string> named;
    for (const auto& d : replica["restore_profile"]) named.push_back(d.get<std::string>().substr(0, d.get<std::string>().find(' ')));
    EXPECT_EQ(named, judged) << replica["restore_profile"].dump();
    EXPECT_NE(replica["restore_profile"].dump().find("wal_level is replica; minimal is faster"), std::string::npos);
    for (const auto& s : c["servers"])
      if (s["role"] == "active") {
        EXPECT_FALSE(s.contains("restore_profile")) << "the profile is for replicas only";
      }
    EXPECT_TRUE(c["ok"].get<bool>()) << "advice is not a failure: " << c.dump();
  }
  Site site({.replicas = 1,
             .replica_settings = {{"wal_level", "minimal"}, {"max_wal_senders", "0"}, {"maintenance_work_mem", "512MB"},
                                  {"max_wal_size", "4GB"}, {"checkpoint_timeout", "15min"}}});
  auto c = site.json({"check"});
  int replicas = 0;
  for (const auto& s : c["servers"])
    if (s["role"] == "replica") {
      ++replicas;
      EXPECT_EQ(s["restore_profile"], nlohmann::json::array()) << s.dump();
    }
  ASSERT_EQ(replicas, 1) << c.dump();
  expect_ok(site.run({"backup"}), "backup");
  expect_ok(site.run({"refresh"}), "refresh onto a replica with wal_level = minimal");
  EXPECT_EQ(site.count_on_replica(0), site.active().psql("SELECT count(*) FROM status_messages", site.db()));
}
