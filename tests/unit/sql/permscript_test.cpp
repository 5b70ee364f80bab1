// The permission-script parser is the gatekeeper behind "only permission statements are replayed":
// what it accepts is sent to the server as written, so anything it lets through must be a permission
// statement, and anything else must be refused with the line it starts on.
#include "sql/permscript.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/error.hpp"
#include "sql/ident.hpp"

namespace {

using sk::sql::parse_permission_script;
using sk::sql::PermStatement;
using sk::sql::retarget_database;
using K = PermStatement::Kind;
using namespace std::string_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const char* kScram = "SCRAM-SHA-256$4096:c2FsdHNhbHQ=$U3RvcmVkS2V5:U2VydmVyS2V5";

std::string error_of(std::string_view script) {
  try {
    auto st = parse_permission_script(script);
    std::string kinds;
    for (const auto& s : st) kinds += "[" + s.text + "] ";
    return "ACCEPTED " + kinds;
  } catch (const sk::Error& e) {
    return e.what();
  }
}

// ---------------------------------------------------------------------------------------------------
// Accepted statements

struct AcceptCase {
  std::string name;
  std::string script;
  K kind;
  std::string role;     // for role statements
  std::string options;  // for role statements
};

void PrintTo(const AcceptCase& c, std::ostream* os) { *os << c.name; }

class Accepts : public ::testing::TestWithParam<AcceptCase> {};

TEST_P(Accepts, OneStatementOfTheRightKind) {
  const auto& c = GetParam();
  auto st = parse_permission_script(c.script);
  ASSERT_EQ(st.size(), 1u) << c.script;
  EXPECT_EQ(st[0].kind, c.kind);
  EXPECT_EQ(st[0].line, 1);
  // The text is the statement as written, without the semicolon.
  std::string expected = c.script.substr(0, c.script.rfind(';'));
  EXPECT_EQ(st[0].text, expected);
  if (c.kind == K::kCreateRole || c.kind == K::kAlterRole) {
    EXPECT_EQ(st[0].role, c.role);
    EXPECT_EQ(st[0].options, c.options);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, Accepts,
    ::testing::Values(
        AcceptCase{"CreateRoleAllOptions",
                   "CREATE ROLE \"helpdesk\" WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB LOGIN NOREPLICATION "
                   "NOBYPASSRLS CONNECTION LIMIT -1 PASSWORD '"s + kScram + "' VALID UNTIL 'infinity';",
                   K::kCreateRole, "helpdesk",
                   "WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB LOGIN NOREPLICATION NOBYPASSRLS CONNECTION "
                   "LIMIT -1 PASSWORD '"s + kScram + "' VALID UNTIL 'infinity'"},
        AcceptCase{"CreateRoleOpposites",
                   "CREATE ROLE \"CM Admin\" SUPERUSER NOINHERIT CREATEROLE CREATEDB NOLOGIN REPLICATION BYPASSRLS "
                   "CONNECTION LIMIT 5 ENCRYPTED PASSWORD NULL;",
                   K::kCreateRole, "CM Admin",
                   "SUPERUSER NOINHERIT CREATEROLE CREATEDB NOLOGIN REPLICATION BYPASSRLS CONNECTION LIMIT 5 "
                   "ENCRYPTED PASSWORD NULL"},
        AcceptCase{"CreateRoleNoOptions", "CREATE ROLE \"O'Brien\";", K::kCreateRole, "O'Brien", ""},
        AcceptCase{"CreateRoleQuoteInName", "CREATE ROLE \"a\"\"b\" LOGIN;", K::kCreateRole, "a\"b", "LOGIN"},
        AcceptCase{"UnquotedRoleFoldsToLowerCase", "create role HelpDesk login;", K::kCreateRole, "helpdesk",
                   "login"},
        AcceptCase{"NonAsciiRole", "CREATE ROLE \"Zürich 站点\" LOGIN;", K::kCreateRole, "Zürich 站点", "LOGIN"},
        AcceptCase{"AlterRoleAttributes", "ALTER ROLE \"helpdesk\" WITH NOLOGIN PASSWORD NULL;", K::kAlterRole,
                   "helpdesk", "WITH NOLOGIN PASSWORD NULL"},
        AcceptCase{"AlterRoleValidUntil", "ALTER ROLE \"helpdesk\" VALID UNTIL '2030-01-01 00:00:00+00';",
                   K::kAlterRole, "helpdesk", "VALID UNTIL '2030-01-01 00:00:00+00'"},
        AcceptCase{"Membership", "GRANT \"cm_readers\" TO \"helpdesk\";", K::kMembership, "", ""},
        AcceptCase{"MembershipWithAdmin", "GRANT \"cm_readers\" TO \"helpdesk\" WITH ADMIN OPTION;", K::kMembership,
                   "", ""},
        AcceptCase{"RevokeMembership", "REVOKE \"cm_readers\" FROM \"helpdesk\";", K::kMembership, "", ""},
        AcceptCase{"GrantOnTable", "GRANT SELECT, INSERT ON TABLE \"dbo\".\"site_systems\" TO \"helpdesk\";",
                   K::kObjectGrant, "", ""},
        AcceptCase{"GrantOnTableWithGrantOption",
                   "GRANT SELECT ON TABLE \"s\".\"t\" TO \"cm_owner\" WITH GRANT OPTION;", K::kObjectGrant, "", ""},
        AcceptCase{"GrantOnFunction",
                   "GRANT EXECUTE ON FUNCTION \"s\".\"f\"(integer, text[]) TO \"helpdesk\";", K::kObjectGrant, "", ""},
        AcceptCase{"GrantOnFunctionNamedArgs",
                   "GRANT EXECUTE ON FUNCTION \"s\".\"g\"(p_id integer, tags character varying[], OUT n bigint) "
                   "TO PUBLIC;",
                   K::kObjectGrant, "", ""},
        AcceptCase{"GrantOnSequence", "GRANT USAGE, SELECT ON SEQUENCE \"s\".\"seq\" TO \"helpdesk\";",
                   K::kObjectGrant, "", ""},
        AcceptCase{"GrantOnSchema", "GRANT USAGE ON SCHEMA \"dbo\" TO \"helpdesk\";", K::kObjectGrant, "", ""},
        AcceptCase{"GrantOnAllTables", "GRANT SELECT ON ALL TABLES IN SCHEMA \"dbo\" TO \"helpdesk\";",
                   K::kObjectGrant, "", ""},
        AcceptCase{"RevokeOnTable", "REVOKE INSERT, UPDATE, DELETE ON TABLE \"s\".\"t\" FROM \"helpdesk\";",
                   K::kObjectGrant, "", ""},
        AcceptCase{"GrantOnDatabase", "GRANT CONNECT, TEMPORARY ON DATABASE \"CM_CEN\" TO \"helpdesk\";",
                   K::kDatabaseGrant, "", ""},
        AcceptCase{"RevokeOnDatabase", "REVOKE ALL ON DATABASE \"CM_CEN\" FROM PUBLIC;", K::kDatabaseGrant, "", ""},
        AcceptCase{"DefaultPrivileges",
                   "ALTER DEFAULT PRIVILEGES FOR ROLE \"cm_owner\" IN SCHEMA \"dbo\" GRANT SELECT ON TABLES TO "
                   "\"helpdesk\";",
                   K::kDefaultPrivileges, "", ""},
        AcceptCase{"DefaultPrivilegesRevoke",
                   "ALTER DEFAULT PRIVILEGES FOR ROLE \"cm_owner\" REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;",
                   K::kDefaultPrivileges, "", ""}),
    [](const auto& info) { return info.param.name; });

TEST(PermScript, EmptyAndCommentOnlyScripts) {
  EXPECT_TRUE(parse_permission_script("").empty());
  EXPECT_TRUE(parse_permission_script("\n\n  \t\n").empty());
  EXPECT_TRUE(parse_permission_script("-- nothing\n/* nothing /* nested */ either */\n").empty());
  EXPECT_TRUE(parse_permission_script(";;\n;").empty());
}

TEST(PermScript, CommentsSeveralStatementsPerLineAndLineNumbers) {
  const std::string script =
      "-- header comment; DROP DATABASE x;\n"            // 1
      "/* block comment ; DROP DATABASE x;\n"             // 2
      "   /* nested */ still inside the outer comment;\n" // 3
      "   DROP DATABASE y; */\n"                          // 4
      "CREATE ROLE \"a\" LOGIN; GRANT \"a\" TO \"b\";\n"  // 5: two statements
      "\n"                                                // 6
      "GRANT SELECT  -- trailing comment; DROP\n"         // 7
      "  ON TABLE \"s\".\"t\" /* ; */\n"                  // 8
      "  TO \"a\";   REVOKE \"a\" FROM \"c\";\n";         // 9
  auto st = parse_permission_script(script);
  ASSERT_EQ(st.size(), 4u);
  EXPECT_EQ(st[0].kind, K::kCreateRole);
  EXPECT_EQ(st[0].line, 5);
  EXPECT_EQ(st[0].role, "a");
  EXPECT_EQ(st[1].kind, K::kMembership);
  EXPECT_EQ(st[1].line, 5);
  EXPECT_EQ(st[1].text, "GRANT \"a\" TO \"b\"");
  EXPECT_EQ(st[2].kind, K::kObjectGrant);
  EXPECT_EQ(st[2].line, 7);
  EXPECT_THAT(st[2].text, HasSubstr("ON TABLE \"s\".\"t\""));
  EXPECT_EQ(st[3].kind, K::kMembership);
  EXPECT_EQ(st[3].line, 9);
  for (const auto& s : st) EXPECT_EQ(s.text.find("DROP DATABASE"), std::string::npos) << s.text;
}

TEST(PermScript, DatabaseGrantRange) {
  struct {
    std::string stmt, dbtext;
  } cases[] = {
      {"GRANT CONNECT ON DATABASE \"CM_CEN\" TO \"helpdesk\"", "\"CM_CEN\""},
      {"REVOKE ALL ON DATABASE cm_cen FROM PUBLIC", "cm_cen"},
      {"GRANT CONNECT ON DATABASE \"a\"\"b c\" TO \"helpdesk\" WITH GRANT OPTION", "\"a\"\"b c\""},
      {"GRANT TEMPORARY ON  /* c */ DATABASE\n  \"Zürich\" TO PUBLIC", "\"Zürich\""},
  };
  for (const auto& c : cases) {
    auto st = parse_permission_script("-- lead\n" + c.stmt + ";\n");
    ASSERT_EQ(st.size(), 1u);
    ASSERT_EQ(st[0].kind, K::kDatabaseGrant) << c.stmt;
    EXPECT_EQ(st[0].line, 2);
    ASSERT_LE(st[0].db_begin, st[0].db_end);
    ASSERT_LE(st[0].db_end, st[0].text.size());
    EXPECT_EQ(st[0].text.substr(st[0].db_begin, st[0].db_end - st[0].db_begin), c.dbtext) << c.stmt;
  }
}

TEST(PermScript, RetargetDatabaseToStaging) {
  auto st = parse_permission_script(
      "GRANT CONNECT, TEMPORARY ON DATABASE \"CM_CEN\" TO \"helpdesk\" WITH GRANT OPTION;\n"
      "REVOKE CONNECT ON DATABASE cm_cen FROM PUBLIC;\n");
  ASSERT_EQ(st.size(), 2u);
  const std::string staging = sk::sql::staging_name("CM_CEN");
  EXPECT_EQ(retarget_database(st[0], staging),
            "GRANT CONNECT, TEMPORARY ON DATABASE \"CM_CEN__sk_staging\" TO \"helpdesk\" WITH GRANT OPTION");
  EXPECT_EQ(retarget_database(st[1], staging), "REVOKE CONNECT ON DATABASE \"CM_CEN__sk_staging\" FROM PUBLIC");
  // The new name is quoted like any identifier, so a hostile target stays one name.
  EXPECT_EQ(retarget_database(st[1], "x\"; DROP DATABASE y; --"),
            "REVOKE CONNECT ON DATABASE \"x\"\"; DROP DATABASE y; --\" FROM PUBLIC");
  EXPECT_THROW(retarget_database(st[1], std::string(64, 'a')), sk::Error);
  // And the retargeted statement is still exactly one database grant on the new name.
  auto again = parse_permission_script(retarget_database(st[0], staging) + ";");
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].kind, K::kDatabaseGrant);
  EXPECT_EQ(again[0].text.substr(again[0].db_begin, again[0].db_end - again[0].db_begin), "\"CM_CEN__sk_staging\"");
}

