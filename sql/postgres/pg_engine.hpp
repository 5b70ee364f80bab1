#pragma once
// The PostgreSQL engine: SOCI over native libpq or ODBC (psqlODBC) for SQL, and the server's own tools
// (pg_dump, pg_restore, pg_amcheck) from an argv for snapshots. SQL text lives in pg_sql.hpp.
// Thread-safety: one PgEngine per thread; it opens a fresh session per operation.
#include <memory>

#include "sql/engine.hpp"

namespace soci {
class session;
}

namespace sk::sql {

class PgEngine final : public Engine {
 public:
  PgEngine(ServerConfig server, std::shared_ptr<ProcessRunner> runner);
  ~PgEngine() override;

  std::string dialect() const override { return "postgresql"; }
  ProbeInfo probe(std::chrono::milliseconds timeout) override;
  bool database_exists(const std::string& db) override;

  void backup(const std::string& db, const fs::path& out, int jobs, const CancelToken* cancel) override;
  void check_snapshot(const fs::path& snapshot) override;
  void restore_to_staging(const std::string& staging, const fs::path& snapshot, int jobs,
                          const CancelToken* cancel) override;
  void drop_database(const std::string& db) override;
  void integrity_check(const std::string& db, const CancelToken* cancel) override;

  void make_read_only(const std::string& db, const std::vector<std::string>& readers) override;
  ValidationReport validate(const std::string& db, const std::vector<std::string>& queries,
                            const std::vector<std::string>& readers) override;
  void swap_in(const std::string& live, const std::string& staging,
               std::chrono::milliseconds timeout) override;

  PermissionScript capture_permissions(const std::string& db) override;
  RoleUndo replay_roles(const PermissionScript& script, const RoleReplay& how) override;
  void undo_roles(const RoleUndo& undo) override;
  void replay_grants(const PermissionScript& script, const std::string& db) override;
  nlohmann::json capture_profile(const std::string& db) override;

  ReplicationState replication_state() override;
  std::vector<SerialValue> read_serials(const std::string& db) override;
  void resync_serials(const std::string& db, const std::vector<SerialValue>& targets) override;
  void promote(const std::string& db) override;
  void fence(const std::string& db) override;
  std::vector<std::string> apply_profile(const std::string& db, const nlohmann::json& profile) override;
  std::string wal_position() override;
  std::uint64_t wal_distance(const std::string& a, const std::string& b) override;
  void smoke_test(const std::string& db) override;
  std::unique_ptr<ScratchServer> start_scratch(const fs::path& dir) override;

  // PostgreSQL-only: the epoch a promotion writes into the server itself (ALTER SYSTEM
  // sitekeeper.epoch), so a server that comes back from an older epoch can be recognized. 0 when unset.
  long server_epoch();
  void set_server_epoch(long epoch);
  // Creates the physical replication slot if missing.
  void ensure_slot(const std::string& slot);
  // The WAL position the slot still keeps for its standby (restart_lsn); "" when missing or unused.
  std::string slot_position(const std::string& slot);
  // Undoes fence() on this server (used when it rejoins as a standby).
  void unfence(const std::string& db);
  void checkpoint();

 private:
  std::unique_ptr<soci::session> open(const std::string& db) const;
  std::string tool(const char* name) const;
  ProcessOptions tool_options(const CancelToken* cancel) const;
  std::string conn(const std::string& db) const;  // conninfo without the password (it goes in the env)

  ServerConfig server_;
  std::shared_ptr<ProcessRunner> runner_;
  // Kept between probes by long-lived callers (the HA loop): a new connection per second would cost
  // the daemon a password exchange every second.
  std::unique_ptr<soci::session> probe_session_;
  std::chrono::milliseconds connect_timeout_{10000};
};

}  // namespace sk::sql
