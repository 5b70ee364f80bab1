// recover --server on real PostgreSQL 15: a site with no standby loses its active; the site is rebuilt
// on a fresh cluster from the archive. The help desk logs in, writes work, and new serial numbers are
// above every number the old active handed out after the backup. A kill -9 in the middle of the
// restore, then a resume, leaves no half-restored live database and finishes the job. recover
// --from-replica makes the replica that serves the backup the active: a login that could not log in on
// the replica writes above the old active's numbers, and refresh never touches it again.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/types.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>

#include "core/state/store.hpp"
#include "pg_cluster.hpp"
#include "site_fixture.hpp"
#include "standby/site_state.hpp"
#include "tests/unit/support/files.hpp"

namespace {

namespace fs = std::filesystem;
using namespace sk::test;
using namespace std::chrono_literals;

constexpr auto kLong = std::chrono::milliseconds(90s);

std::map<std::string, long long> sequences(const PgCluster& c, const std::string& db) {
  std::map<std::string, long long> out;
  std::istringstream in(c.psql("SELECT schemaname || '.' || sequencename || '|' || COALESCE(last_value, start_value) "
                               "FROM pg_sequences WHERE schemaname !~ '^pg_' ORDER BY 1",
                               db));
  for (std::string line; std::getline(in, line);) {
    auto bar = line.rfind('|');
    if (bar != std::string::npos) out[line.substr(0, bar)] = std::stoll(line.substr(bar + 1));
  }
  return out;
}

bool has_database(const PgCluster& c, const std::string& db) {
  return c.psql("SELECT count(*) FROM pg_database WHERE datname = '" + db + "'") == "1";
}

// A site with one replica and no standby, plus a fresh empty cluster `cm2` in no role. The daemon has
// watched the active after the backup, so the state store holds its serial high-water marks.
class RecoverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(files_ / "reports");
    std::ofstream(files_ / "reports" / "daily.rpt") << "SELECT 1 -- the site's custom report\n";
    site_ = std::make_unique<Site>(
        SiteOptions{.replicas = 1, .archive_extra = "files = " + toml_array({(files_ / "reports").string()}) + "\n"});
    spare_ = PgCluster::start({.name = "cm2"});
    site_->write_config(server_toml("cm2", *spare_));
  }

  std::string server_toml(const std::string& name, const PgCluster& c) {
    return "[servers." + name + "]\nhost = \"127.0.0.1\"\nport = " + std::to_string(c.port()) + "\nuser = \"" +
           c.superuser() + "\"\npassword_file = \"secrets/pw\"\n";
  }

  // Backup, then writes the backup does not hold, then the daemon until it has recorded them.
  void backup_then_write(int before_rows) {
    if (before_rows) site_->add_messages(before_rows, "before-backup");
    ASSERT_NO_FATAL_FAILURE(expect_ok(site_->run({"backup"}), "backup"));
    ASSERT_NO_FATAL_FAILURE(expect_ok(site_->run({"verify"}), "verify"));
    site_->add_messages(40, "after-backup");
    after_backup_ = sequences(site_->active(), site_->db());
    ASSERT_FALSE(after_backup_.empty());
    BackgroundProcess daemon(site_->argv({"run"}), site_->dir() / "daemon.log");
    LogOnFailure show{daemon};
    const fs::path state = site_->dir() / "state" / "sitekeeper.db";
    wait_until(
        [&] {
          sk::StateStore st(state);
          sk::standby::SiteState s(st);
          auto marks = s.serial_marks();
          for (const auto& [k, v] : after_backup_)
            if (!marks.count(k) || marks[k] < v) return false;
          return !s.last_active_sighting().changed_at.empty();
        },
        kLong, "the daemon to record the active's serial high-water marks");
    stop_daemon(daemon);
    site_->active().kill9();  // the site server is lost; nothing stands by
  }

  void expect_site_on_cm2() { expect_site_on(*spare_, "cm2"); }

  void expect_site_on(PgCluster& c, const std::string& name) {
    EXPECT_TRUE(has_database(c, site_->db()));
    EXPECT_FALSE(has_database(c, site_->db() + "__sk_staging"));
    // The help desk logs in with its captured password hash, and the data is last night's.
    EXPECT_NE(c.psql_as("helpdesk", "helpdesk-demo", "SELECT count(*) FROM resources", site_->db()), "");
    // Writes work, and every sequence continues above what the old active handed out after the backup.
    for (const auto& [seq, v] : sequences(c, site_->db()))
      EXPECT_GT(v, after_backup_.count(seq) ? after_backup_.at(seq) : 0) << seq;
    c.psql("INSERT INTO status_messages (site_code, component, message_id, severity, machine_name, message) "
           "VALUES ('CEN', 'recovered', 1, 'informational', 'PC', 'after recover')",
           site_->db());
    const auto id = std::stoll(c.psql("SELECT max(record_id) FROM status_messages", site_->db()));
    EXPECT_GT(id, after_backup_.at("public.status_messages_record_id_seq"));
    // The recovered server is the active in force: status says so, and a backup now reads from it.
    EXPECT_EQ(site_->json({"status"})["active"]["name"], name);
    ASSERT_NO_FATAL_FAILURE(expect_ok(site_->run({"backup"}), "backup from the recovered active"));
  }

  TempDir files_{"/tmp/sk recover files-"};  // the site's non-database state, in every backup
  std::unique_ptr<Site> site_;
  std::unique_ptr<PgCluster> spare_;
  std::map<std::string, long long> after_backup_;
};

