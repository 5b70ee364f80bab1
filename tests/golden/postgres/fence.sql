-- fence CM_CEN
SELECT 1 FROM pg_database WHERE datname = 'CM_CEN'
;
ALTER DATABASE "CM_CEN" WITH ALLOW_CONNECTIONS false
;
ALTER SYSTEM SET default_transaction_read_only = on
;
SELECT CAST(pg_reload_conf() AS text)
;
SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND datname IN ('CM_CEN')
;
-- unfence CM_CEN
ALTER SYSTEM RESET default_transaction_read_only
;
SELECT CAST(pg_reload_conf() AS text)
;
SELECT CAST(pg_is_in_recovery() AS integer)
;
SELECT 1 FROM pg_database WHERE datname = 'CM_CEN'
;
ALTER DATABASE "CM_CEN" WITH ALLOW_CONNECTIONS true
;
-- fence and unfence a"b
ALTER DATABASE "a""b" WITH ALLOW_CONNECTIONS false
;
SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND datname IN ('a"b')
;
ALTER DATABASE "a""b" WITH ALLOW_CONNECTIONS true
;
-- fence and unfence x'; DROP DATABASE y--
ALTER DATABASE "x'; DROP DATABASE y--" WITH ALLOW_CONNECTIONS false
;
SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND datname IN ('x''; DROP DATABASE y--')
;
ALTER DATABASE "x'; DROP DATABASE y--" WITH ALLOW_CONNECTIONS true
;
-- fence and unfence site db with spaces
ALTER DATABASE "site db with spaces" WITH ALLOW_CONNECTIONS false
;
SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND datname IN ('site db with spaces')
;
ALTER DATABASE "site db with spaces" WITH ALLOW_CONNECTIONS true
;
-- fence and unfence Ünïcødé 站点
ALTER DATABASE "Ünïcødé 站点" WITH ALLOW_CONNECTIONS false
;
SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND datname IN ('Ünïcødé 站点')
;
ALTER DATABASE "Ünïcødé 站点" WITH ALLOW_CONNECTIONS true
;
-- fence and unfence "already""quoted"
ALTER DATABASE """already""""quoted""" WITH ALLOW_CONNECTIONS false
;
SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND datname IN ('"already""quoted"')
;
ALTER DATABASE """already""""quoted""" WITH ALLOW_CONNECTIONS true
;
