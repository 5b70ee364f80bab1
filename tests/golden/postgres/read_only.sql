-- CM_CEN, three readers
SELECT 1 FROM pg_roles WHERE rolname = 'helpdesk'
;
SELECT 1 FROM pg_roles WHERE rolname = 'a"b'
;
SELECT 1 FROM pg_roles WHERE rolname = 'Ünïcødé 站点'
;
REVOKE CREATE, TEMPORARY ON DATABASE "CM_CEN" FROM PUBLIC, "helpdesk", "a""b", "Ünïcødé 站点"
;
GRANT CONNECT ON DATABASE "CM_CEN" TO "helpdesk", "a""b", "Ünïcødé 站点"
;
SELECT CAST(nspname AS text) FROM pg_namespace WHERE nspname !~ '^pg_' AND nspname <> 'information_schema' ORDER BY 1
;
-- schema CM_CEN
REVOKE CREATE ON SCHEMA "CM_CEN" FROM PUBLIC, "helpdesk", "a""b", "Ünïcødé 站点"
;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA "CM_CEN" FROM PUBLIC, "helpdesk", "a""b", "Ünïcødé 站点"
;
REVOKE USAGE, UPDATE ON ALL SEQUENCES IN SCHEMA "CM_CEN" FROM PUBLIC, "helpdesk", "a""b", "Ünïcødé 站点"
;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA "CM_CEN" FROM PUBLIC, "helpdesk", "a""b", "Ünïcødé 站点"
;
GRANT USAGE ON SCHEMA "CM_CEN" TO "helpdesk", "a""b", "Ünïcødé 站点"
;
GRANT SELECT ON ALL TABLES IN SCHEMA "CM_CEN" TO "helpdesk", "a""b", "Ünïcødé 站点"
;
GRANT SELECT ON ALL SEQUENCES IN SCHEMA "CM_CEN" TO "helpdesk", "a""b", "Ünïcødé 站点"
;
-- schema a"b
REVOKE CREATE ON SCHEMA "a""b" FROM PUBLIC, "helpdesk", "a""b", "Ünïcødé 站点"
;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA "a""b" FROM PUBLIC, "helpdesk", "a""b", "Ünïcødé 站点"
;
REVOKE USAGE, UPDATE ON ALL SEQUENCES IN SCHEMA "a""b" FROM PUBLIC, "helpdesk", "a""b", "Ünïcødé 站点"
;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA "a""b" FROM PUBLIC, "helpdesk", "a""b", "Ünïcødé 站点"
;
GRANT USAGE ON SCHEMA "a""b" TO "helpdesk", "a""b", "Ünïcødé 站点"
;
GRANT SELECT ON ALL TABLES IN SCHEMA "a""b" TO "helpdesk", "a""b", "Ünïcødé 站点"
;
GRANT SELECT ON ALL SEQUENCES IN SCHEMA "a""b" TO "helpdesk", "a""b", "Ünïcødé 站点"
;
-- schema x'; DROP DATABASE y--
REVOKE CREATE ON SCHEMA "x'; DROP DATABASE y--" FROM PUBLIC, "helpdesk", "a""b", "Ünïcødé 站点"
;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA "x'; DROP DATABASE y--" FROM PUBLIC, "helpdesk", "a""b", "Ünïcødé 站点"
;
REVOKE USAGE, UPDATE ON ALL SEQUENCES IN SCHEMA "x'; DROP DATABASE y--" FROM PUBLIC, "helpdesk", "a""b", "Ünïcødé 站点"
;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA "x'; DROP DATABASE y--" FROM PUBLIC, "helpdesk", "a""b", "Ünïcødé 站点"
;
GRANT USAGE ON SCHEMA "x'; DROP DATABASE y--" TO "helpdesk", "a""b", "Ünïcødé 站点"
;
GRANT SELECT ON ALL TABLES IN SCHEMA "x'; DROP DATABASE y--" TO "helpdesk", "a""b", "Ünïcødé 站点"
;
GRANT SELECT ON ALL SEQUENCES IN SCHEMA "x'; DROP DATABASE y--" TO "helpdesk", "a""b", "Ünïcødé 站点"
;
-- schema site db with spaces
REVOKE CREATE ON SCHEMA "site db with spaces" FROM PUBLIC, "helpdesk", "a""b", "Ünïcødé 站点"
;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA "site db with spaces" FROM PUBLIC, "helpdesk", "a""b", "Ünïcødé 站点"
;
REVOKE USAGE, UPDATE ON ALL SEQUENCES IN SCHEMA "site db with spaces" FROM PUBLIC, "helpdesk", "a""b", "Ünïcødé 站点"
;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA "site db with spaces" FROM PUBLIC, "helpdesk", "a""b", "Ünïcødé 站点"
;
GRANT USAGE ON SCHEMA "site db with spaces" TO "helpdesk", "a""b", "Ünïcødé 站点"
;
GRANT SELECT ON ALL TABLES IN SCHEMA "site db with spaces" TO "helpdesk", "a""b", "Ünïcødé 站点"
;
GRANT SELECT ON ALL SEQUENCES IN SCHEMA "site db with spaces" TO "helpdesk", "a""b", "Ünïcødé 站点"
;
-- schema Ünïcødé 站点
REVOKE CREATE ON SCHEMA "Ünïcødé 站点" FROM PUBLIC, "helpdesk", "a""b", "Ünïcødé 站点"
;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA "Ünïcødé 站点" FROM PUBLIC, "helpdesk", "a""b", "Ünïcødé 站点"
;
REVOKE USAGE, UPDATE ON ALL SEQUENCES IN SCHEMA "Ünïcødé 站点" FROM PUBLIC, "helpdesk", "a""b", "Ünïcødé 站点"
;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA "Ünïcødé 站点" FROM PUBLIC, "helpdesk", "a""b", "Ünïcødé 站点"
;
GRANT USAGE ON SCHEMA "Ünïcødé 站点" TO "helpdesk", "a""b", "Ünïcødé 站点"
;
GRANT SELECT ON ALL TABLES IN SCHEMA "Ünïcødé 站点" TO "helpdesk", "a""b", "Ünïcødé 站点"
;
GRANT SELECT ON ALL SEQUENCES IN SCHEMA "Ünïcødé 站点" TO "helpdesk", "a""b", "Ünïcødé 站点"
;
-- schema "already""quoted"
REVOKE CREATE ON SCHEMA """already""""quoted""" FROM PUBLIC, "helpdesk", "a""b", "Ünïcødé 站点"
;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA """already""""quoted""" FROM PUBLIC, "helpdesk", "a""b", "Ünïcødé 站点"
;
REVOKE USAGE, UPDATE ON ALL SEQUENCES IN SCHEMA """already""""quoted""" FROM PUBLIC, "helpdesk", "a""b", "Ünïcødé 站点"
;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA """already""""quoted""" FROM PUBLIC, "helpdesk", "a""b", "Ünïcødé 站点"
;
GRANT USAGE ON SCHEMA """already""""quoted""" TO "helpdesk", "a""b", "Ünïcødé 站点"
;
GRANT SELECT ON ALL TABLES IN SCHEMA """already""""quoted""" TO "helpdesk", "a""b", "Ünïcødé 站点"
;
GRANT SELECT ON ALL SEQUENCES IN SCHEMA """already""""quoted""" TO "helpdesk", "a""b", "Ünïcødé 站点"
;
-- default
ALTER DATABASE "CM_CEN" SET default_transaction_read_only = on
;
-- lifted when the replica becomes the active
ALTER DATABASE "CM_CEN" RESET default_transaction_read_only
;
-- x'; DROP DATABASE y--, no readers
REVOKE CREATE, TEMPORARY ON DATABASE "x'; DROP DATABASE y--" FROM PUBLIC
;
SELECT CAST(nspname AS text) FROM pg_namespace WHERE nspname !~ '^pg_' AND nspname <> 'information_schema' ORDER BY 1
;
-- schema public
REVOKE CREATE ON SCHEMA "public" FROM PUBLIC
;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA "public" FROM PUBLIC
;
REVOKE USAGE, UPDATE ON ALL SEQUENCES IN SCHEMA "public" FROM PUBLIC
;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA "public" FROM PUBLIC
;
-- schema a"b
REVOKE CREATE ON SCHEMA "a""b" FROM PUBLIC
;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA "a""b" FROM PUBLIC
;
REVOKE USAGE, UPDATE ON ALL SEQUENCES IN SCHEMA "a""b" FROM PUBLIC
;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA "a""b" FROM PUBLIC
;
-- default
ALTER DATABASE "x'; DROP DATABASE y--" SET default_transaction_read_only = on
;
-- lifted when the replica becomes the active
ALTER DATABASE "x'; DROP DATABASE y--" RESET default_transaction_read_only
;
