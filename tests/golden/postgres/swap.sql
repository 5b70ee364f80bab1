-- swap CM_CEN
SELECT 1 FROM pg_database WHERE datname = 'CM_CEN'
;
SET statement_timeout = 5000
;
SET lock_timeout = 5000
;
SELECT CAST(pg_backend_pid() AS text)
;
SELECT CAST(pg_terminate_backend(pid) AS text) FROM pg_stat_activity WHERE pid <> 4242 AND pid <> pg_backend_pid() AND datname IN ('CM_CEN', 'CM_CEN__sk_staging')
;
SELECT CAST(pg_stat_clear_snapshot() AS text)
;
SELECT CAST(count(*) AS text) FROM pg_stat_activity WHERE pid <> 4242 AND pid <> pg_backend_pid() AND datname IN ('CM_CEN', 'CM_CEN__sk_staging')
;
ALTER DATABASE "CM_CEN" RENAME TO "CM_CEN__sk_retired"
;
ALTER DATABASE "CM_CEN__sk_staging" RENAME TO "CM_CEN"
;
DROP DATABASE IF EXISTS "CM_CEN__sk_retired" WITH (FORCE)
;
-- swap a"b <- x'; DROP DATABASE y--
SELECT CAST(pg_terminate_backend(pid) AS text) FROM pg_stat_activity WHERE pid <> 4242 AND pid <> pg_backend_pid() AND datname IN ('a"b', 'x''; DROP DATABASE y--')
;
SELECT CAST(count(*) AS text) FROM pg_stat_activity WHERE pid <> 4242 AND pid <> pg_backend_pid() AND datname IN ('a"b', 'x''; DROP DATABASE y--')
;
ALTER DATABASE "a""b" RENAME TO "CM_CEN"
;
ALTER DATABASE "x'; DROP DATABASE y--" RENAME TO "a""b"
;
-- swap x'; DROP DATABASE y-- <- site db with spaces
SELECT CAST(pg_terminate_backend(pid) AS text) FROM pg_stat_activity WHERE pid <> 4242 AND pid <> pg_backend_pid() AND datname IN ('x''; DROP DATABASE y--', 'site db with spaces')
;
SELECT CAST(count(*) AS text) FROM pg_stat_activity WHERE pid <> 4242 AND pid <> pg_backend_pid() AND datname IN ('x''; DROP DATABASE y--', 'site db with spaces')
;
ALTER DATABASE "x'; DROP DATABASE y--" RENAME TO "CM_CEN"
;
ALTER DATABASE "site db with spaces" RENAME TO "x'; DROP DATABASE y--"
;
-- swap site db with spaces <- Ünïcødé 站点
SELECT CAST(pg_terminate_backend(pid) AS text) FROM pg_stat_activity WHERE pid <> 4242 AND pid <> pg_backend_pid() AND datname IN ('site db with spaces', 'Ünïcødé 站点')
;
SELECT CAST(count(*) AS text) FROM pg_stat_activity WHERE pid <> 4242 AND pid <> pg_backend_pid() AND datname IN ('site db with spaces', 'Ünïcødé 站点')
;
ALTER DATABASE "site db with spaces" RENAME TO "CM_CEN"
;
ALTER DATABASE "Ünïcødé 站点" RENAME TO "site db with spaces"
;
-- swap Ünïcødé 站点 <- "already""quoted"
SELECT CAST(pg_terminate_backend(pid) AS text) FROM pg_stat_activity WHERE pid <> 4242 AND pid <> pg_backend_pid() AND datname IN ('Ünïcødé 站点', '"already""quoted"')
;
SELECT CAST(count(*) AS text) FROM pg_stat_activity WHERE pid <> 4242 AND pid <> pg_backend_pid() AND datname IN ('Ünïcødé 站点', '"already""quoted"')
;
ALTER DATABASE "Ünïcødé 站点" RENAME TO "CM_CEN"
;
ALTER DATABASE """already""""quoted""" RENAME TO "Ünïcødé 站点"
;
-- swap "already""quoted" <- CM_CEN
SELECT CAST(pg_terminate_backend(pid) AS text) FROM pg_stat_activity WHERE pid <> 4242 AND pid <> pg_backend_pid() AND datname IN ('"already""quoted"', 'CM_CEN')
;
SELECT CAST(count(*) AS text) FROM pg_stat_activity WHERE pid <> 4242 AND pid <> pg_backend_pid() AND datname IN ('"already""quoted"', 'CM_CEN')
;
ALTER DATABASE """already""""quoted""" RENAME TO "CM_CEN"
;
ALTER DATABASE "CM_CEN" RENAME TO """already""""quoted"""
;
-- no timeout
SET statement_timeout = 0
;
