#pragma once
// The PostgreSQL dialect: every SQL text the PostgreSQL engine sends, as constants or as pure
// functions that build the exact text of one statement. Nothing here talks to a server, so every
// statement is golden-tested as text (tests/golden/postgres/).
//
// Rules that keep the text transport-neutral:
// - no "::" casts (SOCI's ODBC backend reads ":name" as a bind placeholder): use CAST(x AS text);
// - every column comes back as text;
// - identifiers are spliced in only through quote_ident and literals only through quote_literal
//   (sql/ident.hpp). Names that cannot be quoted safely (empty, NUL, invalid UTF-8, more than 63
//   bytes) are rejected with sk::Error before any text is built, so a caller never receives half a
//   statement; literals are rejected for a NUL byte.
// Statements carry no trailing ';' (the permission script adds it per line).
// Thread-safety: every function is pure and may be called from any thread.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sk::sql::pg::q {

// A table (or other relation) named by schema and name, both unquoted.
struct Relation {
  std::string schema;
  std::string name;
};

// ---- sessions and probes ---------------------------------------------------------------------------

// Sent on every new session: literals are then quoted the standard way, and notices stay quiet.
inline constexpr const char* kStandardStrings = "SET standard_conforming_strings = on";
inline constexpr const char* kQuietNotices = "SET client_min_messages = warning";
// version(), in recovery (0/1), default_transaction_read_only ("on"/"off").
inline constexpr const char* kProbe =
    "SELECT version(), CAST(pg_is_in_recovery() AS integer), current_setting('default_transaction_read_only')";
// One round trip: is a kept session still usable?
inline constexpr const char* kAlive = "SELECT 1";
inline constexpr const char* kServerVersion = "SELECT current_setting('server_version')";
inline constexpr const char* kInRecovery = "SELECT CAST(pg_is_in_recovery() AS integer)";
inline constexpr const char* kBackendPid = "SELECT CAST(pg_backend_pid() AS text)";
inline constexpr const char* kReloadConf = "SELECT CAST(pg_reload_conf() AS text)";
inline constexpr const char* kCheckpoint = "CHECKPOINT";
inline constexpr const char* kCurrentUser = "SELECT CAST(current_user AS text)";
// The bootstrap superuser (the role initdb made), whatever its name.
inline constexpr const char* kBootstrapRole = "SELECT CAST(rolname AS text) FROM pg_roles WHERE oid = 10";

// One row (1) when database `db` exists, no row otherwise. Throws sk::Error for a NUL byte.
std::string database_exists(std::string_view db);
// One row (1) when role `role` exists, no row otherwise. Throws sk::Error for a NUL byte.
std::string role_exists(std::string_view role);

// ---- snapshots -------------------------------------------------------------------------------------

// DROP DATABASE IF EXISTS "db" WITH (FORCE): FORCE ends the sessions there first.
// Throws sk::Error when quote_ident rejects `db`.
std::string drop_database(std::string_view db);
// CREATE DATABASE "db" TEMPLATE template0 ENCODING 'UTF8': an empty database pg_restore fills.
// Throws sk::Error when quote_ident rejects `db`.
std::string create_staging_database(std::string_view db);

// ---- replicas: read-only by privilege ------------------------------------------------------------

// User schemas (not pg_*, not information_schema): nspname, sorted.
inline constexpr const char* kUserSchemas =
    "SELECT CAST(nspname AS text) FROM pg_namespace WHERE nspname !~ '^pg_' "
    "AND nspname <> 'information_schema' ORDER BY 1";
// Ordinary and partitioned tables in user schemas: schema, table, sorted.
inline constexpr const char* kUserTables =
    "SELECT CAST(n.nspname AS text), CAST(c.relname AS text) FROM pg_class c "
    "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r','p') "
    "AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema' ORDER BY 1, 2";

// The REVOKE builders take writes away FROM PUBLIC and every reader named (a reader may hold grants of
// its own); the GRANT builders give read access TO the readers only.
// Every one throws sk::Error when quote_ident rejects a name; the GRANT builders also for an empty
// `readers` (there would be nobody to grant to).

