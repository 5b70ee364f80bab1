#include "sql/sqlserver/tsql.hpp"

#include <algorithm>
#include <cctype>
#include <limits>

#include "core/error.hpp"

namespace sk::sql::tsql {

namespace {

// Decodes UTF-8 strictly (no overlongs, no surrogates) and counts UTF-16 code units.
// Returns -1 for invalid input.
long utf16_units(std::string_view s) {
  long units = 0;
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    int n;
    char32_t cp;
    if (c < 0x80) {
      n = 0, cp = c;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3, cp = c & 0x07;
    } else {
      return -1;
    }
    if (i + n >= s.size()) return -1;
    for (int k = 1; k <= n; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return -1;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr char32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
    units += cp >= 0x10000 ? 2 : 1;
    i += n + 1;
  }
  return units;
}

void check_text(std::string_view text, const char* what) {
  if (text.find('\0') != std::string_view::npos) throw Error(std::string(what) + " contains a NUL byte");
  if (utf16_units(text) < 0) throw Error(std::string(what) + " is not valid UTF-8");
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += sep;
    out += parts[i];
  }
  return out;
}

bool is_upper_words(std::string_view s) {
  if (s.empty() || s.front() == ' ' || s.back() == ' ') return false;
  char prev = 0;
  for (char c : s) {
    bool ok = (c >= 'A' && c <= 'Z') || c == '_' || (c == ' ' && prev != ' ');
    if (!ok) return false;
    prev = c;
  }
  return true;
}

// A literal holding a name, as SUSER_ID/DB_ID take it: the name is checked like an identifier.
std::string name_literal(std::string_view name) {
  quote_ident(name);
  return quote_literal(name);
}

bool server_only_word(const std::string& w);

std::string in_db(std::string_view db, std::string_view catalog_view) {
  return quote_ident(db) + "." + std::string(catalog_view);
}

}  // namespace

// ---- quoting -----------------------------------------------------------------------------------

std::string quote_ident(std::string_view name) {
  if (name.empty()) throw Error("identifier is empty");
  for (char c : name) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u == 0) throw Error("identifier contains a NUL byte");
    if (u < 0x20 || u == 0x7F) throw Error("identifier contains a control character");
  }
  long units = utf16_units(name);
  if (units < 0) throw Error("identifier is not valid UTF-8");
  if (static_cast<size_t>(units) > kMaxIdentifier)
    throw Error("identifier is longer than 128 characters", "sql server names are sysname (nvarchar(128))");
  std::string out = "[";
  for (char c : name) {
    if (c == ']') out += ']';
    out += c;
  }
  return out + "]";
}

std::string qualified(std::string_view schema, std::string_view name) {
  return quote_ident(schema) + "." + quote_ident(name);
}

