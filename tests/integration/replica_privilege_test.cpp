// Least privilege on replicas, on real PostgreSQL 15: a capture that would give a reader more than
// reading is refused before any role changes, validation checks each reader's effective rights on the
// server, a refresh that fails undoes its role changes, other roles cannot log in on a replica, and
// verify --deep never touches a server that serves the site.
#include <gtest/gtest.h>

#include <stdlib.h>

#include <filesystem>

#include "pg_cluster.hpp"
#include "site_fixture.hpp"

using namespace sk::test;
namespace fs = std::filesystem;

namespace {

// A refreshed site with one replica, then the active changed by `on_active` and backed up again.
std::unique_ptr<Site> site_after(const std::string& on_active) {
  auto site = std::make_unique<Site>(SiteOptions{.replicas = 1});
  EXPECT_EQ(site->run({"backup"}).code, 0);
  EXPECT_EQ(site->run({"refresh"}).code, 0);
  if (!on_active.empty()) site->active().psql(on_active, site->db());
  site->add_messages(5, "second night");
  EXPECT_EQ(site->run({"backup"}).code, 0);
  return site;
}

std::string attr(const PgCluster& c, const std::string& role, const std::string& column) {
  return c.psql("SELECT " + column + " FROM pg_roles WHERE rolname = '" + role + "'");
}

}  // namespace

TEST(ReplicaPrivilege, AnElevatedReaderInTheCaptureIsRefusedBeforeAnyRoleChanges) {
  auto site = site_after("ALTER ROLE helpdesk CREATEDB");
  const std::string before = site->count_on_replica(0);
  auto r = site->run({"refresh"});
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_NE((r.out + r.err).find("would give reader helpdesk CREATEDB on a replica"), std::string::npos)
      << r.out << r.err;
  EXPECT_EQ(attr(site->replica(0), "helpdesk", "rolcreatedb"), "f");
  EXPECT_EQ(site->count_on_replica(0), before);
}

// The review's escalation: a membership that lets the help-desk login run programs on the host.
TEST(ReplicaPrivilege, AHostReachingMembershipIsRefusedAndTheReaderCannotRunPrograms) {
  auto site = site_after("GRANT pg_execute_server_program TO helpdesk");
  auto r = site->run({"refresh"});
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_NE((r.out + r.err).find("would make reader helpdesk a member"), std::string::npos) << r.out << r.err;
  auto& hd = site->replica(0);
  EXPECT_EQ(hd.psql("SELECT pg_has_role('helpdesk', 'pg_execute_server_program', 'MEMBER')"), "f");
  auto copy = hd.try_psql_as("helpdesk", "helpdesk-demo", "COPY (SELECT 1) TO PROGRAM 'id'", site->db());
  EXPECT_FALSE(copy.ok());
  EXPECT_NE(copy.err.find("have privileges of the pg_execute_server_program role"), std::string::npos) << copy.err;
}

// A right granted on the replica by hand is found by validation; the refresh fails, keeps the old
// copy, and puts back every role change its replay made (a new password, a new role).
TEST(ReplicaPrivilege, ValidationChecksTheServerAndAFailedRefreshUndoesItsRoleChanges) {
  auto site = site_after("ALTER ROLE helpdesk PASSWORD 'changed-on-the-active'; "
                         "CREATE ROLE newcomer LOGIN PASSWORD 'n'; GRANT SELECT ON site_systems TO newcomer");
  auto& hd = site->replica(0);
  const std::string before = site->count_on_replica(0);
  hd.psql("GRANT pg_read_server_files TO helpdesk");
  auto r = site->run({"refresh"});
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_NE((r.out + r.err).find("is a member of pg_read_server_files"), std::string::npos) << r.out << r.err;
  EXPECT_EQ(site->count_on_replica(0), before);
  // The replica's help desk still logs in with the password its live copy was restored with.
  EXPECT_NE(hd.psql_as("helpdesk", "helpdesk-demo", "SELECT count(*) FROM resources", site->db()), "");
  EXPECT_FALSE(hd.try_psql_as("helpdesk", "changed-on-the-active", "SELECT 1", site->db()).ok());
  EXPECT_EQ(hd.psql("SELECT count(*) FROM pg_roles WHERE rolname = 'newcomer'"), "0");
  EXPECT_EQ(hd.psql("SELECT count(*) FROM pg_database WHERE datname LIKE '%__sk_%'"), "0");

  // Once the hand-made grant is gone, the refresh goes through and the new password holds.
  hd.psql("REVOKE pg_read_server_files FROM helpdesk");
  expect_ok(site->run({"refresh"}), "refresh after the revoke");
  EXPECT_NE(hd.psql_as("helpdesk", "changed-on-the-active", "SELECT count(*) FROM resources", site->db()), "");
}

TEST(ReplicaPrivilege, RolesThatAreNotReadersCannotLogInOnAReplica) {
  auto site = site_after("CREATE ROLE app_writer LOGIN SUPERUSER PASSWORD 'writer'; GRANT site_admin TO app_writer");
  expect_ok(site->run({"refresh"}), "refresh");
  auto& hd = site->replica(0);
  auto login = hd.try_psql_as("app_writer", "writer", "SELECT 1", site->db());
  EXPECT_FALSE(login.ok());
  EXPECT_NE(login.err.find("not permitted to log in"), std::string::npos) << login.err;
  EXPECT_EQ(attr(hd, "app_writer", "rolsuper"), "f");
  // On the active it is untouched.
  EXPECT_EQ(attr(site->active(), "app_writer", "rolsuper"), "t");
}

TEST(ReplicaPrivilege, VerifyDeepNeverTouchesAServingServer) {
  Site site({.replicas = 1, .replica_settings = {{"log_connections", "on"}}});
  expect_ok(site.run({"backup"}), "backup");
  const auto log_before = site.replica(0).server_log().size();
  // A folder of this test's own for the scratch server, so that a concurrent test's trial cannot be taken
  // for one this run left behind.
  std::string tmpl = "/tmp/sk-verify-deep-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  const fs::path tmp = tmpl;
  fs::permissions(tmp, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
  auto deep = run_capture(site.argv({"verify", "--deep"}), {{"TMPDIR", tmp.string()}});
  expect_ok(deep, "verify --deep");
  EXPECT_NE(deep.out.find("scratch server"), std::string::npos) << deep.out;
  EXPECT_EQ(site.replica(0).server_log().substr(log_before).find("connection authorized"), std::string::npos)
      << site.replica(0).server_log().substr(log_before);
  EXPECT_EQ(site.active().psql("SELECT count(*) FROM pg_database WHERE datname LIKE '%__sk_verify'"), "0");
  EXPECT_TRUE(fs::is_empty(tmp)) << fs::directory_iterator(tmp)->path();
  // The scratch folder really is made under $TMPDIR: one that does not exist fails the verification by name.
  auto missing = run_capture(site.argv({"verify", "--deep"}), {{"TMPDIR", (tmp / "missing").string()}});
  EXPECT_NE(missing.code, 0);
  EXPECT_NE(missing.err.find("scratch server in " + (tmp / "missing").string()), std::string::npos) << missing.err;
  fs::remove_all(tmp);

  for (const std::string serving : {"hd1", "cm1"}) {
    auto refused = site.run({"verify", "--deep", "--server", serving});
    EXPECT_EQ(refused.code, 3) << refused.out << refused.err;
    EXPECT_NE(refused.err.find("it serves the site"), std::string::npos) << refused.err;
  }
}