// REVOKE CREATE, TEMPORARY ON DATABASE "db" FROM PUBLIC, "r1", ...
std::string revoke_database_writes(std::string_view db, const std::vector<std::string>& readers);
// GRANT CONNECT ON DATABASE "db" TO "r1", ...
std::string grant_connect(std::string_view db, const std::vector<std::string>& readers);
// REVOKE CREATE ON SCHEMA "nsp" FROM PUBLIC, ...
std::string revoke_schema_create(std::string_view nsp, const std::vector<std::string>& readers);
// REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA "nsp" FROM PUBLIC, ...
std::string revoke_table_writes(std::string_view nsp, const std::vector<std::string>& readers);
// REVOKE USAGE, UPDATE ON ALL SEQUENCES IN SCHEMA "nsp" FROM PUBLIC, ... (nextval needs USAGE)
std::string revoke_sequence_use(std::string_view nsp, const std::vector<std::string>& readers);
// REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA "nsp" FROM PUBLIC, ... (a function may write)
std::string revoke_function_execute(std::string_view nsp, const std::vector<std::string>& readers);
// GRANT USAGE ON SCHEMA "nsp" TO "r1", ...
std::string grant_schema_usage(std::string_view nsp, const std::vector<std::string>& readers);
// GRANT SELECT ON ALL TABLES IN SCHEMA "nsp" TO "r1", ...
std::string grant_table_select(std::string_view nsp, const std::vector<std::string>& readers);
// GRANT SELECT ON ALL SEQUENCES IN SCHEMA "nsp" TO "r1", ...
std::string grant_sequence_select(std::string_view nsp, const std::vector<std::string>& readers);
// ALTER DATABASE "db" SET default_transaction_read_only = on. Throws sk::Error when quote_ident
// rejects `db`.
std::string set_read_only_default(std::string_view db);
// ALTER DATABASE "db" RESET default_transaction_read_only: a replica that becomes the active.
std::string reset_read_only_default(std::string_view db);

// ---- replicas: validation ----------------------------------------------------------------------------

inline constexpr const char* kReadOnlyTransaction = "SET TRANSACTION READ ONLY";
// The session's default, for sessions that must write (or attempt to) in a read-only database.
inline constexpr const char* kAllowWrites = "SET default_transaction_read_only = off";

// Up to 5 relations (schema.name, sorted) in user schemas that `reader` may still change: a table
// privilege that writes, a sequence it may advance, or an owner it is a member of (an owner can
// always write, whatever the grants say). No row is the only good answer.
// Throws sk::Error for a NUL byte in `reader`.
std::string writable_by(std::string_view reader);
// SET LOCAL ROLE "reader": inside a transaction, so the role ends with it. Throws sk::Error when
// quote_ident rejects `reader`.
std::string set_local_role(std::string_view reader);
// The attributes beyond reading that `reader` holds: one row per attribute name (SUPERUSER,
// CREATEROLE, CREATEDB, REPLICATION, BYPASSRLS). No row is the only good answer.
// Throws sk::Error for a NUL byte in `reader`.
std::string elevated_attributes_of(std::string_view reader);
// Which of `roles` (predefined roles that reach the host) `reader` is a member of, directly or
// through other roles: rolname. Roles this server does not have are skipped. No row is the only
// good answer. Throws sk::Error for a NUL byte.
std::string memberships_reaching(std::string_view reader, const std::vector<std::string>& roles);
// The writes a reader must be refused, in order: CREATE TABLE public.sk_write_probe, CREATE TEMPORARY
// TABLE sk_write_probe, then, when `table` is given, INSERT INTO "schema"."name" DEFAULT VALUES.
// Throws sk::Error when quote_ident rejects the table's names.
std::vector<std::string> write_attempts(const std::optional<Relation>& table);
// SELECT 1 FROM "schema"."name" LIMIT 0: proves the SELECT privilege without reading a row.
// Throws sk::Error when quote_ident rejects a name.
std::string read_probe(const Relation& table);

// ---- replicas: swap --------------------------------------------------------------------------------

// SET statement_timeout = <ms> / SET lock_timeout = <ms>, in milliseconds.
std::string set_statement_timeout(std::chrono::milliseconds timeout);
std::string set_lock_timeout(std::chrono::milliseconds timeout);
// Ends every session on one of `dbs` (the live and staging copies a swap renames) except this one and
// backend `keep` (the session that renames): one row per session, pg_terminate_backend's answer as
// text. Throws sk::Error for a NUL byte in a name.
std::string end_copy_sessions(long keep, const std::vector<std::string>& dbs);
// One row: the number of those sessions as text ("0" when they are all gone). Throws as above.
std::string count_copy_sessions(long keep, const std::vector<std::string>& dbs);
// pg_stat_activity is read once per transaction unless its snapshot is cleared.
inline constexpr const char* kClearActivitySnapshot = "SELECT CAST(pg_stat_clear_snapshot() AS text)";
// ALTER DATABASE "from" RENAME TO "to". Throws sk::Error when quote_ident rejects a name.
std::string rename_database(std::string_view from, std::string_view to);