std::string quote_literal(std::string_view text) {
  check_text(text, "literal");
  std::string out = "N'";
  for (char c : text) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

std::string hex_binary(std::string_view hex) {
  if (hex.size() < 4 || hex.size() % 2 != 0 || hex[0] != '0' || (hex[1] != 'x' && hex[1] != 'X'))
    throw Error("binary value is not 0x followed by hex digits");
  std::string out = "0x";
  for (char c : hex.substr(2)) {
    if (c >= '0' && c <= '9') out += c;
    else if (c >= 'a' && c <= 'f') out += static_cast<char>(c - 'a' + 'A');
    else if (c >= 'A' && c <= 'F') out += c;
    else throw Error("binary value is not 0x followed by hex digits");
  }
  return out;
}

// ---- connection ----------------------------------------------------------------------------------

std::string connection_string(const OdbcTarget& t) {
  auto braced = [](std::string_view v, const char* what) {
    if (v.find('\0') != std::string_view::npos) throw Error(std::string(what) + " contains a NUL byte");
    std::string out = "{";
    for (char c : v) {
      if (c == '}') out += '}';
      out += c;
    }
    return out + "}";
  };
  if (t.host.empty() || t.host.find_first_of(std::string_view(",;{}= \t\0", 9)) != std::string::npos)
    throw Error("sql server host is empty or holds , ; { } = or spaces");
  if (t.port < 1 || t.port > 65535) throw Error("sql server port is out of range");
  return "DRIVER=" + braced(t.driver, "odbc driver") + ";SERVER=" + t.host + "," + std::to_string(t.port) +
         ";DATABASE=" + braced(t.database, "database") + ";UID=" + braced(t.user, "user") +
         ";PWD=" + braced(t.password, "password") +
         ";ConnectTimeout=" + std::to_string(std::max(1, t.connect_timeout_s));
}

// ---- snapshots -----------------------------------------------------------------------------------

std::string backup_file_name(std::string_view db) {
  quote_ident(db);
  if (db == "." || db == ".." || db.find_first_of("/\\") != std::string_view::npos)
    throw Error("database name cannot be used as a file name");
  return std::string(db) + ".bak";
}

std::string backup_database(std::string_view db, std::string_view file) {
  return "BACKUP DATABASE " + quote_ident(db) + " TO DISK = " + quote_literal(file) +
         " WITH CHECKSUM, COPY_ONLY, INIT, FORMAT";
}

std::string verify_backup(std::string_view file) {
  return "RESTORE VERIFYONLY FROM DISK = " + quote_literal(file) + " WITH CHECKSUM";
}

std::string check_db(std::string_view db) {
  return "DBCC CHECKDB (" + quote_ident(db) + ") WITH NO_INFOMSGS, ALL_ERRORMSGS";
}

std::string file_list(std::string_view file) { return "RESTORE FILELISTONLY FROM DISK = " + quote_literal(file); }

std::string default_paths_query() {
  return "SELECT CAST(SERVERPROPERTY(N'InstanceDefaultDataPath') AS nvarchar(4000)) AS data_path, "
         "CAST(SERVERPROPERTY(N'InstanceDefaultLogPath') AS nvarchar(4000)) AS log_path";
}

std::vector<std::string> move_targets(std::string_view db, const std::vector<BackupFile>& files,
                                      const RestoreTarget& target) {
  if (files.empty()) throw Error("backup lists no files");
  if (target.data_dir.empty()) throw Error("sql server data directory is unknown");
  if (target.tag.empty() || target.tag.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                                         "0123456789_-") != std::string::npos)
    throw Error("restore file tag must be letters, digits, _ or -");
  quote_ident(db);
  std::string stem;
  for (char c : db) {
    unsigned char u = static_cast<unsigned char>(c);
    if ((u & 0xC0) == 0x80) continue;  // UTF-8 continuation: one '_' per character is enough
    bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    stem += keep ? c : '_';
  }
  auto dir_of = [](const std::string& d) {
    char sep = d.find('\\') != std::string::npos ? '\\' : '/';
    return (d.back() == '\\' || d.back() == '/') ? d : d + sep;
  };
  const std::string data = dir_of(target.data_dir);
  const std::string log = dir_of(target.log_dir.empty() ? target.data_dir : target.log_dir);
  std::vector<std::string> out;
  bool first_data = true;
  for (size_t i = 0; i < files.size(); ++i) {
    const auto& f = files[i];
    std::string base = stem + "_" + target.tag + "_" + std::to_string(i + 1);
    if (f.type == "D") {
      out.push_back(data + base + (first_data ? ".mdf" : ".ndf"));
      first_data = false;
    } else if (f.type == "L") {
      out.push_back(log + base + ".ldf");
    } else if (f.type == "S" || f.type == "F") {
      out.push_back(data + base);
    } else {
      throw Error("backup lists a file of unknown type '" + f.type + "'");
    }
  }
  return out;
}

std::string restore_database(std::string_view db, std::string_view file, const std::vector<BackupFile>& files,
                             const RestoreTarget& target, Recovery recovery) {
  auto targets = move_targets(db, files, target);
  std::vector<std::string> moves;
  for (size_t i = 0; i < files.size(); ++i)
    moves.push_back("MOVE " + quote_literal(files[i].logical_name) + " TO " + quote_literal(targets[i]));
  return "RESTORE DATABASE " + quote_ident(db) + " FROM DISK = " + quote_literal(file) + " WITH " +
         join(moves, ", ") + (recovery == Recovery::recovery ? ", RECOVERY" : ", NORECOVERY") +
         ", REPLACE, CHECKSUM";
}

std::string drop_database(std::string_view db) {
  // sys.databases compares the exact name; DB_ID and DATABASEPROPERTYEX parse theirs as a name, so a
  // database whose name holds brackets could be mistaken for another.
  const std::string name = name_literal(db), q = quote_ident(db);
  return "IF EXISTS (SELECT 1 FROM sys.databases WHERE name = " + name + ")\nBEGIN\n"
         "  IF EXISTS (SELECT 1 FROM sys.databases WHERE name = " + name +
         " AND state_desc = N'ONLINE') ALTER DATABASE " + q + " SET SINGLE_USER WITH ROLLBACK IMMEDIATE;\n"
         "  DROP DATABASE " + q + ";\nEND";
}

std::string database_exists_query(std::string_view db) {
  return "SELECT COUNT(*) AS present FROM sys.databases WHERE name = " + name_literal(db);
}