TEST_F(RecoverTest, RebuildsASiteWithNoStandbyOnAFreshCluster) {
  ASSERT_NO_FATAL_FAILURE(backup_then_write(0));

  // Bad targets are refused before anything changes.
  auto replica = site_->run({"recover", "--server", "hd1", "--yes"});
  EXPECT_EQ(replica.code, 3) << replica.out << replica.err;
  EXPECT_TRUE(contains(replica.err, "help-desk replica")) << replica.err;
  auto unknown = site_->run({"recover", "--server", "nosuch", "--plan"});
  EXPECT_NE(unknown.code, 0);
  auto bad_id = site_->run({"recover", "--server", "cm2", "--backup", "../x", "--plan"});
  EXPECT_NE(bad_id.code, 0);
  EXPECT_EQ(spare_->psql("SELECT count(*) FROM pg_roles WHERE rolname = 'helpdesk'"), "0");

  auto plan = site_->json({"recover", "--server", "cm2", "--plan"});
  std::vector<std::string> names;
  for (const auto& s : plan["steps"]) names.push_back(s["name"]);
  EXPECT_EQ(names, (std::vector<std::string>{"verify", "fence", "roles", "restore", "grants", "profile", "serials", "swap",
                                             "epoch", "smoke", "alias", "repoint"}))
      << plan.dump(2);
  EXPECT_TRUE(contains(plan["data_loss_window"].get<std::string>(), "are lost")) << plan.dump(2);

  // The old active does not answer and no fence command is configured: refused at the fence.
  const fs::path files_to = site_->dir() / "restored files";
  auto refused = site_->run({"recover", "--server", "cm2", "--yes", "--files-to", files_to.string()});
  EXPECT_EQ(refused.code, 3) << refused.out << refused.err;
  EXPECT_TRUE(contains(refused.err, "cannot be fenced")) << refused.err;
  EXPECT_FALSE(has_database(*spare_, site_->db()));
  EXPECT_EQ(spare_->psql("SELECT count(*) FROM pg_roles WHERE rolname = 'helpdesk'"), "0");

  auto r = site_->run({"recover", "--server", "cm2", "--yes", "--old-active-is-down", "--files-to", files_to.string()});
  ASSERT_NO_FATAL_FAILURE(expect_ok(r, "recover --yes --old-active-is-down"));
  EXPECT_TRUE(contains(r.out, "recover done: cm2 is active")) << r.out;
  EXPECT_TRUE(contains(r.out, "changes on cm1 from the backup at")) << r.out;
  EXPECT_TRUE(contains(r.out, "are lost; it last answered at")) << r.out;
  EXPECT_TRUE(contains(r.err, "step verify already done")) << r.err;
  expect_site_on_cm2();
  EXPECT_EQ(slurp(files_to / (files_ / "reports" / "daily.rpt").relative_path()), "SELECT 1 -- the site's custom report\n");

  // Done: a second recover onto cm2 is refused, it holds the site database now.
  auto again = site_->run({"recover", "--server", "cm2", "--yes"});
  EXPECT_EQ(again.code, 3) << again.out << again.err;
  EXPECT_TRUE(contains(again.err, "already holds database")) << again.err;
}