// Text hidden inside strings, quoted identifiers or comments never becomes a statement of its own.
TEST(PermScript, SemicolonsInsideStringsAndNamesAreNotStatementEnds) {
  const std::string cases[] = {
      "GRANT 'a'';DROP DATABASE z; --' TO y;",
      "GRANT \"a;DROP DATABASE z\" TO \"y\";",
      "GRANT \"a\"\";DROP DATABASE z; --\" TO \"y\";",
      "CREATE ROLE \"r\" PASSWORD 'x'';DROP DATABASE z;--';",
      "GRANT \"a\" TO \"y\" /* ; DROP DATABASE z; */;",
  };
  for (const auto& c : cases) {
    std::vector<PermStatement> st;
    try {
      st = parse_permission_script(c);
    } catch (const sk::Error&) {
      continue;  // refusing is fine too
    }
    ASSERT_EQ(st.size(), 1u) << c;
    EXPECT_EQ(c.rfind(st[0].text, 0), 0u) << c;  // one statement from the start; a trailing comment may go
    EXPECT_TRUE(st[0].text.rfind("GRANT", 0) == 0 || st[0].text.rfind("CREATE ROLE", 0) == 0) << c;
  }
}

// ---------------------------------------------------------------------------------------------------
// Refused scripts

struct RejectCase {
  std::string name;
  std::string script;
  int line;
  std::string why;  // expected in the message (empty: anything)
};

