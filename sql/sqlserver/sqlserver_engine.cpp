#include "sql/sqlserver/sqlserver_engine.hpp"

#include <ctime>
#include <map>
#include <optional>

#include <soci/odbc/soci-odbc.h>
#include <soci/soci.h>

#include "core/error.hpp"
#include "core/log.hpp"
#include "sql/ident.hpp"

namespace sk::sql {

namespace {

using Row = std::vector<std::optional<std::string>>;

// ---- UTF-8 <-> UTF-16: the W entry points keep non-ASCII names intact whatever the process locale.

std::basic_string<SQLWCHAR> to_wide(std::string_view s) {
  std::basic_string<SQLWCHAR> out;
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    char32_t cp;
    int n = c < 0x80 ? 0 : (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : 3;
    cp = n == 0 ? c : n == 1 ? (c & 0x1F) : n == 2 ? (c & 0x0F) : (c & 0x07);
    for (int k = 1; k <= n && i + k < s.size(); ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    i += n + 1;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      out += static_cast<SQLWCHAR>(0xD800 + (cp >> 10));
      out += static_cast<SQLWCHAR>(0xDC00 + (cp & 0x3FF));
    } else {
      out += static_cast<SQLWCHAR>(cp);
    }
  }
  return out;
}

std::string to_utf8(const SQLWCHAR* w, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    char32_t cp = w[i];
    if (cp >= 0xD800 && cp <= 0xDBFF && i + 1 < n && w[i + 1] >= 0xDC00 && w[i + 1] <= 0xDFFF)
      cp = 0x10000 + ((cp - 0xD800) << 10) + (w[++i] - 0xDC00);
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  return out;
}

struct Diag {
  std::string state;
  std::string message;
};

std::vector<Diag> diagnostics(SQLSMALLINT type, SQLHANDLE h) {
  std::vector<Diag> out;
  for (SQLSMALLINT i = 1;; ++i) {
    SQLWCHAR state[6] = {}, msg[SQL_MAX_MESSAGE_LENGTH + 1] = {};
    SQLINTEGER native = 0;
    SQLSMALLINT len = 0;
    SQLRETURN rc = SQLGetDiagRecW(type, h, i, state, &native, msg, SQL_MAX_MESSAGE_LENGTH, &len);
    if (!SQL_SUCCEEDED(rc)) break;
    std::string text = to_utf8(msg, std::min<size_t>(static_cast<size_t>(len), SQL_MAX_MESSAGE_LENGTH));
    // Driver messages start with "[Microsoft][ODBC Driver 18 for SQL Server][SQL Server]"; keep the server's words.
    if (auto p = text.rfind(']'); p != std::string::npos && text.front() == '[') text = text.substr(p + 1);
    out.push_back({to_utf8(state, 5), text});
  }
  return out;
}

std::string first_error(const std::vector<Diag>& d) {
  // Informational lines ("Processed 100 pages…") come first; the terminating error is what matters,
  // and SQL Server tends to report the specific cause before "… terminating abnormally".
  for (const auto& x : d)
    if (x.state.rfind("01", 0) != 0) return x.message;
  return d.empty() ? std::string("unknown odbc error") : d.front().message;
}

int ceil_seconds(std::chrono::milliseconds ms) {
  return std::max<int>(1, static_cast<int>((ms.count() + 999) / 1000));
}

std::string cell(const Row& r, size_t i) { return i < r.size() && r[i] ? *r[i] : std::string(); }

std::int64_t num(const Row& r, size_t i) {
  const std::string s = cell(r, i);
  try {
    size_t used = 0;
    long long v = std::stoll(s, &used);
    if (used != s.size()) throw std::invalid_argument(s);
    return v;
  } catch (const std::exception&) {
    throw Error("sql server returned '" + s + "' where a number was expected");
  }
}

}  // namespace

// One ODBC connection. SOCI opens it; statements then run on its ODBC handle because SOCI stops
// at the first result: BACKUP, RESTORE and DBCC report progress and errors as further results, and a
// BACKUP whose results are not drained is aborted by the server when the statement closes.
class SqlServerEngine::Session {
 public:
  Session(const std::string& connect, const std::string& where) {
    try {
      sql_.open(*soci::factory_odbc(), connect);
    } catch (const std::exception& e) {
      throw Error("cannot connect to sql server " + where + ": " + log::redact(e.what()),
                  "check host, port, odbc_driver and the password");
    }
    hdbc_ = static_cast<soci::odbc_session_backend*>(sql_.get_backend())->hdbc_;
    exec("SET NOCOUNT ON");
  }