// ---- standby and failover ----------------------------------------------------------------------------

// Sequences outside pg_* schemas: schema, sequence, last value (its start value when never used).
inline constexpr const char* kSequences =
    "SELECT CAST(schemaname AS text), CAST(sequencename AS text), CAST(COALESCE(last_value, start_value) AS text) "
    "FROM pg_sequences WHERE schemaname !~ '^pg_' ORDER BY 1, 2";
// The WAL receiver of a standby: status, seconds since the last message, bytes received but not yet
// replayed, seconds since the last replayed transaction (0 when everything received is replayed), and
// the standby's wal_receiver_timeout in ms. No row on a server without a receiver.
inline constexpr const char* kReceiver =
    "SELECT CAST(status AS text), CAST(EXTRACT(EPOCH FROM now() - last_msg_receipt_time) AS text), "
    "CAST(COALESCE(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), 0) AS text), "
    "CAST(CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
    "ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END AS text), "
    "CAST((SELECT setting FROM pg_settings WHERE name = 'wal_receiver_timeout') AS text) "
    "FROM pg_stat_wal_receiver";
// Seconds since the standby last replayed a transaction (NULL when it never did): its lag while the
// primary writes.
inline constexpr const char* kReplayAge =
    "SELECT CAST(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) AS text)";
// The replayed position on a standby, the current one on a primary, as "X/X".
// ---- recovery to the last second -------------------------------------------------------------------
// One row: where the last recovery ended (the last replayed commit's time in UTC as
// 2026-11-22T02:40:00.123456Z, and the last replayed position; each "" when unknown), and 1 while the
// server is still in recovery.
inline constexpr const char* kRecoveryEnd =
    "SELECT COALESCE(to_char(pg_last_xact_replay_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), ''), "
    "COALESCE(CAST(pg_last_wal_replay_lsn() AS text), ''), CAST(CAST(pg_is_in_recovery() AS integer) AS text)";
// The recovery settings prepare_recovery wrote, reset once the server is out of recovery.
inline constexpr const char* kRecoverySettings[] = {"restore_command", "recovery_target_timeline", "recovery_target_time",
                                                    "recovery_target_lsn", "recovery_target_action",
                                                    "recovery_target_inclusive"};
// ALTER SYSTEM RESET of one of kRecoverySettings.
std::string reset_setting(std::string_view name);

inline constexpr const char* kWalPosition =
    "SELECT CAST(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() "
    "ELSE pg_current_wal_lsn() END AS text)";
// Asks for the promotion and answers 1 at once; the caller polls kInRecovery (pg_promote's own wait
// looks only every 100 ms).
inline constexpr const char* kPromote = "SELECT CAST(pg_promote(false) AS integer)";
inline constexpr const char* kReadOnlyDefaultOn = "ALTER SYSTEM SET default_transaction_read_only = on";
// A standby whose primary is gone retries every wal_retrieve_retry_interval (5 s by default), and a
// promote request that arrives while it restarts its WAL receiver is seen and then slept through for
// the rest of that interval (PostgreSQL 15: "received promote request", then "waiting for WAL to
// become available", then 5 s of nothing). Shortened for the promotion, reset after it.
inline constexpr const char* kPromptRetry = "ALTER SYSTEM SET wal_retrieve_retry_interval = '20ms'";
inline constexpr const char* kPromptRetryReset = "ALTER SYSTEM RESET wal_retrieve_retry_interval";
inline constexpr const char* kReadOnlyDefaultReset = "ALTER SYSTEM RESET default_transaction_read_only";
// maintenance_work_mem in kB, as text.
inline constexpr const char* kMaintenanceWorkMemKb =
    "SELECT setting FROM pg_settings WHERE name = 'maintenance_work_mem'";