void PrintTo(const RejectCase& c, std::ostream* os) { *os << c.name; }

class Rejects : public ::testing::TestWithParam<RejectCase> {};

TEST_P(Rejects, WithLineNumber) {
  const auto& c = GetParam();
  const std::string msg = error_of(c.script);
  EXPECT_THAT(msg, HasSubstr("permission script line " + std::to_string(c.line) + ":")) << c.script;
  if (!c.why.empty()) {
    EXPECT_THAT(msg, HasSubstr(c.why)) << c.script;
  }
}

// Each case is placed after two good lines so the reported line is not trivially 1.
const std::string kGood = "CREATE ROLE \"helpdesk\" LOGIN;\nGRANT \"cm_readers\" TO \"helpdesk\";\n";

INSTANTIATE_TEST_SUITE_P(
    Cases, Rejects,
    ::testing::Values(
        RejectCase{"DropTable", kGood + "DROP TABLE \"s\".\"t\";\n", 3, "not a permission statement"},
        RejectCase{"Select", kGood + "SELECT 1;\n", 3, "not a permission statement"},
        RejectCase{"SelectFunctionCall", kGood + "SELECT pg_terminate_backend(1);\n", 3, ""},
        RejectCase{"CopyProgram", kGood + "COPY t FROM PROGRAM 'rm -rf /';\n", 3, "not a permission statement"},
        RejectCase{"DoBlock", kGood + "DO $$ BEGIN PERFORM 1; END $$;\n", 3, ""},
        RejectCase{"CreateFunction",
                   kGood + "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1';\n", 3, ""},
        RejectCase{"CreateTable", kGood + "CREATE TABLE t (a int);\n", 3, "not a permission statement"},
        RejectCase{"AlterSystem", kGood + "ALTER SYSTEM SET fsync = off;\n", 3, ""},
        RejectCase{"AlterDatabase", kGood + "ALTER DATABASE \"CM_CEN\" RENAME TO x;\n", 3, ""},
        RejectCase{"SecondStatementOnSameLine", kGood + "\nGRANT x TO y; DROP DATABASE z;\n", 4,
                   "not a permission statement"},
        RejectCase{"EscapeString", kGood + "CREATE ROLE r PASSWORD E'\\x27;DROP';\n", 3, "prefixed"},
        RejectCase{"EscapeStringLowerCase", kGood + "CREATE ROLE r PASSWORD e'x';\n", 3, "prefixed"},
        RejectCase{"UnicodeString", kGood + "CREATE ROLE r PASSWORD U&'d\\0061t';\n", 3, "prefixed"},
        RejectCase{"UnicodeIdent", kGood + "GRANT SELECT ON TABLE U&\"d\\0061t\" TO r;\n", 3, "prefixed"},
        RejectCase{"NationalString", kGood + "CREATE ROLE r PASSWORD N'x';\n", 3, "prefixed"},
        RejectCase{"BitString", kGood + "CREATE ROLE r PASSWORD B'01';\n", 3, "prefixed"},
        RejectCase{"DollarQuotePassword", kGood + "CREATE ROLE r PASSWORD $p$x';DROP$p$;\n", 3, ""},
        RejectCase{"DollarQuoteEmptyTag", kGood + "GRANT $$x$$ TO y;\n", 3, ""},
        RejectCase{"UnterminatedString", kGood + "CREATE ROLE r PASSWORD 'abc;\n\n\n", 3, "unterminated"},
        RejectCase{"UnterminatedIdent", kGood + "GRANT \"cm_readers TO y;\n\n", 3, "unterminated"},
        RejectCase{"UnterminatedComment", kGood + "/* outer /* inner */ still open\nGRANT x TO y;\n", 3,
                   "unterminated"},
        RejectCase{"UnterminatedNestedComment", kGood + "/* a /* b /* c */ */\n\n", 3, "unterminated"},
        RejectCase{"MissingFinalSemicolon", kGood + "GRANT x TO y", 3, "semicolon"},
        RejectCase{"MissingFinalSemicolonBeforeComment", kGood + "GRANT x\n  TO y -- done\n", 3, "semicolon"},
        RejectCase{"AlterRoleSet", kGood + "ALTER ROLE \"helpdesk\" SET search_path TO evil;\n", 3, "SET"},
        RejectCase{"AlterRoleInDatabaseSet", kGood + "ALTER ROLE r IN DATABASE d SET work_mem = 1;\n", 3, ""},
        RejectCase{"AlterRoleReset", kGood + "ALTER ROLE \"helpdesk\" RESET ALL;\n", 3, "RESET"},
        RejectCase{"AlterRoleRename", kGood + "ALTER ROLE \"helpdesk\" RENAME TO \"postgres\";\n", 3, "RENAME"},
        RejectCase{"CreateRoleInRole", kGood + "CREATE ROLE \"r\" IN ROLE \"pg_execute_server_program\";\n", 3,
                   "IN"},
        RejectCase{"CreateRoleAdmin", kGood + "CREATE ROLE \"r\" ADMIN \"postgres\";\n", 3, "ADMIN"},
        RejectCase{"CreateRoleRole", kGood + "CREATE ROLE \"r\" ROLE \"postgres\";\n", 3, "ROLE"},
        RejectCase{"CreateRoleUser", kGood + "CREATE ROLE \"r\" USER \"postgres\";\n", 3, "USER"},
        RejectCase{"CreateRoleSysid", kGood + "CREATE ROLE \"r\" SYSID 10;\n", 3, "SYSID"},
        RejectCase{"RoleOptionOnLaterLine", kGood + "CREATE ROLE \"r\"\n  LOGIN\n  ADMIN x;\n", 5, "ADMIN"},
        RejectCase{"CreateRoleWithoutName", kGood + "CREATE ROLE;\n", 3, ""},
        RejectCase{"CreateRoleParen", kGood + "CREATE ROLE r WITH (LOGIN);\n", 3, ""},
        RejectCase{"Cast", kGood + "CREATE ROLE r PASSWORD 'x'::text;\n", 3, ""},
        RejectCase{"PsqlMetaCommand", kGood + "\\! rm -rf /\n", 3, ""},
        RejectCase{"PsqlConnect", kGood + "\\connect other\n", 3, ""},
        RejectCase{"NulOutsideString", kGood + "GRANT x TO y;\0DROP DATABASE z;"s, 3, ""},
        RejectCase{"NulInsideString", kGood + "CREATE ROLE r PASSWORD 'a\0b';"s, 3, ""},
        RejectCase{"DefaultPrivilegesWithoutVerb", kGood + "ALTER DEFAULT PRIVILEGES IN SCHEMA s;\n", 3, ""},
        RejectCase{"TwoDatabases",
                   kGood + "GRANT CONNECT ON DATABASE \"CM_CEN\", \"postgres\" TO \"helpdesk\";\n", 3,
                   "one database name"},
        RejectCase{"DatabaseWithoutName", kGood + "GRANT CONNECT ON DATABASE TO \"helpdesk\";\n", 3, ""}),
    [](const auto& info) { return info.param.name; });