  bool broken() const { return broken_; }

  // Runs one statement and drains every result; throws sk::Error with the server's message.
  void exec(const std::string& text, int timeout_s = 0) { run(text, timeout_s, nullptr); }

  // Runs one statement and returns the rows of its first result set, every column as text.
  std::vector<Row> query(const std::string& text, int timeout_s = 0) {
    std::vector<Row> rows;
    run(text, timeout_s, &rows);
    return rows;
  }

 private:
  struct Stmt {
    SQLHSTMT h = SQL_NULL_HSTMT;
    ~Stmt() {
      if (h != SQL_NULL_HSTMT) SQLFreeHandle(SQL_HANDLE_STMT, h);
    }
  };

  [[noreturn]] void fail(SQLSMALLINT type, SQLHANDLE h, const std::string& text) {
    auto d = diagnostics(type, h);
    for (const auto& x : d)
      if (x.state.rfind("08", 0) == 0) broken_ = true;  // connection lost: reconnect next time
    log::get("sql")->debug("sqlserver statement failed: {}", log::redact(text));
    throw Error(first_error(d));
  }

  void run(const std::string& text, int timeout_s, std::vector<Row>* rows) {
    Stmt st;
    if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, hdbc_, &st.h))) fail(SQL_HANDLE_DBC, hdbc_, text);
    if (timeout_s > 0)
      SQLSetStmtAttr(st.h, SQL_ATTR_QUERY_TIMEOUT, reinterpret_cast<SQLPOINTER>(static_cast<SQLULEN>(timeout_s)), 0);
    auto wide = to_wide(text);
    SQLRETURN rc = SQLExecDirectW(st.h, wide.data(), static_cast<SQLINTEGER>(wide.size()));
    bool fetched = false;
    for (;;) {
      if (rc == SQL_ERROR || rc == SQL_INVALID_HANDLE) fail(SQL_HANDLE_STMT, st.h, text);
      if (rc == SQL_SUCCESS_WITH_INFO)
        for (const auto& d : diagnostics(SQL_HANDLE_STMT, st.h)) log::get("sql")->debug("sqlserver: {}", d.message);
      if (rc != SQL_NO_DATA && rows && !fetched) {
        SQLSMALLINT cols = 0;
        SQLNumResultCols(st.h, &cols);
        if (cols > 0) {
          fetch(st.h, cols, *rows, text);
          fetched = true;
        }
      }
      rc = SQLMoreResults(st.h);
      if (rc == SQL_NO_DATA) break;
    }
  }

  void fetch(SQLHSTMT h, SQLSMALLINT cols, std::vector<Row>& rows, const std::string& text) {
    for (;;) {
      SQLRETURN rc = SQLFetch(h);
      if (rc == SQL_NO_DATA) return;
      if (!SQL_SUCCEEDED(rc)) fail(SQL_HANDLE_STMT, h, text);
      Row row;
      for (SQLUSMALLINT c = 1; c <= static_cast<SQLUSMALLINT>(cols); ++c) {
        std::basic_string<SQLWCHAR> value;
        bool null = false;
        for (;;) {
          SQLWCHAR buf[2048];
          SQLLEN ind = 0;
          rc = SQLGetData(h, c, SQL_C_WCHAR, buf, sizeof buf, &ind);
          if (rc == SQL_NO_DATA) break;
          if (!SQL_SUCCEEDED(rc)) fail(SQL_HANDLE_STMT, h, text);
          if (ind == SQL_NULL_DATA) {
            null = true;
            break;
          }
          const size_t cap = sizeof buf / sizeof buf[0] - 1;
          size_t got = (ind == SQL_NO_TOTAL || static_cast<size_t>(ind) / sizeof(SQLWCHAR) > cap)
                           ? cap
                           : static_cast<size_t>(ind) / sizeof(SQLWCHAR);
          value.append(buf, got);
          if (rc == SQL_SUCCESS) break;  // SUCCESS_WITH_INFO: truncated, more to come
        }
        row.push_back(null ? std::nullopt : std::optional<std::string>(to_utf8(value.data(), value.size())));
      }
      rows.push_back(std::move(row));
    }
  }

  soci::session sql_;
  SQLHDBC hdbc_ = SQL_NULL_HDBC;
  bool broken_ = false;
};

