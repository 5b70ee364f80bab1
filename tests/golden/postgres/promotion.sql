-- promotion of CM_CEN
SELECT CAST(datconnlimit AS text) FROM pg_database WHERE datname = 'CM_CEN'
;
ALTER DATABASE "CM_CEN" WITH ALLOW_CONNECTIONS true CONNECTION LIMIT 0
;
SELECT CAST(pg_terminate_backend(a.pid) AS text) FROM pg_stat_activity a JOIN pg_roles r ON r.oid = a.usesysid WHERE a.datname = 'CM_CEN' AND a.pid <> pg_backend_pid() AND NOT r.rolsuper
;
ALTER DATABASE "CM_CEN" WITH CONNECTION LIMIT -1
;
ALTER DATABASE "CM_CEN" WITH CONNECTION LIMIT 25
;
SELECT CAST(count(*) AS text) FROM pg_stat_activity WHERE datname = 'CM_CEN' AND pid <> pg_backend_pid()
;
ALTER SYSTEM SET "synchronous_standby_names" = '"CM_CEN"'
;
-- promotion of a"b
SELECT CAST(datconnlimit AS text) FROM pg_database WHERE datname = 'a"b'
;
ALTER DATABASE "a""b" WITH ALLOW_CONNECTIONS true CONNECTION LIMIT 0
;
SELECT CAST(pg_terminate_backend(a.pid) AS text) FROM pg_stat_activity a JOIN pg_roles r ON r.oid = a.usesysid WHERE a.datname = 'a"b' AND a.pid <> pg_backend_pid() AND NOT r.rolsuper
;
ALTER DATABASE "a""b" WITH CONNECTION LIMIT -1
;
ALTER DATABASE "a""b" WITH CONNECTION LIMIT 25
;
SELECT CAST(count(*) AS text) FROM pg_stat_activity WHERE datname = 'a"b' AND pid <> pg_backend_pid()
;
ALTER SYSTEM SET "synchronous_standby_names" = '"a""b"'
;
-- promotion of x'; DROP DATABASE y--
SELECT CAST(datconnlimit AS text) FROM pg_database WHERE datname = 'x''; DROP DATABASE y--'
;
ALTER DATABASE "x'; DROP DATABASE y--" WITH ALLOW_CONNECTIONS true CONNECTION LIMIT 0
;
SELECT CAST(pg_terminate_backend(a.pid) AS text) FROM pg_stat_activity a JOIN pg_roles r ON r.oid = a.usesysid WHERE a.datname = 'x''; DROP DATABASE y--' AND a.pid <> pg_backend_pid() AND NOT r.rolsuper
;
ALTER DATABASE "x'; DROP DATABASE y--" WITH CONNECTION LIMIT -1
;
ALTER DATABASE "x'; DROP DATABASE y--" WITH CONNECTION LIMIT 25
;
SELECT CAST(count(*) AS text) FROM pg_stat_activity WHERE datname = 'x''; DROP DATABASE y--' AND pid <> pg_backend_pid()
;
ALTER SYSTEM SET "synchronous_standby_names" = '"x''; DROP DATABASE y--"'
;
-- promotion of site db with spaces
SELECT CAST(datconnlimit AS text) FROM pg_database WHERE datname = 'site db with spaces'
;
ALTER DATABASE "site db with spaces" WITH ALLOW_CONNECTIONS true CONNECTION LIMIT 0
;
SELECT CAST(pg_terminate_backend(a.pid) AS text) FROM pg_stat_activity a JOIN pg_roles r ON r.oid = a.usesysid WHERE a.datname = 'site db with spaces' AND a.pid <> pg_backend_pid() AND NOT r.rolsuper
;
ALTER DATABASE "site db with spaces" WITH CONNECTION LIMIT -1
;
ALTER DATABASE "site db with spaces" WITH CONNECTION LIMIT 25
;
SELECT CAST(count(*) AS text) FROM pg_stat_activity WHERE datname = 'site db with spaces' AND pid <> pg_backend_pid()
;
ALTER SYSTEM SET "synchronous_standby_names" = '"site db with spaces"'
;
-- promotion of Ünïcødé 站点
SELECT CAST(datconnlimit AS text) FROM pg_database WHERE datname = 'Ünïcødé 站点'
;
ALTER DATABASE "Ünïcødé 站点" WITH ALLOW_CONNECTIONS true CONNECTION LIMIT 0
;
SELECT CAST(pg_terminate_backend(a.pid) AS text) FROM pg_stat_activity a JOIN pg_roles r ON r.oid = a.usesysid WHERE a.datname = 'Ünïcødé 站点' AND a.pid <> pg_backend_pid() AND NOT r.rolsuper
;
ALTER DATABASE "Ünïcødé 站点" WITH CONNECTION LIMIT -1
;
ALTER DATABASE "Ünïcødé 站点" WITH CONNECTION LIMIT 25
;
SELECT CAST(count(*) AS text) FROM pg_stat_activity WHERE datname = 'Ünïcødé 站点' AND pid <> pg_backend_pid()
;
ALTER SYSTEM SET "synchronous_standby_names" = '"Ünïcødé 站点"'
;
-- promotion of "already""quoted"
SELECT CAST(datconnlimit AS text) FROM pg_database WHERE datname = '"already""quoted"'
;
ALTER DATABASE """already""""quoted""" WITH ALLOW_CONNECTIONS true CONNECTION LIMIT 0
;
SELECT CAST(pg_terminate_backend(a.pid) AS text) FROM pg_stat_activity a JOIN pg_roles r ON r.oid = a.usesysid WHERE a.datname = '"already""quoted"' AND a.pid <> pg_backend_pid() AND NOT r.rolsuper
;
ALTER DATABASE """already""""quoted""" WITH CONNECTION LIMIT -1
;
ALTER DATABASE """already""""quoted""" WITH CONNECTION LIMIT 25
;
SELECT CAST(count(*) AS text) FROM pg_stat_activity WHERE datname = '"already""quoted"' AND pid <> pg_backend_pid()
;
ALTER SYSTEM SET "synchronous_standby_names" = '"""already""""quoted"""'
;
-- no synchronous standby
ALTER SYSTEM RESET synchronous_standby_names
;
-- replay age
SELECT CAST(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) AS text)
;
-- pg_hba.conf
SELECT current_setting('hba_file')
;
SELECT pg_read_file('/etc/postgresql/15/main/pg_hba.conf')
;
COPY (SELECT unnest(CAST(ARRAY['local all all peer', 'host "CM CEN",x all 10.0.0.0 255.0.0.0 scram-sha-256', 'host all all 127.0.0.1/32 ldap ldapserver=a ldapprefix="cn="'] AS text[]))) TO '/var/lib/postgresql/it''s here/pg_hba.conf' WITH (FORMAT csv, DELIMITER E'\x01', QUOTE E'\x02')
;
COPY (SELECT unnest(CAST(ARRAY[] AS text[]))) TO '/tmp/empty' WITH (FORMAT csv, DELIMITER E'\x01', QUOTE E'\x02')
;
SELECT CAST(line_number AS text) || ': ' || error FROM pg_hba_file_rules WHERE error IS NOT NULL
;