std::string database_state_query(std::string_view db) {
  return "SELECT state_desc, CAST(is_read_only AS int) AS is_read_only, user_access_desc FROM sys.databases "
         "WHERE name = " +
         name_literal(db);
}

// ---- replicas --------------------------------------------------------------------------------------

std::vector<std::string> make_read_only(std::string_view db, const std::vector<std::string>& readers) {
  // A re-run (a resumed refresh) finds the copy read-only already, and a read-only database refuses
  // permission changes: reopen it for the grants first.
  std::vector<std::string> out{"IF EXISTS (SELECT 1 FROM sys.databases WHERE name = " + name_literal(db) +
                                   " AND is_read_only = 1) ALTER DATABASE " + quote_ident(db) +
                                   " SET READ_WRITE WITH ROLLBACK IMMEDIATE",
                               "USE " + quote_ident(db)};
  for (const auto& r : readers) {
    const std::string q = quote_ident(r), lit = quote_literal(r);
    out.push_back("IF DATABASE_PRINCIPAL_ID(" + lit + ") IS NULL CREATE USER " + q + " FOR LOGIN " + q);
    out.push_back("DENY INSERT, UPDATE, DELETE, ALTER, EXECUTE TO " + q);
    out.push_back("GRANT SELECT TO " + q);
  }
  out.push_back("USE [master]");
  out.push_back("ALTER DATABASE " + quote_ident(db) + " SET READ_ONLY WITH ROLLBACK IMMEDIATE");
  return out;
}

WriteProbe write_probe(std::string_view db, std::string_view reader) {
  static const std::string table = "[dbo].[sitekeeper_write_probe]";
  WriteProbe p;
  p.enter = {"USE " + quote_ident(db), "EXECUTE AS USER = " + name_literal(reader)};
  p.attempt = "CREATE TABLE " + table + " ([id] int NOT NULL)";
  p.my_writes =
      "SELECT permission_name FROM fn_my_permissions(NULL, N'DATABASE') WHERE permission_name IN "
      "(N'INSERT', N'UPDATE', N'DELETE', N'ALTER', N'EXECUTE', N'CONTROL', N'CREATE TABLE') ORDER BY permission_name";
  p.leave = {"REVERT", "USE [master]"};
  p.cleanup = {"USE " + quote_ident(db),
               "IF OBJECT_ID(N'" + table + "', N'U') IS NOT NULL DROP TABLE " + table, "USE [master]"};
  return p;
}

std::vector<std::string> swap_in(std::string_view live, std::string_view staging, std::string_view retired,
                                 int timeout_s) {
  if (timeout_s < 1) throw Error("swap timeout must be at least one second");
  const std::string l = quote_ident(live), s = quote_ident(staging), r = quote_ident(retired);
  return {"ALTER DATABASE " + l + " SET SINGLE_USER WITH ROLLBACK AFTER " + std::to_string(timeout_s) + " SECONDS",
          "ALTER DATABASE " + l + " MODIFY NAME = " + r, "ALTER DATABASE " + s + " MODIFY NAME = " + l,
          "ALTER DATABASE " + r + " SET MULTI_USER"};
}

std::vector<std::string> swap_undo(std::string_view live, std::string_view retired, int failed_step) {
  const std::string l = quote_ident(live), r = quote_ident(retired);
  switch (failed_step) {
    case 1:
    case 2:
      return {"ALTER DATABASE " + l + " SET MULTI_USER"};
    case 3:
      return {"ALTER DATABASE " + r + " MODIFY NAME = " + l, "ALTER DATABASE " + l + " SET MULTI_USER"};
    default:
      throw Error("swap step " + std::to_string(failed_step) + " has no undo");
  }
}

// ---- permissions -----------------------------------------------------------------------------------

namespace {
// Principals every server or database has of its own; capturing them would fight the target's.
constexpr const char* kOwnServerPrincipal =
    "{a}.principal_id <> 1 AND {a}.name NOT LIKE N'##%' AND {a}.name NOT LIKE N'NT %'";

std::string own_server(const std::string& alias) {
  std::string s = kOwnServerPrincipal;
  for (size_t p; (p = s.find("{a}")) != std::string::npos;) s.replace(p, 3, alias);
  return s;
}
}  // namespace

std::string logins_query() {
  return "SELECT sp.name, sp.type, CONVERT(varchar(172), sp.sid, 1) AS sid_hex, "
         "CONVERT(varchar(514), l.password_hash, 1) AS hash_hex, sp.default_database_name, "
         "CAST(sp.is_disabled AS int) AS is_disabled "
         "FROM sys.server_principals AS sp LEFT JOIN sys.sql_logins AS l ON l.principal_id = sp.principal_id "
         "WHERE sp.type IN ('S', 'U', 'G') AND " +
         own_server("sp") + " ORDER BY sp.name";
}

