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

// How roles are replayed: as captured (a promoted active) or on a read-only server (a replica, a
// trial restore), where the replica policy applies to `readers`.
struct RoleReplay {
  bool replica = false;
  std::vector<std::string> readers;
};

// What undo_roles needs; opaque to callers (engine-specific text).
struct RoleUndo {
  std::string data;
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
  std::uint64_t lag_bytes = 0;  // received but not yet replayed
  double lag_seconds = 0;       // 0 when everything received is replayed, else since the last replayed commit
  std::string state;            // "streaming", "stopped", ...
  double seconds_since_message = 1e9;  // since the WAL receiver last heard from the primary
  // A live primary is heard at least this often (seconds; 0: unknown): the standby asks it for a reply
  // after half its receiver timeout of silence.
  double heard_every = 0;
};

// Where the WAL stream stands on the active server (Engine::wal_stream_state).
struct WalStreamState {
  bool slot_exists = false;
  bool active = false;    // a stream is attached to the slot now
  std::string received;   // how far the stream has flushed (wal_position text); "" when nothing yet
  std::string current;    // the server's own flushed WAL position
  std::string system;     // which database system this is (PostgreSQL: its system identifier); opaque
};

// The named duties a runbook needs from an engine (Engine::supports, Engine::describe).
enum class Duty {
  fence, unfence, promote, open, serials, profile, permissions, epoch, smoke, lag,
  prepare_standby, build_standby, follow, rewind, stop, synchronous,
  restore,  // a snapshot restored into a staging copy on a primary, renamed to the live name later
  lift_read_only,  // a replica's read-only default undone (recover --from-replica)
  swap_together,   // several databases swapped in at once (swap_in_all of more than one)
  roll_forward,    // a physical base backup restored into data_dir and recovered with archived WAL
};
const char* to_string(Duty d);

// One database a swap replaces: `live` comes to serve the copy now named `staging`.
struct SwapPair {
  std::string live;
  std::string staging;
};

// What describe() may name in the text it returns.
struct StepText {
  std::string db;        // the site database
  std::string server;    // the server the step acts on
  std::string other;     // the other side (the primary to follow, the standby a slot is for, the snapshot)
  long epoch = 0;
  std::int64_t headroom = 0;
};

// The standby's settings that bound how long it hears nothing from a live primary: it asks the
// primary for a reply after receiver_timeout / 2 of silence, and gives up after receiver_timeout.
struct StandbyTiming {
  std::chrono::milliseconds receiver_timeout{60000};
};

// A throwaway server on this machine, for trial restores that must not touch a serving server. It
// listens on a Unix socket only, in its own private folder. The destructor stops it and removes the
// folder. Thread-safety: one owner.
class ScratchServer {
 public:
  virtual ~ScratchServer() = default;
  // How to reach it: make an engine for it with the usual factory.
  virtual const ServerConfig& server() const = 0;
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
  // A physical base backup of the whole server ([archive] kinds = ["logical", "physical"]) into the
  // empty folder `out`, as the tool writes it (PostgreSQL: pg_basebackup in tar format, with its
  // backup_manifest and the WAL that makes it consistent). Default: sk::Error, not supported.
  virtual void base_backup(const fs::path& out, const CancelToken* cancel);
  // Checks a base backup against its own manifest (pg_verifybackup). A tool that reads only unpacked
  // backups gets a copy unpacked below `scratch` (REQUIRES: missing or empty; removed afterwards,
  // also on failure). Throws sk::Error with the tool's complaint. Default: not supported.
  virtual void verify_base_backup(const fs::path& backup, const fs::path& scratch, const CancelToken* cancel);
  // The WAL stream ([archive] wal_stream), on the active server. prepare_wal_stream creates the
  // replication slot `slot` when it is missing, reserving WAL at once: from then on the server keeps
  // every WAL segment the stream has not received, also while the stream is down. stream_wal copies
  // the WAL into `dir` through that slot as the server writes it, each write flushed to disk before it
  // is acknowledged, until the stream breaks (throws sk::Error with the tool's complaint) or `cancel`
  // fires (returns). A new stream resumes after the newest WAL in `dir` and follows a timeline switch,
  // so after a failover the same folder continues from the new active. Defaults: not supported.
  virtual void prepare_wal_stream(const std::string& slot);
  virtual void stream_wal(const fs::path& dir, const std::string& slot, const CancelToken* cancel);
  virtual WalStreamState wal_stream_state(const std::string& slot);
  // The files of the WAL folder `dir` that no recovery from the base backup `oldest_base_backup` (a
  // folder base_backup wrote) or a later one needs: segments that end before it starts. Timeline
  // history files and anything the engine does not recognize as WAL are never listed. No connection
  // is made. Default: none.
  virtual std::vector<fs::path> obsolete_wal(const fs::path& dir, const fs::path& oldest_base_backup);
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
  // Replaces each `live` with its `staging` copy, all at once, for a site of several databases: when it
  // returns every live name serves its new copy; when it throws (sessions did not leave within
  // `timeout`, a crash) every live name still serves its old copy, so a site's databases are never left
  // at different generations by it. The old copies are dropped afterwards. Default: one pair is
  // swap_in; several throw sk::Error ("not supported") before anything changes; an engine that
  // overrides it says so with supports(Duty::swap_together).
  virtual void swap_in_all(const std::vector<SwapPair>& swaps, std::chrono::milliseconds timeout);

