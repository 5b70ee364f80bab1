// Golden tests of the T-SQL dialect. SQL Server cannot run here, so the text itself is the contract:
// every operation is compared byte for byte with tests/golden/sqlserver/*.sql, and always with
// hostile names in the mix. A mismatch writes the actual text to
// $TMPDIR/sitekeeper-golden-actual/sqlserver/<name> so it can be diffed against the expected file.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "core/error.hpp"
#include "sql/sqlserver/tsql.hpp"
#include "support/golden.hpp"

namespace fs = std::filesystem;
namespace tsql = sk::sql::tsql;

namespace {

const std::vector<std::string> kNames = {
    "CM_CEN", "a]b", "x'; DROP DATABASE y--", "site db with spaces", "Ünïcødé 站点", "[already]]quoted]",
};

// sqlcmd-style: each statement followed by a GO line, each section headed by a comment.
struct Script : sk::test::Script {
  Script() : sk::test::Script{"GO\n", ""} {}
};

void expect_golden(const std::string& name, const std::string& actual) { sk::test::expect_golden("sqlserver", name, actual); }

const std::string kArchive = "/srv/sk archive/2024-05-01 0200 ü";

std::vector<tsql::BackupFile> site_files() {
  return {{"CM_CEN", "C:\\Data\\CM_CEN.mdf", "D"},
          {"CM_CEN_2", "C:\\Data\\CM_CEN_2.ndf", "D"},
          {"CM_CEN_log", "C:\\Logs\\CM_CEN_log.ldf", "L"},
          {"it's fs", "C:\\Data\\fs", "S"}};
}

}  // namespace

// ---- quoting -------------------------------------------------------------------------------------

TEST(TsqlQuote, IdentifiersAndLiterals) {
  EXPECT_EQ(tsql::quote_ident("CM_CEN"), "[CM_CEN]");
  EXPECT_EQ(tsql::quote_ident("a]b"), "[a]]b]");
  EXPECT_EQ(tsql::quote_ident("x'; DROP DATABASE y--"), "[x'; DROP DATABASE y--]");
  EXPECT_EQ(tsql::quote_literal("x'; DROP DATABASE y--"), "N'x''; DROP DATABASE y--'");
  EXPECT_EQ(tsql::quote_literal(""), "N''");
  EXPECT_EQ(tsql::qualified("dbo", "a]b"), "[dbo].[a]]b]");
  EXPECT_EQ(tsql::hex_binary("0xdeadBEEF"), "0xDEADBEEF");

  Script s;
  for (const auto& n : kNames)
    s.add("SELECT " + tsql::quote_literal(n) + " AS literal, " + tsql::quote_literal(tsql::quote_ident(n)) +
          " AS quoted -- " + tsql::quote_ident(n));
  expect_golden("quoting.sql", s.text);
}

TEST(TsqlQuote, RejectsUnquotableNames) {
  EXPECT_THROW(tsql::quote_ident(""), sk::Error);
  EXPECT_THROW(tsql::quote_ident(std::string("a\0b", 3)), sk::Error);
  EXPECT_THROW(tsql::quote_ident("line\nbreak"), sk::Error);
  EXPECT_THROW(tsql::quote_ident("\xC3\x28"), sk::Error);       // invalid UTF-8
  EXPECT_THROW(tsql::quote_ident("\xC0\xAF"), sk::Error);       // overlong '/'
  EXPECT_THROW(tsql::quote_ident("\xED\xA0\x80"), sk::Error);   // a UTF-16 surrogate
  EXPECT_THROW(tsql::quote_ident(std::string(129, 'a')), sk::Error);
  EXPECT_NO_THROW(tsql::quote_ident(std::string(128, 'a')));
  // The limit counts UTF-16 units: 128 two-byte letters fit, 65 clefs (two units each) do not.
  std::string u128, clefs;
  for (int i = 0; i < 128; ++i) u128 += "ü";
  for (int i = 0; i < 65; ++i) clefs += "\xF0\x9D\x84\x9E";
  EXPECT_NO_THROW(tsql::quote_ident(u128));
  EXPECT_THROW(tsql::quote_ident(clefs), sk::Error);
  EXPECT_THROW(tsql::quote_literal(std::string("a\0b", 3)), sk::Error);
  EXPECT_THROW(tsql::hex_binary("DEADBEEF"), sk::Error);
  EXPECT_THROW(tsql::hex_binary("0x123"), sk::Error);
  EXPECT_THROW(tsql::hex_binary("0x12; DROP"), sk::Error);
  EXPECT_THROW(tsql::backup_database(std::string("a\0b", 3), "/x.bak"), sk::Error);
  EXPECT_THROW(tsql::drop_database(std::string(200, 'x')), sk::Error);
}

