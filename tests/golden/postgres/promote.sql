-- promote
ALTER SYSTEM SET wal_retrieve_retry_interval = '20ms'
;
SELECT CAST(pg_is_in_recovery() AS integer)
;
SELECT CAST(pg_promote(false) AS integer)
;
SELECT CAST(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END AS text)
;
ALTER SYSTEM RESET wal_retrieve_retry_interval
;
-- smoke test
SET default_transaction_read_only = off
;
CREATE TEMPORARY TABLE sitekeeper_smoke (at timestamptz)
;
INSERT INTO sitekeeper_smoke VALUES (now())
;
SELECT CAST(count(*) AS text) FROM sitekeeper_smoke
;
SELECT CAST(txid_current() AS text)
;
-- epoch
SELECT current_setting('sitekeeper.epoch', true)
;
ALTER DATABASE postgres SET sitekeeper.epoch = '0'
;
ALTER DATABASE postgres SET sitekeeper.epoch = '42'
;
ALTER DATABASE postgres SET sitekeeper.epoch = '-1'
;
-- checkpoint
CHECKPOINT
;