std::string server_roles_query() {
  return "SELECT name FROM sys.server_principals WHERE type = 'R' AND is_fixed_role = 0 AND principal_id > 2 "
         "ORDER BY name";
}

std::string server_role_members_query() {
  return "SELECT r.name AS role_name, m.name AS member_name FROM sys.server_role_members AS rm "
         "JOIN sys.server_principals AS r ON r.principal_id = rm.role_principal_id "
         "JOIN sys.server_principals AS m ON m.principal_id = rm.member_principal_id "
         "WHERE m.type IN ('S', 'U', 'G', 'R') AND " +
         own_server("m") + " ORDER BY r.name, m.name";
}

std::string database_principals_query(std::string_view db) {
  return "SELECT dp.name, dp.type, COALESCE(sp.name, N'') AS login_name, "
         "COALESCE(dp.default_schema_name, N'') AS default_schema FROM " +
         in_db(db, "sys.database_principals") +
         " AS dp LEFT JOIN sys.server_principals AS sp ON sp.sid = dp.sid AND dp.type <> 'R' "
         "WHERE dp.type IN ('S', 'U', 'G', 'R') AND dp.is_fixed_role = 0 AND dp.principal_id > 4 "
         "ORDER BY CASE dp.type WHEN 'R' THEN 0 ELSE 1 END, dp.name";
}

std::string database_role_members_query(std::string_view db) {
  const std::string dp = in_db(db, "sys.database_principals");
  return "SELECT r.name AS role_name, m.name AS member_name FROM " + in_db(db, "sys.database_role_members") +
         " AS rm JOIN " + dp + " AS r ON r.principal_id = rm.role_principal_id JOIN " + dp +
         " AS m ON m.principal_id = rm.member_principal_id WHERE m.principal_id > 4 ORDER BY r.name, m.name";
}

std::string database_permissions_query(std::string_view db) {
  return "SELECT p.state, p.permission_name, CAST(p.class AS int) AS class, COALESCE(s.name, N'') AS schema_name, "
         "COALESCE(o.name, N'') AS object_name, COALESCE(c.name, N'') AS column_name, g.name AS grantee FROM " +
         in_db(db, "sys.database_permissions") + " AS p JOIN " + in_db(db, "sys.database_principals") +
         " AS g ON g.principal_id = p.grantee_principal_id LEFT JOIN " + in_db(db, "sys.objects") +
         " AS o ON p.class = 1 AND o.object_id = p.major_id LEFT JOIN " + in_db(db, "sys.schemas") +
         " AS s ON (p.class = 1 AND s.schema_id = o.schema_id) OR (p.class = 3 AND s.schema_id = p.major_id) "
         "LEFT JOIN " +
         in_db(db, "sys.columns") +
         " AS c ON p.class = 1 AND p.minor_id <> 0 AND c.object_id = p.major_id AND c.column_id = p.minor_id "
         "WHERE p.class IN (0, 1, 3) AND g.principal_id NOT IN (1, 3, 4) AND (p.class <> 1 OR o.is_ms_shipped = 0) "
         "ORDER BY g.name, p.class, s.name, o.name, c.name, p.permission_name";
}

