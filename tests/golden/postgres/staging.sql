-- every session
SET standard_conforming_strings = on
;
SET client_min_messages = warning
;
-- probe
SELECT version(), CAST(pg_is_in_recovery() AS integer), current_setting('default_transaction_read_only')
;
SELECT current_setting('server_version')
;
SELECT CAST(pg_is_in_recovery() AS integer)
;
SELECT CAST(pg_backend_pid() AS text)
;
-- staging CM_CEN
SELECT 1 FROM pg_database WHERE datname = 'CM_CEN'
;
DROP DATABASE IF EXISTS "CM_CEN" WITH (FORCE)
;
CREATE DATABASE "CM_CEN" TEMPLATE template0 ENCODING 'UTF8'
;
-- staging a"b
SELECT 1 FROM pg_database WHERE datname = 'a"b'
;
DROP DATABASE IF EXISTS "a""b" WITH (FORCE)
;
CREATE DATABASE "a""b" TEMPLATE template0 ENCODING 'UTF8'
;
-- staging x'; DROP DATABASE y--
SELECT 1 FROM pg_database WHERE datname = 'x''; DROP DATABASE y--'
;
DROP DATABASE IF EXISTS "x'; DROP DATABASE y--" WITH (FORCE)
;
CREATE DATABASE "x'; DROP DATABASE y--" TEMPLATE template0 ENCODING 'UTF8'
;
-- staging site db with spaces
SELECT 1 FROM pg_database WHERE datname = 'site db with spaces'
;
DROP DATABASE IF EXISTS "site db with spaces" WITH (FORCE)
;
CREATE DATABASE "site db with spaces" TEMPLATE template0 ENCODING 'UTF8'
;
-- staging Ünïcødé 站点
SELECT 1 FROM pg_database WHERE datname = 'Ünïcødé 站点'
;
DROP DATABASE IF EXISTS "Ünïcødé 站点" WITH (FORCE)
;
CREATE DATABASE "Ünïcødé 站点" TEMPLATE template0 ENCODING 'UTF8'
;
-- staging "already""quoted"
SELECT 1 FROM pg_database WHERE datname = '"already""quoted"'
;
DROP DATABASE IF EXISTS """already""""quoted""" WITH (FORCE)
;
CREATE DATABASE """already""""quoted""" TEMPLATE template0 ENCODING 'UTF8'
;
