// Golden tests of the PostgreSQL dialect: every builder in sql/postgres/pg_sql.hpp is compared byte
// for byte with tests/golden/postgres/*.sql, always with hostile names in the mix. The integration
// tests run the same text against real servers; these pin it down, so any change to a statement shows
// up here as a diff. A mismatch writes the actual text to
// $TMPDIR/sitekeeper-golden-actual/postgres/<name>.
#include <gtest/gtest.h>

#include <limits>
#include <map>

#include "core/error.hpp"
#include "sql/ident.hpp"
#include "sql/permscript.hpp"
#include "sql/postgres/pg_sql.hpp"
#include "support/golden.hpp"

namespace q = sk::sql::pg::q;
using sk::sql::quote_ident;
using sk::sql::quote_literal;

namespace {

const std::vector<std::string> kNames = {
    "CM_CEN", "a\"b", "x'; DROP DATABASE y--", "site db with spaces", "Ünïcødé 站点", "\"already\"\"quoted\"",
};
const std::vector<std::string> kReaders = {"helpdesk", "a\"b", "Ünïcødé 站点"};

const std::string kNul("a\0b", 3);
const std::string kBadUtf8 = "\xC3\x28";
const std::string kTooLong(64, 'n');

// psql-style: each statement ended by a ';' line, each section headed by a comment.
struct Script : sk::test::Script {
  Script() : sk::test::Script{";\n", ""} {}
};

void expect_golden(const std::string& name, const std::string& actual) {
  // SOCI's ODBC backend would read "::name" as a bind placeholder.
  EXPECT_EQ(actual.find("::"), std::string::npos) << name << " holds a :: cast";
  sk::test::expect_golden("postgres", name, actual);
}

}  // namespace

// ---- quoting -------------------------------------------------------------------------------------

TEST(PgQuote, IdentifiersAndLiterals) {
  EXPECT_EQ(quote_ident("CM_CEN"), "\"CM_CEN\"");
  EXPECT_EQ(quote_ident("a\"b"), "\"a\"\"b\"");
  EXPECT_EQ(quote_ident("\"already\"\"quoted\""), "\"\"\"already\"\"\"\"quoted\"\"\"");
  EXPECT_EQ(quote_literal("x'; DROP DATABASE y--"), "'x''; DROP DATABASE y--'");
  EXPECT_EQ(quote_literal(""), "''");
  EXPECT_NO_THROW(quote_ident(std::string(63, 'n')));

  Script s;
  for (const auto& n : kNames)
    s.add("SELECT " + quote_literal(n) + " AS literal, " + quote_literal(quote_ident(n)) + " AS quoted -- " +
          quote_ident(n));
  expect_golden("quoting.sql", s.text);
}

TEST(PgQuote, BuildersRejectUnquotableNamesBeforeAnyText) {
  for (const auto& bad : {kNul, kBadUtf8, kTooLong, std::string()}) {
    EXPECT_THROW(quote_ident(bad), sk::Error);
    EXPECT_THROW(q::drop_database(bad), sk::Error);
    EXPECT_THROW(q::create_staging_database(bad), sk::Error);
    EXPECT_THROW(q::rename_database("CM_CEN", bad), sk::Error);
    EXPECT_THROW(q::rename_database(bad, "CM_CEN"), sk::Error);
    EXPECT_THROW(q::revoke_database_writes("CM_CEN", {"helpdesk", bad}), sk::Error);
    EXPECT_THROW(q::grant_table_select(bad, {"helpdesk"}), sk::Error);
    EXPECT_THROW(q::set_local_role(bad), sk::Error);
    EXPECT_THROW(q::write_attempts(q::Relation{"dbo", bad}), sk::Error);
    EXPECT_THROW(q::read_probe(q::Relation{bad, "Sites"}), sk::Error);
    EXPECT_THROW(q::resync_serial("dbo", bad, 1), sk::Error);
    EXPECT_THROW(q::allow_connections(bad, false), sk::Error);
    EXPECT_THROW(q::alter_system_set(bad, "on"), sk::Error);
    EXPECT_THROW(q::create_extension(bad), sk::Error);
    EXPECT_THROW(q::alter_setting(bad, "reader", true, "work_mem", "64MB"), sk::Error);
    EXPECT_THROW(q::alter_role(bad, "WITH LOGIN"), sk::Error);
    EXPECT_THROW(q::create_role_statement(q::Role{bad}), sk::Error);
    EXPECT_THROW(q::grant_role_statement(q::Membership{"reader", bad}), sk::Error);
  }
  // A literal may be long or empty, but never hold a NUL byte.
  EXPECT_THROW(quote_literal(kNul), sk::Error);
  EXPECT_THROW(q::database_exists(kNul), sk::Error);
  EXPECT_THROW(q::role_exists(kNul), sk::Error);
  EXPECT_THROW(q::writable_by(kNul), sk::Error);
  EXPECT_THROW(q::end_sessions_on(kNul), sk::Error);
  EXPECT_THROW(q::end_copy_sessions(1, {"CM_CEN", std::string(kNul)}), sk::Error);
  EXPECT_THROW(q::slot_exists(kNul), sk::Error);
  EXPECT_THROW(q::alter_system_set("work_mem", kNul), sk::Error);
  q::Role role{"reader"};
  role.password = kNul;
  EXPECT_THROW(q::create_role_statement(role), sk::Error);
  EXPECT_NO_THROW(q::database_exists(kTooLong));
}

