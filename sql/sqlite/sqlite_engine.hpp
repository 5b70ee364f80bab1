#pragma once
// The SQLite engine. A "server" is a directory (ServerConfig::data_dir); database X is the file
// <data_dir>/X.sqlite, opened through SOCI's sqlite3 backend. A snapshot folder holds one file,
// <db>.sqlite, written by VACUUM INTO.
//
// Database names become file names, so a name that is empty or holds '/', NUL or ".." is refused
// with sk::Error before any file is touched. Paths may hold spaces and non-ASCII; a path holding a
// double quote is refused (SOCI's connect string cannot carry one).
// Failures throw sk::Error; a failed restore or swap leaves the live file as it was.
// Thread-safety: as for every Engine, one thread at a time. Each operation opens and closes its own
// connection, so nothing stays open between calls.
#include <memory>

#include "sql/engine.hpp"

namespace sk::sql {

class SqliteEngine : public Engine {
 public:
  // Throws ConfigError when server.data_dir is empty.
  SqliteEngine(const ServerConfig& server, std::shared_ptr<ProcessRunner> runner);

  std::string dialect() const override { return "sqlite"; }
  // The directory must exist and accept a new file; version "SQLite <sqlite_version()>".
  // in_recovery is always false; read_only is false (a read-only directory fails the probe).
  ProbeInfo probe(std::chrono::milliseconds timeout) override;
  bool database_exists(const std::string& db) override;

  // VACUUM INTO <out>/<db>.sqlite (a consistent snapshot even while others write), switched to
  // rollback-journal mode and fsync'd. A cancelled or failed backup removes the partial file.
  void backup(const std::string& db, const fs::path& out, int jobs, const CancelToken* cancel) override;
  // PRAGMA integrity_check of the one .sqlite file in the folder (or `snapshot` itself), opened
  // read-only; anything but "ok" is an sk::Error.
  void check_snapshot(const fs::path& snapshot) override;
  // Copies the snapshot to <data_dir>/<staging>.sqlite (a leftover and its journal files removed
  // first), fsyncs it and the directory, then checks its integrity. On any failure the staging file
  // is removed again; the live file is never touched.
  void restore_to_staging(const std::string& staging, const fs::path& snapshot, int jobs,
                          const CancelToken* cancel) override;
  // Removes the file and its -journal/-wal/-shm companions; absent is fine.
  void drop_database(const std::string& db) override;
  void integrity_check(const std::string& db, const CancelToken* cancel) override;

  // Settles the file in rollback-journal mode (a WAL file cannot be read without writing), then
  // chmod 0444. SQLite has no users: readers are not applicable and only logged.
  void make_read_only(const std::string& db, const std::vector<std::string>& readers) override;
  // Runs each smoke query reading every row, checks the file is read-only (0444), then opens it with
  // PRAGMA query_only and attempts a write, which must fail (SafetyError when it succeeds). The
  // query_only check holds even for root, whom file modes do not stop.
  ValidationReport validate(const std::string& db, const std::vector<std::string>& queries,
                            const std::vector<std::string>& readers) override;
  // rename(2) of staging over live (atomic: a reader opens the old file or the new one), then an
  // fsync of the directory. Journal companions of the old live file are removed first so they can
  // never be applied to the new one. `timeout` is not needed: nothing waits.
  void swap_in(const std::string& live, const std::string& staging, std::chrono::milliseconds timeout) override;

  // Text is a comment saying permissions are not applicable to SQLite; replaying is a logged no-op.
  PermissionScript capture_permissions(const std::string& db) override;
  RoleUndo replay_roles(const PermissionScript& script, const RoleReplay& how) override;
  void replay_grants(const PermissionScript& script, const std::string& db) override;
  // {"engine":"sqlite","sqlite_version":"3.40.1","compile_options":[…]}: the library's, since a
  // database file carries no server settings.
  nlohmann::json capture_profile(const std::string& db) override;

  // Snapshot age: seconds since the newest *.sqlite file in data_dir was modified (the seam names no
  // database). state "snapshot", or "stopped" when the folder holds no database.
  ReplicationState replication_state() override;
  // Rows of sqlite_sequence (schema "main", name = table); none when no table uses AUTOINCREMENT.
  std::vector<SerialValue> read_serials(const std::string& db) override;

  // Makes the file read-only (0444); connections other processes hold open are not ended.
  std::string fence(const std::string& db) override;
  bool supports(Duty duty) const override;
  // Raises each table's sqlite_sequence entry to at least the given value (never lowers it).
  void resync_serials(const std::string& db, const std::vector<SerialValue>& targets) override;
  // promote, apply_profile, wal_position, wal_distance and smoke_test are left to the seam's
  // defaults, which throw "... is not supported for sqlite".

  // <data_dir>/<db>.sqlite after the name checks above.
  fs::path file_of(const std::string& db) const;

 private:
  ServerConfig server_;
  std::shared_ptr<ProcessRunner> runner_;
};

// Factory used by make_engine for engine = "sqlite".
std::unique_ptr<Engine> make_sqlite_engine(const ServerConfig& server, std::shared_ptr<ProcessRunner> runner);

}  // namespace sk::sql