// The settings the replica restore profile judges: name, setting, unit ("" when none).
inline constexpr const char* kRestoreSettings =
    "SELECT CAST(name AS text), setting, COALESCE(unit, '') FROM pg_settings WHERE name IN "
    "('wal_level', 'max_wal_senders', 'maintenance_work_mem', 'max_wal_size', 'checkpoint_timeout') ORDER BY 1";
// Settings changed but waiting for a restart: name, sorted.
inline constexpr const char* kPendingRestart =
    "SELECT CAST(name AS text) FROM pg_settings WHERE pending_restart ORDER BY 1";
// The epoch a promotion recorded (sitekeeper.epoch); empty or NULL when never set.
inline constexpr const char* kServerEpoch = "SELECT current_setting('sitekeeper.epoch', true)";

// Moves sequence "schema"."name" to at least `value` (GREATEST keeps one that is already further
// along where it is); one row, the new value as text. Throws sk::Error when quote_ident rejects a
// name.
std::string resync_serial(std::string_view schema, std::string_view name, std::int64_t value);
// ALTER DATABASE "db" WITH ALLOW_CONNECTIONS true|false. Throws sk::Error when quote_ident rejects
// `db`.
std::string allow_connections(std::string_view db, bool allow);
// Ends every other session on `db`: one boolean row per session, which the fence never reads (the one
// query here whose column is not text). Throws sk::Error for a NUL byte.
std::string end_sessions_on(std::string_view db);
// The database's connection limit (-1: none); no row when it does not exist.
std::string connection_limit_of(std::string_view db);
// ALTER DATABASE "db" WITH ALLOW_CONNECTIONS true CONNECTION LIMIT 0: open to superusers only (the
// limit does not apply to them), which is how a promoted database stays closed to clients until its
// serials are resynced. Throws sk::Error when quote_ident rejects `db`.
std::string open_to_superusers(std::string_view db);
// ALTER DATABASE "db" WITH CONNECTION LIMIT n.
std::string set_connection_limit(std::string_view db, int limit);
// Ends the sessions on `db` of roles that are not superusers (clients, not sitekeeper): one text row
// per session. Throws sk::Error for a NUL byte.
std::string end_client_sessions(std::string_view db);
// How many other sessions `db` still has, as text.
std::string count_sessions_on(std::string_view db);
// synchronous_standby_names naming `standby` (its application_name), or reset when "".
std::string synchronous_standby(std::string_view standby);
// The path of the server's pg_hba.conf, and its text.
inline constexpr const char* kHbaFile = "SELECT current_setting('hba_file')";
std::string read_server_file(std::string_view path);
// Writes `lines` to `path` on the server host, one per line and byte for byte (CSV format with
// control bytes for delimiter and quote, so nothing in a line is escaped). Superuser only.
std::string write_server_file(std::string_view path, const std::vector<std::string>& lines);
// Rules of the loaded pg_hba.conf that failed to parse, as text; none is the only good answer.
inline constexpr const char* kHbaErrors =
    "SELECT CAST(line_number AS text) || ': ' || error FROM pg_hba_file_rules WHERE error IS NOT NULL";
// ALTER DATABASE postgres SET sitekeeper.epoch = '<epoch>': a database setting, not ALTER SYSTEM
// (which refuses custom names), so it lives in the catalog and a standby inherits it.
std::string record_epoch(long epoch);
// One row (1) when physical or logical slot `slot` exists. Throws sk::Error for a NUL byte.
std::string slot_exists(std::string_view slot);
// Creates physical slot `slot`, reserving WAL at once. Throws sk::Error for a NUL byte.
std::string create_physical_slot(std::string_view slot);
// The slot's restart_lsn as text (NULL while unused); no row when it does not exist.
// Throws sk::Error for a NUL byte.
std::string slot_restart_lsn(std::string_view slot);
// The WAL stream's slot: whether a stream is attached ("true"/"false") and its restart_lsn as text
// (NULL while unused); no row when it does not exist. Throws sk::Error for a NUL byte.
std::string wal_stream_slot(std::string_view slot);
// The primary's flushed WAL position: the most a stream can have received.
// The cluster's system identifier: WAL of one system cannot be replayed onto another.
inline constexpr const char* kSystemIdentifier = "SELECT CAST(system_identifier AS text) FROM pg_control_system()";
inline constexpr const char* kCurrentFlushLsn = "SELECT CAST(pg_current_wal_flush_lsn() AS text)";

