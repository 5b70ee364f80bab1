// Replica duties of the PostgreSQL engine: read-only by privilege, validation, and the atomic swap.
#include <atomic>
#include <cstdlib>
#include <thread>

#include <soci/soci.h>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/text.hpp"
#include "sql/ident.hpp"
#include "sql/permscript.hpp"
#include "sql/postgres/pg_engine.hpp"
#include "sql/postgres/pg_session.hpp"
#include "sql/postgres/pg_sql.hpp"

namespace sk::sql {

namespace {
namespace q = pg::q;
const char* kMaintenanceDb = "postgres";

void require_roles(soci::session& s, const std::vector<std::string>& readers) {
  for (const auto& r : readers)
    if (!pg::query_value(s, q::role_exists(r), "look up role"))
      throw Error("reader role " + r + " does not exist on this server",
                  "run 'sitekeeper capture' on the active server so that the permission script creates it");
}
}  // namespace

void PgEngine::make_read_only(const std::string& db, const std::vector<std::string>& readers) {
  auto s = open(db);
  require_roles(*s, readers);
  pg::exec(*s, q::revoke_database_writes(db, readers), "revoke database writes");
  if (!readers.empty()) pg::exec(*s, q::grant_connect(db, readers), "grant connect");
  for (const auto& row : pg::query(*s, q::kUserSchemas, "list schemas")) {
    const std::string nsp = row[0].value_or("");
    pg::exec(*s, q::revoke_schema_create(nsp, readers), "revoke schema create");
    pg::exec(*s, q::revoke_table_writes(nsp, readers), "revoke table writes");
    pg::exec(*s, q::revoke_sequence_use(nsp, readers), "revoke sequence use");
    pg::exec(*s, q::revoke_function_execute(nsp, readers), "revoke function execute");
    if (!readers.empty()) {
      pg::exec(*s, q::grant_schema_usage(nsp, readers), "grant schema usage");
      pg::exec(*s, q::grant_table_select(nsp, readers), "grant select");
      pg::exec(*s, q::grant_sequence_select(nsp, readers), "grant sequence select");
    }
  }
  // A second belt only: any session may override it with BEGIN READ WRITE.
  pg::exec(*s, q::set_read_only_default(db), "set read-only default");
}

void PgEngine::run_validation_queries(soci::session& s, const std::vector<std::string>& queries,
                                      ValidationReport& rep) {
  for (const auto& sql : queries) {
    pg::Transaction tx(s, "validation query");
    pg::exec(s, q::kReadOnlyTransaction, "read-only transaction");
    pg::query(s, sql, "validate query '" + sql + "'");
    tx.rollback();
    rep.passed.push_back("query ok: " + sql);
  }
}

ValidationReport PgEngine::validate(const std::string& db, const std::vector<std::string>& queries,
                                    const std::vector<std::string>& readers) {
  ValidationReport rep;
  auto s = open(db);
  run_validation_queries(*s, queries, rep);
  std::vector<q::Relation> tables;
  for (const auto& t : pg::query(*s, q::kUserTables, "list tables"))
    tables.push_back(q::Relation{t[0].value_or(""), t[1].value_or("")});
  // The database default says read-only, and any reader can override that, so the write attempts run
  // read-write: only a privilege refusal counts.
  pg::exec(*s, q::kAllowWrites, "allow write attempts");
  for (const auto& reader : readers) {
    // The role itself first: whatever the replay did, attributes and memberships on this server are
    // what a login gets (an administrator may have granted them here by hand).
    if (auto a = pg::query(*s, q::elevated_attributes_of(reader), "check reader attributes"); !a.empty())
      throw Error("reader " + reader + " holds " + a[0][0].value_or("?") + " on this server; a reader may only read",
                  "ALTER ROLE " + reader + " NO" + a[0][0].value_or("") + " on the replica");
    if (auto m = pg::query(*s, q::memberships_reaching(reader, host_reaching_roles()), "check reader memberships");
        !m.empty())
      throw Error("reader " + reader + " is a member of " + m[0][0].value_or("?") +
                      ", which reaches the server host; a reader may only read",
                  "REVOKE " + m[0][0].value_or("") + " FROM " + reader + " on the replica (or from the role that holds it)");
    rep.passed.push_back("reader " + reader + " holds no elevated attribute and no host-reaching role");
    // Privileges next: any table or sequence the reader can still change fails the refresh.
    auto writable = pg::query(*s, q::writable_by(reader), "check reader privileges");
    if (!writable.empty())
      throw Error("reader " + reader + " can still write to " + writable[0][0].value_or("?") +
                      " on the staging copy",
                  "a reader must not own objects or be a member of a role that can write");
    // Then real attempts, each of which must be refused.
    const auto attempts = q::write_attempts(tables.empty() ? std::nullopt : std::optional(tables[0]));
    for (const auto& attempt : attempts) {
      std::optional<std::string> err;
      {
        pg::Transaction tx(*s, "write attempt");
        pg::exec(*s, q::set_local_role(reader), "set role");
        err = pg::try_exec(*s, attempt);
      }
      if (!err) throw Error("write as reader " + reader + " was not refused: " + attempt);
      if (err->find("permission denied") == std::string::npos &&
          err->find("must be owner") == std::string::npos)
        throw Error("write as reader " + reader + " failed for another reason than privileges: " + *err);
      rep.passed.push_back("write refused for " + reader + ": " + attempt.substr(0, attempt.find(' ', 7)));
    }
    // And the reader must be able to read every table.
    pg::Transaction tx(*s, "read attempt");
    pg::exec(*s, q::set_local_role(reader), "set role");
    for (const auto& t : tables) {
      if (auto err = pg::try_exec(*s, q::read_probe(t)))
        throw Error("reader " + reader + " cannot read " + t.schema + "." + t.name + ": " + *err);
    }
    tx.rollback();
    rep.passed.push_back("reader " + reader + " can read " + std::to_string(tables.size()) + " tables");
  }
  return rep;
}

void PgEngine::swap_in(const std::string& live, const std::string& staging,
                       std::chrono::milliseconds timeout) {
  swap_in_all({{live, staging}}, timeout);
}

void PgEngine::swap_in_all(const std::vector<SwapPair>& swaps, std::chrono::milliseconds timeout) {
  if (swaps.empty()) return;
  std::vector<std::string> copies;  // every database whose sessions must be gone
  std::vector<std::string> live_names;
  for (const auto& sw : swaps) {
    drop_database(retired_name(sw.live));  // a leftover from a run killed after its swap
    copies.push_back(sw.live);
    copies.push_back(sw.staging);
    live_names.push_back(sw.live);
  }
  const std::string lives = join_list(live_names);  // for messages
  auto a = open(kMaintenanceDb);
  auto b = open(kMaintenanceDb);  // opened now: connecting later would add to the readers' stall
  std::vector<bool> had_live;
  for (const auto& sw : swaps)
    had_live.push_back(pg::query_value(*a, q::database_exists(sw.live), "look up database").has_value());
  pg::exec(*a, q::set_statement_timeout(timeout), "set timeout");
  pg::exec(*a, q::set_lock_timeout(timeout), "set timeout");
  const long a_pid = std::stol(pg::query_value(*a, q::kBackendPid, "read pid").value_or("0"));

  // Every rename happens in one transaction, so a crash at any point leaves either all the old copies
  // or all the new ones under the live names, never neither and never a mix, and nothing persistent
  // (such as ALLOW_CONNECTIONS false) is ever left behind. A RENAME takes the database's exclusive
  // lock, which holds new connections back, but it also waits (in 100 ms steps) for sessions already
  // there. So sessions are ended, waiting until they are gone, just before; a backstop keeps ending
  // any that slipped in.
  std::atomic<bool> done{false};
  std::thread backstop([&] {
    try {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      while (!done.load()) {
        pg::query(*b, q::end_copy_sessions(a_pid, copies), "end sessions");
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    } catch (const std::exception& e) {
      log::get("sql")->warn("session killer on {}: {}", server_.name, e.what());
    }
  });
  auto stop_backstop = [&] {
    done = true;
    backstop.join();
  };
  try {
    pg::Transaction tx(*a, "swap");
    // pg_terminate_backend(pid, timeout) would wait in 100 ms steps; polling for the sessions to be
    // gone takes a few milliseconds, which is less than a reader needs to reconnect.
    const auto give_up = std::chrono::steady_clock::now() + timeout;
    for (int round = 0;; ++round) {
      if (round % 20 == 0) pg::query(*a, q::end_copy_sessions(a_pid, copies), "end reader sessions");
      // pg_stat_activity is read once per transaction unless the snapshot is cleared.
      pg::query(*a, q::kClearActivitySnapshot, "refresh session list");
      if (pg::query_value(*a, q::count_copy_sessions(a_pid, copies), "count sessions").value_or("1") == "0") break;
      if (std::chrono::steady_clock::now() > give_up) throw Error("sessions on " + lives + " did not end");
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    for (std::size_t i = 0; i < swaps.size(); ++i) {
      if (had_live[i]) pg::exec(*a, q::rename_database(swaps[i].live, retired_name(swaps[i].live)), "retire the live copy");
      pg::exec(*a, q::rename_database(swaps[i].staging, swaps[i].live), "rename staging to live");
    }
    tx.commit();
  } catch (const Error& e) {
    stop_backstop();
    const bool sessions = std::string(e.what()).find("did not end") != std::string::npos ||
                          std::string(e.what()).find("timeout") != std::string::npos;
    throw Error("swap gave up; " + lives + (swaps.size() == 1 ? " still serves its" : " still serve their") +
                    " previous copy: " + e.what(),
                sessions ? "sessions did not leave within swap_timeout; raise [replica] swap_timeout or retry"
                         : "the staging copies are dropped; run the refresh again");
  }
  stop_backstop();
  // Committed: every live name serves its new copy, so a retired copy that cannot be dropped now is
  // not a failed swap (the next swap drops it first).
  for (std::size_t i = 0; i < swaps.size(); ++i) {
    if (!had_live[i]) continue;
    try {
      drop_database(retired_name(swaps[i].live));
    } catch (const std::exception& e) {
      log::get("sql")->warn("swap on {}: could not drop the old copy {}: {}", server_.name,
                            retired_name(swaps[i].live), e.what());
    }
  }
}

namespace {
// What a restore on a replica gains from each setting, and what the setting costs. A value is compared
// in bytes or seconds (pg_settings' units), or as text.
struct Advice {
  const char* name;
  const char* want;       // as the operator writes it in postgresql.conf
  long long at_least;     // bytes or seconds; 0: `want` must match exactly
  const char* why;
};
constexpr Advice kRestoreProfile[] = {
    {"checkpoint_timeout", "15min", 15 * 60,
     "fewer checkpoints while a restore writes; crash recovery of the replica may take longer"},
    {"maintenance_work_mem", "512MB", 512LL << 20,
     "index builds (most of a restore) sort in memory; each of [replica] jobs restore workers may use this much"},
    {"max_wal_senders", "0", 0, "wal_level = minimal requires it; nothing can stream from this replica"},
    {"max_wal_size", "4GB", 4LL << 30,
     "fewer checkpoints while a restore writes; pg_wal may grow to this size"},
    {"wal_level", "minimal", 0,
     "a restore's data and index builds skip the WAL; nothing can stream from or archive WAL of this replica"},
};

long long unit_size(const std::string& unit) {
  if (unit == "kB") return 1024;
  if (unit == "8kB") return 8192;
  if (unit == "MB") return 1LL << 20;
  if (unit == "ms") return -1000;  // milliseconds: divided
  return 1;                         // "s", "B" or none
}
}  // namespace

std::vector<std::string> PgEngine::restore_profile_deviations() {
  auto s = open(kMaintenanceDb);
  std::vector<std::string> out;
  for (const auto& row : pg::query(*s, q::kRestoreSettings, "read the restore settings")) {
    const std::string name = row.at(0).value_or(""), value = row.at(1).value_or(""), unit = row.at(2).value_or("");
    for (const auto& a : kRestoreProfile) {
      if (name != a.name) continue;
      bool fits;
      if (a.at_least == 0) {
        fits = value == a.want;
      } else {
        const long long n = std::atoll(value.c_str()), k = unit_size(unit);
        fits = (k < 0 ? n / -k : n * k) >= a.at_least;
      }
      if (!fits)
        out.push_back(name + " is " + value + unit + "; " + a.want + " is faster for restores: " + a.why);
    }
  }
  return out;
}

}  // namespace sk::sql