namespace {

tsql::OdbcTarget target_of(const ServerConfig& s, int connect_timeout_s) {
  tsql::OdbcTarget t;
  // The config default names the PostgreSQL driver; it can never reach SQL Server.
  t.driver = s.odbc_driver.empty() || s.odbc_driver == "PostgreSQL Unicode" ? "ODBC Driver 18 for SQL Server"
                                                                             : s.odbc_driver;
  t.host = s.host;
  t.port = s.port;
  t.user = s.user;
  t.password = s.password;
  t.connect_timeout_s = connect_timeout_s;
  return t;
}

std::string where(const ServerConfig& s) { return s.name + " (" + s.host + "," + std::to_string(s.port) + ")"; }

// The one .bak file of a snapshot folder (or the file itself).
fs::path find_bak(const fs::path& snapshot) {
  std::error_code ec;
  if (fs::is_regular_file(snapshot, ec) && snapshot.extension() == ".bak") return snapshot;
  if (!fs::is_directory(snapshot, ec)) throw Error("snapshot " + snapshot.string() + " does not exist");
  std::vector<fs::path> found;
  for (const auto& e : fs::directory_iterator(snapshot, ec))
    if (e.is_regular_file() && e.path().extension() == ".bak") found.push_back(e.path());
  if (ec) throw Error("cannot list snapshot " + snapshot.string() + ": " + ec.message());
  if (found.size() != 1)
    throw Error("snapshot " + snapshot.string() + " holds " + std::to_string(found.size()) + " .bak files, expected one");
  return found.front();
}

std::string restore_tag() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%S", &tm);
  return buf;
}

}  // namespace

SqlServerEngine::SqlServerEngine(const ServerConfig& server, std::shared_ptr<ProcessRunner> runner)
    : server_(server), runner_(std::move(runner)) {
  if (server_.transport != "odbc")
    throw ConfigError("server " + server_.name + ": sqlserver needs transport = \"odbc\"",
                      "set transport = \"odbc\" and odbc_driver = \"ODBC Driver 18 for SQL Server\"");
}

SqlServerEngine::~SqlServerEngine() = default;

SqlServerEngine::Session& SqlServerEngine::session() {
  if (!session_ || session_->broken())
    session_ = std::make_unique<Session>(tsql::connection_string(target_of(server_, 15)), where(server_));
  return *session_;
}

ProbeInfo SqlServerEngine::probe(std::chrono::milliseconds timeout) {
  const int secs = ceil_seconds(timeout);
  Session s(tsql::connection_string(target_of(server_, secs)), where(server_));
  auto rows = s.query(tsql::probe_query(), secs);
  if (rows.empty()) throw Error("sql server " + server_.name + " answered the probe with no row");
  ProbeInfo info;
  info.version = "SQL Server " + cell(rows[0], 0) + " (" + cell(rows[0], 1) + ")";
  info.in_recovery = num(rows[0], 2) > 0;
  info.read_only = num(rows[0], 3) == 0;
  return info;
}

bool SqlServerEngine::database_exists(const std::string& db) {
  auto rows = session().query(tsql::database_exists_query(db));
  return !rows.empty() && num(rows[0], 0) == 1;
}

void SqlServerEngine::backup(const std::string& db, const fs::path& out, int, const CancelToken* cancel) {
  if (cancel) cancel->check();
  const fs::path file = out / tsql::backup_file_name(db);
  log::get("sql")->info("sqlserver {}: backup of {} to {}", server_.name, db, file.string());
  try {
    session().exec(tsql::backup_database(db, file.string()));
  } catch (const Error& e) {
    throw Error("backup of " + tsql::quote_ident(db) + " failed: " + e.what());
  }
  if (cancel) cancel->check();
}

void SqlServerEngine::check_snapshot(const fs::path& snapshot) {
  const fs::path file = find_bak(snapshot);
  try {
    session().exec(tsql::verify_backup(file.string()));
  } catch (const Error& e) {
    throw Error("backup " + file.string() + " does not verify: " + e.what());
  }
}

