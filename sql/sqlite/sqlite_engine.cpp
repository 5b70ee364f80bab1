#include "sql/sqlite/sqlite_engine.hpp"

#include <cerrno>
#include <cstring>
#include <ctime>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/log.hpp"
#include "sql/ident.hpp"

namespace sk::sql {

namespace {

using sqlite_api::sqlite3;

std::shared_ptr<spdlog::logger> logger() { return log::get("sql"); }

std::string errno_text() { return std::strerror(errno); }

void check_path(const fs::path& p) {
  if (p.string().find('"') != std::string::npos)
    throw Error("path " + show_path(p) + " holds a double quote, which the sqlite driver cannot open");
}

// An open database. SOCI parses its connect string itself: the path is double-quoted so that spaces
// survive, and the busy timeout keeps a concurrent writer from failing a read at once.
struct Db {
  soci::session sql;
  sqlite3* raw = nullptr;

  Db(const fs::path& file, bool read_only) {
    check_path(file);
    try {
      sql.open(*soci::factory_sqlite3(), "db=\"" + file.string() + "\" timeout=5" + (read_only ? " readonly=1" : ""));
    } catch (const std::exception& e) {
      throw Error("cannot open " + show_path(file) + ": " + e.what());
    }
    raw = static_cast<soci::sqlite3_session_backend*>(sql.get_backend())->conn_;
  }
};

std::vector<std::string> text_rows(Db& db, const std::string& query) {
  std::vector<std::string> out;
  std::string v;
  soci::indicator ind = soci::i_ok;
  soci::statement st = (db.sql.prepare << query, soci::into(v, ind));
  st.execute();
  while (st.fetch()) out.push_back(ind == soci::i_null ? std::string() : v);
  return out;
}

std::string single_text(Db& db, const std::string& query) {
  auto rows = text_rows(db, query);
  return rows.empty() ? std::string() : rows.front();
}

// PRAGMA integrity_check answers a single "ok" or lists problems.
void integrity(const fs::path& file) {
  std::vector<std::string> rows;
  try {
    Db db(file, true);
    rows = text_rows(db, "PRAGMA integrity_check");
  } catch (const soci::soci_error& e) {
    throw Error("integrity check of " + show_path(file) + " failed: " + e.what());
  } catch (const Error& e) {
    throw Error("integrity check of " + show_path(file) + " failed: " + e.what());
  }
  if (rows.size() == 1 && rows[0] == "ok") return;
  std::string detail = rows.empty() ? "no answer" : rows[0];
  if (rows.size() > 1) detail += " (and " + std::to_string(rows.size() - 1) + " more)";
  throw Error("integrity check of " + show_path(file) + " failed: " + detail);
}

void remove_companions(const fs::path& file) {
  for (const char* suffix : {"-journal", "-wal", "-shm"}) {
    fs::path p = file;
    p += suffix;
    std::error_code ec;
    fs::remove(p, ec);
    if (ec) throw Error("cannot remove " + show_path(p) + ": " + ec.message());
  }
}

void remove_quietly(const fs::path& file) {
  std::error_code ec;
  fs::remove(file, ec);
  try {
    remove_companions(file);
  } catch (const Error& e) {
    logger()->warn("{}", e.what());
  }
}

// The one .sqlite file of a snapshot folder (or the file itself).
fs::path find_snapshot(const fs::path& snapshot) {
  std::error_code ec;
  if (fs::is_regular_file(snapshot, ec)) return snapshot;
  if (!fs::is_directory(snapshot, ec)) throw Error("snapshot " + show_path(snapshot) + " does not exist");
  std::vector<fs::path> found;
  for (const auto& e : fs::directory_iterator(snapshot, ec))
    if (e.is_regular_file() && e.path().extension() == ".sqlite") found.push_back(e.path());
  if (ec) throw Error("cannot list snapshot " + show_path(snapshot) + ": " + ec.message());
  if (found.size() != 1)
    throw Error("snapshot " + show_path(snapshot) + " holds " + std::to_string(found.size()) +
                " .sqlite files, expected one");
  return found.front();
}

// Byte copy with cancellation between chunks; the target must not exist.
void copy_file(const fs::path& from, const fs::path& to, const CancelToken* cancel) {
  int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) throw Error("cannot read " + show_path(from) + ": " + errno_text());
  int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (out < 0) {
    std::string why = errno_text();
    ::close(in);
    throw Error("cannot create " + show_path(to) + ": " + why);
  }
  auto fail = [&](const std::string& what) {
    std::string why = errno_text();
    ::close(in);
    ::close(out);
    throw Error(what + ": " + why);
  };
  std::vector<char> buf(1 << 20);
  for (;;) {
    if (cancel && cancel->cancelled()) {
      ::close(in);
      ::close(out);
      throw Cancelled();
    }
    ssize_t n = ::read(in, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("cannot read " + show_path(from));
    if (n == 0) break;
    for (ssize_t off = 0; off < n;) {
      ssize_t w = ::write(out, buf.data() + off, static_cast<size_t>(n - off));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) fail("cannot write " + show_path(to));
      off += w;
    }
  }
  if (::fsync(out) != 0) fail("cannot fsync " + show_path(to));
  ::close(in);
  ::close(out);
}

bool writable_mode(const fs::path& file) {
  struct stat st{};
  if (::stat(file.c_str(), &st) != 0) throw Error("cannot stat " + show_path(file) + ": " + errno_text());
  return (st.st_mode & (S_IWUSR | S_IWGRP | S_IWOTH)) != 0;
}

int on_progress(void* token) { return static_cast<const CancelToken*>(token)->cancelled() ? 1 : 0; }

std::string library_version() {
  Db mem(":memory:", false);
  return single_text(mem, "SELECT sqlite_version()");
}

}  // namespace

