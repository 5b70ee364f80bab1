#pragma once
// Every SQL text the PostgreSQL engine runs. Rules that keep it transport-neutral:
// - no "::" casts (SOCI's ODBC backend reads ":name" as a bind placeholder): use CAST(x AS text);
// - every column comes back as text;
// - identifiers and literals are spliced in only through quote_ident / quote_literal.
namespace sk::sql::pg::q {

inline constexpr const char* kProbe =
    "SELECT version(), CAST(pg_is_in_recovery() AS integer), current_setting('default_transaction_read_only')";
inline constexpr const char* kServerVersion = "SELECT current_setting('server_version')";
inline constexpr const char* kDatabaseExists = "SELECT 1 FROM pg_database WHERE datname = ";  // + literal

// Roles, excluding built-in pg_* roles, the bootstrap superuser and the capturing user: replaying the
// latter two would change the credentials sitekeeper itself connects with.
inline constexpr const char* kRoles =
    "SELECT CAST(rolname AS text), CAST(rolsuper AS integer), CAST(rolinherit AS integer), "
    "CAST(rolcreaterole AS integer), CAST(rolcreatedb AS integer), CAST(rolcanlogin AS integer), "
    "CAST(rolreplication AS integer), CAST(rolbypassrls AS integer), CAST(rolconnlimit AS text), "
    "rolpassword, CAST(rolvaliduntil AS text) "
    "FROM pg_authid WHERE rolname !~ '^pg_' AND oid <> 10 AND rolname <> current_user ORDER BY rolname";

inline constexpr const char* kMemberships =
    "SELECT CAST(r.rolname AS text), CAST(m.rolname AS text), CAST(a.admin_option AS integer) "
    "FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.roleid JOIN pg_roles m ON m.oid = a.member "
    "WHERE m.rolname !~ '^pg_' AND m.oid <> 10 ORDER BY 1, 2";

// Database-level grants of the site database (connected to it).
inline constexpr const char* kDatabaseGrants =
    "SELECT CAST(a.privilege_type AS text), CAST(CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE "
    "pg_get_userbyid(a.grantee) END AS text), CAST(a.is_grantable AS integer) "
    "FROM pg_database d, aclexplode(d.datacl) a WHERE d.datname = current_database() "
    "AND a.grantee <> d.datdba ORDER BY 2, 1";

// Object grants in user schemas: schemas, tables/views/sequences, functions.
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

inline constexpr const char* kDefaultPrivileges =
    "SELECT CAST(pg_get_userbyid(d.defaclrole) AS text), CAST(n.nspname AS text), CAST(d.defaclobjtype AS text),"
    " CAST(a.privilege_type AS text),"
    " CAST(CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END AS text),"
    " CAST(a.is_grantable AS integer)"
    " FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace, aclexplode(d.defaclacl) a"
    " ORDER BY 1, 2, 3, 5, 4";

inline constexpr const char* kRoleExists = "SELECT 1 FROM pg_roles WHERE rolname = ";  // + literal

// Server profile.
inline constexpr const char* kExtensions =
    "SELECT CAST(extname AS text), CAST(extversion AS text) FROM pg_extension ORDER BY 1";
inline constexpr const char* kAlterSystem =
    "SELECT CAST(name AS text), CAST(setting AS text) FROM pg_file_settings "
    "WHERE sourcefile LIKE '%postgresql.auto.conf' AND applied ORDER BY 1";
inline constexpr const char* kDbRoleSettings =
    "SELECT CAST(COALESCE(pg_get_userbyid(NULLIF(s.setrole, 0)), '') AS text), "
    "CAST(CASE WHEN s.setdatabase = 0 THEN '' ELSE current_database() END AS text), CAST(c.cfg AS text) "
    "FROM pg_db_role_setting s, unnest(s.setconfig) AS c(cfg) "
    "WHERE s.setdatabase IN (0, (SELECT oid FROM pg_database WHERE datname = current_database())) "
    "ORDER BY 1, 2, 3";
inline constexpr const char* kHbaRules =
    "SELECT CAST(line_number AS text), CAST(type AS text), CAST(array_to_string(database, ',') AS text), "
    "CAST(array_to_string(user_name, ',') AS text), CAST(address AS text), CAST(netmask AS text), "
    "CAST(auth_method AS text), CAST(array_to_string(options, ',') AS text), CAST(error AS text) "
    "FROM pg_hba_file_rules ORDER BY line_number";

// Replica duties.
inline constexpr const char* kUserSchemas =
    "SELECT CAST(nspname AS text) FROM pg_namespace WHERE nspname !~ '^pg_' "
    "AND nspname <> 'information_schema' ORDER BY 1";
inline constexpr const char* kUserTables =
    "SELECT CAST(n.nspname AS text), CAST(c.relname AS text) FROM pg_class c "
    "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r','p') "
    "AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema' ORDER BY 1, 2";
// Tables (and sequences) a role may still change, directly or through membership.
inline constexpr const char* kWritableBy =  // + literal role, then kWritableByTail
    "SELECT CAST(n.nspname || '.' || c.relname AS text) FROM pg_class c "
    "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r','p','v','m','f','S') "
    "AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema' AND (";
// Objects owned by a role (an owner can always write, whatever the grants say).
inline constexpr const char* kOwnedBy =  // + literal role + ")"
    "SELECT CAST(n.nspname || '.' || c.relname AS text) FROM pg_class c "
    "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname !~ '^pg_' "
    "AND n.nspname <> 'information_schema' AND pg_has_role(c.relowner, (SELECT oid FROM pg_roles WHERE rolname = ";
inline constexpr const char* kSessionsOn =  // + literal db list + ")"
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND datname IN (";

// Standby duties.
inline constexpr const char* kSequences =
    "SELECT CAST(schemaname AS text), CAST(sequencename AS text), CAST(COALESCE(last_value, start_value) AS text) "
    "FROM pg_sequences WHERE schemaname !~ '^pg_' ORDER BY 1, 2";
inline constexpr const char* kReceiver =
    "SELECT CAST(status AS text), CAST(EXTRACT(EPOCH FROM now() - last_msg_receipt_time) AS text), "
    "CAST(COALESCE(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), 0) AS text), "
    "CAST(COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) AS text) "
    "FROM pg_stat_wal_receiver";

}  // namespace sk::sql::pg::q
