-- who sitekeeper is
SELECT CAST(current_user AS text)
;
SELECT CAST(rolname AS text) FROM pg_roles WHERE oid = 10
;
-- a reader's attributes beyond reading, and host-reaching memberships
SELECT CAST(a AS text) FROM pg_roles, LATERAL (VALUES ('SUPERUSER', rolsuper), ('CREATEROLE', rolcreaterole), ('CREATEDB', rolcreatedb), ('REPLICATION', rolreplication), ('BYPASSRLS', rolbypassrls)) AS v(a, held) WHERE rolname = 'helpdesk' AND held ORDER BY 1
;
SELECT CAST(rolname AS text) FROM pg_roles WHERE rolname IN ('pg_execute_server_program', 'pg_read_server_files', 'pg_write_server_files', 'pg_signal_backend', 'pg_write_all_data', 'pg_checkpoint', 'pg_create_subscription') AND pg_has_role('helpdesk', oid, 'MEMBER') ORDER BY 1
;
SELECT CAST(a AS text) FROM pg_roles, LATERAL (VALUES ('SUPERUSER', rolsuper), ('CREATEROLE', rolcreaterole), ('CREATEDB', rolcreatedb), ('REPLICATION', rolreplication), ('BYPASSRLS', rolbypassrls)) AS v(a, held) WHERE rolname = 'a"b' AND held ORDER BY 1
;
SELECT CAST(rolname AS text) FROM pg_roles WHERE rolname IN ('pg_execute_server_program', 'pg_read_server_files', 'pg_write_server_files', 'pg_signal_backend', 'pg_write_all_data', 'pg_checkpoint', 'pg_create_subscription') AND pg_has_role('a"b', oid, 'MEMBER') ORDER BY 1
;
SELECT CAST(a AS text) FROM pg_roles, LATERAL (VALUES ('SUPERUSER', rolsuper), ('CREATEROLE', rolcreaterole), ('CREATEDB', rolcreatedb), ('REPLICATION', rolreplication), ('BYPASSRLS', rolbypassrls)) AS v(a, held) WHERE rolname = 'Ünïcødé 站点' AND held ORDER BY 1
;
SELECT CAST(rolname AS text) FROM pg_roles WHERE rolname IN ('pg_execute_server_program', 'pg_read_server_files', 'pg_write_server_files', 'pg_signal_backend', 'pg_write_all_data', 'pg_checkpoint', 'pg_create_subscription') AND pg_has_role('Ünïcødé 站点', oid, 'MEMBER') ORDER BY 1
;
-- state before a replay
SELECT CAST(rolname AS text), CAST(rolsuper AS integer), CAST(rolinherit AS integer), CAST(rolcreaterole AS integer), CAST(rolcreatedb AS integer), CAST(rolcanlogin AS integer), CAST(rolreplication AS integer), CAST(rolbypassrls AS integer), CAST(rolconnlimit AS text), rolpassword, CAST(rolvaliduntil AS text) FROM pg_authid WHERE rolname = 'CM_CEN'
;
SELECT CAST(rolname AS text), CAST(rolsuper AS integer), CAST(rolinherit AS integer), CAST(rolcreaterole AS integer), CAST(rolcreatedb AS integer), CAST(rolcanlogin AS integer), CAST(rolreplication AS integer), CAST(rolbypassrls AS integer), CAST(rolconnlimit AS text), rolpassword, CAST(rolvaliduntil AS text) FROM pg_authid WHERE rolname = 'a"b'
;
SELECT CAST(rolname AS text), CAST(rolsuper AS integer), CAST(rolinherit AS integer), CAST(rolcreaterole AS integer), CAST(rolcreatedb AS integer), CAST(rolcanlogin AS integer), CAST(rolreplication AS integer), CAST(rolbypassrls AS integer), CAST(rolconnlimit AS text), rolpassword, CAST(rolvaliduntil AS text) FROM pg_authid WHERE rolname = 'x''; DROP DATABASE y--'
;
SELECT CAST(rolname AS text), CAST(rolsuper AS integer), CAST(rolinherit AS integer), CAST(rolcreaterole AS integer), CAST(rolcreatedb AS integer), CAST(rolcanlogin AS integer), CAST(rolreplication AS integer), CAST(rolbypassrls AS integer), CAST(rolconnlimit AS text), rolpassword, CAST(rolvaliduntil AS text) FROM pg_authid WHERE rolname = 'site db with spaces'
;
SELECT CAST(rolname AS text), CAST(rolsuper AS integer), CAST(rolinherit AS integer), CAST(rolcreaterole AS integer), CAST(rolcreatedb AS integer), CAST(rolcanlogin AS integer), CAST(rolreplication AS integer), CAST(rolbypassrls AS integer), CAST(rolconnlimit AS text), rolpassword, CAST(rolvaliduntil AS text) FROM pg_authid WHERE rolname = 'Ünïcødé 站点'
;
SELECT CAST(rolname AS text), CAST(rolsuper AS integer), CAST(rolinherit AS integer), CAST(rolcreaterole AS integer), CAST(rolcreatedb AS integer), CAST(rolcanlogin AS integer), CAST(rolreplication AS integer), CAST(rolbypassrls AS integer), CAST(rolconnlimit AS text), rolpassword, CAST(rolvaliduntil AS text) FROM pg_authid WHERE rolname = '"already""quoted"'
;
SELECT CAST(r.rolname AS text), CAST(m.rolname AS text), CAST(a.admin_option AS integer) FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.roleid JOIN pg_roles m ON m.oid = a.member WHERE r.rolname IN ('CM_CEN', 'a"b', 'x''; DROP DATABASE y--', 'site db with spaces', 'Ünïcødé 站点', '"already""quoted"') OR m.rolname IN ('CM_CEN', 'a"b', 'x''; DROP DATABASE y--', 'site db with spaces', 'Ünïcødé 站点', '"already""quoted"') ORDER BY 1, 2
;
-- undo
ALTER ROLE "x'; DROP DATABASE y--" WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB LOGIN NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 3 PASSWORD 'SCRAM-SHA-256$4096:it''s$a:hash' VALID UNTIL 'infinity'
;
ALTER ROLE "Ünïcødé 站点" WITH SUPERUSER INHERIT NOCREATEROLE NOCREATEDB LOGIN NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 3 PASSWORD NULL VALID UNTIL '2030-01-01 00:00:00+00'
;
REVOKE "CM_CEN" FROM "helpdesk"
;
REVOKE ADMIN OPTION FOR "site_admin" FROM "CM_CEN"
;
DROP ROLE IF EXISTS "CM_CEN"
;
REVOKE "a""b" FROM "helpdesk"
;
REVOKE ADMIN OPTION FOR "site_admin" FROM "a""b"
;
DROP ROLE IF EXISTS "a""b"
;
REVOKE "x'; DROP DATABASE y--" FROM "helpdesk"
;
REVOKE ADMIN OPTION FOR "site_admin" FROM "x'; DROP DATABASE y--"
;
DROP ROLE IF EXISTS "x'; DROP DATABASE y--"
;
REVOKE "site db with spaces" FROM "helpdesk"
;
REVOKE ADMIN OPTION FOR "site_admin" FROM "site db with spaces"
;
DROP ROLE IF EXISTS "site db with spaces"
;
REVOKE "Ünïcødé 站点" FROM "helpdesk"
;
REVOKE ADMIN OPTION FOR "site_admin" FROM "Ünïcødé 站点"
;
DROP ROLE IF EXISTS "Ünïcødé 站点"
;
REVOKE """already""""quoted""" FROM "helpdesk"
;
REVOKE ADMIN OPTION FOR "site_admin" FROM """already""""quoted"""
;
DROP ROLE IF EXISTS """already""""quoted"""
;