// Whatever is refused, nothing of the script is returned: the whole script is all or nothing.
TEST(PermScript, RefusalIsAllOrNothing) {
  EXPECT_THROW(parse_permission_script(kGood + "DROP DATABASE \"CM_CEN\";\n" + kGood), sk::Error);
  try {
    parse_permission_script("GRANT x TO y;\nDROP DATABASE z;\n");
    FAIL() << "accepted";
  } catch (const sk::Error& e) {
    EXPECT_FALSE(e.hint().empty());
  }
}

// ---------------------------------------------------------------------------------------------------
// Round trip: a script in the exact shape PgEngine::capture_permissions writes (sql/postgres/pg_capture.cpp),
// built with the same quoting functions.

TEST(PermScript, RoundTripOfCapturedScript) {
  using sk::sql::quote_ident;
  using sk::sql::quote_literal;
  std::string s;
  s += "-- sitekeeper permission script\n";
  s += "-- server cm 1, database CM_CEN, captured 2026-11-22T02:00:00Z\n";
  s += "-- Replay accepts only CREATE/ALTER ROLE, GRANT, REVOKE and ALTER DEFAULT PRIVILEGES.\n";
  s += "-- The bootstrap superuser and the capturing user are left out on purpose.\n\n-- roles\n";
  s += "CREATE ROLE " + quote_ident("cm_owner") +
       " WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB NOLOGIN NOREPLICATION NOBYPASSRLS CONNECTION LIMIT -1 "
       "PASSWORD NULL;\n";
  s += "CREATE ROLE " + quote_ident("helpdesk") +
       " WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB LOGIN NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 10 "
       "PASSWORD " + quote_literal(kScram) + " VALID UNTIL " + quote_literal("2030-01-01 00:00:00+00") + ";\n";
  s += "CREATE ROLE " + quote_ident("O'Brien \"Ops\"") +
       " WITH SUPERUSER NOINHERIT CREATEROLE CREATEDB LOGIN REPLICATION BYPASSRLS CONNECTION LIMIT -1 PASSWORD " +
       quote_literal("md5'x") + ";\n";
  s += "\n-- memberships\n";
  s += "GRANT " + quote_ident("cm_owner") + " TO " + quote_ident("O'Brien \"Ops\"") + " WITH ADMIN OPTION;\n";
  s += "GRANT " + quote_ident("cm_readers") + " TO " + quote_ident("helpdesk") + ";\n";
  s += "\n-- database and object grants\n";
  s += "GRANT CONNECT, TEMPORARY ON DATABASE " + quote_ident("CM_CEN") + " TO " + quote_ident("helpdesk") + ";\n";
  s += "GRANT CONNECT ON DATABASE " + quote_ident("CM_CEN") + " TO PUBLIC;\n";
  s += "GRANT EXECUTE ON FUNCTION " + quote_ident("dbo") + "." + quote_ident("site_code") +
       "(integer, text[]) TO " + quote_ident("helpdesk") + ";\n";
  s += "GRANT USAGE ON SCHEMA " + quote_ident("dbo") + " TO " + quote_ident("helpdesk") + ";\n";
  s += "GRANT SELECT, USAGE ON SEQUENCE " + quote_ident("dbo") + "." + quote_ident("site_seq") + " TO " +
       quote_ident("helpdesk") + ";\n";
  s += "GRANT INSERT, SELECT ON TABLE " + quote_ident("dbo") + "." + quote_ident("Site Systems") + " TO " +
       quote_ident("cm_owner") + " WITH GRANT OPTION;\n";
  s += "\n-- default privileges\n";
  s += "ALTER DEFAULT PRIVILEGES FOR ROLE " + quote_ident("cm_owner") + " IN SCHEMA " + quote_ident("dbo") +
       " GRANT SELECT ON TABLES TO " + quote_ident("helpdesk") + ";\n";
  s += "ALTER DEFAULT PRIVILEGES FOR ROLE " + quote_ident("cm_owner") + " GRANT EXECUTE ON FUNCTIONS TO PUBLIC;\n";

  auto st = parse_permission_script(s);
  const std::vector<K> kinds = {K::kCreateRole,    K::kCreateRole,    K::kCreateRole,        K::kMembership,
                                K::kMembership,    K::kDatabaseGrant, K::kDatabaseGrant,     K::kObjectGrant,
                                K::kObjectGrant,   K::kObjectGrant,   K::kObjectGrant,       K::kDefaultPrivileges,
                                K::kDefaultPrivileges};
  ASSERT_EQ(st.size(), kinds.size());
  for (size_t i = 0; i < kinds.size(); ++i) EXPECT_EQ(st[i].kind, kinds[i]) << i << ": " << st[i].text;
  EXPECT_EQ(st[0].role, "cm_owner");
  EXPECT_EQ(st[0].line, 7);
  EXPECT_EQ(st[1].role, "helpdesk");
  EXPECT_THAT(st[1].options, HasSubstr(std::string("PASSWORD '") + kScram + "'"));
  EXPECT_THAT(st[1].options, HasSubstr("VALID UNTIL '2030-01-01 00:00:00+00'"));
  EXPECT_EQ(st[2].role, "O'Brien \"Ops\"");
  EXPECT_EQ(st[3].line, 12);
  EXPECT_EQ(st[5].line, 16);
  EXPECT_EQ(retarget_database(st[5], "CM_CEN__sk_staging"),
            "GRANT CONNECT, TEMPORARY ON DATABASE \"CM_CEN__sk_staging\" TO \"helpdesk\"");
  EXPECT_EQ(retarget_database(st[6], "CM_CEN__sk_staging"),
            "GRANT CONNECT ON DATABASE \"CM_CEN__sk_staging\" TO PUBLIC");
  EXPECT_EQ(st.back().line, 25);
  // Re-joining the statements gives a script that parses to the same statements.
  std::string joined;
  for (const auto& x : st) joined += x.text + ";\n";
  auto again = parse_permission_script(joined);
  ASSERT_EQ(again.size(), st.size());
  for (size_t i = 0; i < st.size(); ++i) {
    EXPECT_EQ(again[i].text, st[i].text);
    EXPECT_EQ(again[i].kind, st[i].kind);
    EXPECT_EQ(again[i].line, static_cast<int>(i) + 1);
  }
}