std::string permission_script(const CapturedPermissions& c) {
  std::vector<std::string> lines{"-- sitekeeper permission script (sqlserver)",
                                 "-- server scope: logins, server roles, memberships"};
  for (const auto& l : c.logins) {
    const std::string q = quote_ident(l.name), guard = "IF SUSER_ID(" + name_literal(l.name) + ") IS NULL ";
    const std::string dflt = quote_ident(l.default_database.empty() ? "master" : l.default_database);
    if (l.type == "S") {
      if (l.hash_hex.empty()) throw Error("sql login " + q + " has no password hash");
      lines.push_back(guard + "CREATE LOGIN " + q + " WITH PASSWORD = " + hex_binary(l.hash_hex) +
                      " HASHED, SID = " + hex_binary(l.sid_hex) + ", DEFAULT_DATABASE = " + dflt +
                      ", CHECK_POLICY = OFF;");
    } else if (l.type == "U" || l.type == "G") {
      lines.push_back(guard + "CREATE LOGIN " + q + " FROM WINDOWS WITH DEFAULT_DATABASE = " + dflt + ";");
    } else {
      throw Error("login " + q + " has unknown type '" + l.type + "'");
    }
    if (l.disabled) lines.push_back("ALTER LOGIN " + q + " DISABLE;");
  }
  for (const auto& r : c.server_roles)
    lines.push_back("IF SUSER_ID(" + name_literal(r) + ") IS NULL CREATE SERVER ROLE " + quote_ident(r) + ";");
  for (const auto& m : c.server_role_members)
    lines.push_back("ALTER SERVER ROLE " + quote_ident(m.role) + " ADD MEMBER " + quote_ident(m.member) + ";");

  lines.push_back("-- database scope: roles, users, orphan repair, memberships, grants");
  for (const auto& p : c.principals) {
    const std::string q = quote_ident(p.name), guard = "IF DATABASE_PRINCIPAL_ID(" + name_literal(p.name) + ") IS NULL ";
    const std::string schema = quote_ident(p.default_schema.empty() ? "dbo" : p.default_schema);
    if (p.type == "R") {
      lines.push_back(guard + "CREATE ROLE " + q + ";");
    } else if (p.type != "S" && p.type != "U" && p.type != "G") {
      throw Error("database principal " + q + " has unknown type '" + p.type + "'");
    } else if (p.login.empty()) {
      lines.push_back(guard + "CREATE USER " + q + " WITHOUT LOGIN WITH DEFAULT_SCHEMA = " + schema + ";");
    } else {
      const std::string login = quote_ident(p.login);
      lines.push_back(guard + "CREATE USER " + q + " FOR LOGIN " + login + " WITH DEFAULT_SCHEMA = " + schema + ";");
      // A SQL login recreated by name on another server may carry another SID; remap by name.
      if (p.type == "S") lines.push_back("ALTER USER " + q + " WITH LOGIN = " + login + ";");
    }
  }
  for (const auto& m : c.role_members)
    lines.push_back("ALTER ROLE " + quote_ident(m.role) + " ADD MEMBER " + quote_ident(m.member) + ";");
  for (const auto& g : c.permissions) {
    if (!is_upper_words(g.permission)) throw Error("permission name '" + g.permission + "' is not upper-case words");
    for (size_t b = 0, e; b < g.permission.size(); b = e + 1) {
      e = std::min(g.permission.find(' ', b), g.permission.size());
      if (server_only_word(g.permission.substr(b, e - b)))
        throw Error("permission '" + g.permission + "' is a server permission");
    }
    std::string on;
    if (g.klass == 1) {
      on = " ON OBJECT::" + qualified(g.schema, g.object) + (g.column.empty() ? "" : " (" + quote_ident(g.column) + ")");
    } else if (g.klass == 3) {
      on = " ON SCHEMA::" + quote_ident(g.schema);
    } else if (g.klass != 0) {
      throw Error("permission class " + std::to_string(g.klass) + " is not captured");
    }
    const std::string who = quote_ident(g.grantee);
    if (g.state == "G") lines.push_back("GRANT " + g.permission + on + " TO " + who + ";");
    else if (g.state == "W") lines.push_back("GRANT " + g.permission + on + " TO " + who + " WITH GRANT OPTION;");
    else if (g.state == "D") lines.push_back("DENY " + g.permission + on + " TO " + who + ";");
    else if (g.state == "R") lines.push_back("REVOKE " + g.permission + on + " FROM " + who + ";");
    else throw Error("permission state '" + g.state + "' is unknown");
  }
  return join(lines, "\n") + "\n";
}

// ---- permission script parser ----------------------------------------------------------------------

namespace {

enum class Tok { word, ident, string, hex, punct };
struct Token {
  Tok kind;
  std::string text;  // words upper-cased
};

// Splits one statement line into tokens; returns false for anything permission_script never writes
// (comments, plain '…' literals, operators, unterminated quotes).
bool tokenize(std::string_view s, std::vector<Token>& out) {
  size_t i = 0;
  auto quoted = [&](char close, size_t start) -> long {
    for (size_t j = start; j < s.size(); ++j) {
      if (s[j] != close) continue;
      if (j + 1 < s.size() && s[j + 1] == close) {
        ++j;
        continue;
      }
      return static_cast<long>(j);
    }
    return -1;
  };
  while (i < s.size()) {
    char c = s[i];
    if (c == ' ' || c == '\t' || c == '\r') {
      ++i;
    } else if (c == '[') {
      long end = quoted(']', i + 1);
      if (end < 0) return false;
      out.push_back({Tok::ident, std::string(s.substr(i, end - i + 1))});
      i = end + 1;
    } else if ((c == 'N' || c == 'n') && i + 1 < s.size() && s[i + 1] == '\'') {
      long end = quoted('\'', i + 2);
      if (end < 0) return false;
      out.push_back({Tok::string, std::string(s.substr(i, end - i + 1))});
      i = end + 1;
    } else if (c == '0' && i + 1 < s.size() && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
      size_t j = i + 2;
      while (j < s.size() && std::isxdigit(static_cast<unsigned char>(s[j]))) ++j;
      if (j == i + 2) return false;
      out.push_back({Tok::hex, std::string(s.substr(i, j - i))});
      i = j;
    } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t j = i;
      std::string w;
      while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '_'))
        w += static_cast<char>(std::toupper(static_cast<unsigned char>(s[j++])));
      out.push_back({Tok::word, w});
      i = j;
    } else if (c == ':' && i + 1 < s.size() && s[i + 1] == ':') {
      out.push_back({Tok::punct, "::"});
      i += 2;
    } else if (c == '(' || c == ')' || c == ',' || c == '.' || c == '=' || c == ';') {
      out.push_back({Tok::punct, std::string(1, c)});
      ++i;
    } else {
      return false;
    }
  }
  return true;
}

