-- receiver
SELECT CAST(status AS text), CAST(EXTRACT(EPOCH FROM now() - last_msg_receipt_time) AS text), CAST(COALESCE(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), 0) AS text), CAST(CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END AS text), CAST((SELECT setting FROM pg_settings WHERE name = 'wal_receiver_timeout') AS text) FROM pg_stat_wal_receiver
;
-- slot sitekeeper_site_b
SELECT 1 FROM pg_replication_slots WHERE slot_name = 'sitekeeper_site_b'
;
SELECT CAST(pg_create_physical_replication_slot('sitekeeper_site_b', true) AS text)
;
SELECT CAST(restart_lsn AS text) FROM pg_replication_slots WHERE slot_name = 'sitekeeper_site_b'
;
-- slot x'; DROP DATABASE y--
SELECT 1 FROM pg_replication_slots WHERE slot_name = 'x''; DROP DATABASE y--'
;
SELECT CAST(pg_create_physical_replication_slot('x''; DROP DATABASE y--', true) AS text)
;
SELECT CAST(restart_lsn AS text) FROM pg_replication_slots WHERE slot_name = 'x''; DROP DATABASE y--'
;