// ---- the replica policy ---------------------------------------------------------------------------

std::vector<std::string> texts(const std::vector<PermStatement>& st) {
  std::vector<std::string> out;
  for (const auto& x : st) out.push_back(x.text);
  return out;
}

const std::vector<std::string> kReaders = {"helpdesk", "Help Desk é"};

std::string refusal(const std::string& script) {
  try {
    sk::sql::restrict_for_replica(parse_permission_script(script), kReaders);
  } catch (const sk::Error& e) {
    return e.what();
  }
  return "";
}

TEST(ReplicaPolicy, ReadersKeepLoginAndNoElevatedAttributePasses) {
  auto st = sk::sql::restrict_for_replica(
      parse_permission_script("CREATE ROLE \"helpdesk\" WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB LOGIN "
                              "NOREPLICATION NOBYPASSRLS CONNECTION LIMIT -1 PASSWORD 'x';\n"
                              "GRANT CONNECT ON DATABASE \"CM_CEN\" TO \"helpdesk\";\n"),
      kReaders);
  ASSERT_EQ(st.size(), 1u);  // grants are not role statements
  EXPECT_EQ(st[0].text, "CREATE ROLE \"helpdesk\" WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB LOGIN "
                        "NOREPLICATION NOBYPASSRLS CONNECTION LIMIT -1 PASSWORD 'x'");
}

