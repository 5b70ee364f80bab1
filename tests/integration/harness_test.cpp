// Proves the integration-test harness itself, so that a failing product test points at the product.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "integration_support.hpp"
#include "pg_cluster.hpp"

namespace fs = std::filesystem;
using namespace sk::test;

#ifndef SK_SOURCE_DIR
#error "SK_SOURCE_DIR must name the source tree (the demo SQL lives there)"
#endif

namespace {

bool process_alive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  auto rp = line.rfind(')');
  return rp != std::string::npos && line[rp + 2] != 'Z';
}

}  // namespace

TEST(Harness, TwoClustersRunSideBySideInAwkwardlyNamedFolders) {
  auto a = PgCluster::start({.name = "alpha"});
  auto b = PgCluster::start({.name = "beta"});
  EXPECT_NE(a->port(), b->port());
  EXPECT_NE(a->data_dir(), b->data_dir());
  for (const auto* c : {a.get(), b.get()}) {
    const std::string dir = c->temp_dir().filename().string();
    EXPECT_NE(dir.find(' '), std::string::npos) << dir;
    EXPECT_NE(dir.find("\xC3\xA9"), std::string::npos) << dir;  // é
    EXPECT_TRUE(c->running());
    EXPECT_EQ(c->host(), "127.0.0.1");
    EXPECT_TRUE(c->socket_dir().string().starts_with(c->temp_dir().string()));
    EXPECT_EQ(c->psql("SELECT 40 + 2"), "42");
    EXPECT_EQ(c->psql("SHOW port"), std::to_string(c->port()));
    EXPECT_EQ(c->psql("SHOW wal_level"), "replica");
    EXPECT_EQ(c->psql("SHOW server_encoding"), "UTF8");
    EXPECT_EQ(c->psql("SELECT current_user"), "sitekeeper");
  }
  // Each cluster is really a separate server.
  a->psql("CREATE TABLE only_in_a (x int)");
  EXPECT_EQ(b->psql("SELECT count(*) FROM pg_class WHERE relname = 'only_in_a'"), "0");
}

TEST(Harness, PsqlRunsScriptsAndReportsErrors) {
  auto c = PgCluster::start();
  // Several statements, one of which cannot run inside a transaction block.
  c->psql("CREATE DATABASE \"CM CEN é\"; SELECT 1;");
  EXPECT_EQ(c->psql("CREATE TABLE t (v text); INSERT INTO t VALUES ('a b'), ('é'); SELECT v FROM t ORDER BY v;",
                    "CM CEN \xC3\xA9"),
            "a b\n\xC3\xA9");
  auto bad = c->try_psql("SELECT 1; SELECT no_such_column FROM pg_class; SELECT 2;");
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.err.find("no_such_column"), std::string::npos) << bad.err;
  EXPECT_EQ(bad.out, "1");  // ON_ERROR_STOP: nothing after the error ran
  EXPECT_THROW(c->psql("SELEC 1"), std::runtime_error);
}

TEST(Harness, RoleLogsInOverTcpWithItsPasswordOnly) {
  auto c = PgCluster::start();
  c->psql("CREATE ROLE reader LOGIN PASSWORD 'r3ader pw'");
  EXPECT_EQ(c->psql_as("reader", "r3ader pw", "SELECT current_user || ' ' || host(inet_server_addr())"),
            "reader 127.0.0.1");
  auto wrong = c->try_psql_as("reader", "not it", "SELECT 1");
  EXPECT_FALSE(wrong.ok());
  EXPECT_NE(wrong.err.find("password authentication failed"), std::string::npos) << wrong.err;
  // The superuser too needs its password over TCP (scram), which is what the product uses.
  EXPECT_EQ(c->psql_as(c->superuser(), c->password(), "SELECT 1"), "1");
  EXPECT_FALSE(c->try_psql_as(c->superuser(), "", "SELECT 1").ok());
  // Replication connections over TCP are allowed (pg_basebackup for standby init).
  EXPECT_EQ(c->psql("SELECT count(*) FROM pg_hba_file_rules WHERE 'replication' = ANY(database)"
                    " AND type = 'host' AND auth_method = 'scram-sha-256'")
                .empty(),
            false);
}