// The smoke test of a newly promoted server, in this order: a temporary table written and read back
// (one row, "1"), then a transaction id, which a server that cannot write WAL refuses.
inline constexpr const char* kSmokeCreate = "CREATE TEMPORARY TABLE sitekeeper_smoke (at timestamptz)";
inline constexpr const char* kSmokeInsert = "INSERT INTO sitekeeper_smoke VALUES (now())";
inline constexpr const char* kSmokeCount = "SELECT CAST(count(*) AS text) FROM sitekeeper_smoke";
inline constexpr const char* kSmokeTxid = "SELECT CAST(txid_current() AS text)";

// ---- server profile ----------------------------------------------------------------------------------

inline constexpr const char* kExtensions =
    "SELECT CAST(extname AS text), CAST(extversion AS text) FROM pg_extension ORDER BY 1";
// ALTER SYSTEM settings in effect: name, setting.
inline constexpr const char* kAlterSystem =
    "SELECT CAST(name AS text), CAST(setting AS text) FROM pg_file_settings "
    "WHERE sourcefile LIKE '%postgresql.auto.conf' AND applied ORDER BY 1";
// Settings of the connected database and of roles (everywhere or in it): role ('' for none),
// database ('' for every database, else the connected one's name), "name=value".
inline constexpr const char* kDbRoleSettings =
    "SELECT CAST(COALESCE(pg_get_userbyid(NULLIF(s.setrole, 0)), '') AS text), "
    "CAST(CASE WHEN s.setdatabase = 0 THEN '' ELSE current_database() END AS text), CAST(c.cfg AS text) "
    "FROM pg_db_role_setting s, unnest(s.setconfig) AS c(cfg) "
    "WHERE s.setdatabase IN (0, (SELECT oid FROM pg_database WHERE datname = current_database())) "
    "ORDER BY 1, 2, 3";
// pg_hba.conf as the server read it: line, type, databases, users, address, netmask, method, options,
// error (all text, lists comma-separated).
// The three lists again as JSON arrays (databases, users, options), so that names holding a comma or a
// space can be written back exactly.
inline constexpr const char* kHbaRules =
    "SELECT CAST(line_number AS text), CAST(type AS text), CAST(array_to_string(database, ',') AS text), "
    "CAST(array_to_string(user_name, ',') AS text), CAST(address AS text), CAST(netmask AS text), "
    "CAST(auth_method AS text), CAST(array_to_string(options, ',') AS text), CAST(error AS text), "
    "CAST(array_to_json(database) AS text), CAST(array_to_json(user_name) AS text), "
    "CAST(array_to_json(options) AS text) "
    "FROM pg_hba_file_rules ORDER BY line_number";

// ALTER SYSTEM SET "name" = 'value'. Throws sk::Error when quote_ident rejects `name` or `value`
// holds a NUL byte.
std::string alter_system_set(std::string_view name, std::string_view value);
// CREATE EXTENSION IF NOT EXISTS "name". Throws sk::Error when quote_ident rejects `name`.
std::string create_extension(std::string_view name);
// A database or role setting: ALTER DATABASE "db" SET "name" = 'value' when `role` is empty, else
// ALTER ROLE "role" [IN DATABASE "db"] SET "name" = 'value' (IN DATABASE when `in_database`).
// Throws sk::Error when quote_ident rejects a name it uses or `value` holds a NUL byte.
std::string alter_setting(std::string_view db, std::string_view role, bool in_database, std::string_view name,
                          std::string_view value);

// ---- permissions: capture --------------------------------------------------------------------------

// Roles, excluding built-in pg_* roles, the bootstrap superuser and the capturing user: replaying the
// latter two would change the credentials sitekeeper itself connects with. name, superuser,
// inherit, createrole, createdb, login, replication, bypassrls (0/1), connection limit, password
// (NULL when none), valid until (NULL when unlimited).
inline constexpr const char* kRoles =
    "SELECT CAST(rolname AS text), CAST(rolsuper AS integer), CAST(rolinherit AS integer), "
    "CAST(rolcreaterole AS integer), CAST(rolcreatedb AS integer), CAST(rolcanlogin AS integer), "
    "CAST(rolreplication AS integer), CAST(rolbypassrls AS integer), CAST(rolconnlimit AS text), "
    "rolpassword, CAST(rolvaliduntil AS text) "
    "FROM pg_authid WHERE rolname !~ '^pg_' AND oid <> 10 AND rolname <> current_user ORDER BY rolname";