SqliteEngine::SqliteEngine(const ServerConfig& server, std::shared_ptr<ProcessRunner> runner)
    : server_(server), runner_(std::move(runner)) {
  if (server_.data_dir.empty())
    throw ConfigError("server " + server_.name + ": sqlite needs data_dir", "data_dir is the folder that holds the databases");
}

fs::path SqliteEngine::file_of(const std::string& db) const {
  if (db.empty()) throw Error("database name is empty");
  if (db.find('/') != std::string::npos || db.find('\0') != std::string::npos || db.find("..") != std::string::npos)
    throw Error("database name holds '/', NUL or '..' and cannot be a file name");
  fs::path p = server_.data_dir / (db + ".sqlite");
  check_path(p);
  return p;
}

ProbeInfo SqliteEngine::probe(std::chrono::milliseconds) {
  const fs::path& dir = server_.data_dir;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error("sqlite folder " + show_path(dir) + " does not exist");
  // access(2) says yes to root whatever the mode; creating a file is the honest test.
  fs::path probe = dir / (".sitekeeper-probe-" + std::to_string(::getpid()));
  int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw Error("sqlite folder " + show_path(dir) + " is not writable: " + errno_text());
  ::close(fd);
  ::unlink(probe.c_str());
  ProbeInfo info;
  info.version = "SQLite " + library_version();
  return info;
}

bool SqliteEngine::database_exists(const std::string& db) {
  std::error_code ec;
  return fs::is_regular_file(file_of(db), ec);
}

void SqliteEngine::backup(const std::string& db, const fs::path& out, int, const CancelToken* cancel) {
  const fs::path src = file_of(db);
  const fs::path dst = out / (db + ".sqlite");
  check_path(dst);
  if (cancel) cancel->check();
  if (!database_exists(db)) throw Error("database " + show_path(src) + " does not exist");
  logger()->info("sqlite {}: backup of {} to {}", server_.name, db, show_path(dst));
  try {
    {
      Db live(src, true);
      if (cancel) sqlite_api::sqlite3_progress_handler(live.raw, 1000, on_progress, const_cast<CancelToken*>(cancel));
      live.sql << "VACUUM INTO " + quote_literal(dst.string());
    }
    {
      // A snapshot of a WAL database is a WAL database; settle it so a read-only open needs no -shm.
      Db snap(dst, false);
      single_text(snap, "PRAGMA journal_mode=DELETE");
    }
    fsync_path(dst);
    fsync_path(out);
  } catch (const std::exception& e) {
    remove_quietly(dst);
    if (cancel && cancel->cancelled()) throw Cancelled();
    if (dynamic_cast<const Cancelled*>(&e)) throw;
    throw Error("backup of " + db + " failed: " + e.what());
  }
}

void SqliteEngine::check_snapshot(const fs::path& snapshot) { integrity(find_snapshot(snapshot)); }

void SqliteEngine::restore_to_staging(const std::string& staging, const fs::path& snapshot, int,
                                      const CancelToken* cancel) {
  const fs::path dst = file_of(staging);
  if (cancel) cancel->check();
  const fs::path src = find_snapshot(snapshot);
  drop_database(staging);
  logger()->info("sqlite {}: restoring {} into {}", server_.name, show_path(src), staging);
  try {
    copy_file(src, dst, cancel);
    fsync_path(server_.data_dir);
    integrity(dst);
  } catch (const Cancelled&) {
    remove_quietly(dst);
    throw;
  } catch (const Error& e) {
    remove_quietly(dst);
    throw Error("restore into " + staging + " failed: " + e.what());
  }
}

