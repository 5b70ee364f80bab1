// Standby and failover duties of the PostgreSQL engine.
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <thread>
#include <vector>

#include <soci/soci.h>

#include "core/error.hpp"
#include "core/log.hpp"
#include "sql/ident.hpp"
#include "sql/postgres/pg_engine.hpp"
#include "sql/postgres/pg_local.hpp"
#include "sql/postgres/pg_session.hpp"
#include "sql/postgres/pg_sql.hpp"

namespace sk::sql {

namespace {
namespace q = pg::q;
const char* kMaintenanceDb = "postgres";

std::uint64_t parse_lsn(const std::string& lsn) {
  unsigned hi = 0, lo = 0;
  if (std::sscanf(lsn.c_str(), "%X/%X", &hi, &lo) != 2) throw Error("not a WAL position: " + lsn);
  return (static_cast<std::uint64_t>(hi) << 32) | lo;
}

// Settings that belong to one server, not to the role it plays: never copied from the old active.
bool server_local_setting(const std::string& name) {
  return name == "port" || name == "listen_addresses" || name == "primary_conninfo" ||
         name == "primary_slot_name" || name == "data_directory" || name == "hba_file" ||
         name == "unix_socket_directories" || name == "default_transaction_read_only" ||
         name == "sitekeeper.epoch" || name == "recovery_target_timeline" || name == "synchronous_standby_names" ||
         name == "wal_receiver_timeout";
}

// A token of pg_hba.conf as the file needs it: keywords and plain names bare, anything holding a
// separator or a quote double-quoted.
std::string hba_token(const std::string& t) {
  if (!t.empty() && t.find_first_of(" \t,\"#") == std::string::npos) return t;
  std::string out = "\"";
  for (char c : t) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string hba_list(const nlohmann::json& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ",") + hba_token(i.get<std::string>());
  return out;
}

// One captured rule (pg_hba_file_rules, as capture_profile stores it) back as a line of pg_hba.conf.
std::string hba_line(const nlohmann::json& r) {
  const std::string type = r.value("type", "");
  std::string line = type + " " + hba_list(r.value("databases", nlohmann::json::array())) + " " +
                     hba_list(r.value("users", nlohmann::json::array()));
  if (type != "local") {
    line += " " + r.value("address", "");
    if (!r.value("netmask", "").empty()) line += " " + r.value("netmask", "");
  }
  line += " " + r.value("method", "");
  for (const auto& o : r.value("option_list", nlohmann::json::array())) line += " " + o.get<std::string>();
  return line;
}

// Rewrites the server's pg_hba.conf with the captured rules and reloads; puts the old file back when the
// server finds an error in the new one. Returns how many rules it wrote.
std::size_t apply_hba(soci::session& s, const nlohmann::json& rules) {
  std::vector<std::string> lines = {"# written by sitekeeper from the captured server profile"};
  for (const auto& r : rules) {
    if (!r.contains("databases")) return 0;  // captured by an older sitekeeper: not enough to rebuild the file
    lines.push_back(hba_line(r));
  }
  const std::string file = pg::query_value(s, q::kHbaFile, "read hba_file").value_or("");
  const std::string old = pg::query_value(s, q::read_server_file(file), "read " + file).value_or("");
  pg::query(s, q::write_server_file(file, lines), "write " + file);
  pg::query(s, q::kReloadConf, "reload configuration");
  auto errors = pg::query(s, q::kHbaErrors, "check pg_hba rules");
  if (errors.empty()) return rules.size();
  std::vector<std::string> back;
  for (std::size_t at = 0, nl; at < old.size(); at = nl + 1) {
    nl = old.find('\n', at);
    if (nl == std::string::npos) nl = old.size();
    back.push_back(old.substr(at, nl - at));
  }
  pg::query(s, q::write_server_file(file, back), "restore " + file);
  pg::query(s, q::kReloadConf, "reload configuration");
  throw Error("the captured pg_hba rules do not load on this server (" + errors[0][0].value_or("?") +
              "); its own pg_hba.conf is back");
}
}  // namespace

void PgEngine::resync_serials(const std::string& db, const std::vector<SerialValue>& targets) {
  auto s = open(db);
  // A session that began while the promotion's read-only default was in force (a kept one, or one
  // that started before the server re-read its configuration) would refuse setval, and so would one
  // on a replica whose database is still read-only by default (recover --from-replica).
  pg::exec(*s, q::kAllowWrites, "allow this session's own writes");
  pg::Transaction tx(*s, "resync serials");
  for (const auto& t : targets)
    pg::query(*s, q::resync_serial(t.schema, t.name, t.value), "resync " + t.schema + "." + t.name);
  tx.commit();
}

bool PgEngine::supports(Duty) const { return true; }

void PgEngine::bound_connect(std::chrono::milliseconds timeout) { connect_timeout_ = timeout; }

std::string PgEngine::promote_closed(const std::string& db) { return promote_closed_each({db}).front(); }

std::vector<std::string> PgEngine::promote_closed_each(const std::vector<std::string>& dbs) {
  auto s = open(kMaintenanceDb);
  if (pg::query_value(*s, q::kInRecovery, "read recovery state").value_or("0") == "1") {
    // Between the end of recovery and the connection limits below, a client could otherwise write:
    // every new transaction is read-only by default until then, and the standby's readers are gone.
    pg::exec(*s, q::kReadOnlyDefaultOn, "read-only default before the promotion");
    pg::exec(*s, q::kPromptRetry, "retry interval for the promotion");
    pg::query(*s, q::kReloadConf, "reload configuration");
    for (const auto& db : dbs) pg::query(*s, q::end_client_sessions(db), "end client sessions before the promotion");
    if (pg::query_value(*s, q::kPromote, "promote").value_or("0") != "1")
      throw Error("pg_promote refused to promote " + server_.name);
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (pg::query_value(*s, q::kInRecovery, "read recovery state").value_or("1") == "1") {
      if (std::chrono::steady_clock::now() > until) throw Error("pg_promote did not finish within 60 s on " + server_.name);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  // A limit of 0 keeps every client out and lets superusers (sitekeeper) in. 0 is never what a site
  // had before (a resumed run finds our own 0), so it stands for "no limit" then.
  pg::exec(*s, q::kAllowWrites, "allow this session's own writes");  // the default above is for clients
  std::vector<std::string> tokens;
  for (const auto& db : dbs) {
    int before = std::stoi(pg::query_value(*s, q::connection_limit_of(db), "read connection limit").value_or("-1"));
    if (before == 0) before = -1;
    pg::exec(*s, q::open_to_superusers(db), "close " + db + " to clients");
    pg::query(*s, q::end_client_sessions(db), "end client sessions");
    tokens.push_back(std::to_string(before));
  }
  // Only once every database is closed: a client of the last one could write before that otherwise.
  pg::exec(*s, q::kReadOnlyDefaultReset, "reset the read-only default");
  pg::exec(*s, q::kPromptRetryReset, "reset the retry interval");
  pg::query(*s, q::kReloadConf, "reload configuration");
  return tokens;
}

void PgEngine::open_to_clients(const std::string& db, const std::string& token) {
  int limit = -1;
  try {
    limit = token.empty() ? -1 : std::stoi(token);
  } catch (const std::exception&) {
    throw Error("not a connection limit: " + token);
  }
  auto s = open(kMaintenanceDb);
  pg::exec(*s, q::set_connection_limit(db, limit), "open " + db + " to clients");
}

std::string PgEngine::fence(const std::string& db) {
  auto s = open(kMaintenanceDb);
  // Nobody may connect to the site database any more (a catalog flag no session can override), every
  // new transaction of the server is read-only by default, and the sessions there are ended. A fenced
  // server keeps its data for rejoin.
  const bool exists = pg::query_value(*s, q::database_exists(db), "look up database").has_value();
  const bool primary = pg::query_value(*s, q::kInRecovery, "read recovery state").value_or("1") == "0";
  if (exists && primary) pg::exec(*s, q::allow_connections(db, false), "block connections");
  pg::exec(*s, q::kReadOnlyDefaultOn, "read-only default");
  pg::query(*s, q::kReloadConf, "reload configuration");
  pg::query(*s, q::end_sessions_on(db), "end sessions");
  // pg_terminate_backend only signals: wait, briefly, until the sessions are really gone.
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  std::string left;
  for (;;) {
    pg::query(*s, q::kClearActivitySnapshot, "refresh session list");
    left = pg::query_value(*s, q::count_sessions_on(db), "count sessions").value_or("?");
    if (left == "0" || std::chrono::steady_clock::now() > until) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (left != "0") throw Error(left + " session(s) on " + db + " did not end on " + server_.name);
  return std::string(exists && primary ? "connections to " + db + " refused, " : "") +
         "sessions ended, new transactions read-only on " + server_.name;
}

void PgEngine::unfence(const std::string& db) {
  auto s = open(kMaintenanceDb);
  pg::exec(*s, q::kReadOnlyDefaultReset, "reset read-only default");
  pg::query(*s, q::kReloadConf, "reload configuration");
  auto rec = pg::query_value(*s, q::kInRecovery, "read recovery state");
  if (rec.value_or("1") == "0" && pg::query_value(*s, q::database_exists(db), "look up database"))
    pg::exec(*s, q::allow_connections(db, true), "allow connections");
}

std::vector<std::string> PgEngine::apply_profile(const std::string& db, const nlohmann::json& profile) {
  auto s = open(kMaintenanceDb);
  const auto settings = profile.value("alter_system", nlohmann::json::object());
  for (auto it = settings.begin(); it != settings.end(); ++it) {
    if (server_local_setting(it.key())) continue;
    check_ident(it.key(), "setting");
    pg::exec(*s, q::alter_system_set(it.key(), it.value().get<std::string>()), "ALTER SYSTEM SET " + it.key());
  }
  pg::query(*s, q::kReloadConf, "reload configuration");
  auto d = open(db);
  for (const auto& e : profile.value("extensions", nlohmann::json::array())) {
    const std::string name = e.value("name", "");
    if (name == "plpgsql") continue;
    pg::exec(*d, q::create_extension(name), "create extension " + name);
  }
  for (const auto& e : profile.value("settings", nlohmann::json::array())) {
    const std::string setting = e.value("setting", "");
    const auto eq = setting.find('=');
    if (eq == std::string::npos) continue;
    const std::string name = setting.substr(0, eq), value = setting.substr(eq + 1);
    if (server_local_setting(name)) continue;
    check_ident(name, "setting");
    const std::string role = e.value("role", "");
    pg::exec(*s, q::alter_setting(db, role, !role.empty() && !e.value("database", "").empty(), name, value),
             "apply " + name);
  }
  if (profile.contains("hba")) apply_hba(*s, profile["hba"]);
  std::vector<std::string> restart;
  for (const auto& r : pg::query(*s, q::kPendingRestart, "read pending restarts"))
    restart.push_back(r[0].value_or(""));
  return restart;
}

std::string PgEngine::wal_position() {
  auto s = open(kMaintenanceDb);
  return pg::query_value(*s, q::kWalPosition, "read WAL position").value_or("0/0");
}

std::uint64_t PgEngine::wal_distance(const std::string& a, const std::string& b) {
  auto x = parse_lsn(a), y = parse_lsn(b);
  return x > y ? x - y : 0;
}

void PgEngine::smoke_test(const std::string& db) {
  auto s = open(db);
  pg::exec(*s, q::kAllowWrites, "allow writes");
  pg::exec(*s, q::kSmokeCreate, "smoke test write");
  pg::exec(*s, q::kSmokeInsert, "smoke test write");
  auto n = pg::query_value(*s, q::kSmokeCount, "smoke test read");
  if (n.value_or("0") != "1") throw Error("smoke test read back " + n.value_or("nothing"));
  // A temporary table proves little about WAL: make sure a real write is durable too.
  pg::query(*s, q::kSmokeTxid, "smoke test transaction id");
}

long PgEngine::read_epoch() {
  // A new session: a database setting reaches only sessions that start after it was written.
  auto s = pg::connect(server_, kMaintenanceDb, connect_timeout_);
  auto v = pg::query_value(*s, q::kServerEpoch, "read epoch");
  return v && !v->empty() ? std::stol(*v) : 0;
}

void PgEngine::write_epoch(long epoch) {
  auto s = open(kMaintenanceDb);
  pg::exec(*s, q::record_epoch(epoch), "record epoch");
}

void PgEngine::lift_read_only(const std::string& db) {
  auto s = open(kMaintenanceDb);
  pg::exec(*s, q::reset_read_only_default(db), "lift the read-only default of " + db);
}

void PgEngine::checkpoint() {
  auto s = open(kMaintenanceDb);
  pg::exec(*s, q::kCheckpoint, "checkpoint");
}

void PgEngine::prepare_for_standby(const std::string& standby) {
  const std::string slot = slot_name(standby);
  auto s = open(kMaintenanceDb);
  if (!pg::query_value(*s, q::slot_exists(slot), "look up slot"))
    pg::query(*s, q::create_physical_slot(slot), "create replication slot " + slot);
}

std::string PgEngine::kept_for_standby(const std::string& standby) {
  auto s = open(kMaintenanceDb);
  return pg::query_value(*s, q::slot_restart_lsn(slot_name(standby)), "read replication slot position").value_or("");
}

void PgEngine::set_synchronous_standby(const std::string& standby) {
  auto s = open(kMaintenanceDb);
  pg::exec(*s, q::synchronous_standby(standby), "set synchronous_standby_names");
  pg::query(*s, q::kReloadConf, "reload configuration");
}

void PgEngine::build_standby(const ServerConfig& primary, const StandbyTiming& timing) {
  LocalServer local(server_, runner_);
  local.basebackup_from(primary, slot_name(server_.name), timing);
  local.start();
}

void PgEngine::follow(const ServerConfig& primary, const StandbyTiming& timing) {
  LocalServer local(server_, runner_);
  local.stop("fast");
  local.configure_standby(primary, slot_name(server_.name), timing);
  local.start();
}

void PgEngine::rewind_onto(const ServerConfig& primary, const StandbyTiming& timing) {
  LocalServer local(server_, runner_);
  local.stop("fast");
  local.rewind_from(primary, slot_name(server_.name), timing);
  local.start();
}

void PgEngine::stop_server() {
  LocalServer local(server_, runner_);
  try {
    local.stop("fast");
  } catch (const Error& e) {
    log::get("sql")->warn("fast stop of {} failed ({}); stopping it immediately", server_.name, e.what());
    local.stop("immediate");
  }
}

bool PgEngine::server_running() { return LocalServer(server_, runner_).running(); }

std::vector<std::string> PgEngine::describe(Duty duty, const StepText& w) const {
  const std::string on = "-- on " + w.server + ":";
  const std::string reload = std::string(q::kReloadConf) + ";";
  switch (duty) {
    case Duty::fence:
      return {on, q::allow_connections(w.db, false) + ";", std::string(q::kReadOnlyDefaultOn) + "; " + reload,
              q::end_sessions_on(w.db) + ";"};
    case Duty::unfence:
      return {on, std::string(q::kReadOnlyDefaultReset) + "; " + reload, q::allow_connections(w.db, true) + ";"};
    case Duty::promote:
      return {on, std::string(q::kReadOnlyDefaultOn) + "; " + q::kPromptRetry + "; " + reload,
              q::end_client_sessions(w.db) + ";",
              std::string(q::kPromote) + ";  -- then " + q::kInRecovery + " every 10 ms until it is 0",
              q::open_to_superusers(w.db) + ";  -- clients wait for the open step", q::end_client_sessions(w.db) + ";",
              std::string(q::kReadOnlyDefaultReset) + "; " + q::kPromptRetryReset + "; " + reload};
    case Duty::open:
      return {on, q::set_connection_limit(w.db, -1) + ";  -- or the limit the database had before"};
    case Duty::serials:
      return {on, "-- for each sequence, GREATEST(high-water mark, own value) + " + std::to_string(w.headroom) + ":",
              q::resync_serial("<schema>", "<sequence>", 0) + ";"};
    case Duty::profile:
      return {on, "ALTER SYSTEM SET <each captured setting>; " + reload,
              "CREATE EXTENSION IF NOT EXISTS <each captured extension>;", "ALTER DATABASE/ROLE ... SET <captured settings>;",
              "-- pg_hba.conf rewritten with the captured rules, then " + reload};
    case Duty::permissions:
      return {on, "-- CREATE ROLE (or ALTER ROLE when present) ... PASSWORD '<captured hash>';",
              "-- GRANT ... as captured; only permission statements are accepted"};
    case Duty::epoch: return {on, q::record_epoch(w.epoch) + ";"};
    case Duty::smoke: return {on, std::string(q::kSmokeCreate) + "; " + q::kSmokeInsert + "; " + q::kSmokeCount + ";"};
    case Duty::lag: return {"-- on " + w.server + " and on " + w.other + ": " + q::kWalPosition + ";"};
    case Duty::prepare_standby: return {on, q::create_physical_slot(slot_name(w.other)) + ";  -- when missing"};
    case Duty::build_standby:
      return {"pg_basebackup --pgdata=<data_dir of " + w.server + "> --wal-method=stream --slot=" + slot_name(w.server) +
                  " --checkpoint=fast",
              "-- standby.signal; primary_conninfo to " + w.other + ", primary_slot_name, wal_receiver_timeout",
              "pg_ctl start"};
    case Duty::follow:
      return {"pg_ctl stop -m fast  -- " + w.server, "-- standby.signal; primary_conninfo to " + w.other + ", primary_slot_name",
              "pg_ctl start"};
    case Duty::rewind:
      return {"pg_ctl stop -m fast  -- " + w.server,
              "pg_rewind --target-pgdata=<data_dir of " + w.server + "> --source-server=<" + w.other + ">",
              "-- its own configuration files back; standby.signal; primary_conninfo to " + w.other, "pg_ctl start"};
    case Duty::stop: return {"pg_ctl stop -m fast -D <data_dir of " + w.server + ">"};
    case Duty::synchronous: return {on, q::synchronous_standby(w.other) + "; " + reload};
    case Duty::lift_read_only: return {on, q::reset_read_only_default(w.db) + ";"};
    case Duty::swap_together:
      return {on, "BEGIN; " + q::rename_database(w.db, retired_name(w.db)) + "; " +
                      q::rename_database(staging_name(w.db), w.db) + "; ...the same for every database...; COMMIT;"};
    case Duty::restore:
      return {on, q::create_staging_database(staging_name(w.db)) + ";",
              "pg_restore --exit-on-error --jobs=<[replica] jobs> --dbname=" + staging_name(w.db) + " " + w.other,
              std::string(q::kCheckpoint) + ";  -- the restored copy is on disk before the step is journaled"};
    case Duty::roll_forward: return {"-- see describe_recovery: the base backup, its recovery settings and the start"};
  }
  return {};
}

}  // namespace sk::sql