void SqlServerEngine::restore_to_staging(const std::string& staging, const fs::path& snapshot, int,
                                         const CancelToken* cancel) {
  if (cancel) cancel->check();
  const fs::path file = find_bak(snapshot);
  Session& s = session();
  std::vector<tsql::BackupFile> files;
  for (const auto& r : s.query(tsql::file_list(file.string()))) files.push_back({cell(r, 0), cell(r, 1), cell(r, 2)});
  auto paths = s.query(tsql::default_paths_query());
  tsql::RestoreTarget target{paths.empty() ? "" : cell(paths[0], 0), paths.empty() ? "" : cell(paths[0], 1),
                             restore_tag()};
  const std::string sql = tsql::restore_database(staging, file.string(), files, target, tsql::Recovery::recovery);
  s.exec(tsql::drop_database(staging));
  log::get("sql")->info("sqlserver {}: restoring {} into {}", server_.name, file.string(), staging);
  try {
    s.exec(sql);
    if (cancel) cancel->check();
  } catch (const std::exception& e) {
    try {
      session().exec(tsql::drop_database(staging));
    } catch (const std::exception& d) {
      log::get("sql")->warn("sqlserver {}: cannot drop failed staging {}: {}", server_.name, staging, d.what());
    }
    if (dynamic_cast<const Cancelled*>(&e)) throw;
    throw Error("restore into " + tsql::quote_ident(staging) + " failed: " + e.what());
  }
}

void SqlServerEngine::drop_database(const std::string& db) { session().exec(tsql::drop_database(db)); }

void SqlServerEngine::integrity_check(const std::string& db, const CancelToken* cancel) {
  if (cancel) cancel->check();
  try {
    session().exec(tsql::check_db(db));
  } catch (const Error& e) {
    throw Error("integrity check of " + tsql::quote_ident(db) + " failed: " + e.what());
  }
}

namespace {
// Runs a USE-bracketed list; on failure the session is put back into master before rethrowing, so a
// later rename or drop does not find this session inside the database.
template <class S>
void run_all(S& s, const std::vector<std::string>& stmts) {
  try {
    for (const auto& x : stmts) s.exec(x);
  } catch (...) {
    try {
      s.exec("USE [master]");
    } catch (...) {
    }
    throw;
  }
}
}  // namespace

void SqlServerEngine::make_read_only(const std::string& db, const std::vector<std::string>& readers) {
  run_all(session(), tsql::make_read_only(db, readers));
}

ValidationReport SqlServerEngine::validate(const std::string& db, const std::vector<std::string>& queries,
                                           const std::vector<std::string>& readers) {
  Session& s = session();
  ValidationReport report;
  const std::string q = tsql::quote_ident(db);
  {
    auto st = s.query(tsql::database_state_query(db));
    if (st.empty()) throw Error("database " + q + " does not exist");
    if (cell(st[0], 0) != "ONLINE") throw Error("database " + q + " is " + cell(st[0], 0));
    if (num(st[0], 1) != 1) throw Error("database " + q + " is not read-only");
    report.passed.push_back("database " + q + " is online and read-only");
  }
  s.exec("USE " + q);
  try {
    for (const auto& sql : queries) {
      auto rows = s.query(sql);
      report.passed.push_back("query ok (" + std::to_string(rows.size()) + " rows): " + sql);
    }
  } catch (const Error& e) {
    s.exec("USE [master]");
    throw Error("smoke query failed on " + q + ": " + e.what());
  }
  s.exec("USE [master]");

  for (const auto& reader : readers) {
    auto probe = tsql::write_probe(db, reader);
    bool wrote = false;
    std::string refusal;
    std::vector<Row> writes;
    run_all(s, probe.enter);
    try {
      try {
        s.exec(probe.attempt);
        wrote = true;
      } catch (const Error& e) {
        refusal = e.what();
      }
      writes = s.query(probe.my_writes);
    } catch (...) {
      run_all(s, probe.leave);
      throw;
    }
    run_all(s, probe.leave);
    if (wrote) {
      try {
        run_all(s, probe.cleanup);
      } catch (const std::exception& e) {
        log::get("sql")->warn("sqlserver {}: cannot remove write probe table: {}", server_.name, e.what());
      }
      throw SafetyError("reader " + tsql::quote_ident(reader) + " could write to " + q);
    }
    if (!writes.empty()) {
      std::string names;
      for (const auto& r : writes) names += (names.empty() ? "" : ", ") + cell(r, 0);
      throw SafetyError("reader " + tsql::quote_ident(reader) + " still holds " + names + " on " + q);
    }
    report.passed.push_back("write refused for reader " + tsql::quote_ident(reader) + ": " + refusal);
  }
  return report;
}

