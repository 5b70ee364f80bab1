// A physical replica of the PostgreSQL engine: a generation's base backup restored beside the replica's
// data directory as a paused hot standby of no primary (replicator/refresh_physical.hpp renames it in).
#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include <soci/soci.h>

#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/log.hpp"
#include "sql/postgres/pg_engine.hpp"
#include "sql/postgres/pg_local.hpp"
#include "sql/postgres/pg_session.hpp"
#include "sql/postgres/pg_sql.hpp"

namespace sk::sql {

namespace {
namespace q = pg::q;
auto logger() { return log::get("sql"); }

// Inside the copy while it is validated: its socket, and the one rule that lets sitekeeper in. The
// folder is 0700, so only the server's owner (and root) reach the socket: nobody reads the copy
// before it is validated and swapped in.
constexpr const char* kPrivateDir = "sitekeeper-private";
// The configuration files that belong to the replica, not to the active the backup was taken of.
constexpr const char* kOwnFiles[] = {"postgresql.conf", "pg_hba.conf", "pg_ident.conf", "postgresql.auto.conf"};

ServerConfig copy_at(const ServerConfig& s, const fs::path& dir) {
  ServerConfig c = s;
  c.data_dir = dir;
  return c;
}

// pg_ctl hands -o to the postmaster through /bin/sh.
std::string shell_quote(const std::string& v) {
  std::string out = "'";
  for (char c : v) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// The settings that make the copy a hot standby of nothing, stopped at its consistent point: no
// primary and no archive to read more WAL from, so recovery ends where the backup became consistent
// and stays there, paused; every transaction of a server in recovery is read-only, superusers' too.
std::string recovery_settings(const std::string& own, int port) {
  static const char* kOwned[] = {"port", "hot_standby", "recovery_target", "recovery_target_action",
                                 "recovery_target_time", "recovery_target_lsn", "recovery_target_xid",
                                 "recovery_target_name", "recovery_target_inclusive", "recovery_target_timeline",
                                 "primary_conninfo", "primary_slot_name", "restore_command"};
  std::string kept, line;
  std::istringstream in(own);
  while (std::getline(in, line)) {
    const auto first = line.find_first_not_of(" \t");
    const std::string key = first == std::string::npos ? "" : line.substr(first, line.find_first_of(" \t=", first) - first);
    bool owned = false;
    for (const char* k : kOwned) owned = owned || key == k;
    if (!owned) kept += line + "\n";
  }
  return kept + "# sitekeeper: a physical replica, paused at its base backup's consistent point\n" +
         "port = " + std::to_string(port) + "\nhot_standby = on\nrecovery_target = 'immediate'\n" +
         "recovery_target_action = 'pause'\nprimary_conninfo = ''\nprimary_slot_name = ''\nrestore_command = ''\n";
}

std::string log_tail(const fs::path& log) {
  std::string text;
  try {
    text = read_file(log);
  } catch (const Error&) {
    return {};
  }
  if (text.size() > 600) text = text.substr(text.size() - 600);
  return text;
}
}  // namespace

void PgEngine::restore_physical_copy(const fs::path& backup, const fs::path& dir, const CancelToken* cancel) {
  LocalServer copy(copy_at(server_, dir), runner_);
  copy.restore_base_backup(backup, dir, cancel);
  try {
    make_paused_standby(copy, dir, cancel);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(dir, ec);
    throw;
  }
}

void PgEngine::make_paused_standby(const LocalServer& copy, const fs::path& dir, const CancelToken* cancel) {
  // Against the backup's own manifest, before any file of it changes: what starts is what was backed up.
  ProcessOptions o;
  o.cancel = cancel;
  try {
    run_checked(*runner_, {tool("pg_verifybackup"), "--ignore=pg_tblspc", "--quiet", dir.string()}, o);
  } catch (const Error& e) {
    throw Error(std::string("the physical base backup does not match its backup_manifest: ") + e.what(),
                "take a new backup; this one cannot be restored as it is");
  }
  // The replica keeps its own settings and client rules: the active's would listen where the active does.
  const bool own = fs::exists(server_.data_dir / "PG_VERSION");
  for (const char* f : kOwnFiles) {
    if (!own || !fs::exists(server_.data_dir / f)) continue;
    fs::copy_file(server_.data_dir / f, dir / f, fs::copy_options::overwrite_existing);
    copy.hand_over(dir / f);
  }
  const fs::path auto_conf = dir / "postgresql.auto.conf";
  const std::string text = fs::exists(auto_conf) ? read_file(auto_conf) : "";
  std::ofstream(auto_conf, std::ios::trunc) << recovery_settings(text, server_.port);
  ::chmod(auto_conf.c_str(), 0600);
  copy.hand_over(auto_conf);
  std::error_code ec;
  fs::remove(dir / "recovery.signal", ec);
  std::ofstream(dir / "standby.signal").close();
  copy.hand_over(dir / "standby.signal");
}

ServerConfig PgEngine::start_physical_copy(const fs::path& dir) {
  ServerConfig c = copy_at(server_, dir);
  const fs::path priv = dir / kPrivateDir;
  const std::string socket = (priv / (".s.PGSQL." + std::to_string(c.port))).string();
  if (socket.size() > 107)
    throw Error("the socket of the new copy, " + show_path(socket) + ", is longer than a Unix socket path may be",
                "give the replica a data_dir with a shorter path");
  std::error_code ec;
  fs::create_directories(priv, ec);
  if (ec) throw Error("cannot create " + show_path(priv) + ": " + ec.message());
  fs::permissions(priv, fs::perms::owner_all, fs::perm_options::replace, ec);
  std::ofstream(priv / "hba.conf", std::ios::trunc) << "# sitekeeper: the copy being validated, over its private socket\n"
                                                    << "local all all trust\n";
  LocalServer local(c, runner_);
  local.hand_over(priv);
  local.hand_over(priv / "hba.conf");
  c.name = server_.name + " (new copy)";
  c.host = priv.string();
  c.transport = "native";  // a socket path: libpq's own
  std::string dq = "\"";
  for (char ch : priv.string()) dq += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  dq += "\"";
  const std::string opts = "-c " + shell_quote("listen_addresses=") + " -c " +
                           shell_quote("unix_socket_directories=" + dq) + " -c " +
                           shell_quote("hba_file=" + (priv / "hba.conf").string());
  try {
    local.start(std::chrono::seconds(300), opts);
    auto s = pg::connect(c, "postgres", std::chrono::seconds(10));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    for (;;) {
      const auto state = pg::query_value(*s, q::kReplayPauseState, "read the replay pause state").value_or("");
      if (state == "paused") break;
      if (std::chrono::steady_clock::now() > deadline)
        throw Error("the new copy did not pause at its consistent point within 120 s (replay " + state + ")");
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  } catch (const Error& e) {
    const std::string tail = log_tail(dir / "sitekeeper-pg_ctl.log");
    try {
      stop_physical_copy(dir);
    } catch (const std::exception& stop) {
      logger()->warn("could not stop the new copy in {}: {}", dir.string(), stop.what());
    }
    throw Error(std::string("the new copy did not start as a paused hot standby: ") + e.what() +
                    (tail.empty() ? "" : "; its log ends: " + tail),
                "the replica's own postgresql.conf must allow a standby of the active (max_connections and the "
                "other limits at least the active's)");
  }
  logger()->info("the new copy of {} is paused at its consistent point ({})", server_.name, dir.string());
  return c;
}

ValidationReport PgEngine::validate_physical_copy(const std::vector<std::string>& dbs,
                                                  const std::vector<std::string>& queries) {
  ValidationReport rep;
  {
    auto s = open("postgres");
    if (pg::query_value(*s, q::kInRecovery, "read recovery state").value_or("0") != "1")
      throw Error("the new copy is not in recovery: it would accept writes");
    const auto state = pg::query_value(*s, q::kReplayPauseState, "read the replay pause state").value_or("");
    if (state != "paused") throw Error("the new copy is not paused at its consistent point (replay " + state + ")");
    rep.passed.push_back("hot standby, paused at the backup's consistent point");
  }
  for (const auto& db : dbs)
    if (!database_exists(db)) throw Error("the new copy holds no database " + db, "the base backup is of another server");
  rep.passed.push_back("holds " + std::to_string(dbs.size()) + " database(s) of the site");
  auto s = open(dbs.front());
  run_validation_queries(*s, queries, rep);
  const auto err = pg::try_exec(*s, q::kPhysicalWriteProbe);
  if (!err) throw Error("a write as " + server_.user + " was not refused on the new copy");
  if (err->find("read-only transaction") == std::string::npos && err->find("recovery") == std::string::npos)
    throw Error("a write as " + server_.user + " on the new copy failed for another reason than recovery: " + *err);
  rep.passed.push_back("write refused for " + server_.user + " (in recovery)");
  return rep;
}

void PgEngine::stop_physical_copy(const fs::path& dir) {
  LocalServer local(copy_at(server_, dir), runner_);
  try {
    local.stop("fast");
  } catch (const Error& e) {
    logger()->warn("fast stop of the copy in {} failed ({}); stopping it immediately", dir.string(), e.what());
    local.stop("immediate");
  }
  std::error_code ec;
  fs::remove_all(dir / kPrivateDir, ec);
}

void PgEngine::start_server() { LocalServer(server_, runner_).start(); }

}  // namespace sk::sql
