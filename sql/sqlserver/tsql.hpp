#pragma once
// The T-SQL dialect: pure functions that build the exact text sitekeeper sends to SQL Server, one
// function per named operation. Nothing here talks to a server, so every statement is golden-tested
// as text (tests/golden/sqlserver/).
//
// Conventions for every function below:
// - Identifiers are quoted as [name] (']' doubled) and string literals as N'text' ('\'' doubled).
//   Names that cannot be quoted safely are rejected with sk::Error before any text is built, so a
//   caller never receives half a script.
// - A statement list is executed one statement at a time, in order, on one session. Lists that work
//   inside a database start with USE [db] and end with USE [master], so the session never holds a
//   database that a later rename or drop needs exclusively.
// - File paths are paths on the SQL Server host (the archive must be mounted at the same path there).
// Thread-safety: every function is pure and may be called from any thread.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace sk::sql::tsql {

// sysname is nvarchar(128): the limit counts UTF-16 code units, not bytes.
inline constexpr std::size_t kMaxIdentifier = 128;

// ---- quoting -----------------------------------------------------------------------------------

// Returns [name] with ']' doubled.
// Throws sk::Error for an empty name, a NUL or other control character, invalid UTF-8, or more than
// 128 UTF-16 code units (SQL Server would refuse or truncate it).
std::string quote_ident(std::string_view name);
// Returns [schema].[name].
std::string qualified(std::string_view schema, std::string_view name);
// Returns N'text' with '\'' doubled. Throws sk::Error for a NUL byte or invalid UTF-8.
std::string quote_literal(std::string_view text);
// Validates "0x" followed by an even number (>= 2) of hex digits and returns it with upper-case
// digits. Throws sk::Error otherwise: binary values are spliced into text, so they must be checked.
std::string hex_binary(std::string_view hex);

// ---- connection ----------------------------------------------------------------------------------

struct OdbcTarget {
  std::string driver;  // "ODBC Driver 18 for SQL Server"
  std::string host;
  int port = 1433;
  std::string database = "master";
  std::string user;
  std::string password;
  int connect_timeout_s = 15;  // ConnectTimeout (driver 18.7+); older drivers ignore it
};
// DRIVER={…};SERVER=host,port;DATABASE={…};UID={…};PWD={…};ConnectTimeout=n
// Braced values have '}' doubled, so any password survives. The result holds the password: pass it
// through sk::log::redact before it reaches a log. Throws sk::Error for a NUL byte or a host that
// holds ',', ';' or braces.
std::string connection_string(const OdbcTarget& target);

// ---- snapshots -----------------------------------------------------------------------------------

// The backup file name for `db` inside a snapshot folder: "<db>.bak".
// Throws sk::Error when the name cannot be a file name ('/', '\\', NUL, ".", "..").
std::string backup_file_name(std::string_view db);
// BACKUP DATABASE [db] TO DISK = N'file' WITH CHECKSUM, COPY_ONLY, INIT, FORMAT
// COPY_ONLY keeps the nightly snapshot out of the differential/log chain that log shipping relies on.
std::string backup_database(std::string_view db, std::string_view file);
// RESTORE VERIFYONLY FROM DISK = N'file' WITH CHECKSUM
std::string verify_backup(std::string_view file);
// DBCC CHECKDB ([db]) WITH NO_INFOMSGS, ALL_ERRORMSGS — succeeds silently or raises errors.
std::string check_db(std::string_view db);
// RESTORE FILELISTONLY FROM DISK = N'file'. Result columns by position: 0 LogicalName,
// 1 PhysicalName, 2 Type (D data, L log, S filestream, F full-text).
std::string file_list(std::string_view file);
// One data directory and one log directory of the instance (InstanceDefaultDataPath/LogPath), as
// nvarchar; either may be NULL on old versions.
std::string default_paths_query();

struct BackupFile {
  std::string logical_name;
  std::string physical_name;  // as recorded in the backup (informational)
  std::string type;           // "D", "L", "S" or "F"
};
struct RestoreTarget {
  std::string data_dir;  // instance path, with or without a trailing separator
  std::string log_dir;   // empty: data_dir
  // Distinguishes this restore's files from the live copy's, which still exist while staging is
  // restored (the live copy was itself a staging copy once). Letters, digits, '_' and '-' only.
  std::string tag;
};
// The physical file each backup file is moved to: <dir><stem>_<tag>_<n><ext>, where stem is the
// database name with every character outside [A-Za-z0-9_-] replaced by '_' and n counts files from 1; ext is .mdf for the first data
// file, .ndf for later ones, .ldf for logs, none for filestream/full-text folders. The separator is
// '\\' when the directory holds one, else '/'. Throws sk::Error for an empty list, a file type it does
// not know, or a bad tag.
std::vector<std::string> move_targets(std::string_view db, const std::vector<BackupFile>& files,
                                      const RestoreTarget& target);

