#pragma once
// The engine seam: every database operation sitekeeper performs is a named operation here. There is
// no general-purpose query passthrough; each dialect keeps its SQL text beside its implementation.
// One Engine object talks to one server. Failures throw sk::Error with a short message (the tool's or
// server's own error included) and never leave a live database half-changed.
// Thread-safety: an Engine is used by one thread at a time; make one per thread.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/config.hpp"
#include "core/process.hpp"

namespace sk::sql {

namespace fs = std::filesystem;

struct ProbeInfo {
  std::string version;       // "PostgreSQL 15.18"
  bool in_recovery = false;  // a standby
  bool read_only = false;    // refuses writes (fenced or a replica)
};

// A captured permission script: readable SQL, one statement per entry.
struct PermissionScript {
  std::string text;
};

struct ValidationReport {
  std::vector<std::string> passed;  // one line per check that passed
};

struct SerialValue {
  std::string schema;
  std::string name;    // sequence (PostgreSQL) or table with identity (SQL Server, SQLite)
  std::int64_t value;  // last value issued
};

struct ReplicationState {
  std::uint64_t lag_bytes = 0;
  double lag_seconds = 0;
  std::string state;  // "streaming", "stopped", ...
  double seconds_since_message = 1e9;  // since the WAL receiver last heard from the primary
  bool receiver_hears_primary = false;
};

class Engine {
 public:
  virtual ~Engine() = default;
  virtual std::string dialect() const = 0;  // "postgresql", "sqlite", "sqlserver"

  // Connects within `timeout` and reads the version and role. Throws sk::Error when unreachable.
  virtual ProbeInfo probe(std::chrono::milliseconds timeout) = 0;
  virtual bool database_exists(const std::string& db) = 0;

  // Writes a consistent snapshot of `db` into the empty folder `out` (created by the caller).
  virtual void backup(const std::string& db, const fs::path& out, int jobs, const CancelToken* cancel) = 0;
  // Cheap check that a snapshot folder is readable by the restore tool (pg_restore --list).
  virtual void check_snapshot(const fs::path& snapshot) = 0;
  // Creates `staging` (dropping a leftover of that name first) and restores the snapshot into it.
  virtual void restore_to_staging(const std::string& staging, const fs::path& snapshot, int jobs,
                                  const CancelToken* cancel) = 0;
  // Drops a database if it exists, ending its sessions. Used on staging/retired copies only.
  virtual void drop_database(const std::string& db) = 0;
  // Runs the integrity checker over `db` (pg_amcheck, DBCC CHECKDB, PRAGMA integrity_check).
  virtual void integrity_check(const std::string& db, const CancelToken* cancel) = 0;

  // Replica duties. make_read_only leaves readers with SELECT only (by privilege, not by setting);
  // validate runs the smoke queries and attempts a write as each reader, which must fail.
  virtual void make_read_only(const std::string& db, const std::vector<std::string>& readers) = 0;
  virtual ValidationReport validate(const std::string& db, const std::vector<std::string>& queries,
                                    const std::vector<std::string>& readers) = 0;
  // Atomically replaces `live` with `staging`; the old copy is dropped afterwards. When sessions do not
  // leave within `timeout`, throws sk::Error and `live` still serves the old copy.
  virtual void swap_in(const std::string& live, const std::string& staging,
                       std::chrono::milliseconds timeout) = 0;

  // Permissions and the server profile (settings a database backup does not carry).
  virtual PermissionScript capture_permissions(const std::string& db) = 0;
  // Replays roles and memberships only (what must exist before a restore).
  virtual void replay_roles(const PermissionScript& script) = 0;
  // Replays database/object grants and default privileges into `db` (the site database or a staging
  // copy of it: database-level grants are redirected to `db`).
  virtual void replay_grants(const PermissionScript& script, const std::string& db) = 0;
  virtual nlohmann::json capture_profile(const std::string& db) = 0;

  // Standby and failover duties.
  virtual ReplicationState replication_state() = 0;
  virtual std::vector<SerialValue> read_serials(const std::string& db) = 0;
  // The defaults below throw sk::Error("... is not supported for <dialect>"): an engine that cannot do
  // an operation says so instead of pretending.
  //
  // Moves every serial to at least the given value (never backwards).
  virtual void resync_serials(const std::string& db, const std::vector<SerialValue>& targets);
  // Ends recovery and waits until the server accepts writes.
  virtual void promote(const std::string& db);
  // Makes a reachable server refuse writes to `db` and ends its sessions.
  virtual void fence(const std::string& db);
  // Re-applies a captured server profile; returns the settings that need a restart to take effect.
  virtual std::vector<std::string> apply_profile(const std::string& db, const nlohmann::json& profile);
  // Primary: the current WAL position; standby: the replayed position (engine-specific text).
  virtual std::string wal_position();
  // Bytes between two positions from wal_position() (a - b), 0 when b is ahead.
  virtual std::uint64_t wal_distance(const std::string& a, const std::string& b);
  // One write and one read in `db`; throws when the server does not accept writes.
  virtual void smoke_test(const std::string& db);
};

// Creates the engine named by server.engine over server.transport. Throws ConfigError for an engine or
// transport this build cannot drive.
std::unique_ptr<Engine> make_engine(const ServerConfig& server, std::shared_ptr<ProcessRunner> runner);

// How every layer above gets engines: one new Engine per call, for the named server. Tests pass a
// factory that hands out fakes. Thread-safety: the factories made here may be called from any thread.
using EngineFactory = std::function<std::unique_ptr<Engine>(const ServerConfig&)>;
// The real factory: make_engine over `runner`.
EngineFactory engine_factory(std::shared_ptr<ProcessRunner> runner);

}  // namespace sk::sql