  // Permissions and the server profile (settings a database backup does not carry).
  virtual PermissionScript capture_permissions(const std::string& db) = 0;
  // Replays roles and memberships only (what must exist before a restore), in one transaction: a
  // statement that fails leaves every role as it was. With how.replica the replica policy applies
  // (sql/permscript.hpp, restrict_for_replica): readers may only read, other roles may not log in; a
  // script that would elevate a reader is refused before anything changes. Returns what undo_roles
  // needs to put the touched roles back as they were (roles are server-wide, so a refresh that fails
  // later must not leave them changed).
  virtual RoleUndo replay_roles(const PermissionScript& script, const RoleReplay& how) = 0;
  // Puts the roles that replay_roles touched back as they were: created roles dropped (or, when
  // something still depends on them, left NOLOGIN), attributes, passwords and memberships restored.
  // Best effort after a failure: throws sk::Error naming what could not be restored.
  virtual void undo_roles(const RoleUndo& undo);
  // Replays database/object grants and default privileges into `db` (the site database or a staging
  // copy of it: database-level grants are redirected to `db`).
  virtual void replay_grants(const PermissionScript& script, const std::string& db) = 0;
  virtual nlohmann::json capture_profile(const std::string& db) = 0;

  // Recovery to the last second (recover --server onto a server with data_dir): a physical base backup
  // (base_backup's folder) restored into this server's data directory and rolled forward with the WAL
  // the stream archived in `wal_dir` ([archive] wal_stream). Defaults: sk::Error, not supported.
  struct RecoveryTarget {
    std::string time;  // ISO 8601 UTC ("2026-11-22T02:40:00.5Z"): stop before the first commit after it
    std::string lsn;   // engine-specific position ("0/3000060"): stop there
    bool none() const { return time.empty() && lsn.empty(); }
  };
  struct WalCoverage {
    std::string missing;        // "" when `wal_dir` rolls the backup forward; else a sentence naming the first missing file
    std::string start_segment;  // the backup's first WAL file, on its timeline
    std::string end_lsn;        // the backup's consistent point: no target may come before it
    std::string newest;         // the newest WAL file the roll-forward reaches ("" none)
    std::string newest_at;      // its modification time, ISO 8601 UTC: the archived WAL ends about then
  };
  struct RecoveryEnd {
    std::string last_commit;  // the last replayed commit's time, ISO 8601 UTC with microseconds ("" none)
    std::string lsn;          // the last replayed position
  };
  // Reads files only. What `wal_dir` holds for `backup`: its start segment and every later one up to
  // `until_lsn` ("": the newest there), following timelines through their history files.
  virtual WalCoverage wal_coverage(const fs::path& backup, const fs::path& wal_dir, const std::string& until_lsn);
  // REQUIRES: this server stopped, its data_dir missing or empty (SafetyError otherwise). Unpacks
  // `backup` there and writes the recovery settings (read from `wal_dir`, to `target` or to the end of
  // the WAL); does not start it. `own_config`: a folder whose server configuration this server keeps
  // (its old data directory, moved aside: its port, sockets, memory), or empty to run with the
  // backup's. On failure the unpacked folder is removed.
  virtual void prepare_recovery(const fs::path& backup, const fs::path& wal_dir, const RecoveryTarget& target,
                                const fs::path& own_config, const CancelToken* cancel);
  // Starts the prepared server on its port and waits until it is out of recovery, then removes the
  // recovery settings so a restart does not recover again. Idempotent: on a server that finished
  // already it only reports. Throws sk::Error with the server log's last lines when recovery fails.
  virtual RecoveryEnd finish_recovery(const CancelToken* cancel);
  // The exact commands and settings of prepare_recovery and finish_recovery, for --plan.
  virtual std::vector<std::string> describe_recovery(const fs::path& backup, const fs::path& wal_dir,
                                                     const RecoveryTarget& target) const;