TEST(PgQuote, GrantsNeedKeywordsAndKnownObjects) {
  EXPECT_THROW(q::grant_connect("CM_CEN", {}), sk::Error);
  EXPECT_THROW(q::grant_schema_usage("dbo", {}), sk::Error);
  EXPECT_THROW(q::grant_statement({}, "DATABASE \"CM_CEN\"", "PUBLIC", false), sk::Error);
  EXPECT_THROW(q::grant_statement({"SELECT; DROP"}, "DATABASE \"CM_CEN\"", "PUBLIC", false), sk::Error);
  EXPECT_THROW(q::grant_statement({"select"}, "DATABASE \"CM_CEN\"", "PUBLIC", false), sk::Error);
  EXPECT_THROW(q::grant_statement({"ALTER  SYSTEM"}, "DATABASE \"CM_CEN\"", "PUBLIC", false), sk::Error);
  EXPECT_EQ(q::grant_statement({"ALTER SYSTEM"}, "PARAMETER x", "PUBLIC", true),
            "GRANT ALTER SYSTEM ON PARAMETER x TO PUBLIC WITH GRANT OPTION");
  EXPECT_THROW(q::grant_target(q::ObjectGrant{"DATABASE", std::nullopt, "CM_CEN"}), sk::Error);
  EXPECT_THROW(q::grant_target(q::ObjectGrant{"FUNCTION", "dbo", "no_arguments"}), sk::Error);
}

// ---- sessions and snapshots ---------------------------------------------------------------------------

TEST(PgGolden, SessionAndStaging) {
  Script s;
  s.section("every session").add(q::kStandardStrings).add(q::kQuietNotices);
  s.section("probe").add(q::kProbe).add(q::kServerVersion).add(q::kInRecovery).add(q::kBackendPid);
  for (const auto& n : kNames)
    s.section("staging " + n)
        .add(q::database_exists(n))
        .add(q::drop_database(n))
        .add(q::create_staging_database(n));
  expect_golden("staging.sql", s.text);
}

// ---- replicas ------------------------------------------------------------------------------------

TEST(PgGolden, ReadOnlyByPrivilege) {
  Script s;
  // In make_read_only's order: database, then each user schema, then the read-only default.
  for (const auto& readers : {kReaders, std::vector<std::string>{}}) {
    const std::string db = readers.empty() ? "x'; DROP DATABASE y--" : "CM_CEN";
    s.section(db + (readers.empty() ? ", no readers" : ", three readers"));
    for (const auto& r : readers) s.add(q::role_exists(r));
    s.add(q::revoke_database_writes(db, readers));
    if (!readers.empty()) s.add(q::grant_connect(db, readers));
    s.add(q::kUserSchemas);
    const std::vector<std::string> schemas = readers.empty() ? std::vector<std::string>{"public", "a\"b"} : kNames;
    for (const auto& nsp : schemas) {
      s.section("schema " + nsp)
          .add(q::revoke_schema_create(nsp, readers))
          .add(q::revoke_table_writes(nsp, readers))
          .add(q::revoke_sequence_use(nsp, readers))
          .add(q::revoke_function_execute(nsp, readers));
      if (!readers.empty())
        s.add(q::grant_schema_usage(nsp, readers)).add(q::grant_table_select(nsp, readers)).add(q::grant_sequence_select(nsp, readers));
    }
    s.section("default").add(q::set_read_only_default(db));
    s.section("lifted when the replica becomes the active").add(q::reset_read_only_default(db));
  }
  expect_golden("read_only.sql", s.text);
}