TEST(TsqlConnection, BracesAndDoubledClosingBrace) {
  tsql::OdbcTarget t;
  t.driver = "ODBC Driver 18 for SQL Server";
  t.host = "sql01.example.org";
  t.port = 14330;
  t.database = "master";
  t.user = "site keeper";
  t.password = "p}w;d{=x";
  t.connect_timeout_s = 3;
  expect_golden("connection.txt", tsql::connection_string(t) + "\n");
  t.host = "evil;DRIVER={x}";
  EXPECT_THROW(tsql::connection_string(t), sk::Error);
  t.host = "h";
  t.password = std::string("a\0b", 3);
  EXPECT_THROW(tsql::connection_string(t), sk::Error);
}

// ---- snapshots ----------------------------------------------------------------------------------

TEST(TsqlGolden, BackupVerifyCheckdb) {
  Script s;
  for (const auto& n : kNames) {
    const std::string file = kArchive + "/" + tsql::backup_file_name(n);
    s.section(n).add(tsql::backup_database(n, file)).add(tsql::verify_backup(file)).add(tsql::check_db(n));
  }
  expect_golden("backup.sql", s.text);
  EXPECT_THROW(tsql::backup_file_name("a/b"), sk::Error);
  EXPECT_THROW(tsql::backup_file_name("a\\b"), sk::Error);
  EXPECT_THROW(tsql::backup_file_name(".."), sk::Error);
}

TEST(TsqlGolden, RestoreToStagingWithMove) {
  const std::string file = kArchive + "/CM_CEN.bak";
  Script s;
  s.section("file list").add(tsql::file_list(file)).add(tsql::default_paths_query());
  tsql::RestoreTarget windows{"C:\\Program Files\\Microsoft SQL Server\\MSSQL16.MSSQLSERVER\\MSSQL\\DATA\\",
                              "L:\\Logs", "20240501T020000"};
  tsql::RestoreTarget linux_{"/var/opt/mssql/data", "", "20240501T020000"};
  for (const auto& n : kNames) {
    s.section("staging " + n)
        .add(tsql::drop_database(n))
        .add(tsql::restore_database(n, file, site_files(), windows, tsql::Recovery::recovery));
  }
  s.section("standby seed (linux paths, no recovery)")
      .add(tsql::restore_database("CM_CEN", file, site_files(), linux_, tsql::Recovery::norecovery));
  expect_golden("restore.sql", s.text);

  EXPECT_THROW(tsql::move_targets("x", {}, windows), sk::Error);
  EXPECT_THROW(tsql::move_targets("x", {{"a", "b", "Q"}}, windows), sk::Error);
  EXPECT_THROW(tsql::move_targets("x", site_files(), {"/d", "", "bad tag"}), sk::Error);
  EXPECT_THROW(tsql::move_targets("x", site_files(), {"", "", "t"}), sk::Error);
}

TEST(TsqlGolden, DropAndExistence) {
  Script s;
  for (const auto& n : kNames)
    s.section(n).add(tsql::drop_database(n)).add(tsql::database_exists_query(n)).add(tsql::database_state_query(n));
  expect_golden("drop.sql", s.text);
}

// ---- replicas ------------------------------------------------------------------------------------