enum class Recovery { recovery, norecovery };
// RESTORE DATABASE [db] FROM DISK = N'file' WITH MOVE N'logical' TO N'physical', …,
// RECOVERY|NORECOVERY, REPLACE, CHECKSUM
std::string restore_database(std::string_view db, std::string_view file,
                             const std::vector<BackupFile>& files, const RestoreTarget& target,
                             Recovery recovery);
// Drops `db` when it exists (IF EXISTS over sys.databases … DROP DATABASE). An online copy is first
// set SINGLE_USER WITH ROLLBACK IMMEDIATE to end its sessions; a copy left RESTORING by a killed
// restore cannot be altered and is dropped as is.
std::string drop_database(std::string_view db);
// One row, one column: 1 when the database exists, else 0 (exact name match in sys.databases).
std::string database_exists_query(std::string_view db);
// state_desc, is_read_only (0/1), user_access_desc of [db]; no row when it does not exist.
std::string database_state_query(std::string_view db);

// ---- replicas --------------------------------------------------------------------------------------

// Read-only by privilege, then by setting. A copy that is read-only already is first set READ_WRITE
// (so a re-run works). Inside [db]: each reader gets a user for its login when
// missing, DENY INSERT, UPDATE, DELETE, ALTER, EXECUTE and GRANT SELECT at database scope (a DENY at
// database scope beats any object-level GRANT). Then, from master:
// ALTER DATABASE [db] SET READ_ONLY WITH ROLLBACK IMMEDIATE. Grants come first because a read-only
// database refuses permission changes.
std::vector<std::string> make_read_only(std::string_view db, const std::vector<std::string>& readers);

// The write attempt of a replica's validation, run as one reader. The engine executes `enter`, then
// expects `attempt` to fail and `my_writes` to return no rows, and always executes `leave`; when
// `attempt` unexpectedly succeeded it then executes `cleanup`.
struct WriteProbe {
  std::vector<std::string> enter;  // USE [db]; EXECUTE AS USER = N'reader'
  std::string attempt;             // CREATE TABLE [dbo].[sitekeeper_write_probe] …
  std::string my_writes;           // write permissions the impersonated user still holds
  std::vector<std::string> leave;  // REVERT; USE [master]
  std::vector<std::string> cleanup;
};
WriteProbe write_probe(std::string_view db, std::string_view reader);

// Rename-based swap. SQL Server has no atomic rename of two databases, so:
// 1 ALTER DATABASE [live] SET SINGLE_USER WITH ROLLBACK AFTER n SECONDS
// 2 ALTER DATABASE [live] MODIFY NAME = [retired]
// 3 ALTER DATABASE [staging] MODIFY NAME = [live]
// 4 ALTER DATABASE [retired] SET MULTI_USER
// then the caller drops `retired`. REQUIRES: timeout_s >= 1. See swap_undo for failures.
std::vector<std::string> swap_in(std::string_view live, std::string_view staging,
                                 std::string_view retired, int timeout_s);
// What puts the old copy back after step `failed_step` (1-based, as above) of swap_in failed:
// steps 1-2: ALTER DATABASE [live] SET MULTI_USER; step 3: rename [retired] back to [live], then
// MULTI_USER. Step 4 failing needs no undo (the new copy already serves). Throws sk::Error for
// another step number.
std::vector<std::string> swap_undo(std::string_view live, std::string_view retired, int failed_step);

// ---- permissions -----------------------------------------------------------------------------------

// Capture queries. Server scope runs anywhere; database scope uses three-part names into [db].
// Logins: name, type (S SQL, U Windows user, G Windows group), sid_hex, hash_hex (NULL for Windows
// logins), default_database, is_disabled. sa, ##…## and NT … principals are left out: every server
// has its own.
std::string logins_query();
// Server roles created by users (not fixed roles, not public): name.
std::string server_roles_query();
// Server role memberships of the captured logins: role, member.
std::string server_role_members_query();
// Users and roles of [db]: name, type (S, U, G, R), login ('' when none, matched by SID),
// default_schema ('' when none). dbo, guest, sys, INFORMATION_SCHEMA, public and fixed roles are
// left out.
std::string database_principals_query(std::string_view db);
// Role memberships in [db]: role, member (dbo left out).
std::string database_role_members_query(std::string_view db);
// Permissions in [db] at database (class 0), object/column (1) and schema (3) scope, system objects
// left out: state (G, W, D, R), permission, class, schema, object, column, grantee.
std::string database_permissions_query(std::string_view db);

struct Login {
  std::string name;
  std::string type;       // "S", "U" or "G"
  std::string sid_hex;    // 0x…
  std::string hash_hex;   // 0x… for SQL logins
  std::string default_database;
  bool disabled = false;
};
struct Membership {
  std::string role;
  std::string member;
};
struct DbPrincipal {
  std::string name;
  std::string type;  // "S", "U", "G" or "R"
  std::string login;  // empty: none on the source server
  std::string default_schema;
};
struct DbPermission {
  std::string state;       // "G" grant, "W" grant with grant option, "D" deny, "R" revoke
  std::string permission;  // "SELECT", "VIEW DEFINITION", …
  int klass = 0;           // 0 database, 1 object or column, 3 schema
  std::string schema;
  std::string object;
  std::string column;
  std::string grantee;
};
struct CapturedPermissions {
  std::vector<Login> logins;
  std::vector<std::string> server_roles;
  std::vector<Membership> server_role_members;
  std::vector<DbPrincipal> principals;
  std::vector<Membership> role_members;
  std::vector<DbPermission> permissions;
};