TEST(PgGolden, Validate) {
  Script s;
  s.section("each smoke query").add(q::kReadOnlyTransaction);
  s.section("tables, then write attempts run read-write").add(q::kUserTables).add(q::kAllowWrites);
  for (const auto& reader : {std::string("helpdesk"), std::string("x'; DROP DATABASE y--")})
    s.section("reader " + reader).add(q::writable_by(reader)).add(q::set_local_role(reader));
  s.section("write attempts, no table").add(q::write_attempts(std::nullopt));
  s.section("write attempts, the first table").add(q::write_attempts(q::Relation{"dbo", "Sites"}));
  for (const auto& n : kNames) {
    const auto attempts = q::write_attempts(q::Relation{n, n + " table"});
    ASSERT_EQ(attempts.size(), 3u);
    s.section("insert attempt and read probe, " + n).add(attempts.back()).add(q::read_probe(q::Relation{n, n + " table"}));
  }
  expect_golden("validate.sql", s.text);
}

TEST(PgGolden, Swap) {
  Script s;
  s.section("swap CM_CEN")
      .add(q::database_exists("CM_CEN"))
      .add(q::set_statement_timeout(std::chrono::milliseconds(5000)))
      .add(q::set_lock_timeout(std::chrono::milliseconds(5000)))
      .add(q::kBackendPid)
      .add(q::end_copy_sessions(4242, {"CM_CEN", sk::sql::staging_name("CM_CEN")}))
      .add(q::kClearActivitySnapshot)
      .add(q::count_copy_sessions(4242, {"CM_CEN", sk::sql::staging_name("CM_CEN")}))
      .add(q::rename_database("CM_CEN", sk::sql::retired_name("CM_CEN")))
      .add(q::rename_database(sk::sql::staging_name("CM_CEN"), "CM_CEN"))
      .add(q::drop_database(sk::sql::retired_name("CM_CEN")));
  for (size_t i = 1; i < kNames.size(); ++i) {
    const std::string& live = kNames[i];
    const std::string& staging = kNames[(i + 1) % kNames.size()];
    s.section("swap " + live + " <- " + staging)
        .add(q::end_copy_sessions(4242, {std::string(live), std::string(staging)}))
        .add(q::count_copy_sessions(4242, {std::string(live), std::string(staging)}))
        .add(q::rename_database(live, kNames[0]))
        .add(q::rename_database(staging, live));
  }
  s.section("no timeout").add(q::set_statement_timeout(std::chrono::milliseconds(0)));
  expect_golden("swap.sql", s.text);
}

// ---- standby and failover --------------------------------------------------------------------------

TEST(PgGolden, FenceAndUnfence) {
  Script s;
  s.section("fence CM_CEN")
      .add(q::database_exists("CM_CEN"))
      .add(q::allow_connections("CM_CEN", false))
      .add(q::kReadOnlyDefaultOn)
      .add(q::kReloadConf)
      .add(q::end_sessions_on("CM_CEN"));
  s.section("unfence CM_CEN")
      .add(q::kReadOnlyDefaultReset)
      .add(q::kReloadConf)
      .add(q::kInRecovery)
      .add(q::database_exists("CM_CEN"))
      .add(q::allow_connections("CM_CEN", true));
  for (size_t i = 1; i < kNames.size(); ++i)
    s.section("fence and unfence " + kNames[i])
        .add(q::allow_connections(kNames[i], false))
        .add(q::end_sessions_on(kNames[i]))
        .add(q::allow_connections(kNames[i], true));
  expect_golden("fence.sql", s.text);
}

