-- where recovery ended
SELECT COALESCE(to_char(pg_last_xact_replay_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), ''), COALESCE(CAST(pg_last_wal_replay_lsn() AS text), ''), CAST(CAST(pg_is_in_recovery() AS integer) AS text)
;
-- recovery settings reset
ALTER SYSTEM RESET "restore_command"
;
ALTER SYSTEM RESET "recovery_target_timeline"
;
ALTER SYSTEM RESET "recovery_target_time"
;
ALTER SYSTEM RESET "recovery_target_lsn"
;
ALTER SYSTEM RESET "recovery_target_action"
;
ALTER SYSTEM RESET "recovery_target_inclusive"
;