  // Standby and failover duties.
  virtual ReplicationState replication_state() = 0;
  virtual std::vector<SerialValue> read_serials(const std::string& db) = 0;
  // The defaults below throw sk::Error("... is not supported for <dialect>"): an engine that cannot do
  // an operation says so instead of pretending. Runbooks ask supports() for every step before the
  // first one runs, so that refusal comes before anything changes, never halfway through.
  virtual bool supports(Duty duty) const;

  // Bounds every connection this engine opens from now on by `timeout`, enforced by the engine itself
  // (libpq rounds connect_timeout up to 2 s): a runbook must not wait longer on a dead server.
  virtual void bound_connect(std::chrono::milliseconds timeout);
  // From now on the engine keeps the session of each database open between operations, until it is
  // destroyed, for a caller that runs many short operations on one server in a row (a runbook, the HA
  // loop's witness): a new session costs a password exchange and a backend start, tens of ms. A kept
  // session that broke is replaced before it is used; an operation that must see what a new session
  // sees (read_epoch) opens its own. Default: nothing (every operation connects).
  virtual void keep_sessions();
  // Opens ahead the sessions that keep_sessions() keeps (the server's own and `db`'s), so that the
  // operations after it do not wait for them; any error is left to those operations. May run on
  // another thread while nothing else uses this engine. Default: nothing.
  virtual void warm_up(const std::string& db);
  // Moves every serial to at least the given value (never backwards).
  virtual void resync_serials(const std::string& db, const std::vector<SerialValue>& targets);
  // Ends recovery and waits until the server accepts writes, with `db` still closed to clients (only
  // the account sitekeeper connects as may connect to it) until open_to_clients. Idempotent: on a
  // server that is already a primary it only closes `db`. Returns what open_to_clients needs.
  virtual std::string promote_closed(const std::string& db);
  // promote_closed for every database of a site: the server leaves recovery once and each of `dbs` is
  // closed to clients before any client may write to it. Returns one token per database, in order,
  // for open_to_clients. Default: promote_closed for each in turn (a later one is open for a moment
  // after the promotion); PostgreSQL closes them all before its read-only default is lifted.
  virtual std::vector<std::string> promote_closed_each(const std::vector<std::string>& dbs);
  // Lets clients connect to `db` again, as they could before promote_closed (`token` is its result).
  virtual void open_to_clients(const std::string& db, const std::string& token);
  // Makes a reachable server refuse writes to `db`: nobody may connect to it any more (by the catalog,
  // not by a setting a session can override), its sessions are ended, and every new transaction of the
  // server is read-only by default. Returns a line saying what was done.
  virtual std::string fence(const std::string& db);
  // Undoes fence() on this server (when it rejoins as a standby, or blocked writes for a switchover
  // that did not happen).
  virtual void unfence(const std::string& db);
  // Re-applies a captured server profile (settings, extensions, database and role settings, and
  // client authentication rules); returns the settings that need a restart to take effect.
  virtual std::vector<std::string> apply_profile(const std::string& db, const nlohmann::json& profile);
  // Primary: the current WAL position; standby: the replayed position (engine-specific text).
  virtual std::string wal_position();
  // Bytes between two positions from wal_position() (a - b), 0 when b is ahead.
  virtual std::uint64_t wal_distance(const std::string& a, const std::string& b);
  // One write and one read in `db`; throws when the server does not accept writes.
  virtual void smoke_test(const std::string& db);
  // The epoch a promotion wrote into this server (0 when never): a server that comes back carrying an
  // older epoch than the state store's is recognized as stale.
  virtual long read_epoch();
  virtual void write_epoch(long epoch);
  // Undoes the database default make_read_only set, on a replica that becomes the active (its
  // privileges come back with replay_grants). Sessions opened from now on may write.
  virtual void lift_read_only(const std::string& db);
  // Makes the next WAL position a new timeline start that a rewind can see (a checkpoint).
  virtual void checkpoint();