// role, member, admin option (0/1), for members that are not built-in roles or the bootstrap superuser.
inline constexpr const char* kMemberships =
    "SELECT CAST(r.rolname AS text), CAST(m.rolname AS text), CAST(a.admin_option AS integer) "
    "FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.roleid JOIN pg_roles m ON m.oid = a.member "
    "WHERE m.rolname !~ '^pg_' AND m.oid <> 10 ORDER BY 1, 2";
// Database-level grants of the connected database, the owner's own left out: privilege, grantee
// ("PUBLIC" or a role), grantable (0/1).
inline constexpr const char* kDatabaseGrants =
    "SELECT CAST(a.privilege_type AS text), CAST(CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE "
    "pg_get_userbyid(a.grantee) END AS text), CAST(a.is_grantable AS integer) "
    "FROM pg_database d, aclexplode(d.datacl) a WHERE d.datname = current_database() "
    "AND a.grantee <> d.datdba ORDER BY 2, 1";
// Object grants in user schemas (schemas, tables/views/sequences, functions not from extensions), the
// owners' own left out: kind (SCHEMA, TABLE, SEQUENCE, FUNCTION), schema (NULL for a schema), name
// (for a function "name(identity arguments)"), privilege, grantee, grantable (0/1).
inline constexpr const char* kObjectGrants =
    "WITH objs AS ("
    " SELECT 'SCHEMA' AS kind, NULL AS nsp, n.nspname AS name, n.nspacl AS acl, n.nspowner AS owner"
    "   FROM pg_namespace n WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'"
    " UNION ALL"
    " SELECT CASE c.relkind WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, n.nspname, c.relname, c.relacl, c.relowner"
    "   FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    "  WHERE c.relkind IN ('r','v','m','S','f','p') AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'"
    " UNION ALL"
    " SELECT 'FUNCTION', n.nspname, p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')', p.proacl, p.proowner"
    "   FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
    "  WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'"
    "    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')"
    ") SELECT CAST(o.kind AS text), CAST(o.nsp AS text), CAST(o.name AS text), CAST(a.privilege_type AS text),"
    " CAST(CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END AS text),"
    " CAST(a.is_grantable AS integer)"
    " FROM objs o, aclexplode(o.acl) a WHERE a.grantee <> o.owner ORDER BY 1, 2, 3, 5, 4";
// Default privileges: owner, schema (NULL for every schema), object type (r, S, f, T, n), privilege,
// grantee, grantable (0/1).
inline constexpr const char* kDefaultPrivileges =
    "SELECT CAST(pg_get_userbyid(d.defaclrole) AS text), CAST(n.nspname AS text), CAST(d.defaclobjtype AS text),"
    " CAST(a.privilege_type AS text),"
    " CAST(CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END AS text),"
    " CAST(a.is_grantable AS integer)"
    " FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace, aclexplode(d.defaclacl) a"
    " ORDER BY 1, 2, 3, 5, 4";

// ---- permissions: the script -------------------------------------------------------------------------

struct Role {
  std::string name;
  bool superuser = false, inherit = true, createrole = false, createdb = false, login = false,
       replication = false, bypassrls = false;
  int connection_limit = -1;                 // -1: no limit
  std::optional<std::string> password{};     // the stored (hashed) password; none: PASSWORD NULL
  std::optional<std::string> valid_until{};  // none: no VALID UNTIL clause
};
// One row of kDatabaseGrants, kObjectGrants or kDefaultPrivileges, by meaning.
struct Privilege {
  std::string privilege;  // upper-case words: SELECT, CONNECT, ...
  std::string grantee;    // a role name, or PUBLIC (written as the keyword)
  bool grantable = false;
};
struct Membership {
  std::string role;
  std::string member;
  bool admin = false;
};
struct ObjectGrant {
  std::string kind;                   // SCHEMA, TABLE, SEQUENCE or FUNCTION
  std::optional<std::string> schema;  // none for a schema
  std::string name;                   // for a function "name(identity arguments)", as kObjectGrants says
  Privilege grant{};
};
struct DefaultPrivilege {
  std::string owner;
  std::optional<std::string> schema;  // none: every schema
  std::string object_type;            // pg_default_acl.defaclobjtype: r, S, f, T or n
  Privilege grant{};
};
struct CapturedPermissions {
  std::string server;       // for the header only
  std::string database;     // the site database the grants were read in
  std::string captured_at;  // ISO 8601, for the header only
  std::vector<Role> roles;
  std::vector<Membership> memberships;
  std::vector<Privilege> database_grants;
  std::vector<ObjectGrant> object_grants;
  std::vector<DefaultPrivilege> default_privileges;
};