// The permission script: comment lines and one statement per line ending in ';'. Server-scope
// statements (logins with SID and password hash, server roles and their members) come first, then
// database-scope ones (roles, users, orphan repair by login, role members, grants), each guarded so a
// replay is idempotent. Throws sk::Error for a value that cannot be spliced safely (bad name, bad hex,
// a permission name that is not upper-case words, a SQL login without a hash).
std::string permission_script(const CapturedPermissions& captured);

enum class Scope { server, database };
struct ScriptStatement {
  Scope scope;
  std::string text;  // one statement, verbatim, with its ';'
};
// Parses a permission script and accepts only the statement shapes permission_script writes, so a
// tampered archive cannot smuggle in anything else (invariant 8). Blank and "--" comment lines are
// skipped. Throws sk::Error naming the line for anything else; nothing is returned then.
std::vector<ScriptStatement> parse_permission_script(std::string_view script);

// ---- server profile --------------------------------------------------------------------------------

// name, value_in_use for "clr enabled" and "clr strict security" (the latter exists from 2017).
std::string configurations_query();
// is_trustworthy_on, is_broker_enabled of [db] as 0/1; no row when it does not exist.
std::string database_flags_query(std::string_view db);
// hash_hex, description of sys.trusted_assemblies (2017+).
std::string trusted_assemblies_query();

struct TrustedAssembly {
  std::string hash_hex;  // SHA-512 of the assembly, 0x…
  std::string description;
};
struct ServerProfile {
  bool clr_enabled = false;
  std::optional<bool> clr_strict_security;  // absent before SQL Server 2017
  bool trustworthy = false;
  bool broker_enabled = false;
  std::vector<TrustedAssembly> trusted_assemblies;
};
// {"engine":"sqlserver","clr_enabled":…,"clr_strict_security":…|null,"trustworthy":…,
//  "broker_enabled":…,"trusted_assemblies":[{"hash":"0x…","description":"…"}]}
nlohmann::json profile_to_json(const ServerProfile& profile);
// Throws sk::Error for a document that is not a sqlserver profile.
ServerProfile profile_from_json(const nlohmann::json& doc);
// Makes the server and [db] match the profile: sp_configure (with show advanced options, since
// clr strict security is advanced) and RECONFIGURE, missing trusted assemblies added, TRUSTWORTHY
// and Service Broker set ON or OFF as captured.
std::vector<std::string> apply_profile(std::string_view db, const ServerProfile& profile);

// ---- standby ------------------------------------------------------------------------------------------

// BACKUP LOG [db] TO DISK = N'file' WITH CHECKSUM, INIT — one log backup per file, so the restore side
// never has to pick a backup set by position.
std::string backup_log(std::string_view db, std::string_view file);
// RESTORE LOG [db] FROM DISK = N'file' WITH NORECOVERY, CHECKSUM
std::string restore_log(std::string_view db, std::string_view file);
// Last log restored on this server (into [db], or any database when db is empty): database,
// restore_date, backup_finish_date (ISO 8601), lag_seconds (now minus the log's finish time).
std::string last_restored_log_query(std::string_view db);
// RESTORE DATABASE [db] WITH RECOVERY
std::string promote(std::string_view db);
// ALTER DATABASE [db] SET READ_ONLY WITH ROLLBACK IMMEDIATE
std::string fence(std::string_view db);
// version, edition, restoring (user databases RESTORING), writable (user databases ONLINE and not
// read-only).
std::string probe_query();

// ---- serials ------------------------------------------------------------------------------------------

// schema, table, last_value of each identity column in [db] (seed minus increment when no row was
// ever inserted, which is "nothing issued yet").
std::string identity_values_query(std::string_view db);
// schema, sequence, current_value of each sequence in [db].
std::string sequence_values_query(std::string_view db);

enum class SerialKind { identity, sequence };
struct Serial {
  SerialKind kind;
  std::string schema;
  std::string name;
  std::int64_t value;  // the highest value to count as issued; the next one handed out is value + 1
};
// USE [db]; DBCC CHECKIDENT (N'[s].[t]', RESEED, value) per identity (the next row gets value +
// increment; a table that never held a row hands out `value` itself, which is still past the
// high-water mark once the caller added serial_headroom); ALTER SEQUENCE [s].[q] RESTART WITH
// value + 1 per sequence; USE [master]. Assumes ascending serials. Throws sk::Error when value + 1
// overflows.
std::vector<std::string> resync_serials(std::string_view db, const std::vector<Serial>& serials);

}  // namespace sk::sql::tsql
