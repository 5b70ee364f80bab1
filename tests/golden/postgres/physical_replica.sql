-- paused at the consistent point
SELECT CAST(pg_is_in_recovery() AS integer)
;
SELECT CAST(pg_get_wal_replay_pause_state() AS text)
;
-- validate
SELECT 1 FROM pg_database WHERE datname = 'CM_CEN'
;
SET TRANSACTION READ ONLY
;
CREATE TABLE sitekeeper_write_probe (id integer)
;