TEST(TsqlGolden, ReadOnlyByPrivilegeAndWriteProbe) {
  Script s;
  s.section("read-only CM_CEN").add(tsql::make_read_only("CM_CEN", {"helpdesk", "a]b", "DOMAIN\\help desk"}));
  s.section("read-only hostile, no readers").add(tsql::make_read_only("x'; DROP DATABASE y--", {}));
  for (const auto& reader : {std::string("helpdesk"), std::string("x'; DROP DATABASE y--")}) {
    auto p = tsql::write_probe("Ünïcødé 站点", reader);
    s.section("write probe as " + reader + ": enter").add(p.enter);
    s.section("attempt (must fail)").add(p.attempt);
    s.section("write permissions held (must be none)").add(p.my_writes);
    s.section("leave").add(p.leave);
    s.section("cleanup (only after an unexpected success)").add(p.cleanup);
  }
  expect_golden("read_only.sql", s.text);
}

TEST(TsqlGolden, SwapAndUndo) {
  Script s;
  s.section("swap").add(tsql::swap_in("CM_CEN", "CM_CEN__sk_staging", "CM_CEN__sk_retired", 5));
  s.section("swap hostile").add(tsql::swap_in("a]b", "x'; DROP DATABASE y--", "site db with spaces", 30));
  for (int step = 1; step <= 3; ++step)
    s.section("undo after step " + std::to_string(step)).add(tsql::swap_undo("CM_CEN", "CM_CEN__sk_retired", step));
  expect_golden("swap.sql", s.text);
  EXPECT_THROW(tsql::swap_in("a", "b", "c", 0), sk::Error);
  EXPECT_THROW(tsql::swap_undo("a", "c", 4), sk::Error);
}

// ---- permissions ---------------------------------------------------------------------------------

namespace {
tsql::CapturedPermissions fixture() {
  tsql::CapturedPermissions c;
  c.logins = {{"helpdesk", "S", "0x5B1C02A81B8F8C4DA0F1C2E3D4B5A697", "0x0200AABBCCDDEEFF00112233445566778899", "CM_CEN", false},
              {"x'; DROP DATABASE y--", "S", "0x01", "0x0200FF", "", true},
              {"DOMAIN\\SCCM Admins", "G", "0x010500000000000515000000", "", "master", false},
              {"Ünïcødé", "U", "0x0105", "", "Ünïcødé 站点", false}};
  c.server_roles = {"site ops", "a]b"};
  c.server_role_members = {{"sysadmin", "DOMAIN\\SCCM Admins"}, {"a]b", "x'; DROP DATABASE y--"}};
  c.principals = {{"smsschm_users", "R", "", ""},
                  {"a]b", "R", "", ""},
                  {"helpdesk", "S", "helpdesk", "dbo"},
                  {"renamed user", "S", "x'; DROP DATABASE y--", "sch ema"},
                  {"DOMAIN\\SCCM Admins", "G", "DOMAIN\\SCCM Admins", ""},
                  {"no login", "S", "", "dbo"}};
  c.role_members = {{"db_datareader", "helpdesk"}, {"a]b", "renamed user"}, {"smsschm_users", "DOMAIN\\SCCM Admins"}};
  c.permissions = {{"G", "CONNECT", 0, "", "", "", "helpdesk"},
                   {"G", "SELECT", 3, "dbo", "", "", "helpdesk"},
                   {"W", "EXECUTE", 1, "dbo", "spGetSite]Info", "", "smsschm_users"},
                   {"D", "VIEW DEFINITION", 0, "", "", "", "a]b"},
                   {"G", "SELECT", 1, "sch ema", "v_R System", "Name0", "renamed user"},
                   {"R", "UPDATE", 1, "dbo", "Sites", "Site'Code", "x'; DROP DATABASE y--"}};
  return c;
}
}  // namespace

TEST(TsqlGolden, CapturePermissionQueries) {
  Script s;
  s.section("server scope").add(tsql::logins_query()).add(tsql::server_roles_query()).add(tsql::server_role_members_query());
  for (const auto& db : {std::string("CM_CEN"), std::string("x'; DROP DATABASE y--")})
    s.section("database scope " + db)
        .add(tsql::database_principals_query(db))
        .add(tsql::database_role_members_query(db))
        .add(tsql::database_permissions_query(db));
  expect_golden("capture_permissions.sql", s.text);
}