void SqlServerEngine::swap_in(const std::string& live, const std::string& staging, std::chrono::milliseconds timeout) {
  Session& s = session();
  if (!database_exists(staging)) throw Error("staging database " + tsql::quote_ident(staging) + " does not exist");
  const std::string retired = retired_name(live);
  s.exec(tsql::drop_database(retired));
  auto steps = tsql::swap_in(live, staging, retired, ceil_seconds(timeout));
  if (!database_exists(live)) {
    s.exec(steps[2]);  // first copy on this server: nothing to retire
    return;
  }
  for (size_t i = 0; i < steps.size(); ++i) {
    try {
      s.exec(steps[i]);
    } catch (const Error& e) {
      if (i == 3) {
        log::get("sql")->warn("sqlserver {}: {} failed: {}", server_.name, steps[i], e.what());
        break;
      }
      for (const auto& undo : tsql::swap_undo(live, retired, static_cast<int>(i) + 1)) {
        try {
          s.exec(undo);
        } catch (const std::exception& u) {
          log::get("sql")->error("sqlserver {}: undo '{}' failed: {}", server_.name, undo, u.what());
        }
      }
      throw Error("swap of " + tsql::quote_ident(live) + " failed, the old copy still serves: " + e.what());
    }
  }
  try {
    s.exec(tsql::drop_database(retired));
  } catch (const std::exception& e) {
    log::get("sql")->warn("sqlserver {}: cannot drop retired copy {}: {}", server_.name, retired, e.what());
  }
}

PermissionScript SqlServerEngine::capture_permissions(const std::string& db) {
  Session& s = session();
  tsql::CapturedPermissions c;
  for (const auto& r : s.query(tsql::logins_query()))
    c.logins.push_back({cell(r, 0), cell(r, 1), cell(r, 2), cell(r, 3), cell(r, 4), num(r, 5) != 0});
  for (const auto& r : s.query(tsql::server_roles_query())) c.server_roles.push_back(cell(r, 0));
  for (const auto& r : s.query(tsql::server_role_members_query())) c.server_role_members.push_back({cell(r, 0), cell(r, 1)});
  for (const auto& r : s.query(tsql::database_principals_query(db)))
    c.principals.push_back({cell(r, 0), cell(r, 1), cell(r, 2), cell(r, 3)});
  for (const auto& r : s.query(tsql::database_role_members_query(db))) c.role_members.push_back({cell(r, 0), cell(r, 1)});
  for (const auto& r : s.query(tsql::database_permissions_query(db)))
    c.permissions.push_back({cell(r, 0), cell(r, 1), static_cast<int>(num(r, 2)), cell(r, 3), cell(r, 4), cell(r, 5),
                             cell(r, 6)});
  return {tsql::permission_script(c)};
}

namespace {
template <class S>
void replay(S& s, const std::vector<std::string>& stmts, const std::string& server, const char* what) {
  size_t failed = 0;
  std::string first;
  for (const auto& x : stmts) {
    try {
      s.exec(x);
    } catch (const Error& e) {
      if (!failed++) first = e.what();
      log::get("sql")->warn("sqlserver {}: {} statement failed: {}: {}", server, what, x, e.what());
    }
  }
  if (failed)
    throw Error(std::to_string(failed) + " of " + std::to_string(stmts.size()) + " " + what +
                " statements failed; first: " + first);
}

std::vector<std::string> of_scope(const PermissionScript& script, tsql::Scope scope) {
  std::vector<std::string> out;
  for (auto& st : tsql::parse_permission_script(script.text))
    if (st.scope == scope) out.push_back(std::move(st.text));
  return out;
}
}  // namespace

RoleUndo SqlServerEngine::replay_roles(const PermissionScript& script, const RoleReplay& how) {
  auto stmts = of_scope(script, tsql::Scope::server);
  // On a replica no reader joins a server role (sysadmin and its kin reach the whole instance).
  if (how.replica)
    for (const auto& st : stmts)
      for (const auto& reader : how.readers)
        if (st.find("ADD MEMBER " + tsql::quote_ident(reader)) != std::string::npos)
          throw Error("permission script: would add reader " + reader + " to a server role on a replica; refused",
                      "on a replica a reader may only read");
  replay(session(), stmts, server_.name, "login/role");
  return {};
}

void SqlServerEngine::replay_grants(const PermissionScript& script, const std::string& db) {
  auto stmts = of_scope(script, tsql::Scope::database);
  Session& s = session();
  s.exec("USE " + tsql::quote_ident(db));
  try {
    replay(s, stmts, server_.name, "grant");
  } catch (...) {
    s.exec("USE [master]");
    throw;
  }
  s.exec("USE [master]");
}

