-- each smoke query
SET TRANSACTION READ ONLY
;
-- tables, then write attempts run read-write
SELECT CAST(n.nspname AS text), CAST(c.relname AS text) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r','p') AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema' ORDER BY 1, 2
;
SET default_transaction_read_only = off
;
-- reader helpdesk
SELECT CAST(n.nspname || '.' || c.relname AS text) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema' AND ((c.relkind IN ('r','p','v','m','f') AND has_table_privilege('helpdesk', c.oid, 'INSERT,UPDATE,DELETE,TRUNCATE,REFERENCES,TRIGGER')) OR (c.relkind = 'S' AND has_sequence_privilege('helpdesk', c.oid, 'USAGE,UPDATE')) OR pg_has_role('helpdesk', c.relowner, 'USAGE')) ORDER BY 1 LIMIT 5
;
SET LOCAL ROLE "helpdesk"
;
-- reader x'; DROP DATABASE y--
SELECT CAST(n.nspname || '.' || c.relname AS text) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema' AND ((c.relkind IN ('r','p','v','m','f') AND has_table_privilege('x''; DROP DATABASE y--', c.oid, 'INSERT,UPDATE,DELETE,TRUNCATE,REFERENCES,TRIGGER')) OR (c.relkind = 'S' AND has_sequence_privilege('x''; DROP DATABASE y--', c.oid, 'USAGE,UPDATE')) OR pg_has_role('x''; DROP DATABASE y--', c.relowner, 'USAGE')) ORDER BY 1 LIMIT 5
;
SET LOCAL ROLE "x'; DROP DATABASE y--"
;
-- write attempts, no table
CREATE TABLE public.sk_write_probe (x integer)
;
CREATE TEMPORARY TABLE sk_write_probe (x integer)
;
-- write attempts, the first table
CREATE TABLE public.sk_write_probe (x integer)
;
CREATE TEMPORARY TABLE sk_write_probe (x integer)
;
INSERT INTO "dbo"."Sites" DEFAULT VALUES
;
-- insert attempt and read probe, CM_CEN
INSERT INTO "CM_CEN"."CM_CEN table" DEFAULT VALUES
;
SELECT 1 FROM "CM_CEN"."CM_CEN table" LIMIT 0
;
-- insert attempt and read probe, a"b
INSERT INTO "a""b"."a""b table" DEFAULT VALUES
;
SELECT 1 FROM "a""b"."a""b table" LIMIT 0
;
-- insert attempt and read probe, x'; DROP DATABASE y--
INSERT INTO "x'; DROP DATABASE y--"."x'; DROP DATABASE y-- table" DEFAULT VALUES
;
SELECT 1 FROM "x'; DROP DATABASE y--"."x'; DROP DATABASE y-- table" LIMIT 0
;
-- insert attempt and read probe, site db with spaces
INSERT INTO "site db with spaces"."site db with spaces table" DEFAULT VALUES
;
SELECT 1 FROM "site db with spaces"."site db with spaces table" LIMIT 0
;
-- insert attempt and read probe, Ünïcødé 站点
INSERT INTO "Ünïcødé 站点"."Ünïcødé 站点 table" DEFAULT VALUES
;
SELECT 1 FROM "Ünïcødé 站点"."Ünïcødé 站点 table" LIMIT 0
;
-- insert attempt and read probe, "already""quoted"
INSERT INTO """already""""quoted"""."""already""""quoted"" table" DEFAULT VALUES
;
SELECT 1 FROM """already""""quoted"""."""already""""quoted"" table" LIMIT 0
;