TEST(TsqlGolden, PermissionScript) {
  const std::string script = tsql::permission_script(fixture());
  expect_golden("permission_script.sql", script);

  // What the generator writes, the gatekeeper accepts, with the right scope for each line.
  auto stmts = tsql::parse_permission_script(script);
  size_t server = 0, database = 0;
  for (const auto& st : stmts) (st.scope == tsql::Scope::server ? server : database)++;
  EXPECT_EQ(server, 9u);  // 4 logins + 1 disable + 2 server roles + 2 memberships
  EXPECT_EQ(database, 17u);
  for (const auto& st : stmts) {
    bool server_stmt = st.text.find("LOGIN [") != std::string::npos && st.text.rfind("IF SUSER_ID", 0) == 0;
    if (server_stmt) {
      EXPECT_EQ(st.scope, tsql::Scope::server) << st.text;
    }
  }
  EXPECT_EQ(stmts.back().text, "REVOKE UPDATE ON OBJECT::[dbo].[Sites] ([Site'Code]) FROM [x'; DROP DATABASE y--];");
}

TEST(TsqlGolden, PermissionScriptRejectsUnsafeCapture) {
  auto c = fixture();
  c.permissions[0].permission = "SELECT; DROP";
  EXPECT_THROW(tsql::permission_script(c), sk::Error);
  c = fixture();
  c.permissions[0].permission = "CONTROL SERVER";
  EXPECT_THROW(tsql::permission_script(c), sk::Error);
  c = fixture();
  c.logins[0].hash_hex = "";
  EXPECT_THROW(tsql::permission_script(c), sk::Error);
  c = fixture();
  c.logins[0].sid_hex = "0x12 OR 1=1";
  EXPECT_THROW(tsql::permission_script(c), sk::Error);
  c = fixture();
  c.principals[0].type = "C";
  EXPECT_THROW(tsql::permission_script(c), sk::Error);
}

TEST(TsqlScriptParser, RejectsAnythingButPermissionStatements) {
  const std::vector<std::string> bad = {
      "DROP DATABASE [CM_CEN];",
      "GRANT SELECT TO [x]; DROP DATABASE [y];",
      "GRANT SELECT TO [x] -- trailing comment;",
      "GRANT SELECT TO [x] /* c */;",
      "GRANT SELECT TO [x]",
      "EXEC sp_addsrvrolemember N'x', N'sysadmin';",
      "GRANT CONTROL SERVER TO [x];",
      "GRANT IMPERSONATE ANY LOGIN TO [x];",
      "IF SUSER_ID(N'x') IS NULL CREATE LOGIN [x] WITH PASSWORD = N'plain', SID = 0x01, DEFAULT_DATABASE = [master], "
      "CHECK_POLICY = OFF;",
      "IF SUSER_ID('x') IS NULL CREATE SERVER ROLE [x];",
      "GRANT SELECT ON OBJECT::[dbo].[t TO [x];",
      "GRANT SELECT TO [a\x01" "b];",
      "ALTER ROLE [db_owner] ADD MEMBER [x]; SHUTDOWN;",
      "SHUTDOWN;",
      "USE [master];",
      "GRANT SELECT ON OBJECT::dbo.t TO [x];",
      "ALTER LOGIN [sa] WITH PASSWORD = 0x01 HASHED;",
      "GRANT SELECT TO [x] AS [dbo];",
  };
  for (const auto& line : bad) {
    const std::string script = "-- header\nGRANT SELECT TO [ok];\n" + line + "\n";
    try {
      tsql::parse_permission_script(script);
      ADD_FAILURE() << "accepted: " << line;
    } catch (const sk::Error& e) {
      EXPECT_NE(std::string(e.what()).find("line 3"), std::string::npos) << e.what();
    }
  }
  // Blank lines, comment lines, CRLF and indentation are fine.
  auto ok = tsql::parse_permission_script("\r\n-- c\r\n   GRANT SELECT TO [x];  \r\n\n");
  ASSERT_EQ(ok.size(), 1u);
  EXPECT_EQ(ok[0].text, "GRANT SELECT TO [x];");
}

