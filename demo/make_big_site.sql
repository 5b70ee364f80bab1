-- A big site database for benchmarks: :rows status messages (default 100000) with a text payload,
-- plus :rows/100 extra managed computers. Measured: about 520 bytes per row including indexes
-- (200000 rows -> 99 MB in 6 s), so rows = 1100000 gives a database of at least 500 MB.
-- Load site_schema.sql (site_data.sql is optional) into the database first, then:
--   psql -X -v ON_ERROR_STOP=1 -v rows=1100000 -d CM_BIG -f demo/make_big_site.sql
-- Deterministic like site_data.sql, and can be run again to grow the database further.

\set ON_ERROR_STOP on
\if :{?rows}
\else
  \set rows 100000
\endif
SET client_min_messages = warning;

-- Sites may be absent when site_data.sql was not loaded.
INSERT INTO sites (site_code, site_name, parent_site_code, site_server, install_dir, created_at) VALUES
  ('CEN', 'Central site',       NULL,  'cm-cen-01.corp.example', 'D:\SMS', '2023-01-02 08:00+00'),
  ('NOR', 'North primary site', 'CEN', 'cm-nor-01.corp.example', 'D:\SMS', '2023-01-09 08:00+00')
ON CONFLICT (site_code) DO NOTHING;

SELECT coalesce(max(record_id), 0) AS base_record,
       (SELECT count(*) FROM resources) AS base_resources
  FROM status_messages \gset

BEGIN;

INSERT INTO resources (site_code, name, os_name, os_version, client_version, last_heartbeat)
SELECT (ARRAY['CEN', 'NOR'])[1 + i % 2],
       'BIG-PC-' || to_char(:base_resources + i, 'FM0000000'),
       (ARRAY['Windows 10 Enterprise', 'Windows 11 Enterprise'])[1 + i % 2],
       (ARRAY['10.0.19045', '10.0.22631'])[1 + i % 2],
       '5.00.9122.1000',
       timestamptz '2024-06-01 00:00+00' - (i % 500) * interval '1 hour'
  FROM generate_series(1, greatest(:rows / 100, 1)) AS i;

-- Payload: four md5 strings (128 chars) plus prose, ~300 bytes per row; md5 keeps it incompressible
-- enough that TOAST compression does not make the database smaller than asked for.
INSERT INTO status_messages (site_code, component, message_id, severity, machine_name, created_at, message)
SELECT (ARRAY['CEN', 'NOR'])[1 + n % 2],
       (ARRAY['SMS_SITE_BACKUP', 'SMS_DISTRIBUTION_MANAGER', 'SMS_MP_CONTROL_MANAGER', 'SMS_HIERARCHY_MANAGER',
              'SMS_POLICY_PROVIDER', 'SMS_INVENTORY_DATA_LOADER', 'SMS_STATE_SYSTEM'])[1 + n % 7],
       4000 + n % 1500,
       CASE WHEN n % 50 = 0 THEN 'error' WHEN n % 10 = 0 THEN 'warning' ELSE 'informational' END,
       'CM-' || (ARRAY['CEN', 'NOR'])[1 + n % 2] || '-' || to_char(1 + n % 40, 'FM00'),
       timestamptz '2024-01-01 00:00+00' + n * interval '3 seconds',
       'Component ' || (n % 7) || ' reported status ' || n || ' on its schedule; details follow. '
         || md5(n::text) || md5((n + 1)::text) || ' ' || md5((n * 7)::text) || md5((n * 13)::text)
         || ' The component will retry at the next polling interval.'
  FROM generate_series(:base_record + 1, :base_record + :rows) AS n;

COMMIT;

ANALYZE resources;
ANALYZE status_messages;

SELECT pg_size_pretty(pg_database_size(current_database())) AS database_size,
       (SELECT count(*) FROM status_messages) AS status_messages;