TEST(PgGolden, PromoteSmokeAndEpoch) {
  Script s;
  s.section("promote").add(q::kPromptRetry).add(q::kInRecovery).add(q::kPromote).add(q::kWalPosition).add(q::kPromptRetryReset);
  s.section("smoke test").add(q::kAllowWrites).add(q::kSmokeCreate).add(q::kSmokeInsert).add(q::kSmokeCount).add(q::kSmokeTxid);
  s.section("epoch").add(q::kServerEpoch).add(q::record_epoch(0)).add(q::record_epoch(42)).add(q::record_epoch(-1));
  s.section("checkpoint").add(q::kCheckpoint);
  expect_golden("promote.sql", s.text);
}

TEST(PgGolden, Serials) {
  Script s;
  s.section("read").add(q::kSequences);
  s.section("resync");
  for (const auto& n : kNames) s.add(q::resync_serial(n, n + "_id_seq", 1041));
  s.section("limits")
      .add(q::resync_serial("public", "big", std::numeric_limits<std::int64_t>::max()))
      .add(q::resync_serial("public", "small", std::numeric_limits<std::int64_t>::min()));
  expect_golden("serials.sql", s.text);
}

TEST(PgGolden, SlotsAndReceiver) {
  Script s;
  s.section("receiver").add(q::kReceiver);
  for (const auto& slot : {std::string("sitekeeper_site_b"), std::string("x'; DROP DATABASE y--")})
    s.section("slot " + slot).add(q::slot_exists(slot)).add(q::create_physical_slot(slot)).add(q::slot_restart_lsn(slot));
  expect_golden("slots.sql", s.text);
}

TEST(PgGolden, RecoveryToTheLastSecond) {
  Script s;
  s.section("where recovery ended").add(q::kRecoveryEnd);
  s.section("recovery settings reset");
  for (const char* k : q::kRecoverySettings) s.add(q::reset_setting(k));
  expect_golden("recovery.sql", s.text);
}

TEST(PgGolden, PhysicalReplica) {
  Script s;
  s.section("paused at the consistent point").add(q::kInRecovery).add(q::kReplayPauseState);
  s.section("validate").add(q::database_exists("CM_CEN")).add(q::kReadOnlyTransaction).add(q::kPhysicalWriteProbe);
  expect_golden("physical_replica.sql", s.text);
}

// ---- server profile ----------------------------------------------------------------------------------

TEST(PgGolden, Profile) {
  Script s;
  s.section("capture").add(q::kServerVersion).add(q::kExtensions).add(q::kAlterSystem).add(q::kDbRoleSettings).add(q::kHbaRules);
  s.section("apply: ALTER SYSTEM")
      .add(q::alter_system_set("shared_buffers", "2GB"))
      .add(q::alter_system_set("log_line_prefix", "%m [%p] it's %u@%d "))
      .add(q::alter_system_set("search_path", "\"$user\", public"))
      .add(q::kReloadConf);
  s.section("apply: extensions");
  for (const auto& n : {std::string("pg_stat_statements"), std::string("uuid-ossp"), kNames[2]})
    s.add(q::create_extension(n));
  s.section("apply: database and role settings");
  for (const auto& db : kNames) s.add(q::alter_setting(db, "", false, "work_mem", "64MB"));
  // in_database only matters for a role setting.
  s.add(q::alter_setting("CM_CEN", "", true, "search_path", "dbo, 'quoted'"))
      .add(q::alter_setting("CM_CEN", "a\"b", false, "statement_timeout", "0"))
      .add(q::alter_setting("site db with spaces", "x'; DROP DATABASE y--", true, "lock_timeout", "5s"))
      .add(q::alter_setting("Ünïcødé 站点", "\"already\"\"quoted\"", true, "work_mem", "1GB"));
  s.section("pending restarts").add(q::kPendingRestart);
  expect_golden("profile.sql", s.text);
}

// ---- permissions ---------------------------------------------------------------------------------