// ---- server profile --------------------------------------------------------------------------------

TEST(TsqlGolden, ServerProfile) {
  tsql::ServerProfile on;
  on.clr_enabled = true;
  on.clr_strict_security = true;
  on.trustworthy = true;
  on.broker_enabled = true;
  on.trusted_assemblies = {
      {"0x" + std::string(128, 'a'), "SMS CLR assembly, it's trusted"},
      {"0x0102", "x'; DROP DATABASE y--"},
  };
  tsql::ServerProfile off;  // SQL Server 2016: no clr strict security, no trusted assemblies

  Script s;
  s.section("capture").add(tsql::configurations_query()).add(tsql::database_flags_query("CM_CEN"))
      .add(tsql::database_flags_query("x'; DROP DATABASE y--")).add(tsql::trusted_assemblies_query());
  s.section("apply: everything on").add(tsql::apply_profile("CM_CEN", on));
  s.section("apply: everything off, 2016").add(tsql::apply_profile("a]b", off));
  expect_golden("profile.sql", s.text);
  expect_golden("profile.json", tsql::profile_to_json(on).dump(2) + "\n" + tsql::profile_to_json(off).dump(2) + "\n");

  auto back = tsql::profile_from_json(tsql::profile_to_json(on));
  EXPECT_EQ(back.trusted_assemblies.size(), 2u);
  EXPECT_EQ(back.trusted_assemblies[0].hash_hex, "0x" + std::string(128, 'A'));
  EXPECT_EQ(back.clr_strict_security, std::optional<bool>(true));
  EXPECT_FALSE(tsql::profile_from_json(tsql::profile_to_json(off)).clr_strict_security.has_value());
  EXPECT_THROW(tsql::profile_from_json(nlohmann::json{{"engine", "postgresql"}}), sk::Error);
  EXPECT_THROW(tsql::profile_from_json(nlohmann::json{{"engine", "sqlserver"}}), sk::Error);
  on.trusted_assemblies = {{"0x" + std::string(130, 'a'), "too long"}};
  EXPECT_THROW(tsql::apply_profile("CM_CEN", on), sk::Error);
}

// ---- standby -----------------------------------------------------------------------------------------

TEST(TsqlGolden, LogShippingPromoteFenceProbe) {
  Script s;
  for (const auto& n : {std::string("CM_CEN"), std::string("x'; DROP DATABASE y--")}) {
    const std::string file = kArchive + "/log/" + tsql::backup_file_name(n);
    s.section("standby " + n)
        .add(tsql::backup_log(n, file))
        .add(tsql::restore_log(n, file))
        .add(tsql::last_restored_log_query(n))
        .add(tsql::promote(n))
        .add(tsql::fence(n));
  }
  s.section("any database").add(tsql::last_restored_log_query("")).add(tsql::probe_query());
  expect_golden("standby.sql", s.text);
}

// ---- serials ------------------------------------------------------------------------------------------

TEST(TsqlGolden, Serials) {
  using K = tsql::SerialKind;
  Script s;
  s.section("read").add(tsql::identity_values_query("CM_CEN")).add(tsql::sequence_values_query("CM_CEN"));
  s.section("resync").add(tsql::resync_serials(
      "Ünïcødé 站点", {{K::identity, "dbo", "Sites", 1041},
                       {K::identity, "sch ema", "x'; DROP DATABASE y--", -5},
                       {K::sequence, "dbo", "a]b", 99999},
                       {K::sequence, "dbo", "SiteNumbers", 0}}));
  expect_golden("serials.sql", s.text);
  EXPECT_THROW(tsql::resync_serials("CM_CEN", {{K::sequence, "dbo", "q", std::numeric_limits<std::int64_t>::max()}}),
               sk::Error);
}