TEST_F(RecoverTest, FromAReplicaTheHelpDeskCopyBecomesTheActiveAndRefreshNeverTouchesIt) {
  // A clerk writes on the active; on a replica it may not log in (only readers do).
  site_->active().psql("CREATE ROLE clerk LOGIN PASSWORD 'clerk-pw'; GRANT INSERT ON status_messages TO clerk; "
                       "GRANT USAGE ON SEQUENCE status_messages_record_id_seq TO clerk",
                       site_->db());
  ASSERT_NO_FATAL_FAILURE(expect_ok(site_->run({"backup"}), "backup"));
  ASSERT_NO_FATAL_FAILURE(expect_ok(site_->run({"refresh"}), "refresh"));
  auto& hd1 = site_->replica(0);
  EXPECT_FALSE(hd1.try_psql_as("clerk", "clerk-pw", "SELECT 1", site_->db()).ok());
  ASSERT_NO_FATAL_FAILURE(backup_then_write(0));  // a newer backup the replica does not serve; the active dies
  const std::string serves = site_->json({"status"})["replicas"][0]["backup_id"];

  auto plan = site_->json({"recover", "--from-replica", "hd1", "--plan"});
  std::vector<std::string> names;
  for (const auto& st : plan["steps"]) names.push_back(st["name"]);
  EXPECT_EQ(names, (std::vector<std::string>{"withdraw", "fence", "writable", "serials", "roles", "grants", "profile",
                                             "epoch", "smoke", "alias", "repoint"}))
      << plan.dump(2);
  EXPECT_EQ(plan["backup"], serves);
  auto both = site_->run({"recover", "--server", "cm2", "--from-replica", "hd1", "--plan"});
  EXPECT_EQ(both.code, 2) << both.err;

  const std::string oid_before = hd1.psql("SELECT oid FROM pg_database WHERE datname = '" + site_->db() + "'");
  auto r = site_->run({"recover", "--from-replica", "hd1", "--yes", "--old-active-is-down"});
  ASSERT_NO_FATAL_FAILURE(expect_ok(r, "recover --from-replica hd1"));
  EXPECT_TRUE(contains(r.out, "hd1 is active (epoch 1) with backup " + serves + ", which it served as a replica")) << r.out;
  // The fast path restores nothing: the site database is the very one the replica served.
  EXPECT_EQ(hd1.psql("SELECT oid FROM pg_database WHERE datname = '" + site_->db() + "'"), oid_before);
  // The help desk still reads; the clerk logs in and writes, above every number the old active issued.
  EXPECT_NE(hd1.psql_as("helpdesk", "helpdesk-demo", "SELECT count(*) FROM resources", site_->db()), "");
  hd1.psql_as("clerk", "clerk-pw",
              "INSERT INTO status_messages (site_code, component, message_id, severity, machine_name, message) "
              "VALUES ('CEN', 'recovered', 1, 'informational', 'PC', 'clerk after recover')",
              site_->db());
  const auto id = std::stoll(hd1.psql("SELECT max(record_id) FROM status_messages", site_->db()));
  EXPECT_GT(id, after_backup_.at("public.status_messages_record_id_seq"));
  for (const auto& [seq, v] : sequences(hd1, site_->db()))
    EXPECT_GT(v, after_backup_.count(seq) ? after_backup_.at(seq) : 0) << seq;
  EXPECT_EQ(site_->json({"status"})["active"]["name"], "hd1");

  // hd1 is the active in force now: a refresh has no replica left to restore over it.
  auto refresh = site_->run({"refresh"});
  EXPECT_NE(refresh.code, 0) << refresh.out;
  EXPECT_EQ(hd1.psql("SELECT count(*) FROM status_messages WHERE message = 'clerk after recover'", site_->db()), "1");
}