// Words that only server permissions hold: database-scope replay runs inside the site database, and
// a script must not be able to hand out server control that way.
bool server_only_word(const std::string& w) {
  return w == "SERVER" || w == "LOGIN" || w == "ENDPOINT" || w == "SHUTDOWN" || w == "CREDENTIAL";
}

// Pattern tokens: $I identifier, $S N'string', $H hex, $P permission words; anything else literal.
bool matches(const std::vector<Token>& toks, std::string_view pattern) {
  std::vector<std::string> pat;
  for (size_t i = 0; i < pattern.size();) {
    size_t j = pattern.find(' ', i);
    if (j == std::string_view::npos) j = pattern.size();
    pat.emplace_back(pattern.substr(i, j - i));
    i = j + 1;
  }
  size_t t = 0;
  for (const auto& p : pat) {
    if (p == "$P") {
      size_t n = 0;
      while (t < toks.size() && toks[t].kind == Tok::word && toks[t].text != "ON" && toks[t].text != "TO" &&
             toks[t].text != "FROM") {
        if (server_only_word(toks[t].text)) return false;
        ++t, ++n;
      }
      if (n == 0) return false;
      continue;
    }
    if (t >= toks.size()) return false;
    const Token& k = toks[t++];
    if (p == "$I") {
      if (k.kind != Tok::ident) return false;
    } else if (p == "$S") {
      if (k.kind != Tok::string) return false;
    } else if (p == "$H") {
      if (k.kind != Tok::hex) return false;
    } else if (k.kind == Tok::ident || k.kind == Tok::string || k.kind == Tok::hex || k.text != p) {
      return false;
    }
  }
  return t == toks.size();
}

struct Shape {
  Scope scope;
  std::string pattern;
};

const std::vector<Shape>& shapes() {
  static const std::vector<Shape> all = [] {
    std::vector<Shape> v = {
        {Scope::server, "IF SUSER_ID ( $S ) IS NULL CREATE LOGIN $I WITH PASSWORD = $H HASHED , SID = $H , "
                        "DEFAULT_DATABASE = $I , CHECK_POLICY = OFF ;"},
        {Scope::server, "IF SUSER_ID ( $S ) IS NULL CREATE LOGIN $I FROM WINDOWS WITH DEFAULT_DATABASE = $I ;"},
        {Scope::server, "ALTER LOGIN $I DISABLE ;"},
        {Scope::server, "IF SUSER_ID ( $S ) IS NULL CREATE SERVER ROLE $I ;"},
        {Scope::server, "ALTER SERVER ROLE $I ADD MEMBER $I ;"},
        {Scope::database, "IF DATABASE_PRINCIPAL_ID ( $S ) IS NULL CREATE ROLE $I ;"},
        {Scope::database, "IF DATABASE_PRINCIPAL_ID ( $S ) IS NULL CREATE USER $I FOR LOGIN $I WITH DEFAULT_SCHEMA = $I ;"},
        {Scope::database, "IF DATABASE_PRINCIPAL_ID ( $S ) IS NULL CREATE USER $I WITHOUT LOGIN WITH DEFAULT_SCHEMA = $I ;"},
        {Scope::database, "ALTER USER $I WITH LOGIN = $I ;"},
        {Scope::database, "ALTER ROLE $I ADD MEMBER $I ;"},
    };
    const char* targets[] = {"", " ON SCHEMA :: $I", " ON OBJECT :: $I . $I", " ON OBJECT :: $I . $I ( $I )"};
    for (const char* on : targets) {
      std::string o = on;
      v.push_back({Scope::database, "GRANT $P" + o + " TO $I ;"});
      v.push_back({Scope::database, "GRANT $P" + o + " TO $I WITH GRANT OPTION ;"});
      v.push_back({Scope::database, "DENY $P" + o + " TO $I ;"});
      v.push_back({Scope::database, "REVOKE $P" + o + " FROM $I ;"});
    }
    return v;
  }();
  return all;
}

}  // namespace