TEST(Harness, StopRestartAndKill9) {
  auto c = PgCluster::start();
  c->psql("CREATE TABLE kept (v int); INSERT INTO kept VALUES (7)");
  c->stop();
  EXPECT_FALSE(c->running());
  EXPECT_FALSE(c->try_psql("SELECT 1").ok());
  c->stop();  // idempotent
  c->restart();
  EXPECT_TRUE(c->running());
  EXPECT_EQ(c->psql("SELECT v FROM kept"), "7");

  const auto pid = c->postmaster_pid();
  ASSERT_TRUE(pid);
  c->psql("INSERT INTO kept VALUES (8)");
  c->kill9();
  EXPECT_FALSE(c->running());
  EXPECT_FALSE(process_alive(*pid));
  EXPECT_TRUE(fs::exists(c->data_dir() / "postmaster.pid")) << "a crash leaves its pid file behind";
  c->restart();  // crash recovery
  EXPECT_EQ(c->psql("SELECT string_agg(v::text, ',' ORDER BY v) FROM kept"), "7,8");
  EXPECT_NE(c->server_log().find("database system was interrupted"), std::string::npos);
}

TEST(Harness, DestructorStopsTheServerAndRemovesTheFolder) {
  fs::path root;
  pid_t pid = 0;
  int port = 0;
  {
    auto c = PgCluster::start();
    root = c->temp_dir();
    pid = c->postmaster_pid().value();
    port = c->port();
    c->write_password_file();
    ASSERT_TRUE(fs::exists(root));
  }
  EXPECT_FALSE(fs::exists(root)) << root;
  EXPECT_FALSE(process_alive(pid));
  // The port is free again: nothing listens on it.
  std::string out, err;
  EXPECT_NE(run_command({std::string(kPgBinDir) + "/pg_isready", "-h", "127.0.0.1", "-p", std::to_string(port),
                         "-t", "2"},
                        {}, &out, &err),
            0);
}

