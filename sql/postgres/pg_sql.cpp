#include "sql/postgres/pg_sql.hpp"

#include <map>
#include <tuple>

#include "core/error.hpp"
#include "core/text.hpp"
#include "sql/ident.hpp"

namespace sk::sql::pg::q {

namespace {

// From PUBLIC and from every reader too: a reader may hold grants of its own.
std::string revoke_from_everyone(const std::string& privileges_on, const std::vector<std::string>& readers) {
  std::string out = "REVOKE " + privileges_on + " FROM PUBLIC";
  for (const auto& r : readers) out += ", " + quote_ident(r);
  return out;
}

std::string grant_to_readers(const std::string& privileges_on, const std::vector<std::string>& readers) {
  if (readers.empty()) throw Error("no reader to grant to");
  std::vector<std::string> quoted;
  for (const auto& r : readers) quoted.push_back(quote_ident(r));
  return "GRANT " + privileges_on + " TO " + join_list(quoted);
}

std::string grantee(std::string_view g) { return g == "PUBLIC" ? std::string(g) : quote_ident(g); }

std::string qualified(std::string_view schema, std::string_view name) {
  return quote_ident(schema) + "." + quote_ident(name);
}

// Privilege names are keywords spliced in as they are, so they must be keywords.
std::string privilege_list(const std::vector<std::string>& privileges) {
  if (privileges.empty()) throw Error("grant names no privilege");
  for (const auto& p : privileges) {
    bool ok = !p.empty() && p.front() != ' ' && p.back() != ' ';
    for (size_t i = 0; ok && i < p.size(); ++i)
      ok = (p[i] >= 'A' && p[i] <= 'Z') || (p[i] == ' ' && p[i - 1] != ' ');
    if (!ok) throw Error("privilege '" + p + "' is not upper-case words");
  }
  return join_list(privileges);
}

std::string with_grant_option(bool grantable) { return grantable ? " WITH GRANT OPTION" : ""; }

const char* default_acl_kind(std::string_view t) {
  if (t == "r") return "TABLES";
  if (t == "S") return "SEQUENCES";
  if (t == "f") return "FUNCTIONS";
  if (t == "T") return "TYPES";
  return "SCHEMAS";
}

std::string default_acl_scope(const DefaultPrivilege& d) {
  return "FOR ROLE " + quote_ident(d.owner) + (d.schema ? " IN SCHEMA " + quote_ident(*d.schema) : std::string());
}

std::string sessions_on_copies(long keep, const std::vector<std::string>& dbs) {
  std::string in;
  for (const auto& d : dbs) in += (in.empty() ? "" : ", ") + quote_literal(d);
  return "FROM pg_stat_activity WHERE pid <> " + std::to_string(keep) + " AND pid <> pg_backend_pid() AND " +
         "datname IN (" + (in.empty() ? "NULL" : in) + ")";
}

}  // namespace

// ---- sessions and probes ---------------------------------------------------------------------------

std::string database_exists(std::string_view db) {
  return "SELECT 1 FROM pg_database WHERE datname = " + quote_literal(db);
}

std::string role_exists(std::string_view role) { return "SELECT 1 FROM pg_roles WHERE rolname = " + quote_literal(role); }

// ---- snapshots -------------------------------------------------------------------------------------

std::string drop_database(std::string_view db) { return "DROP DATABASE IF EXISTS " + quote_ident(db) + " WITH (FORCE)"; }

std::string create_staging_database(std::string_view db) {
  return "CREATE DATABASE " + quote_ident(db) + " TEMPLATE template0 ENCODING 'UTF8'";
}

// ---- replicas: read-only by privilege ------------------------------------------------------------

std::string revoke_database_writes(std::string_view db, const std::vector<std::string>& readers) {
  return revoke_from_everyone("CREATE, TEMPORARY ON DATABASE " + quote_ident(db), readers);
}

std::string grant_connect(std::string_view db, const std::vector<std::string>& readers) {
  return grant_to_readers("CONNECT ON DATABASE " + quote_ident(db), readers);
}

std::string revoke_schema_create(std::string_view nsp, const std::vector<std::string>& readers) {
  return revoke_from_everyone("CREATE ON SCHEMA " + quote_ident(nsp), readers);
}

std::string revoke_table_writes(std::string_view nsp, const std::vector<std::string>& readers) {
  return revoke_from_everyone(
      "INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA " + quote_ident(nsp), readers);
}

std::string revoke_sequence_use(std::string_view nsp, const std::vector<std::string>& readers) {
  return revoke_from_everyone("USAGE, UPDATE ON ALL SEQUENCES IN SCHEMA " + quote_ident(nsp), readers);
}

std::string revoke_function_execute(std::string_view nsp, const std::vector<std::string>& readers) {
  return revoke_from_everyone("EXECUTE ON ALL FUNCTIONS IN SCHEMA " + quote_ident(nsp), readers);
}

std::string grant_schema_usage(std::string_view nsp, const std::vector<std::string>& readers) {
  return grant_to_readers("USAGE ON SCHEMA " + quote_ident(nsp), readers);
}

std::string grant_table_select(std::string_view nsp, const std::vector<std::string>& readers) {
  return grant_to_readers("SELECT ON ALL TABLES IN SCHEMA " + quote_ident(nsp), readers);
}

std::string grant_sequence_select(std::string_view nsp, const std::vector<std::string>& readers) {
  return grant_to_readers("SELECT ON ALL SEQUENCES IN SCHEMA " + quote_ident(nsp), readers);
}

std::string set_read_only_default(std::string_view db) {
  return "ALTER DATABASE " + quote_ident(db) + " SET default_transaction_read_only = on";
}
std::string reset_read_only_default(std::string_view db) {
  return "ALTER DATABASE " + quote_ident(db) + " RESET default_transaction_read_only";
}

// ---- replicas: validation ----------------------------------------------------------------------------

std::string writable_by(std::string_view reader) {
  const std::string lit = quote_literal(reader);
  return "SELECT CAST(n.nspname || '.' || c.relname AS text) FROM pg_class c JOIN pg_namespace n ON "
         "n.oid = c.relnamespace WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema' AND ("
         "(c.relkind IN ('r','p','v','m','f') AND has_table_privilege(" + lit + ", c.oid, "
         "'INSERT,UPDATE,DELETE,TRUNCATE,REFERENCES,TRIGGER')) OR (c.relkind = 'S' AND "
         "has_sequence_privilege(" + lit + ", c.oid, 'USAGE,UPDATE')) OR pg_has_role(" + lit +
         ", c.relowner, 'USAGE')) ORDER BY 1 LIMIT 5";
}

std::string set_local_role(std::string_view reader) { return "SET LOCAL ROLE " + quote_ident(reader); }

std::vector<std::string> write_attempts(const std::optional<Relation>& table) {
  std::vector<std::string> attempts = {"CREATE TABLE public.sk_write_probe (x integer)",
                                       "CREATE TEMPORARY TABLE sk_write_probe (x integer)"};
  if (table) attempts.push_back("INSERT INTO " + qualified(table->schema, table->name) + " DEFAULT VALUES");
  return attempts;
}

std::string read_probe(const Relation& table) { return "SELECT 1 FROM " + qualified(table.schema, table.name) + " LIMIT 0"; }

// ---- replicas: swap --------------------------------------------------------------------------------

std::string set_statement_timeout(std::chrono::milliseconds timeout) {
  return "SET statement_timeout = " + std::to_string(timeout.count());
}

std::string set_lock_timeout(std::chrono::milliseconds timeout) {
  return "SET lock_timeout = " + std::to_string(timeout.count());
}

std::string end_copy_sessions(long keep, const std::vector<std::string>& dbs) {
  return "SELECT CAST(pg_terminate_backend(pid) AS text) " + sessions_on_copies(keep, dbs);
}

std::string count_copy_sessions(long keep, const std::vector<std::string>& dbs) {
  return "SELECT CAST(count(*) AS text) " + sessions_on_copies(keep, dbs);
}

std::string rename_database(std::string_view from, std::string_view to) {
  return "ALTER DATABASE " + quote_ident(from) + " RENAME TO " + quote_ident(to);
}

// ---- standby and failover ----------------------------------------------------------------------------

std::string resync_serial(std::string_view schema, std::string_view name, std::int64_t value) {
  return "SELECT CAST(setval(" + quote_literal(qualified(schema, name)) + ", GREATEST(" + std::to_string(value) +
         ", (SELECT COALESCE(last_value, start_value) FROM pg_sequences WHERE schemaname = " + quote_literal(schema) +
         " AND sequencename = " + quote_literal(name) + ")), true) AS text)";
}

std::string allow_connections(std::string_view db, bool allow) {
  return "ALTER DATABASE " + quote_ident(db) + " WITH ALLOW_CONNECTIONS " + (allow ? "true" : "false");
}

std::string end_sessions_on(std::string_view db) {
  return "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND datname IN (" +
         quote_literal(db) + ")";
}

std::string record_epoch(long epoch) {
  return "ALTER DATABASE postgres SET sitekeeper.epoch = " + quote_literal(std::to_string(epoch));
}

std::string slot_exists(std::string_view slot) {
  return "SELECT 1 FROM pg_replication_slots WHERE slot_name = " + quote_literal(slot);
}

std::string reset_setting(std::string_view name) { return "ALTER SYSTEM RESET " + quote_ident(name); }

std::string create_physical_slot(std::string_view slot) {
  return "SELECT CAST(pg_create_physical_replication_slot(" + quote_literal(slot) + ", true) AS text)";
}

std::string slot_restart_lsn(std::string_view slot) {
  return "SELECT CAST(restart_lsn AS text) FROM pg_replication_slots WHERE slot_name = " + quote_literal(slot);
}

std::string wal_stream_slot(std::string_view slot) {
  return "SELECT CAST(active AS text), CAST(restart_lsn AS text) FROM pg_replication_slots WHERE slot_name = " +
         quote_literal(slot);
}

// ---- server profile ----------------------------------------------------------------------------------

std::string alter_system_set(std::string_view name, std::string_view value) {
  return "ALTER SYSTEM SET " + quote_ident(name) + " = " + quote_literal(value);
}

std::string create_extension(std::string_view name) { return "CREATE EXTENSION IF NOT EXISTS " + quote_ident(name); }

std::string alter_setting(std::string_view db, std::string_view role, bool in_database, std::string_view name,
                          std::string_view value) {
  std::string target = role.empty() ? "DATABASE " + quote_ident(db) : "ROLE " + quote_ident(role);
  if (!role.empty() && in_database) target += " IN DATABASE " + quote_ident(db);
  return "ALTER " + target + " SET " + quote_ident(name) + " = " + quote_literal(value);
}

// ---- permissions: the script -------------------------------------------------------------------------

std::string create_role_statement(const Role& r) {
  auto flag = [](bool on, const char* yes, const char* no) { return std::string(on ? yes : no); };
  std::string out = "CREATE ROLE " + quote_ident(r.name) + " WITH " + flag(r.superuser, "SUPERUSER", "NOSUPERUSER") +
                    " " + flag(r.inherit, "INHERIT", "NOINHERIT") + " " +
                    flag(r.createrole, "CREATEROLE", "NOCREATEROLE") + " " + flag(r.createdb, "CREATEDB", "NOCREATEDB") +
                    " " + flag(r.login, "LOGIN", "NOLOGIN") + " " + flag(r.replication, "REPLICATION", "NOREPLICATION") +
                    " " + flag(r.bypassrls, "BYPASSRLS", "NOBYPASSRLS") + " CONNECTION LIMIT " +
                    std::to_string(r.connection_limit) + " PASSWORD " +
                    (r.password ? quote_literal(*r.password) : std::string("NULL"));
  if (r.valid_until) out += " VALID UNTIL " + quote_literal(*r.valid_until);
  return out;
}

std::string grant_role_statement(const Membership& m) {
  return "GRANT " + quote_ident(m.role) + " TO " + quote_ident(m.member) + (m.admin ? " WITH ADMIN OPTION" : "");
}

std::string database_target(std::string_view db) { return "DATABASE " + quote_ident(db); }

std::string grant_target(const ObjectGrant& o) {
  if (o.kind == "SCHEMA") return "SCHEMA " + quote_ident(o.name);
  if (o.kind == "FUNCTION") {
    const auto paren = o.name.find('(');
    if (paren == std::string::npos) throw Error("function " + o.name + " has no argument list");
    return "FUNCTION " + qualified(o.schema.value_or(""), o.name.substr(0, paren)) + o.name.substr(paren);
  }
  if (o.kind != "TABLE" && o.kind != "SEQUENCE") throw Error("grant on an unknown kind of object: " + o.kind);
  return o.kind + " " + qualified(o.schema.value_or(""), o.name);
}

std::string grant_statement(const std::vector<std::string>& privileges, std::string_view target,
                            std::string_view to, bool grantable) {
  return "GRANT " + privilege_list(privileges) + " ON " + std::string(target) + " TO " + grantee(to) +
         with_grant_option(grantable);
}

std::string default_privileges_statement(const DefaultPrivilege& d, const std::vector<std::string>& privileges) {
  return "ALTER DEFAULT PRIVILEGES " + default_acl_scope(d) + " GRANT " + privilege_list(privileges) + " ON " +
         default_acl_kind(d.object_type) + " TO " + grantee(d.grant.grantee) + with_grant_option(d.grant.grantable);
}

std::string permission_script(const CapturedPermissions& c) {
  std::string out = "-- sitekeeper permission script\n-- server " + c.server + ", database " + c.database +
                    ", captured " + c.captured_at +
                    "\n-- Replay accepts only CREATE/ALTER ROLE, GRANT, REVOKE and ALTER DEFAULT PRIVILEGES.\n"
                    "-- The bootstrap superuser and the capturing user are left out on purpose.\n\n-- roles\n";
  for (const auto& r : c.roles) out += create_role_statement(r) + ";\n";
  out += "\n-- memberships\n";
  for (const auto& m : c.memberships) out += grant_role_statement(m) + ";\n";

  // One GRANT per target, grantee and grant option, ordered by the target's text.
  using GrantKey = std::tuple<std::string, std::string, bool>;
  std::map<GrantKey, std::vector<std::string>> grants;
  for (const auto& g : c.database_grants)
    grants[GrantKey{database_target(c.database), g.grantee, g.grantable}].push_back(g.privilege);
  for (const auto& o : c.object_grants)
    grants[GrantKey{grant_target(o), o.grant.grantee, o.grant.grantable}].push_back(o.grant.privilege);
  out += "\n-- database and object grants\n";
  for (const auto& [k, privs] : grants)
    out += grant_statement(privs, std::get<0>(k), std::get<1>(k), std::get<2>(k)) + ";\n";

  // Likewise per scope (FOR ROLE ... [IN SCHEMA ...]) and object kind. A scope that is a prefix of
  // another sorts first, as it would in the statement's text.
  out += "\n-- default privileges\n";
  using DefaultKey = std::tuple<std::string, std::string, std::string, bool>;
  std::map<DefaultKey, std::pair<const DefaultPrivilege*, std::vector<std::string>>> defaults;
  for (const auto& d : c.default_privileges) {
    auto& slot = defaults[DefaultKey{default_acl_scope(d), default_acl_kind(d.object_type), d.grant.grantee,
                                     d.grant.grantable}];
    if (!slot.first) slot.first = &d;
    slot.second.push_back(d.grant.privilege);
  }
  for (const auto& [k, group] : defaults) out += default_privileges_statement(*group.first, group.second) + ";\n";
  return out;
}

std::string connection_limit_of(std::string_view db) {
  return "SELECT CAST(datconnlimit AS text) FROM pg_database WHERE datname = " + quote_literal(db);
}

std::string open_to_superusers(std::string_view db) {
  return "ALTER DATABASE " + quote_ident(db) + " WITH ALLOW_CONNECTIONS true CONNECTION LIMIT 0";
}

std::string set_connection_limit(std::string_view db, int limit) {
  return "ALTER DATABASE " + quote_ident(db) + " WITH CONNECTION LIMIT " + std::to_string(limit);
}

std::string end_client_sessions(std::string_view db) {
  return "SELECT CAST(pg_terminate_backend(a.pid) AS text) FROM pg_stat_activity a JOIN pg_roles r "
         "ON r.oid = a.usesysid WHERE a.datname = " + quote_literal(db) +
         " AND a.pid <> pg_backend_pid() AND NOT r.rolsuper";
}

std::string count_sessions_on(std::string_view db) {
  return "SELECT CAST(count(*) AS text) FROM pg_stat_activity WHERE datname = " + quote_literal(db) +
         " AND pid <> pg_backend_pid()";
}

std::string synchronous_standby(std::string_view standby) {
  if (standby.empty()) return "ALTER SYSTEM RESET synchronous_standby_names";
  return alter_system_set("synchronous_standby_names", quote_ident(standby));
}

std::string read_server_file(std::string_view path) { return "SELECT pg_read_file(" + quote_literal(path) + ")"; }

std::string write_server_file(std::string_view path, const std::vector<std::string>& lines) {
  std::string array;
  for (const auto& l : lines) array += (array.empty() ? "" : ", ") + quote_literal(l);
  return "COPY (SELECT unnest(CAST(ARRAY[" + array + "] AS text[]))) TO " + quote_literal(path) +
         " WITH (FORMAT csv, DELIMITER E'\\x01', QUOTE E'\\x02')";
}

std::string role_state(std::string_view role) {
  std::string q = kRoles;
  return q.substr(0, q.find(" WHERE ")) + " WHERE rolname = " + quote_literal(role);
}

std::string memberships_touching(const std::vector<std::string>& roles) {
  std::string list;
  for (const auto& r : roles) list += (list.empty() ? "" : ", ") + quote_literal(r);
  return "SELECT CAST(r.rolname AS text), CAST(m.rolname AS text), CAST(a.admin_option AS integer) "
         "FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.roleid JOIN pg_roles m ON m.oid = a.member "
         "WHERE r.rolname IN (" + list + ") OR m.rolname IN (" + list + ") ORDER BY 1, 2";
}

std::string restore_role_statement(const Role& role) {
  Role r = role;
  if (!r.valid_until) r.valid_until = "infinity";
  const std::string create = create_role_statement(r);
  // "CREATE ROLE "name" WITH ..." -> "ALTER ROLE "name" WITH ...": the attribute list is the same.
  return "ALTER" + create.substr(std::string("CREATE").size());
}

std::string revoke_role_statement(const Membership& m, bool admin_only) {
  return std::string("REVOKE ") + (admin_only ? "ADMIN OPTION FOR " : "") + quote_ident(m.role) + " FROM " +
         quote_ident(m.member);
}

std::string drop_role(std::string_view role) { return "DROP ROLE IF EXISTS " + quote_ident(role); }

std::string elevated_attributes_of(std::string_view reader) {
  const std::string lit = quote_literal(reader);
  return "SELECT CAST(a AS text) FROM pg_roles, LATERAL (VALUES ('SUPERUSER', rolsuper), ('CREATEROLE', rolcreaterole), "
         "('CREATEDB', rolcreatedb), ('REPLICATION', rolreplication), ('BYPASSRLS', rolbypassrls)) AS v(a, held) "
         "WHERE rolname = " + lit + " AND held ORDER BY 1";
}

std::string memberships_reaching(std::string_view reader, const std::vector<std::string>& roles) {
  std::string list;
  for (const auto& r : roles) list += (list.empty() ? "" : ", ") + quote_literal(r);
  return "SELECT CAST(rolname AS text) FROM pg_roles WHERE rolname IN (" + list + ") AND pg_has_role(" +
         quote_literal(reader) + ", oid, 'MEMBER') ORDER BY 1";
}

std::string alter_role(std::string_view role, std::string_view options) {
  return "ALTER ROLE " + quote_ident(role) + " " + std::string(options);
}

}  // namespace sk::sql::pg::q