std::vector<ScriptStatement> parse_permission_script(std::string_view script) {
  std::vector<ScriptStatement> out;
  size_t line_no = 0;
  for (size_t i = 0; i <= script.size();) {
    size_t end = script.find('\n', i);
    if (end == std::string_view::npos) end = script.size();
    std::string_view line = script.substr(i, end - i);
    i = end + 1;
    ++line_no;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.empty() || line.starts_with("--")) continue;
    std::vector<Token> toks;
    auto bad = [&] { return Error("permission script line " + std::to_string(line_no) + " is not a permission statement"); };
    if (!tokenize(line, toks)) throw bad();
    const Shape* found = nullptr;
    for (const auto& s : shapes())
      if (matches(toks, s.pattern)) {
        found = &s;
        break;
      }
    if (!found) throw bad();
    // The tokens matched, but a bracketed name must also be one quote_ident would produce.
    for (const auto& t : toks)
      if (t.kind == Tok::ident) {
        std::string raw = t.text.substr(1, t.text.size() - 2), name;
        for (size_t k = 0; k < raw.size(); ++k) {
          name += raw[k];
          if (raw[k] == ']') ++k;
        }
        try {
          quote_ident(name);
        } catch (const Error&) {
          throw bad();
        }
      }
    out.push_back({found->scope, std::string(line)});
  }
  return out;
}

// ---- server profile --------------------------------------------------------------------------------

std::string configurations_query() {
  return "SELECT name, CAST(value_in_use AS int) AS value_in_use FROM sys.configurations "
         "WHERE name IN (N'clr enabled', N'clr strict security') ORDER BY name";
}

std::string database_flags_query(std::string_view db) {
  return "SELECT CAST(is_trustworthy_on AS int) AS is_trustworthy_on, CAST(is_broker_enabled AS int) AS "
         "is_broker_enabled FROM sys.databases WHERE name = " +
         name_literal(db);
}

std::string trusted_assemblies_query() {
  return "SELECT CONVERT(varchar(130), [hash], 1) AS hash_hex, COALESCE([description], N'') AS description "
         "FROM sys.trusted_assemblies ORDER BY [hash]";
}

nlohmann::json profile_to_json(const ServerProfile& p) {
  nlohmann::json assemblies = nlohmann::json::array();
  for (const auto& a : p.trusted_assemblies)
    assemblies.push_back({{"hash", hex_binary(a.hash_hex)}, {"description", a.description}});
  return {{"engine", "sqlserver"},
          {"clr_enabled", p.clr_enabled},
          {"clr_strict_security", p.clr_strict_security ? nlohmann::json(*p.clr_strict_security) : nlohmann::json()},
          {"trustworthy", p.trustworthy},
          {"broker_enabled", p.broker_enabled},
          {"trusted_assemblies", assemblies}};
}

ServerProfile profile_from_json(const nlohmann::json& doc) {
  try {
    if (!doc.is_object() || doc.value("engine", "") != "sqlserver") throw Error("profile is not a sqlserver profile");
    ServerProfile p;
    p.clr_enabled = doc.at("clr_enabled").get<bool>();
    if (!doc.at("clr_strict_security").is_null()) p.clr_strict_security = doc.at("clr_strict_security").get<bool>();
    p.trustworthy = doc.at("trustworthy").get<bool>();
    p.broker_enabled = doc.at("broker_enabled").get<bool>();
    for (const auto& a : doc.at("trusted_assemblies"))
      p.trusted_assemblies.push_back({hex_binary(a.at("hash").get<std::string>()), a.at("description").get<std::string>()});
    return p;
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("sqlserver profile is malformed: ") + e.what());
  }
}

std::vector<std::string> apply_profile(std::string_view db, const ServerProfile& p) {
  auto on_off = [](bool b) { return b ? std::string("1") : std::string("0"); };
  std::vector<std::string> out{"EXEC sp_configure N'show advanced options', 1", "RECONFIGURE",
                               "EXEC sp_configure N'clr enabled', " + on_off(p.clr_enabled)};
  if (p.clr_strict_security)
    out.push_back("EXEC sp_configure N'clr strict security', " + on_off(*p.clr_strict_security));
  out.push_back("RECONFIGURE");
  for (const auto& a : p.trusted_assemblies) {
    const std::string h = hex_binary(a.hash_hex);
    if (h.size() > 2 + 128) throw Error("trusted assembly hash is longer than 64 bytes");
    out.push_back("IF NOT EXISTS (SELECT 1 FROM sys.trusted_assemblies WHERE [hash] = " + h +
                  ") EXEC sys.sp_add_trusted_assembly @hash = " + h + ", @description = " + quote_literal(a.description));
  }
  const std::string q = quote_ident(db);
  out.push_back("ALTER DATABASE " + q + " SET TRUSTWORTHY " + (p.trustworthy ? "ON" : "OFF"));
  out.push_back("ALTER DATABASE " + q + (p.broker_enabled ? " SET ENABLE_BROKER" : " SET DISABLE_BROKER") +
                " WITH ROLLBACK IMMEDIATE");
  return out;
}