nlohmann::json SqlServerEngine::capture_profile(const std::string& db) {
  Session& s = session();
  tsql::ServerProfile p;
  for (const auto& r : s.query(tsql::configurations_query())) {
    if (cell(r, 0) == "clr enabled") p.clr_enabled = num(r, 1) != 0;
    if (cell(r, 0) == "clr strict security") p.clr_strict_security = num(r, 1) != 0;
  }
  auto flags = s.query(tsql::database_flags_query(db));
  if (flags.empty()) throw Error("database " + tsql::quote_ident(db) + " does not exist");
  p.trustworthy = num(flags[0], 0) != 0;
  p.broker_enabled = num(flags[0], 1) != 0;
  // sys.trusted_assemblies arrived with clr strict security (2017); older servers have neither.
  if (p.clr_strict_security)
    for (const auto& r : s.query(tsql::trusted_assemblies_query())) p.trusted_assemblies.push_back({cell(r, 0), cell(r, 1)});
  return tsql::profile_to_json(p);
}

ReplicationState SqlServerEngine::replication_state() {
  ReplicationState st;
  auto rows = session().query(tsql::last_restored_log_query(""));
  if (rows.empty()) {
    st.state = "stopped";
    return st;
  }
  st.state = "restoring";
  st.lag_seconds = static_cast<double>(num(rows[0], 3));
  return st;
}

std::vector<SerialValue> SqlServerEngine::read_serials(const std::string& db) {
  Session& s = session();
  std::vector<SerialValue> out;
  for (const auto& r : s.query(tsql::identity_values_query(db))) out.push_back({cell(r, 0), cell(r, 1), num(r, 2)});
  for (const auto& r : s.query(tsql::sequence_values_query(db))) out.push_back({cell(r, 0), cell(r, 1), num(r, 2)});
  return out;
}

std::vector<std::string> SqlServerEngine::apply_profile(const std::string& db, const nlohmann::json& profile) {
  // sp_configure ... RECONFIGURE applies CLR settings at once: nothing waits for a restart.
  run_all(session(), tsql::apply_profile(db, tsql::profile_from_json(profile)));
  return {};
}

void SqlServerEngine::ship_log(const std::string& db, const fs::path& file) {
  session().exec(tsql::backup_log(db, file.string()));
}

void SqlServerEngine::restore_log(const std::string& db, const fs::path& file) {
  session().exec(tsql::restore_log(db, file.string()));
}

std::string SqlServerEngine::promote_closed(const std::string& db) {
  session().exec(tsql::promote(db));
  return "";
}

void SqlServerEngine::open_to_clients(const std::string&, const std::string&) {}

bool SqlServerEngine::supports(Duty d) const {
  return d == Duty::fence || d == Duty::promote || d == Duty::open || d == Duty::serials || d == Duty::profile ||
         d == Duty::permissions || d == Duty::smoke;
}

std::string SqlServerEngine::fence(const std::string& db) {
  session().exec(tsql::fence(db));
  return tsql::quote_ident(db) + " set READ_ONLY WITH ROLLBACK IMMEDIATE on " + server_.name;
}

void SqlServerEngine::resync_serials(const std::string& db, const std::vector<SerialValue>& targets) {
  Session& s = session();
  std::map<std::pair<std::string, std::string>, tsql::SerialKind> kinds;
  for (const auto& r : s.query(tsql::identity_values_query(db))) kinds[{cell(r, 0), cell(r, 1)}] = tsql::SerialKind::identity;
  for (const auto& r : s.query(tsql::sequence_values_query(db))) kinds[{cell(r, 0), cell(r, 1)}] = tsql::SerialKind::sequence;
  std::vector<tsql::Serial> serials;
  for (const auto& t : targets) {
    auto it = kinds.find({t.schema, t.name});
    if (it == kinds.end())
      throw Error("serial " + tsql::qualified(t.schema, t.name) + " is neither an identity nor a sequence in " +
                  tsql::quote_ident(db));
    serials.push_back({it->second, t.schema, t.name, t.value});
  }
  run_all(s, tsql::resync_serials(db, serials));
}

std::unique_ptr<Engine> make_sqlserver_engine(const ServerConfig& server, std::shared_ptr<ProcessRunner> runner) {
  return std::make_unique<SqlServerEngine>(server, std::move(runner));
}

}  // namespace sk::sql