// The pg_restore that sitekeeper runs against `port` into the staging copy, or -1.
pid_t staging_restore(int port) {
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream f(e.path() / "cmdline");
    std::string cmd((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    if (contains(cmd, "pg_restore") && contains(cmd, "port=" + std::to_string(port) + "&") &&
        contains(cmd, "__sk_staging"))
      return static_cast<pid_t>(std::stol(name));
  }
  return -1;
}

TEST_F(RecoverTest, AKillInTheMiddleOfTheRestoreLeavesNoLiveDatabaseAndTheResumeFinishes) {
  // Enough rows that pg_restore runs for a second or more: the poll below (every 100 ms) must see it.
  ASSERT_NO_FATAL_FAILURE(backup_then_write(150000));
  const fs::path fence = site_->dir() / "fence.sh";
  {
    std::ofstream sh(fence);
    sh << "#!/bin/sh\nexit 0\n";
  }
  fs::permissions(fence, fs::perms::owner_all);
  site_->write_config(server_toml("cm2", *spare_) + "\n[failover]\nfence = [\"" + fence.string() + "\", \"{server}\"]\n");

  {
    BackgroundProcess run(site_->argv({"recover", "--server", "cm2", "--yes"}), site_->dir() / "recover.log");
    LogOnFailure show{run};
    pid_t restore = -1;
    wait_until([&] { return (restore = staging_restore(spare_->port())) > 0 || !run.running(); }, kLong,
               "the restore into the staging copy to start");
    ASSERT_GT(restore, 0) << "recover ended before its restore could be caught";
    // Frozen, the restore cannot finish before the kill: the step is certainly not journaled.
    ::kill(restore, SIGSTOP);
    run.signal(SIGKILL);
    ASSERT_EQ(run.wait(30s), 128 + SIGKILL);
    ::kill(restore, SIGCONT);
    wait_until([&] { return ::kill(restore, 0) != 0; }, kLong, "the orphaned pg_restore to die with its parent");
  }
  EXPECT_FALSE(has_database(*spare_, site_->db())) << "a killed restore left a live database";

  auto plan = site_->json({"recover", "--plan"});
  std::set<std::string> done;
  for (const auto& s : plan["steps"])
    if (s["done"].get<bool>()) done.insert(s["name"]);
  EXPECT_EQ(done, (std::set<std::string>{"verify", "fence", "roles"})) << plan.dump(2);
  auto other = site_->run({"recover", "--server", "hd1", "--yes"});
  EXPECT_EQ(other.code, 3);
  EXPECT_TRUE(contains(other.err, "unfinished recover onto cm2")) << other.err;

  auto r = site_->run({"recover", "--yes"});
  ASSERT_NO_FATAL_FAILURE(expect_ok(r, "recover --yes (resume)"));
  EXPECT_TRUE(contains(r.err, "resuming recover")) << r.err;
  EXPECT_TRUE(contains(r.err, "step roles already done")) << r.err;
  EXPECT_EQ(spare_->psql("SELECT count(*) FROM status_messages WHERE message = 'before-backup'", site_->db()), "150000");
  expect_site_on_cm2();
}

// A site of two databases, CM_CEN and CM_REP (its own table and sequences), with no standby: the
// active dies after the backup and after more numbers were handed out in both; recover onto a fresh
// cluster restores both, writes work in both, and both continue above the old active's numbers.
TEST(RecoverTwoDatabases, BothDatabasesAreRestoredAndContinueAboveTheOldActivesNumbers) {
  Site site({.replicas = 0, .more_databases = {"CM_REP"}});
  auto spare = PgCluster::start({.name = "cm2"});
  const std::string fence_ok = (site.dir() / "fence.sh").string();
  {
    std::ofstream sh(fence_ok);
    sh << "#!/bin/sh\nexit 0\n";
  }
  fs::permissions(fence_ok, fs::perms::owner_all);
  site.write_config("[servers.cm2]\nhost = \"127.0.0.1\"\nport = " + std::to_string(spare->port()) + "\nuser = \"" +
                    spare->superuser() + "\"\npassword_file = \"secrets/pw\"\n\n[failover]\nfence = [\"" + fence_ok +
                    "\", \"{server}\"]\n");
  ASSERT_NO_FATAL_FAILURE(expect_ok(site.run({"backup"}), "backup"));
  site.add_messages(40, "after-backup");
  advance_report_serials(site.active(), "CM_REP", 30);
  const auto site_after = sequences(site.active(), "CM_CEN");
  const auto rep_after = sequences(site.active(), "CM_REP");
  ASSERT_EQ(rep_after.size(), 2u);
  {
    BackgroundProcess daemon(site.argv({"run"}), site.dir() / "daemon.log");
    LogOnFailure show{daemon};
    const fs::path state = site.dir() / "state" / "sitekeeper.db";
    auto recorded = [](const std::map<std::string, std::int64_t>& marks, const std::map<std::string, long long>& want) {
      for (const auto& [k, v] : want)
        if (!marks.count(k) || marks.at(k) < v) return false;
      return true;
    };
    wait_until(
        [&] {
          sk::StateStore st(state);
          sk::standby::SiteState s(st);
          return recorded(s.serial_marks(), site_after) && recorded(s.serial_marks("CM_REP"), rep_after);
        },
        kLong, "the daemon to record the high-water marks of both databases");
    stop_daemon(daemon);
  }
  site.active().kill9();

  auto plan = site.run({"recover", "--server", "cm2", "--plan"});
  EXPECT_TRUE(contains(plan.out, "CM_REP__sk_staging renamed to CM_REP")) << plan.out;
  auto r = site.run({"recover", "--server", "cm2", "--yes"});
  ASSERT_NO_FATAL_FAILURE(expect_ok(r, "recover --server cm2 --yes"));
  for (const std::string db : {"CM_CEN", "CM_REP"}) {
    EXPECT_TRUE(has_database(*spare, db)) << db;
    EXPECT_FALSE(has_database(*spare, db + "__sk_staging")) << db;
  }
  for (const auto& [db, after] : {std::pair{std::string("CM_CEN"), site_after}, std::pair{std::string("CM_REP"), rep_after}})
    for (const auto& [seq, v] : sequences(*spare, db)) {
      ASSERT_TRUE(after.count(seq)) << db << " " << seq;
      EXPECT_GT(v, after.at(seq)) << db << " " << seq << " is not past the old active's";
    }
  // Writes work in both, and the new numbers are above every one the old active handed out.
  const auto report = std::stoll(spare->psql("INSERT INTO reports (title) VALUES ('after recover') RETURNING report_id", "CM_REP"));
  EXPECT_GT(report, rep_after.at("public.reports_report_id_seq"));
  EXPECT_GT(std::stoll(spare->psql("SELECT nextval('report_serials')", "CM_REP")), rep_after.at("public.report_serials"));
  spare->psql("INSERT INTO status_messages (site_code, component, message_id, severity, machine_name, message) "
              "VALUES ('CEN', 'recovered', 1, 'informational', 'PC', 'after recover')",
              "CM_CEN");
  EXPECT_GT(std::stoll(spare->psql("SELECT max(record_id) FROM status_messages", "CM_CEN")),
            site_after.at("public.status_messages_record_id_seq"));
  // The grants of the second database came back with it.
  EXPECT_EQ(spare->psql_as("helpdesk", "helpdesk-demo", "SELECT count(*) FROM reports WHERE title LIKE 'report %'", "CM_REP"),
            "50");
}

}  // namespace
