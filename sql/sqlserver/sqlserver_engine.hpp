#pragma once
// The SQL Server engine: the named operations of sql/engine.hpp over ODBC (SOCI opens the connection;
// statements run through the session's ODBC handle so that every result set and message is drained,
// see sqlserver_engine.cpp). All statement text comes from sql/sqlserver/tsql.hpp.
//
// A "snapshot folder" holds one file, <db>.bak. Paths are handed to the server as they are, so the
// archive must be mounted at the same path on the SQL Server host.
// Failures throw sk::Error carrying the server's message; a connection string (which holds the
// password) never reaches a message or a log unredacted.
// Thread-safety: as for every Engine, one thread at a time; the object owns one ODBC session.
#include <memory>

#include "sql/engine.hpp"
#include "sql/sqlserver/tsql.hpp"

namespace sk::sql {

class SqlServerEngine : public Engine {
 public:
  // REQUIRES: server.engine == "sqlserver". Throws ConfigError unless server.transport is "odbc".
  // Connects lazily (the first operation), so a down server does not fail construction.
  SqlServerEngine(const ServerConfig& server, std::shared_ptr<ProcessRunner> runner);
  ~SqlServerEngine() override;

  std::string dialect() const override { return "sqlserver"; }
  // Opens a fresh connection with ConnectTimeout = ceil(timeout) and a query timeout of the same.
  // version "SQL Server <ProductVersion> (<Edition>)"; in_recovery when a user database is RESTORING
  // (a log-shipping standby); read_only when no user database is writable.
  ProbeInfo probe(std::chrono::milliseconds timeout) override;
  bool database_exists(const std::string& db) override;

  // BACKUP DATABASE … COPY_ONLY into <out>/<db>.bak. Cancellation is checked before and after: a
  // running BACKUP is not interrupted.
  void backup(const std::string& db, const fs::path& out, int jobs, const CancelToken* cancel) override;
  // RESTORE VERIFYONLY … WITH CHECKSUM of the one .bak in the folder (or of `snapshot` itself).
  void check_snapshot(const fs::path& snapshot) override;
  // Reads the file list, drops a leftover `staging`, restores WITH MOVE into the instance's default
  // data/log folders under new file names, RECOVERY. A failed restore drops `staging` again.
  void restore_to_staging(const std::string& staging, const fs::path& snapshot, int jobs,
                          const CancelToken* cancel) override;
  void drop_database(const std::string& db) override;
  void integrity_check(const std::string& db, const CancelToken* cancel) override;

  void make_read_only(const std::string& db, const std::vector<std::string>& readers) override;
  // Smoke queries inside [db] (every row fetched), then per reader: EXECUTE AS USER, a CREATE TABLE
  // that must fail, and fn_my_permissions that must list no write permission.
  ValidationReport validate(const std::string& db, const std::vector<std::string>& queries,
                            const std::vector<std::string>& readers) override;
  // tsql::swap_in with the undo of tsql::swap_undo on failure; the retired copy is dropped last (a
  // failed drop is logged, the swap stands).
  void swap_in(const std::string& live, const std::string& staging, std::chrono::milliseconds timeout) override;

  // The generated T-SQL permission script (tsql::permission_script).
  PermissionScript capture_permissions(const std::string& db) override;
  // Both replay only statements tsql::parse_permission_script accepts (the whole script is checked
  // before anything runs). Every statement is attempted; failures are logged and then reported
  // together as one sk::Error.
  RoleUndo replay_roles(const PermissionScript& script, const RoleReplay& how) override;
  void replay_grants(const PermissionScript& script, const std::string& db) override;
  nlohmann::json capture_profile(const std::string& db) override;

  // From msdb restore history: the last log restored on this server. state "restoring" when a log
  // was ever restored, else "stopped"; lag_bytes is unknown (0).
  ReplicationState replication_state() override;
  // Identity columns (schema, table) and sequences (schema, sequence) of [db].
  std::vector<SerialValue> read_serials(const std::string& db) override;

  std::vector<std::string> apply_profile(const std::string& db, const nlohmann::json& profile) override;
  // The database stays in multi-user mode: SQL Server has no superuser-only window like PostgreSQL's
  // connection limit, so open_to_clients has nothing to do.
  std::string promote_closed(const std::string& db) override;
  void open_to_clients(const std::string& db, const std::string& token) override;
  bool supports(Duty duty) const override;  // RESTORE DATABASE … WITH RECOVERY
  std::string fence(const std::string& db) override;    // SET READ_ONLY WITH ROLLBACK IMMEDIATE
  // Moves each identity/sequence named in `targets` to the given value (RESEED / RESTART); a name
  // that is neither in [db] is an sk::Error before anything changes.
  void resync_serials(const std::string& db, const std::vector<SerialValue>& targets) override;

  // Log shipping. Not on the engine seam (PostgreSQL standbys stream WAL instead), and nothing
  // outside this class calls these yet.
  void ship_log(const std::string& db, const fs::path& file);     // BACKUP LOG on the active
  void restore_log(const std::string& db, const fs::path& file);  // RESTORE LOG … NORECOVERY

 private:
  class Session;
  Session& session();

  ServerConfig server_;
  std::shared_ptr<ProcessRunner> runner_;
  std::unique_ptr<Session> session_;
};

// Factory used by make_engine for engine = "sqlserver".
std::unique_ptr<Engine> make_sqlserver_engine(const ServerConfig& server, std::shared_ptr<ProcessRunner> runner);

}  // namespace sk::sql