namespace {
q::CapturedPermissions fixture() {
  q::CapturedPermissions c;
  c.server = "site-a";
  c.database = "CM_CEN";
  c.captured_at = "2024-05-01T02:00:00Z";
  q::Role reader{"helpdesk"};
  reader.login = true;
  reader.password = "SCRAM-SHA-256$4096:c2FsdA==$c3RvcmVk:c2VydmVy";
  q::Role admin{"a\"b", true, false, true, true, false, true, true, 10, std::nullopt, "2030-01-01 00:00:00+00"};
  q::Role hostile{"x'; DROP DATABASE y--"};
  hostile.login = true;
  hostile.password = "md5'; DROP ROLE postgres; --";
  hostile.valid_until = "infinity";
  c.roles = {reader, admin, hostile, q::Role{"Ünïcødé 站点"}, q::Role{"\"already\"\"quoted\""}};
  c.memberships = {{"site db with spaces", "helpdesk", false}, {"\"already\"\"quoted\"", "a\"b", true}};
  c.database_grants = {{"CONNECT", "PUBLIC", false},
                       {"CONNECT", "helpdesk", false},
                       {"TEMPORARY", "helpdesk", false},
                       {"CREATE", "a\"b", true}};
  c.object_grants = {
      {"FUNCTION", "dbo", "fn_site(integer, text)", {"EXECUTE", "PUBLIC", false}},
      {"FUNCTION", "Ünïcødé 站点", "x'; DROP DATABASE y--()", {"EXECUTE", "helpdesk", true}},
      {"SCHEMA", std::nullopt, "dbo", {"USAGE", "helpdesk", false}},
      {"SCHEMA", std::nullopt, "site db with spaces", {"CREATE", "a\"b", false}},
      {"SCHEMA", std::nullopt, "site db with spaces", {"USAGE", "a\"b", false}},
      {"SEQUENCE", "dbo", "Sites_id_seq", {"SELECT", "helpdesk", false}},
      {"TABLE", "dbo", "Sites", {"SELECT", "helpdesk", false}},
      {"TABLE", "dbo", "Sites", {"INSERT", "a\"b", true}},
      {"TABLE", "dbo", "Sites", {"UPDATE", "a\"b", true}},
      {"TABLE", "dbo", "Sites", {"SELECT", "a\"b", false}},
      {"TABLE", "\"already\"\"quoted\"", "x'; DROP DATABASE y--", {"SELECT", "PUBLIC", false}},
  };
  // "o" with and without a schema, and "o""x": a scope that is a prefix of another comes first.
  c.default_privileges = {
      {"o", std::nullopt, "r", {"SELECT", "helpdesk", false}},
      {"o", std::nullopt, "S", {"USAGE", "helpdesk", false}},
      {"o", "dbo", "r", {"SELECT", "helpdesk", false}},
      {"o", "dbo", "r", {"INSERT", "helpdesk", false}},
      {"o\"x", std::nullopt, "f", {"EXECUTE", "PUBLIC", false}},
      {"x'; DROP DATABASE y--", "site db with spaces", "T", {"USAGE", "a\"b", true}},
      {"x'; DROP DATABASE y--", std::nullopt, "n", {"USAGE", "helpdesk", false}},
  };
  return c;
}
}  // namespace

TEST(PgGolden, CapturePermissionQueries) {
  Script s;
  s.section("capture")
      .add(q::kRoles)
      .add(q::kMemberships)
      .add(q::kDatabaseGrants)
      .add(q::kObjectGrants)
      .add(q::kDefaultPrivileges);
  s.section("replay");
  for (const auto& n : kNames) s.add(q::role_exists(n)).add(q::alter_role(n, "WITH NOSUPERUSER LOGIN PASSWORD NULL"));
  expect_golden("capture_permissions.sql", s.text);
}