void SqliteEngine::drop_database(const std::string& db) {
  const fs::path file = file_of(db);
  std::error_code ec;
  fs::remove(file, ec);
  if (ec) throw Error("cannot remove " + show_path(file) + ": " + ec.message());
  remove_companions(file);
}

void SqliteEngine::integrity_check(const std::string& db, const CancelToken* cancel) {
  if (cancel) cancel->check();
  const fs::path file = file_of(db);
  if (!database_exists(db)) throw Error("database " + show_path(file) + " does not exist");
  integrity(file);
}

void SqliteEngine::make_read_only(const std::string& db, const std::vector<std::string>& readers) {
  if (!readers.empty()) logger()->info("sqlite {}: readers are not applicable; the file itself is made read-only", server_.name);
  fence(db);
}

bool SqliteEngine::supports(Duty d) const { return d == Duty::fence || d == Duty::serials; }

std::string SqliteEngine::fence(const std::string& db) {
  const fs::path file = file_of(db);
  if (!database_exists(db)) throw Error("database " + show_path(file) + " does not exist");
  try {
    Db d(file, false);
    if (single_text(d, "PRAGMA journal_mode") == "wal") single_text(d, "PRAGMA journal_mode=DELETE");
  } catch (const soci::soci_error& e) {
    throw Error("cannot settle the journal of " + show_path(file) + ": " + e.what());
  }
  if (::chmod(file.c_str(), 0444) != 0) throw Error("cannot make " + show_path(file) + " read-only: " + errno_text());
  fsync_path(file);
  return show_path(file) + " made read-only";
}

ValidationReport SqliteEngine::validate(const std::string& db, const std::vector<std::string>& queries,
                                        const std::vector<std::string>& readers) {
  const fs::path file = file_of(db);
  if (!database_exists(db)) throw Error("database " + show_path(file) + " does not exist");
  ValidationReport report;
  {
    Db d(file, true);
    for (const auto& q : queries) {
      // Stepped natively: only the row count matters, and SOCI would have to type every column.
      sqlite_api::sqlite3_stmt* st = nullptr;
      if (sqlite_api::sqlite3_prepare_v2(d.raw, q.c_str(), -1, &st, nullptr) != SQLITE_OK || !st) {
        std::string why = sqlite_api::sqlite3_errmsg(d.raw);
        sqlite_api::sqlite3_finalize(st);
        throw Error("smoke query failed on " + db + ": " + why);
      }
      long rows = 0;
      int rc;
      while ((rc = sqlite_api::sqlite3_step(st)) == SQLITE_ROW) ++rows;
      sqlite_api::sqlite3_finalize(st);
      if (rc != SQLITE_DONE) throw Error("smoke query failed on " + db + ": " + sqlite_api::sqlite3_errmsg(d.raw));
      report.passed.push_back("query ok (" + std::to_string(rows) + " rows): " + q);
    }
  }
  if (writable_mode(file)) throw SafetyError("database " + show_path(file) + " is writable", "make it read-only first");
  report.passed.push_back("file is read-only (0444)");

  Db d(file, false);
  d.sql << "PRAGMA query_only = ON";
  try {
    d.sql << "CREATE TABLE sitekeeper_write_probe (id INTEGER)";
  } catch (const soci::soci_error& e) {
    std::string why = e.what();
    if (auto nl = why.find('\n'); nl != std::string::npos) why.resize(nl);
    report.passed.push_back("write refused: " + why);
    if (!readers.empty()) report.passed.push_back("readers not applicable to sqlite: the file refuses writes to all");
    return report;
  }
  try {
    d.sql << "PRAGMA query_only = OFF";
    d.sql << "DROP TABLE sitekeeper_write_probe";
  } catch (const std::exception& e) {
    logger()->warn("sqlite {}: cannot remove write probe table: {}", server_.name, e.what());
  }
  throw SafetyError("a write to " + show_path(file) + " was accepted under query_only");
}

void SqliteEngine::swap_in(const std::string& live, const std::string& staging, std::chrono::milliseconds) {
  const fs::path to = file_of(live), from = file_of(staging);
  if (!database_exists(staging)) throw Error("staging database " + show_path(from) + " does not exist");
  for (const char* suffix : {"-journal", "-wal"}) {
    fs::path p = from;
    p += suffix;
    std::error_code ec;
    if (fs::exists(p, ec)) throw Error("staging database " + show_path(from) + " has a pending " + suffix + " file");
  }
  // A hot journal or WAL of the old file would be applied to the new one by the next opener.
  remove_companions(to);
  if (::rename(from.c_str(), to.c_str()) != 0)
    throw Error("cannot rename " + show_path(from) + " over " + show_path(to) + ": " + errno_text());
  fsync_path(server_.data_dir);
  logger()->info("sqlite {}: {} now serves the copy restored as {}", server_.name, live, staging);
}

