// Replica duties of the PostgreSQL engine: read-only by privilege, validation, and the atomic swap.
#include <atomic>
#include <thread>

#include <soci/soci.h>

#include "core/error.hpp"
#include "core/log.hpp"
#include "sql/ident.hpp"
#include "sql/postgres/pg_engine.hpp"
#include "sql/postgres/pg_queries.hpp"
#include "sql/postgres/pg_session.hpp"

namespace sk::sql {

namespace {
const char* kMaintenanceDb = "postgres";

std::string join_roles(const std::vector<std::string>& readers, bool with_public) {
  std::string out = with_public ? "PUBLIC" : "";
  for (const auto& r : readers) out += (out.empty() ? "" : ", ") + quote_ident(r);
  return out;
}

void require_roles(soci::session& s, const std::vector<std::string>& readers) {
  for (const auto& r : readers)
    if (!pg::query_value(s, std::string(pg::q::kRoleExists) + quote_literal(r), "look up role"))
      throw Error("reader role " + r + " does not exist on this server",
                  "run 'sitekeeper capture' on the active server so that the permission script creates it");
}
}  // namespace

void PgEngine::make_read_only(const std::string& db, const std::vector<std::string>& readers) {
  auto s = open(db);
  require_roles(*s, readers);
  const std::string everyone = join_roles(readers, true);
  const std::string only_readers = join_roles(readers, false);
  const std::string qdb = quote_ident(db);
  pg::exec(*s, "REVOKE CREATE, TEMPORARY ON DATABASE " + qdb + " FROM " + everyone, "revoke database writes");
  if (!readers.empty())
    pg::exec(*s, "GRANT CONNECT ON DATABASE " + qdb + " TO " + only_readers, "grant connect");
  for (const auto& row : pg::query(*s, pg::q::kUserSchemas, "list schemas")) {
    const std::string nsp = quote_ident(row[0].value_or(""));
    pg::exec(*s, "REVOKE CREATE ON SCHEMA " + nsp + " FROM " + everyone, "revoke schema create");
    pg::exec(*s,
             "REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA " + nsp +
                 " FROM " + everyone,
             "revoke table writes");
    pg::exec(*s, "REVOKE USAGE, UPDATE ON ALL SEQUENCES IN SCHEMA " + nsp + " FROM " + everyone,
             "revoke sequence use");
    pg::exec(*s, "REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA " + nsp + " FROM " + everyone,
             "revoke function execute");
    if (!readers.empty()) {
      pg::exec(*s, "GRANT USAGE ON SCHEMA " + nsp + " TO " + only_readers, "grant schema usage");
      pg::exec(*s, "GRANT SELECT ON ALL TABLES IN SCHEMA " + nsp + " TO " + only_readers, "grant select");
      pg::exec(*s, "GRANT SELECT ON ALL SEQUENCES IN SCHEMA " + nsp + " TO " + only_readers,
               "grant sequence select");
    }
  }
  // A second belt only: any session may override it with BEGIN READ WRITE.
  pg::exec(*s, "ALTER DATABASE " + qdb + " SET default_transaction_read_only = on", "set read-only default");
}

ValidationReport PgEngine::validate(const std::string& db, const std::vector<std::string>& queries,
                                    const std::vector<std::string>& readers) {
  ValidationReport rep;
  auto s = open(db);
  for (const auto& sql : queries) {
    pg::Transaction tx(*s, "validation query");
    pg::exec(*s, "SET TRANSACTION READ ONLY", "read-only transaction");
    pg::query(*s, sql, "validate query '" + sql + "'");
    tx.rollback();
    rep.passed.push_back("query ok: " + sql);
  }
  auto tables = pg::query(*s, pg::q::kUserTables, "list tables");
  // The database default says read-only, and any reader can override that, so the write attempts run
  // read-write: only a privilege refusal counts.
  pg::exec(*s, "SET default_transaction_read_only = off", "allow write attempts");
  for (const auto& reader : readers) {
    const std::string lit = quote_literal(reader);
    // Privileges first: any table or sequence the reader can still change fails the refresh.
    auto writable = pg::query(
        *s,
        "SELECT CAST(n.nspname || '.' || c.relname AS text) FROM pg_class c JOIN pg_namespace n ON "
        "n.oid = c.relnamespace WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema' AND ("
        "(c.relkind IN ('r','p','v','m','f') AND has_table_privilege(" + lit + ", c.oid, "
        "'INSERT,UPDATE,DELETE,TRUNCATE,REFERENCES,TRIGGER')) OR (c.relkind = 'S' AND "
        "has_sequence_privilege(" + lit + ", c.oid, 'USAGE,UPDATE')) OR pg_has_role(" + lit +
        ", c.relowner, 'USAGE')) ORDER BY 1 LIMIT 5",
        "check reader privileges");
    if (!writable.empty())
      throw Error("reader " + reader + " can still write to " + writable[0][0].value_or("?") +
                      " on the staging copy",
                  "a reader must not own objects or be a member of a role that can write");
    // Then real attempts, each of which must be refused.
    std::vector<std::string> attempts = {"CREATE TABLE public.sk_write_probe (x integer)",
                                         "CREATE TEMPORARY TABLE sk_write_probe (x integer)"};
    if (!tables.empty())
      attempts.push_back("INSERT INTO " + quote_ident(tables[0][0].value_or("")) + "." +
                         quote_ident(tables[0][1].value_or("")) + " DEFAULT VALUES");
    for (const auto& attempt : attempts) {
      std::optional<std::string> err;
      {
        pg::Transaction tx(*s, "write attempt");
        pg::exec(*s, "SET LOCAL ROLE " + quote_ident(reader), "set role");
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
    pg::exec(*s, "SET LOCAL ROLE " + quote_ident(reader), "set role");
    for (const auto& t : tables) {
      auto err = pg::try_exec(*s, "SELECT 1 FROM " + quote_ident(t[0].value_or("")) + "." +
                                     quote_ident(t[1].value_or("")) + " LIMIT 0");
      if (err) {
        throw Error("reader " + reader + " cannot read " + t[0].value_or("") + "." + t[1].value_or("") +
                    ": " + *err);
      }
    }
    tx.rollback();
    rep.passed.push_back("reader " + reader + " can read " + std::to_string(tables.size()) + " tables");
  }
  return rep;
}

void PgEngine::swap_in(const std::string& live, const std::string& staging,
                       std::chrono::milliseconds timeout) {
  const std::string retired = retired_name(live);
  drop_database(retired);  // a leftover from a run killed after its swap
  auto a = open(kMaintenanceDb);
  auto b = open(kMaintenanceDb);  // opened now: connecting later would add to the readers' stall
  const bool had_live =
      pg::query_value(*a, std::string(pg::q::kDatabaseExists) + quote_literal(live), "look up database").has_value();
  pg::exec(*a, "SET statement_timeout = " + std::to_string(timeout.count()), "set timeout");
  pg::exec(*a, "SET lock_timeout = " + std::to_string(timeout.count()), "set timeout");
  const std::string a_pid = pg::query_value(*a, "SELECT CAST(pg_backend_pid() AS text)", "read pid").value_or("0");
  const std::string on_copies = "FROM pg_stat_activity WHERE pid <> " + a_pid + " AND pid <> pg_backend_pid() AND "
                                "datname IN (" + quote_literal(live) + ", " + quote_literal(staging) + ")";

  // Both renames happen in one transaction, so a crash at any point leaves either the old copy or the
  // new one under the live name, never neither, and nothing persistent (such as ALLOW_CONNECTIONS
  // false) is ever left behind. The first RENAME takes the database's exclusive lock, which holds new
  // connections back, but it also waits (in 100 ms steps) for sessions already there. So sessions are
  // ended, waiting until they are gone, just before it; a backstop keeps ending any that slipped in.
  std::atomic<bool> done{false};
  std::thread backstop([&] {
    try {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      while (!done.load()) {
        pg::query(*b, "SELECT CAST(pg_terminate_backend(pid) AS text) " + on_copies, "end sessions");
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
    if (had_live) {
      // pg_terminate_backend(pid, timeout) would wait in 100 ms steps; polling for the sessions to be
      // gone takes a few milliseconds, which is less than a reader needs to reconnect.
      const auto give_up = std::chrono::steady_clock::now() + timeout;
      for (int round = 0;; ++round) {
        if (round % 20 == 0)
          pg::query(*a, "SELECT CAST(pg_terminate_backend(pid) AS text) " + on_copies, "end reader sessions");
        // pg_stat_activity is read once per transaction unless the snapshot is cleared.
        pg::query(*a, "SELECT CAST(pg_stat_clear_snapshot() AS text)", "refresh session list");
        if (pg::query_value(*a, "SELECT CAST(count(*) AS text) " + on_copies, "count sessions").value_or("1") == "0")
          break;
        if (std::chrono::steady_clock::now() > give_up) throw Error("sessions on " + live + " did not end");
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      pg::exec(*a, "ALTER DATABASE " + quote_ident(live) + " RENAME TO " + quote_ident(retired),
               "retire the live copy");
    }
    pg::exec(*a, "ALTER DATABASE " + quote_ident(staging) + " RENAME TO " + quote_ident(live),
             "rename staging to live");
    tx.commit();
  } catch (const Error& e) {
    stop_backstop();
    throw Error("swap gave up; " + live + " still serves its previous copy: " + e.what(),
                "sessions did not leave within swap_timeout; raise [replica] swap_timeout or retry");
  }
  stop_backstop();
  if (had_live) drop_database(retired);
}

}  // namespace sk::sql