TEST(Harness, DestructorCleansUpAfterAThrowingTest) {
  fs::path root;
  try {
    auto c = PgCluster::start();
    root = c->temp_dir();
    c->psql("SELECT * FROM missing_table");
    FAIL() << "psql should have thrown";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("missing_table"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(root.empty());
  EXPECT_FALSE(fs::exists(root));
}

TEST(Harness, PasswordFileIsPrivate) {
  auto c = PgCluster::start();
  const fs::path p = c->write_password_file();
  EXPECT_TRUE(p.string().starts_with(c->temp_dir().string()));
  struct stat st {};
  ASSERT_EQ(::stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_uid, ::geteuid());
  std::ifstream in(p);
  std::string content((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(content, c->password());

  const fs::path custom = c->temp_dir() / "conf dir é" / "cm1.pw";
  EXPECT_EQ(c->write_password_file(custom), custom);
  ASSERT_EQ(::stat(custom.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(Harness, EmptyClusterHasAFolderButNoServer) {
  auto c = PgCluster::start({.name = "standby", .initdb = false});
  EXPECT_TRUE(fs::is_directory(c->data_dir()));
  EXPECT_TRUE(fs::is_empty(c->data_dir()));
  EXPECT_GT(c->port(), 0);
  EXPECT_FALSE(c->running());
}

TEST(Harness, ExtraSettingsWin) {
  auto c = PgCluster::start({.settings = {{"shared_buffers", "'24MB'"}, {"max_connections", "42"}}});
  EXPECT_EQ(c->psql("SHOW shared_buffers"), "24MB");
  EXPECT_EQ(c->psql("SHOW max_connections"), "42");
}

TEST(Harness, RunCommandUsesNoShell) {
  std::string out, err;
  EXPECT_EQ(run_command({"echo", "a b; echo injected", "$HOME"}, {}, &out, &err), 0);
  EXPECT_EQ(out, "a b; echo injected $HOME\n");

  EXPECT_EQ(run_command({"sh", "-c", "echo \"$SK_X\"; echo oops >&2; exit 3"}, {{"SK_X", "x y"}}, &out, &err), 3);
  EXPECT_EQ(out, "x y\n");
  EXPECT_EQ(err, "oops\n");

  ::setenv("SK_HARNESS_UNSET_ME", "present", 1);
  EXPECT_EQ(run_command({"sh", "-c", "echo \"[${SK_HARNESS_UNSET_ME-}]\""}, {{"SK_HARNESS_UNSET_ME", std::nullopt}},
                        &out, &err),
            0);
  EXPECT_EQ(out, "[]\n");

  RunOptions with_input;
  with_input.input = std::string(1 << 20, 'x');  // larger than a pipe buffer
  EXPECT_EQ(run_command({"wc", "-c"}, {}, &out, &err, with_input), 0);
  EXPECT_EQ(out, "1048576\n");

  RunOptions in_dir;
  in_dir.cwd = "/";
  EXPECT_EQ(run_command({"pwd"}, {}, &out, &err, in_dir), 0);
  EXPECT_EQ(out, "/\n");

  EXPECT_EQ(run_command({"/no/such/binary"}, {}, &out, &err), 127);
  EXPECT_EQ(run_command({"sh", "-c", "kill -TERM $$"}, {}, &out, &err), 128 + SIGTERM);

  RunOptions quick;
  quick.timeout = std::chrono::milliseconds(300);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(run_command({"sleep", "30"}, {}, &out, &err, quick), kTimedOutExitCode);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
}

TEST(Harness, WaitUntilNamesWhatItWaitedFor) {
  int calls = 0;
  wait_until([&] { return ++calls == 3; }, "the third call");
  EXPECT_EQ(calls, 3);
  try {
    wait_until([] { return false; }, std::chrono::milliseconds(200), "the moon to turn blue");
    FAIL() << "wait_until should have thrown";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("the moon to turn blue"), std::string::npos) << e.what();
  }
  try {
    wait_until([]() -> bool { throw std::runtime_error("server not up"); }, std::chrono::milliseconds(200),
               "a server");
    FAIL() << "wait_until should have thrown";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("server not up"), std::string::npos) << e.what();
  }
}

TEST(Harness, FreePortsAreDistinct) {
  const int a = free_port(), b = free_port();
  EXPECT_NE(a, b);
  EXPECT_GT(a, 0);
}

TEST(Harness, BackgroundProcessIsStoppedBySignalAndByDestructor) {
  auto c = PgCluster::start();  // only for a temp folder with an awkward name
  const fs::path log = c->temp_dir() / "daemon log.txt";
  {
    BackgroundProcess p({"sh", "-c", "trap 'echo got TERM; exit 0' TERM; echo started; while :; do sleep 0.05; done"},
                        log);
    wait_until([&] { return p.log().find("started") != std::string::npos; }, "the daemon to start");
    EXPECT_TRUE(p.running());
    p.signal(SIGTERM);
    EXPECT_EQ(p.wait(std::chrono::seconds(10)), 0);
    EXPECT_NE(p.log().find("got TERM"), std::string::npos);
  }
  pid_t pid = 0;
  {
    BackgroundProcess p({"sleep", "300"}, log);
    pid = p.pid();
    EXPECT_TRUE(p.running());
  }
  EXPECT_FALSE(process_alive(pid));
}

TEST(Harness, AsServerUserWrapsOnlyForRoot) {
  const auto argv = as_server_user({"pg_ctl", "status"});
  if (running_as_root()) {
    ASSERT_EQ(argv.size(), 6u);
    EXPECT_EQ(argv[2], "postgres");
    EXPECT_EQ(argv[4], "pg_ctl");
  } else {
    EXPECT_EQ(argv, (std::vector<std::string>{"pg_ctl", "status"}));
  }
}

TEST(Harness, DemoSiteLoadsAndHelpdeskCanOnlyRead) {
  auto c = PgCluster::start({.name = "site"});
  c->psql("CREATE DATABASE \"CM_CEN\"");
  const fs::path demo = fs::path(SK_SOURCE_DIR) / "demo";
  c->psql_file(demo / "site_schema.sql", "CM_CEN");
  c->psql_file(demo / "site_data.sql", "CM_CEN");

  EXPECT_EQ(c->psql("SELECT (SELECT count(*) FROM sites) || ' ' || (SELECT count(*) FROM site_systems) || ' ' ||"
                    " (SELECT count(*) FROM resources) || ' ' || (SELECT count(*) FROM collections) || ' ' ||"
                    " (SELECT count(*) FROM collection_members) || ' ' || (SELECT count(*) FROM packages) || ' ' ||"
                    " (SELECT count(*) FROM advertisements) || ' ' || (SELECT count(*) FROM status_messages)",
                    "CM_CEN"),
            "4 16 2000 12 3000 60 180 5000");
  EXPECT_EQ(c->psql("SELECT min(package_id) || ' ' || max(package_id) FROM packages", "CM_CEN"), "CEN00001 CEN00060");
  EXPECT_EQ(c->psql("SELECT last_value FROM site_serials", "CM_CEN"), "60");
  EXPECT_EQ(c->psql("SELECT site_name FROM sites WHERE site_code = 'EAS'", "CM_CEN"),
            "Est \xE2\x80\x94 Z\xC3\xBCrich & Gen\xC3\xA8ve");

  // Deterministic: a second database loaded the same way has the same content.
  c->psql("CREATE DATABASE \"CM_TWO\"");
  c->psql_file(demo / "site_schema.sql", "CM_TWO");  // roles exist now: must still load
  c->psql_file(demo / "site_data.sql", "CM_TWO");
  const std::string digest =
      "SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM (SELECT * FROM status_messages) t";
  EXPECT_EQ(c->psql(digest, "CM_CEN"), c->psql(digest, "CM_TWO"));

  // The help desk reads ...
  EXPECT_EQ(c->psql_as("helpdesk", "helpdesk-demo", "SELECT count(*) FROM site_systems", "CM_CEN"), "16");
  EXPECT_EQ(c->psql_as("helpdesk", "helpdesk-demo", "SELECT count(*) FROM resource_health", "CM_CEN"), "1992");
  // ... and cannot write.
  auto ins = c->try_psql_as("helpdesk", "helpdesk-demo",
                            "INSERT INTO status_messages (site_code, component, message_id, severity, machine_name,"
                            " message) VALUES ('CEN', 'X', 1, 'error', 'M', 'm')",
                            "CM_CEN");
  EXPECT_FALSE(ins.ok());
  EXPECT_NE(ins.err.find("permission denied"), std::string::npos) << ins.err;
  EXPECT_FALSE(c->try_psql_as("helpdesk", "helpdesk-demo", "SELECT nextval('site_serials')", "CM_CEN").ok());
  EXPECT_FALSE(c->try_psql_as("helpdesk", "helpdesk-demo", "CREATE TABLE mine (x int)", "CM_CEN").ok());

  // Default privileges: a table added later is readable by the help desk and writable by site_admin.
  c->psql("CREATE TABLE hardware_inventory (resource_id bigint, cpu text)", "CM_CEN");
  EXPECT_EQ(c->psql_as("helpdesk", "helpdesk-demo", "SELECT count(*) FROM hardware_inventory", "CM_CEN"), "0");
  EXPECT_EQ(c->psql("SELECT has_table_privilege('site_admin', 'hardware_inventory', 'INSERT')"
                    " || ' ' || has_table_privilege('helpdesk', 'hardware_inventory', 'INSERT')",
                    "CM_CEN"),
            "true false");
  EXPECT_EQ(c->psql("SELECT rolcanlogin FROM pg_roles WHERE rolname = 'site_admin'"), "f");

  // The big-site generator works (small here) and grows the serial numbers.
  const std::string before = c->psql("SELECT max(record_id) FROM status_messages", "CM_CEN");
  c->psql_file(demo / "make_big_site.sql", "CM_CEN", {{"rows", "2000"}});
  EXPECT_EQ(c->psql("SELECT count(*) FROM status_messages", "CM_CEN"), "7000");
  EXPECT_EQ(c->psql("SELECT max(record_id) - " + before + " FROM status_messages", "CM_CEN"), "2000");
  EXPECT_EQ(c->psql("SELECT count(*) FROM resources WHERE name LIKE 'BIG-PC-%'", "CM_CEN"), "20");
}

// Run by CrashedTestLeavesNoServerBehind in a child process: starts a cluster, reports it, then dies
// without running any destructor. Skipped in a normal run.
TEST(HarnessCrashChild, StartsAClusterThenDies) {
  const char* report = std::getenv("SK_HARNESS_CRASH_REPORT");
  if (!report) GTEST_SKIP() << "only run as the child of Harness.CrashedTestLeavesNoServerBehind";
  auto c = PgCluster::start({.name = "doomed"});
  {
    std::ofstream out(report);
    out << c->temp_dir().string() << "\n" << c->postmaster_pid().value() << "\n";
  }
  std::raise(SIGKILL);
}

TEST(Harness, CrashedTestLeavesNoServerBehind) {
  auto scratch = PgCluster::start({.name = "scratch", .initdb = false});  // a folder for the report
  const auto report = run_crash_child("HarnessCrashChild.StartsAClusterThenDies", "SK_HARNESS_CRASH_REPORT",
                                      scratch->temp_dir() / "crash report.txt");
  ASSERT_EQ(report.size(), 2u);
  const std::string root = report[0];
  const pid_t pid = std::stoi(report[1]);
  wait_until([&] { return !process_alive(pid); }, "the orphaned postmaster to be shut down");
  wait_until([&] { return !fs::exists(root); }, "the orphaned cluster folder to be removed: " + root);
}