// ---- standby ------------------------------------------------------------------------------------------

std::string backup_log(std::string_view db, std::string_view file) {
  return "BACKUP LOG " + quote_ident(db) + " TO DISK = " + quote_literal(file) + " WITH CHECKSUM, INIT";
}

std::string restore_log(std::string_view db, std::string_view file) {
  return "RESTORE LOG " + quote_ident(db) + " FROM DISK = " + quote_literal(file) + " WITH NORECOVERY, CHECKSUM";
}

std::string last_restored_log_query(std::string_view db) {
  std::string filter = db.empty() ? "" : " AND rh.destination_database_name = " + name_literal(db);
  return "SELECT TOP (1) rh.destination_database_name, CONVERT(nvarchar(33), rh.restore_date, 126) AS restore_date, "
         "CONVERT(nvarchar(33), bs.backup_finish_date, 126) AS backup_finish_date, "
         "DATEDIFF(SECOND, bs.backup_finish_date, GETDATE()) AS lag_seconds "
         "FROM msdb.dbo.restorehistory AS rh JOIN msdb.dbo.backupset AS bs ON bs.backup_set_id = rh.backup_set_id "
         "WHERE rh.restore_type = 'L'" +
         filter + " ORDER BY rh.restore_history_id DESC";
}

std::string promote(std::string_view db) { return "RESTORE DATABASE " + quote_ident(db) + " WITH RECOVERY"; }

std::string fence(std::string_view db) {
  return "ALTER DATABASE " + quote_ident(db) + " SET READ_ONLY WITH ROLLBACK IMMEDIATE";
}

std::string probe_query() {
  return "SELECT CAST(SERVERPROPERTY(N'ProductVersion') AS nvarchar(128)) AS version, "
         "CAST(SERVERPROPERTY(N'Edition') AS nvarchar(128)) AS edition, "
         "(SELECT COUNT(*) FROM sys.databases WHERE database_id > 4 AND state_desc = N'RESTORING') AS restoring, "
         "(SELECT COUNT(*) FROM sys.databases WHERE database_id > 4 AND state_desc = N'ONLINE' AND is_read_only = 0) "
         "AS writable";
}

// ---- serials ------------------------------------------------------------------------------------------

std::string identity_values_query(std::string_view db) {
  return "SELECT s.name AS schema_name, t.name AS table_name, COALESCE(CAST(ic.last_value AS bigint), "
         "CAST(ic.seed_value AS bigint) - CAST(ic.increment_value AS bigint)) AS last_value FROM " +
         in_db(db, "sys.identity_columns") + " AS ic JOIN " + in_db(db, "sys.tables") +
         " AS t ON t.object_id = ic.object_id JOIN " + in_db(db, "sys.schemas") +
         " AS s ON s.schema_id = t.schema_id WHERE t.is_ms_shipped = 0 ORDER BY s.name, t.name";
}

std::string sequence_values_query(std::string_view db) {
  return "SELECT s.name AS schema_name, q.name AS sequence_name, CAST(q.current_value AS bigint) AS current_value "
         "FROM " +
         in_db(db, "sys.sequences") + " AS q JOIN " + in_db(db, "sys.schemas") +
         " AS s ON s.schema_id = q.schema_id ORDER BY s.name, q.name";
}

std::vector<std::string> resync_serials(std::string_view db, const std::vector<Serial>& serials) {
  std::vector<std::string> out{"USE " + quote_ident(db)};
  for (const auto& s : serials) {
    const std::string name = qualified(s.schema, s.name);
    if (s.kind == SerialKind::identity) {
      out.push_back("DBCC CHECKIDENT (" + quote_literal(name) + ", RESEED, " + std::to_string(s.value) + ")");
    } else {
      if (s.value == std::numeric_limits<std::int64_t>::max()) throw Error("sequence " + name + " is exhausted");
      out.push_back("ALTER SEQUENCE " + name + " RESTART WITH " + std::to_string(s.value + 1));
    }
  }
  out.push_back("USE [master]");
  return out;
}

}  // namespace sk::sql::tsql
