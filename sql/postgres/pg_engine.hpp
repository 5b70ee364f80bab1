#pragma once
// The PostgreSQL engine: SOCI over native libpq or ODBC (psqlODBC) for SQL, and the server's own tools
// (pg_dump, pg_restore, pg_amcheck) from an argv for snapshots. SQL text lives in pg_sql.hpp.
// Thread-safety: one PgEngine per thread; it opens a fresh session per operation unless keep_sessions().
#include <map>
#include <memory>

#include "sql/engine.hpp"

namespace soci {
class session;
}

namespace sk::sql {

class LocalServer;

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
  void swap_in_all(const std::vector<SwapPair>& swaps, std::chrono::milliseconds timeout) override;
  void base_backup(const fs::path& out, const CancelToken* cancel) override;
  // PostgreSQL 15's pg_verifybackup reads plain backups only: base.tar and pg_wal.tar are unpacked
  // below `scratch` with tar first (tablespace archives are left out and ignored).
  void verify_base_backup(const fs::path& backup, const fs::path& scratch, const CancelToken* cancel) override;
  // pg_receivewal --synchronous on the slot (sql/postgres/pg_wal.cpp).
  void prepare_wal_stream(const std::string& slot) override;
  void stream_wal(const fs::path& dir, const std::string& slot, const CancelToken* cancel) override;
  WalStreamState wal_stream_state(const std::string& slot) override;
  std::vector<fs::path> obsolete_wal(const fs::path& dir, const fs::path& oldest_base_backup) override;
  std::vector<std::string> restore_profile_deviations() override;
  // pg_recovery.cpp: restore_command copies from the WAL folder (a segment, else its .partial); when
  // the server runs as another user than ours (we are root), the WAL it needs is copied into
  // <data_dir>/sitekeeper-wal first, since the archive is private to its owner.
  WalCoverage wal_coverage(const fs::path& backup, const fs::path& wal_dir, const std::string& until_lsn) override;
  void prepare_recovery(const fs::path& backup, const fs::path& wal_dir, const RecoveryTarget& target,
                        const fs::path& own_config, const CancelToken* cancel) override;
  RecoveryEnd finish_recovery(const CancelToken* cancel) override;
  std::vector<std::string> describe_recovery(const fs::path& backup, const fs::path& wal_dir,
                                             const RecoveryTarget& target) const override;
  // pg_physical_replica.cpp.
  void restore_physical_copy(const fs::path& backup, const fs::path& dir, const CancelToken* cancel) override;
  ServerConfig start_physical_copy(const fs::path& dir) override;
  ValidationReport validate_physical_copy(const std::vector<std::string>& dbs,
                                          const std::vector<std::string>& queries) override;
  void stop_physical_copy(const fs::path& dir) override;
  void start_server() override;

  PermissionScript capture_permissions(const std::string& db) override;
  RoleUndo replay_roles(const PermissionScript& script, const RoleReplay& how) override;
  void undo_roles(const RoleUndo& undo) override;
  void replay_grants(const PermissionScript& script, const std::string& db) override;
  nlohmann::json capture_profile(const std::string& db) override;

  ReplicationState replication_state() override;
  std::vector<SerialValue> read_serials(const std::string& db) override;
  bool supports(Duty duty) const override;
  void bound_connect(std::chrono::milliseconds timeout) override;
  void keep_sessions() override { keep_ = true; }
  void warm_up(const std::string& db) override;
  void resync_serials(const std::string& db, const std::vector<SerialValue>& targets) override;
  std::string promote_closed(const std::string& db) override;
  std::vector<std::string> promote_closed_each(const std::vector<std::string>& dbs) override;
  void open_to_clients(const std::string& db, const std::string& token) override;
  std::string fence(const std::string& db) override;
  void unfence(const std::string& db) override;
  std::vector<std::string> apply_profile(const std::string& db, const nlohmann::json& profile) override;
  std::string wal_position() override;
  std::uint64_t wal_distance(const std::string& a, const std::string& b) override;
  void smoke_test(const std::string& db) override;
  // The epoch lives in the catalog (ALTER DATABASE postgres SET sitekeeper.epoch), so a standby
  // inherits it and a fenced server keeps the older value it had when it diverged.
  long read_epoch() override;
  void write_epoch(long epoch) override;
  void checkpoint() override;
  void lift_read_only(const std::string& db) override;
  // A physical replication slot named after the standby (slot_name in pg_local.hpp).
  void prepare_for_standby(const std::string& standby) override;
  std::string kept_for_standby(const std::string& standby) override;
  void set_synchronous_standby(const std::string& standby) override;
  void build_standby(const ServerConfig& primary, const StandbyTiming& timing) override;
  void follow(const ServerConfig& primary, const StandbyTiming& timing) override;
  void rewind_onto(const ServerConfig& primary, const StandbyTiming& timing) override;
  void stop_server() override;
  bool server_running() override;
  std::vector<std::string> describe(Duty duty, const StepText& what) const override;
  std::unique_ptr<ScratchServer> start_scratch(const fs::path& dir) override;

 private:
  // Each query in a read-only transaction, rolled back; one line in `rep` per query. Throws sk::Error.
  static void run_validation_queries(soci::session& s, const std::vector<std::string>& queries, ValidationReport& rep);
  // restore_physical_copy after the unpack: the check against the backup's manifest, then the settings.
  void make_paused_standby(const LocalServer& copy, const fs::path& dir, const CancelToken* cancel);
  // A session on `db`: the kept one when keep_sessions() and nobody else holds it (an operation that
  // wants two sessions gets two), else a new one.
  std::shared_ptr<soci::session> open(const std::string& db) const;
  std::string tool(const char* name) const;
  ProcessOptions tool_options(const CancelToken* cancel) const;
  std::string conn(const std::string& db) const;  // conninfo without the password (it goes in the env)

  ServerConfig server_;
  std::shared_ptr<ProcessRunner> runner_;
  // Kept between probes by long-lived callers (the HA loop): a new connection per second would cost
  // the daemon a password exchange every second.
  std::unique_ptr<soci::session> probe_session_;
  std::chrono::milliseconds connect_timeout_{10000};
  bool keep_ = false;
  mutable std::map<std::string, std::shared_ptr<soci::session>> kept_;  // by database
};

}  // namespace sk::sql