// Each elevated attribute, given to a reader by CREATE or ALTER ROLE, quoted or not, is refused.
TEST(ReplicaPolicy, AnElevatedReaderIsRefused) {
  for (const std::string attr : {"SUPERUSER", "CREATEROLE", "CREATEDB", "REPLICATION", "BYPASSRLS", "superuser"}) {
    SCOPED_TRACE(attr);
    EXPECT_THAT(refusal("ALTER ROLE helpdesk " + attr + ";\n"), HasSubstr("would give reader helpdesk"));
    EXPECT_THAT(refusal("ALTER ROLE \"Help Desk é\" WITH " + attr + ";\n"), HasSubstr("would give reader Help Desk é"));
    EXPECT_THAT(refusal("-- x\nCREATE ROLE \"helpdesk\" WITH LOGIN " + attr + " PASSWORD 'p';\n"),
                HasSubstr("line 2: would give reader helpdesk"));
  }
  // NOSUPERUSER and friends are what a real capture holds: fine.
  EXPECT_EQ(refusal("ALTER ROLE helpdesk NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;\n"), "");
}

TEST(ReplicaPolicy, AReaderReachingTheHostIsRefusedDirectlyOrThroughARole) {
  for (const std::string role : {"pg_execute_server_program", "pg_read_server_files", "pg_write_server_files",
                                 "pg_signal_backend", "\"pg_write_all_data\""}) {
    SCOPED_TRACE(role);
    EXPECT_THAT(refusal("GRANT " + role + " TO helpdesk;\n"), HasSubstr("would make reader helpdesk a member"));
    EXPECT_THAT(refusal("GRANT site_admin, " + role + " TO other, \"Help Desk é\" WITH ADMIN OPTION;\n"),
                HasSubstr("would make reader Help Desk é a member"));
  }
  // Through a chain the script builds, in any order.
  EXPECT_THAT(refusal("GRANT ops TO helpdesk;\nGRANT tools TO ops;\nGRANT pg_execute_server_program TO tools;\n"),
              HasSubstr("line 1: would make reader helpdesk a member of a role that reaches the server host (ops)"));
  // Reading roles are fine.
  EXPECT_EQ(refusal("GRANT pg_read_all_data, pg_monitor TO helpdesk;\n"), "");
}

