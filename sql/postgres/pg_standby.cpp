// Standby and failover duties of the PostgreSQL engine.
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <thread>

#include <soci/soci.h>

#include "core/error.hpp"
#include "core/log.hpp"
#include "sql/ident.hpp"
#include "sql/postgres/pg_engine.hpp"
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
         name == "sitekeeper.epoch" || name == "recovery_target_timeline";
}
}  // namespace

void PgEngine::resync_serials(const std::string& db, const std::vector<SerialValue>& targets) {
  auto s = open(db);
  pg::Transaction tx(*s, "resync serials");
  for (const auto& t : targets)
    pg::query(*s, q::resync_serial(t.schema, t.name, t.value), "resync " + t.schema + "." + t.name);
  tx.commit();
}

void PgEngine::promote(const std::string&) {
  auto s = open(kMaintenanceDb);
  auto in_recovery = pg::query_value(*s, q::kInRecovery, "read recovery state");
  if (in_recovery.value_or("0") == "0") return;  // already promoted: idempotent
  auto ok = pg::query_value(*s, q::kPromote, "promote");
  if (ok.value_or("0") != "1") throw Error("pg_promote did not finish within 60 s on " + server_.name);
}

void PgEngine::fence(const std::string& db) {
  auto s = open(kMaintenanceDb);
  // Refuse new connections to the site database, make every new transaction read-only by default,
  // then end the sessions that are there. A fenced server keeps its data for rejoin.
  if (pg::query_value(*s, q::database_exists(db), "look up database"))
    pg::exec(*s, q::allow_connections(db, false), "block connections");
  pg::exec(*s, q::kReadOnlyDefaultOn, "read-only default");
  pg::query(*s, q::kReloadConf, "reload configuration");
  pg::query(*s, q::end_sessions_on(db), "end sessions");
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

long PgEngine::server_epoch() {
  auto s = open(kMaintenanceDb);
  auto v = pg::query_value(*s, q::kServerEpoch, "read epoch");
  return v && !v->empty() ? std::stol(*v) : 0;
}

void PgEngine::set_server_epoch(long epoch) {
  auto s = open(kMaintenanceDb);
  // A database setting, not ALTER SYSTEM (which refuses custom names): it lives in the catalog, so a
  // standby inherits it and a fenced server keeps the older value it had when it diverged.
  pg::exec(*s, q::record_epoch(epoch), "record epoch");
}

void PgEngine::checkpoint() {
  auto s = open(kMaintenanceDb);
  pg::exec(*s, q::kCheckpoint, "checkpoint");
}

void PgEngine::ensure_slot(const std::string& slot) {
  check_ident(slot, "replication slot");
  auto s = open(kMaintenanceDb);
  if (!pg::query_value(*s, q::slot_exists(slot), "look up slot"))
    pg::query(*s, q::create_physical_slot(slot), "create replication slot " + slot);
}

std::string PgEngine::slot_position(const std::string& slot) {
  auto s = open(kMaintenanceDb);
  return pg::query_value(*s, q::slot_restart_lsn(slot), "read replication slot position").value_or("");
}

}  // namespace sk::sql
