-- capture
SELECT current_setting('server_version')
;
SELECT CAST(extname AS text), CAST(extversion AS text) FROM pg_extension ORDER BY 1
;
SELECT CAST(name AS text), CAST(setting AS text) FROM pg_file_settings WHERE sourcefile LIKE '%postgresql.auto.conf' AND applied ORDER BY 1
;
SELECT CAST(COALESCE(pg_get_userbyid(NULLIF(s.setrole, 0)), '') AS text), CAST(CASE WHEN s.setdatabase = 0 THEN '' ELSE current_database() END AS text), CAST(c.cfg AS text) FROM pg_db_role_setting s, unnest(s.setconfig) AS c(cfg) WHERE s.setdatabase IN (0, (SELECT oid FROM pg_database WHERE datname = current_database())) ORDER BY 1, 2, 3
;
SELECT CAST(line_number AS text), CAST(type AS text), CAST(array_to_string(database, ',') AS text), CAST(array_to_string(user_name, ',') AS text), CAST(address AS text), CAST(netmask AS text), CAST(auth_method AS text), CAST(array_to_string(options, ',') AS text), CAST(error AS text), CAST(array_to_json(database) AS text), CAST(array_to_json(user_name) AS text), CAST(array_to_json(options) AS text) FROM pg_hba_file_rules ORDER BY line_number
;
-- apply: ALTER SYSTEM
ALTER SYSTEM SET "shared_buffers" = '2GB'
;
ALTER SYSTEM SET "log_line_prefix" = '%m [%p] it''s %u@%d '
;
ALTER SYSTEM SET "search_path" = '"$user", public'
;
SELECT CAST(pg_reload_conf() AS text)
;
-- apply: extensions
CREATE EXTENSION IF NOT EXISTS "pg_stat_statements"
;
CREATE EXTENSION IF NOT EXISTS "uuid-ossp"
;
CREATE EXTENSION IF NOT EXISTS "x'; DROP DATABASE y--"
;
-- apply: database and role settings
ALTER DATABASE "CM_CEN" SET "work_mem" = '64MB'
;
ALTER DATABASE "a""b" SET "work_mem" = '64MB'
;
ALTER DATABASE "x'; DROP DATABASE y--" SET "work_mem" = '64MB'
;
ALTER DATABASE "site db with spaces" SET "work_mem" = '64MB'
;
ALTER DATABASE "Ünïcødé 站点" SET "work_mem" = '64MB'
;
ALTER DATABASE """already""""quoted""" SET "work_mem" = '64MB'
;
ALTER DATABASE "CM_CEN" SET "search_path" = 'dbo, ''quoted'''
;
ALTER ROLE "a""b" SET "statement_timeout" = '0'
;
ALTER ROLE "x'; DROP DATABASE y--" IN DATABASE "site db with spaces" SET "lock_timeout" = '5s'
;
ALTER ROLE """already""""quoted""" IN DATABASE "Ünïcødé 站点" SET "work_mem" = '1GB'
;
-- pending restarts
SELECT CAST(name AS text) FROM pg_settings WHERE pending_restart ORDER BY 1
;