TEST(ReplicaPolicy, OtherRolesCannotLogInAndLoseElevatedAttributes) {
  std::vector<std::string> notes;
  auto st = sk::sql::restrict_for_replica(
      parse_permission_script(
          "CREATE ROLE \"site_admin\" WITH SUPERUSER INHERIT CREATEROLE NOCREATEDB LOGIN NOREPLICATION BYPASSRLS "
          "CONNECTION LIMIT 5 PASSWORD 'SCRAM-SHA-256$4096:a$b:c' VALID UNTIL '2030-01-01';\n"
          "CREATE ROLE \"owner\";\n"
          "ALTER ROLE \"app\" WITH LOGIN;\n"
          "CREATE ROLE \"quiet\" WITH NOLOGIN;\n"
          "GRANT pg_execute_server_program TO site_admin;\n"
          "GRANT site_admin TO owner;\n"
          "REVOKE pg_signal_backend FROM helpdesk;\n"),
      kReaders, &notes);
  EXPECT_THAT(texts(st),
              ElementsAre("CREATE ROLE \"site_admin\" WITH  INHERIT  NOCREATEDB  NOREPLICATION  CONNECTION LIMIT 5 "
                          "PASSWORD 'SCRAM-SHA-256$4096:a$b:c' VALID UNTIL '2030-01-01' NOLOGIN",
                          "CREATE ROLE \"owner\" NOLOGIN", "ALTER ROLE \"app\" WITH  NOLOGIN",
                          "CREATE ROLE \"quiet\" WITH NOLOGIN",
                          // memberships that reach the host are left out for non-readers, also through
                          // site_admin, which the script itself made a member of one
                          "REVOKE pg_signal_backend FROM helpdesk"));
  // The options replay uses for a role that exists already match the rewritten text.
  EXPECT_EQ(st[0].options, "WITH  INHERIT  NOCREATEDB  NOREPLICATION  CONNECTION LIMIT 5 "
                           "PASSWORD 'SCRAM-SHA-256$4096:a$b:c' VALID UNTIL '2030-01-01' NOLOGIN");
  EXPECT_EQ(st[1].options, "NOLOGIN");
  EXPECT_EQ(notes.size(), 5u);
  // Each rewritten statement is still a permission statement.
  std::string joined;
  for (const auto& x : st) joined += x.text + ";\n";
  EXPECT_NO_THROW(parse_permission_script(joined));
}

TEST(ReplicaPolicy, MembershipsAreParsedWithTheirRolesAndMembers) {
  auto st = parse_permission_script(
      "GRANT a, \"B c\" TO m1, \"M 2\" WITH ADMIN OPTION;\nREVOKE ADMIN OPTION FOR x FROM y;\nGRANT Q TO r GRANTED BY s;\n");
  ASSERT_EQ(st.size(), 3u);
  EXPECT_THAT(st[0].granted, ElementsAre("a", "B c"));
  EXPECT_THAT(st[0].members, ElementsAre("m1", "M 2"));
  EXPECT_FALSE(st[0].revoke);
  EXPECT_TRUE(st[1].revoke);
  EXPECT_THAT(st[1].granted, ElementsAre("x"));
  EXPECT_THAT(st[1].members, ElementsAre("y"));
  EXPECT_THAT(st[2].granted, ElementsAre("q"));
  EXPECT_THAT(st[2].members, ElementsAre("r"));
  EXPECT_THROW(parse_permission_script("GRANT TO x;\n"), sk::Error);
  EXPECT_THROW(parse_permission_script("GRANT a TO;\n"), sk::Error);
  EXPECT_THROW(parse_permission_script("GRANT a b;\n"), sk::Error);
}

}  // namespace