  // On a primary: whatever a standby named `standby` needs there (a replication slot), and how far
  // back it still keeps WAL for it ("" when it keeps nothing).
  virtual void prepare_for_standby(const std::string& standby);
  virtual std::string kept_for_standby(const std::string& standby);
  // Synchronous replication to `standby` ("" turns it off): a commit on this primary is acknowledged
  // only once the standby has it.
  virtual void set_synchronous_standby(const std::string& standby);

  // This engine's own server, on this machine (ServerConfig::data_dir): build it as a standby of
  // `primary` (REQUIRES: data_dir missing or empty, SafetyError otherwise), make a cleanly stopped one
  // follow `primary`, or rewind a diverged one onto `primary`'s timeline; each starts the server.
  // `timing` holds the standby settings that decide how fast a silent primary is noticed.
  virtual void build_standby(const ServerConfig& primary, const StandbyTiming& timing);
  virtual void follow(const ServerConfig& primary, const StandbyTiming& timing);
  virtual void rewind_onto(const ServerConfig& primary, const StandbyTiming& timing);
  // Stops this server, fast, else immediate. No-op when it is not running.
  virtual void stop_server();
  virtual bool server_running();

  // The exact SQL and commands of a runbook step on this engine, for --plan and the runbook.
  virtual std::vector<std::string> describe(Duty duty, const StepText& what) const;
  // Starts a scratch server of this engine's kind (same version: this server's bin_dir) under the
  // empty or missing folder `dir`. Throws sk::Error when this machine cannot run one (no binaries).
  virtual std::unique_ptr<ScratchServer> start_scratch(const fs::path& dir);

  // A replica refreshed physically (ServerConfig::refresh = "physical", replicator/refresh_physical.hpp):
  // this engine's own server, whose data directory (data_dir) is on this machine, gets a generation's
  // base backup in a new data directory beside data_dir, which is then renamed into place. Defaults:
  // sk::Error, not supported.
  // REQUIRES: `dir` missing or empty, its parent existing. Restores the base backup `backup` (the folder
  // base_backup wrote) into `dir`, checks it against its own manifest, and makes it a hot standby of no
  // primary that pauses at the backup's consistent point (read-only for every user, superusers
  // included), keeping this server's own configuration files (from data_dir, when it holds a server)
  // and port. Throws sk::Error; `dir` is removed then.
  virtual void restore_physical_copy(const fs::path& backup, const fs::path& dir, const CancelToken* cancel);
  // Starts the copy in `dir` where only sitekeeper reaches it (no TCP listener; a socket in a private
  // folder) and waits until it is paused at its consistent point. Returns how to reach it (an engine from
  // the usual factory). Throws sk::Error with the server's complaint; a server it started is stopped then.
  virtual ServerConfig start_physical_copy(const fs::path& dir);
  // On a copy that start_physical_copy started (an engine for the server it returned): each of `dbs`
  // exists, the server is paused in recovery, `queries` run in dbs.front(), and a write as the user
  // sitekeeper connects as (a superuser) is refused. Throws sk::Error naming the check that failed.
  virtual ValidationReport validate_physical_copy(const std::vector<std::string>& dbs,
                                                  const std::vector<std::string>& queries);
  // Stops the server running in `dir` (fast, else immediate) and removes what start_physical_copy added
  // there; no-op when none runs there.
  virtual void stop_physical_copy(const fs::path& dir);
  // Starts this server in data_dir on its configured port and waits until it accepts connections. No-op
  // when it runs.
  virtual void start_server();

  // For a server that only takes restores (a replica refreshed logically): each server setting that
  // makes a restore slower than it could be, as one sentence with the value to set and what that costs
  // (docs/design.md, "The replica profile"). Empty when none deviates; default: empty (no advice).
  virtual std::vector<std::string> restore_profile_deviations();
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