TEST(PgGolden, PermissionScript) {
  const std::string script = q::permission_script(fixture());
  expect_golden("permission_script.sql", script);

  // What the generator writes, the gatekeeper accepts.
  using K = sk::sql::PermStatement::Kind;
  std::map<K, int> kinds;
  for (const auto& st : sk::sql::parse_permission_script(script)) ++kinds[st.kind];
  EXPECT_EQ(kinds[K::kCreateRole], 5);
  EXPECT_EQ(kinds[K::kMembership], 2);
  EXPECT_EQ(kinds[K::kDatabaseGrant], 3);  // PUBLIC, helpdesk (CONNECT, TEMPORARY folded), a"b
  EXPECT_EQ(kinds[K::kObjectGrant], 9);
  EXPECT_EQ(kinds[K::kDefaultPrivileges], 6);

  auto c = fixture();
  c.object_grants[0].grant.privilege = "EXECUTE; DROP";
  EXPECT_THROW(q::permission_script(c), sk::Error);
  c = fixture();
  c.object_grants[0].kind = "LANGUAGE";
  EXPECT_THROW(q::permission_script(c), sk::Error);
  c = fixture();
  c.roles[0].name = kTooLong;
  EXPECT_THROW(q::permission_script(c), sk::Error);
}

// ---- the replica policy on the server and undoing a role replay ------------------------------------

TEST(PgGolden, RolePolicyAndUndo) {
  Script s;
  s.section("who sitekeeper is").add(q::kCurrentUser).add(q::kBootstrapRole);
  s.section("a reader's attributes beyond reading, and host-reaching memberships");
  for (const auto& r : kReaders) s.add(q::elevated_attributes_of(r)).add(q::memberships_reaching(r, sk::sql::host_reaching_roles()));
  s.section("state before a replay");
  for (const auto& n : kNames) s.add(q::role_state(n));
  s.add(q::memberships_touching(kNames));
  s.section("undo");
  q::Role was;
  was.name = "x'; DROP DATABASE y--";
  was.login = true;
  was.connection_limit = 3;
  was.password = "SCRAM-SHA-256$4096:it's$a:hash";
  s.add(q::restore_role_statement(was));
  was.name = "Ünïcødé 站点";
  was.password.reset();
  was.valid_until = "2030-01-01 00:00:00+00";
  was.superuser = true;
  s.add(q::restore_role_statement(was));
  for (const auto& n : kNames) {
    s.add(q::revoke_role_statement({n, "helpdesk", false}));
    s.add(q::revoke_role_statement({"site_admin", n, true}, /*admin_only=*/true));
    s.add(q::drop_role(n));
  }
  expect_golden("roles.sql", s.text);
  EXPECT_THROW(q::drop_role(kNul), sk::Error);
  EXPECT_THROW(q::role_state(kNul), sk::Error);
  EXPECT_THROW(q::revoke_role_statement({kTooLong, "m", false}), sk::Error);
  EXPECT_THROW(q::memberships_reaching(kNul, {"pg_signal_backend"}), sk::Error);
}

// ---- promotion closed to clients, fencing checks, synchronous standby, pg_hba rewrite --------------

TEST(PgGolden, PromotionClientsAndHba) {
  Script s;
  for (const auto& n : kNames) {
    s.section("promotion of " + n);
    s.add(q::connection_limit_of(n)).add(q::open_to_superusers(n)).add(q::end_client_sessions(n));
    s.add(q::set_connection_limit(n, -1)).add(q::set_connection_limit(n, 25)).add(q::count_sessions_on(n));
    s.add(q::synchronous_standby(n));
  }
  s.section("no synchronous standby").add(q::synchronous_standby(""));
  s.section("replay age").add(q::kReplayAge);
  s.section("pg_hba.conf").add(q::kHbaFile).add(q::read_server_file("/etc/postgresql/15/main/pg_hba.conf"));
  s.add(q::write_server_file("/var/lib/postgresql/it's here/pg_hba.conf",
                             {"local all all peer", "host \"CM CEN\",x all 10.0.0.0 255.0.0.0 scram-sha-256",
                              "host all all 127.0.0.1/32 ldap ldapserver=a ldapprefix=\"cn=\""}));
  s.add(q::write_server_file("/tmp/empty", {}));
  s.add(q::kHbaErrors);
  expect_golden("promotion.sql", s.text);
  EXPECT_THROW(q::open_to_superusers(kTooLong), sk::Error);
  EXPECT_THROW(q::end_client_sessions(kNul), sk::Error);
  EXPECT_THROW(q::write_server_file("/x", {kNul}), sk::Error);
  EXPECT_THROW(q::synchronous_standby(kBadUtf8), sk::Error);
}