PermissionScript SqliteEngine::capture_permissions(const std::string& db) {
  file_of(db);
  return {"-- permissions are not applicable to SQLite: a database file has no logins, users or grants\n"};
}

RoleUndo SqliteEngine::replay_roles(const PermissionScript&, const RoleReplay&) {
  logger()->info("sqlite {}: replaying roles is not applicable", server_.name);
  return {};
}

void SqliteEngine::replay_grants(const PermissionScript&, const std::string& db) {
  file_of(db);
  logger()->info("sqlite {}: replaying grants into {} is not applicable", server_.name, db);
}

nlohmann::json SqliteEngine::capture_profile(const std::string& db) {
  file_of(db);
  Db mem(":memory:", false);
  return {{"engine", "sqlite"},
          {"sqlite_version", single_text(mem, "SELECT sqlite_version()")},
          {"compile_options", text_rows(mem, "PRAGMA compile_options")}};
}

ReplicationState SqliteEngine::replication_state() {
  ReplicationState st;
  st.state = "stopped";
  std::error_code ec;
  std::time_t newest = 0;
  for (const auto& e : fs::directory_iterator(server_.data_dir, ec)) {
    if (!e.is_regular_file() || e.path().extension() != ".sqlite") continue;
    struct stat s{};
    if (::stat(e.path().c_str(), &s) == 0 && s.st_mtime > newest) newest = s.st_mtime;
  }
  if (ec) throw Error("cannot list " + show_path(server_.data_dir) + ": " + ec.message());
  if (newest == 0) return st;
  st.state = "snapshot";
  st.lag_seconds = std::max(0.0, std::difftime(std::time(nullptr), newest));
  return st;
}

std::vector<SerialValue> SqliteEngine::read_serials(const std::string& db) {
  const fs::path file = file_of(db);
  if (!database_exists(db)) throw Error("database " + show_path(file) + " does not exist");
  std::vector<SerialValue> out;
  try {
    Db d(file, true);
    int has = 0;
    d.sql << "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'", soci::into(has);
    if (!has) return out;
    std::string name;
    long long seq = 0;
    soci::statement st = (d.sql.prepare << "SELECT name, seq FROM sqlite_sequence ORDER BY name", soci::into(name),
                          soci::into(seq));
    st.execute();
    while (st.fetch()) out.push_back({"main", name, static_cast<std::int64_t>(seq)});
  } catch (const soci::soci_error& e) {
    throw Error("cannot read serials of " + db + ": " + e.what());
  }
  return out;
}

void SqliteEngine::resync_serials(const std::string& db, const std::vector<SerialValue>& targets) {
  const fs::path file = file_of(db);
  if (!database_exists(db)) throw Error("database " + show_path(file) + " does not exist");
  try {
    Db d(file, false);
    soci::transaction tx(d.sql);
    for (const auto& t : targets) {
      // Only AUTOINCREMENT tables consult sqlite_sequence; a row for any other table would be ignored.
      std::string create;
      soci::indicator ind = soci::i_null;
      d.sql << "SELECT upper(sql) FROM sqlite_master WHERE type = 'table' AND name = :n", soci::use(t.name),
          soci::into(create, ind);
      if (!d.sql.got_data() || ind != soci::i_ok || create.find("AUTOINCREMENT") == std::string::npos)
        throw Error("table " + t.name + " of " + db + " has no AUTOINCREMENT sequence");
      long long v = t.value;
      d.sql << "UPDATE sqlite_sequence SET seq = :v WHERE name = :n AND seq < :v", soci::use(v, "v"), soci::use(t.name, "n");
      d.sql << "INSERT INTO sqlite_sequence (name, seq) SELECT :n, :v WHERE NOT EXISTS "
               "(SELECT 1 FROM sqlite_sequence WHERE name = :n)",
          soci::use(t.name, "n"), soci::use(v, "v");
    }
    tx.commit();
  } catch (const soci::soci_error& e) {
    throw Error("cannot resync serials of " + db + ": " + e.what());
  }
}

std::unique_ptr<Engine> make_sqlite_engine(const ServerConfig& server, std::shared_ptr<ProcessRunner> runner) {
  return std::make_unique<SqliteEngine>(server, std::move(runner));
}

}  // namespace sk::sql
