-- capture
SELECT CAST(rolname AS text), CAST(rolsuper AS integer), CAST(rolinherit AS integer), CAST(rolcreaterole AS integer), CAST(rolcreatedb AS integer), CAST(rolcanlogin AS integer), CAST(rolreplication AS integer), CAST(rolbypassrls AS integer), CAST(rolconnlimit AS text), rolpassword, CAST(rolvaliduntil AS text) FROM pg_authid WHERE rolname !~ '^pg_' AND oid <> 10 AND rolname <> current_user ORDER BY rolname
;
SELECT CAST(r.rolname AS text), CAST(m.rolname AS text), CAST(a.admin_option AS integer) FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.roleid JOIN pg_roles m ON m.oid = a.member WHERE m.rolname !~ '^pg_' AND m.oid <> 10 ORDER BY 1, 2
;
SELECT CAST(a.privilege_type AS text), CAST(CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END AS text), CAST(a.is_grantable AS integer) FROM pg_database d, aclexplode(d.datacl) a WHERE d.datname = current_database() AND a.grantee <> d.datdba ORDER BY 2, 1
;
WITH objs AS ( SELECT 'SCHEMA' AS kind, NULL AS nsp, n.nspname AS name, n.nspacl AS acl, n.nspowner AS owner   FROM pg_namespace n WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema' UNION ALL SELECT CASE c.relkind WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, n.nspname, c.relname, c.relacl, c.relowner   FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace  WHERE c.relkind IN ('r','v','m','S','f','p') AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema' UNION ALL SELECT 'FUNCTION', n.nspname, p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')', p.proacl, p.proowner   FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace  WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')) SELECT CAST(o.kind AS text), CAST(o.nsp AS text), CAST(o.name AS text), CAST(a.privilege_type AS text), CAST(CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END AS text), CAST(a.is_grantable AS integer) FROM objs o, aclexplode(o.acl) a WHERE a.grantee <> o.owner ORDER BY 1, 2, 3, 5, 4
;
SELECT CAST(pg_get_userbyid(d.defaclrole) AS text), CAST(n.nspname AS text), CAST(d.defaclobjtype AS text), CAST(a.privilege_type AS text), CAST(CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END AS text), CAST(a.is_grantable AS integer) FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace, aclexplode(d.defaclacl) a ORDER BY 1, 2, 3, 5, 4
;
-- replay
SELECT 1 FROM pg_roles WHERE rolname = 'CM_CEN'
;
ALTER ROLE "CM_CEN" WITH NOSUPERUSER LOGIN PASSWORD NULL
;
SELECT 1 FROM pg_roles WHERE rolname = 'a"b'
;
ALTER ROLE "a""b" WITH NOSUPERUSER LOGIN PASSWORD NULL
;
SELECT 1 FROM pg_roles WHERE rolname = 'x''; DROP DATABASE y--'
;
ALTER ROLE "x'; DROP DATABASE y--" WITH NOSUPERUSER LOGIN PASSWORD NULL
;
SELECT 1 FROM pg_roles WHERE rolname = 'site db with spaces'
;
ALTER ROLE "site db with spaces" WITH NOSUPERUSER LOGIN PASSWORD NULL
;
SELECT 1 FROM pg_roles WHERE rolname = 'Ünïcødé 站点'
;
ALTER ROLE "Ünïcødé 站点" WITH NOSUPERUSER LOGIN PASSWORD NULL
;
SELECT 1 FROM pg_roles WHERE rolname = '"already""quoted"'
;
ALTER ROLE """already""""quoted""" WITH NOSUPERUSER LOGIN PASSWORD NULL
;
