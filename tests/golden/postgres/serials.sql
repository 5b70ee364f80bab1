-- read
SELECT CAST(schemaname AS text), CAST(sequencename AS text), CAST(COALESCE(last_value, start_value) AS text) FROM pg_sequences WHERE schemaname !~ '^pg_' ORDER BY 1, 2
;
-- resync
SELECT CAST(setval('"CM_CEN"."CM_CEN_id_seq"', GREATEST(1041, (SELECT COALESCE(last_value, start_value) FROM pg_sequences WHERE schemaname = 'CM_CEN' AND sequencename = 'CM_CEN_id_seq')), true) AS text)
;
SELECT CAST(setval('"a""b"."a""b_id_seq"', GREATEST(1041, (SELECT COALESCE(last_value, start_value) FROM pg_sequences WHERE schemaname = 'a"b' AND sequencename = 'a"b_id_seq')), true) AS text)
;
SELECT CAST(setval('"x''; DROP DATABASE y--"."x''; DROP DATABASE y--_id_seq"', GREATEST(1041, (SELECT COALESCE(last_value, start_value) FROM pg_sequences WHERE schemaname = 'x''; DROP DATABASE y--' AND sequencename = 'x''; DROP DATABASE y--_id_seq')), true) AS text)
;
SELECT CAST(setval('"site db with spaces"."site db with spaces_id_seq"', GREATEST(1041, (SELECT COALESCE(last_value, start_value) FROM pg_sequences WHERE schemaname = 'site db with spaces' AND sequencename = 'site db with spaces_id_seq')), true) AS text)
;
SELECT CAST(setval('"Ünïcødé 站点"."Ünïcødé 站点_id_seq"', GREATEST(1041, (SELECT COALESCE(last_value, start_value) FROM pg_sequences WHERE schemaname = 'Ünïcødé 站点' AND sequencename = 'Ünïcødé 站点_id_seq')), true) AS text)
;
SELECT CAST(setval('"""already""""quoted"""."""already""""quoted""_id_seq"', GREATEST(1041, (SELECT COALESCE(last_value, start_value) FROM pg_sequences WHERE schemaname = '"already""quoted"' AND sequencename = '"already""quoted"_id_seq')), true) AS text)
;
-- limits
SELECT CAST(setval('"public"."big"', GREATEST(9223372036854775807, (SELECT COALESCE(last_value, start_value) FROM pg_sequences WHERE schemaname = 'public' AND sequencename = 'big')), true) AS text)
;
SELECT CAST(setval('"public"."small"', GREATEST(-9223372036854775808, (SELECT COALESCE(last_value, start_value) FROM pg_sequences WHERE schemaname = 'public' AND sequencename = 'small')), true) AS text)
;