// The line builders below each return one statement of the permission script. They throw sk::Error
// when quote_ident rejects a name, a literal holds a NUL byte, a privilege list is empty or holds
// anything but upper-case words (privileges are spliced in as keywords), or (grant_target) the kind
// is not one kObjectGrants returns or a function name has no argument list.

// CREATE ROLE "name" WITH [NO]SUPERUSER [NO]INHERIT [NO]CREATEROLE [NO]CREATEDB [NO]LOGIN
// [NO]REPLICATION [NO]BYPASSRLS CONNECTION LIMIT n PASSWORD 'hash'|NULL [VALID UNTIL 'time']
std::string create_role_statement(const Role& role);
// GRANT "role" TO "member" [WITH ADMIN OPTION]
std::string grant_role_statement(const Membership& membership);
// What a grant is ON: DATABASE "db".
std::string database_target(std::string_view db);
// What a grant is ON: SCHEMA "name", TABLE|SEQUENCE "schema"."name", or FUNCTION "schema"."fn"(args)
// (the argument list verbatim, as pg_get_function_identity_arguments wrote it).
std::string grant_target(const ObjectGrant& object);
// GRANT p1, p2 ON <target> TO "grantee"|PUBLIC [WITH GRANT OPTION]. `target` is spliced verbatim:
// it must come from database_target or grant_target.
std::string grant_statement(const std::vector<std::string>& privileges, std::string_view target,
                            std::string_view grantee, bool grantable);
// ALTER DEFAULT PRIVILEGES FOR ROLE "owner" [IN SCHEMA "schema"] GRANT p1, p2 ON <objects> TO
// "grantee"|PUBLIC [WITH GRANT OPTION], where objects is TABLES (r), SEQUENCES (S), FUNCTIONS (f),
// TYPES (T) or SCHEMAS (n, and any type PostgreSQL 15 does not have). `d.grant.privilege` is ignored:
// `privileges` is the list.
std::string default_privileges_statement(const DefaultPrivilege& d, const std::vector<std::string>& privileges);

// The whole permission script: a comment header naming server, database and time, then roles,
// memberships, database and object grants (the privileges of one target, grantee and grant option
// folded into one GRANT, sorted by target text), and default privileges (folded likewise). Each
// statement on a line of its own, ending in ';'. Throws what the line builders throw.
std::string permission_script(const CapturedPermissions& captured);

// ---- permissions: undoing a replay -------------------------------------------------------------------

// The state of one role, columns as kRoles; no row when it does not exist. Throws sk::Error for a NUL.
std::string role_state(std::string_view role);
// Memberships in which any of `roles` is the role or the member: role, member, admin option (0/1).
// Throws sk::Error for a NUL byte. REQUIRES: roles is not empty.
std::string memberships_touching(const std::vector<std::string>& roles);
// ALTER ROLE "name" WITH <every attribute of `role`> CONNECTION LIMIT n PASSWORD 'hash'|NULL
// VALID UNTIL 'time'|'infinity': puts a role back exactly as it was.
std::string restore_role_statement(const Role& role);
// REVOKE "role" FROM "member" (ADMIN OPTION FOR only when `admin_only`).
std::string revoke_role_statement(const Membership& membership, bool admin_only = false);
// DROP ROLE IF EXISTS "role".
std::string drop_role(std::string_view role);

// ALTER ROLE "role" <options>, for replaying a CREATE ROLE over a role that already exists.
// `options` is spliced verbatim: it must come from parse_permission_script (sql/permscript.hpp).
// Throws sk::Error when quote_ident rejects `role`.
std::string alter_role(std::string_view role, std::string_view options);

// A physical replica (pg_physical_replica.cpp): 'paused' once recovery stopped at its target.
inline constexpr const char* kReplayPauseState = "SELECT CAST(pg_get_wal_replay_pause_state() AS text)";
// A write any superuser could make on a primary; a hot standby must refuse it.
inline constexpr const char* kPhysicalWriteProbe = "CREATE TABLE sitekeeper_write_probe (id integer)";

}  // namespace sk::sql::pg::q
