-- Demo site data: a few thousand rows, identical on every run (no random(), no now()), so that
-- checksums and row counts in the demo and the tests are stable. Load after site_schema.sql:
--   psql -X -v ON_ERROR_STOP=1 -d CM_CEN -f demo/site_data.sql
--
-- Expected counts: sites 4, site_systems 16, resources 2000, collections 12, collection_members 3000,
-- packages 60, advertisements 180, status_messages 5000.

\set ON_ERROR_STOP on
SET client_min_messages = warning;

BEGIN;

INSERT INTO sites (site_code, site_name, parent_site_code, site_server, install_dir, created_at) VALUES
  ('CEN', 'Central site',         NULL,  'cm-cen-01.corp.example', 'D:\Program Files\Microsoft Configuration Manager', '2023-01-02 08:00+00'),
  ('NOR', 'North primary site',   'CEN', 'cm-nor-01.corp.example', 'D:\Program Files\Microsoft Configuration Manager', '2023-01-09 08:00+00'),
  ('SOU', 'South primary site',   'CEN', 'cm-sou-01.corp.example', 'D:\Program Files\Microsoft Configuration Manager', '2023-01-16 08:00+00'),
  ('EAS', 'Est — Zürich & Genève', 'CEN', 'cm-eas-01.corp.example', 'E:\SMS', '2023-02-01 08:00+00');

INSERT INTO site_systems (site_code, server_name, role)
SELECT s.site_code, lower('cm-' || s.site_code || '-0' || r.n || '.corp.example'), r.role
  FROM sites s
 CROSS JOIN (VALUES (1, 'site server'), (1, 'site database server'),
                    (2, 'management point'), (3, 'distribution point')) AS r (n, role)
 ORDER BY s.site_code, r.n, r.role;

INSERT INTO resources (site_code, name, os_name, os_version, client_version, last_heartbeat, is_obsolete)
SELECT (ARRAY['CEN', 'NOR', 'SOU', 'EAS'])[1 + i % 4],
       'PC-' || to_char(i, 'FM00000'),
       (ARRAY['Windows 10 Enterprise', 'Windows 11 Enterprise', 'Windows Server 2019', 'Windows Server 2022'])[1 + (i / 7) % 4],
       (ARRAY['10.0.19045', '10.0.22631', '10.0.17763', '10.0.20348'])[1 + (i / 7) % 4],
       '5.00.' || (9100 + i % 30) || '.1000',
       CASE WHEN i % 97 = 0 THEN NULL
            ELSE timestamptz '2024-06-01 00:00+00' - (i % 240) * interval '1 hour' END,
       i % 250 = 0
  FROM generate_series(1, 2000) AS i
 ORDER BY i;

INSERT INTO collections (collection_id, site_code, name, query)
SELECT 'CEN' || upper(to_hex(65536 + i)),
       'CEN',
       (ARRAY['All Systems', 'All Workstations', 'All Servers', 'Windows 10', 'Windows 11', 'North site',
              'South site', 'Est site', 'Pilot ring', 'Broad ring', 'Finance', 'Help desk'])[i],
       'SELECT resource_id FROM resources /* collection ' || i || ' */'
  FROM generate_series(1, 12) AS i;

INSERT INTO collection_members (collection_id, resource_id)
SELECT c.collection_id, r.resource_id
  FROM (SELECT collection_id, row_number() OVER (ORDER BY collection_id) AS k FROM collections) c
  JOIN (SELECT resource_id, row_number() OVER (ORDER BY resource_id) AS n FROM resources) r
    ON (r.n + c.k) % 8 = 0;

-- package_id comes from the site_serials sequence through the column default.
INSERT INTO packages (site_code, name, version, manufacturer, source_path, source_version, created_at)
SELECT 'CEN',
       (ARRAY['Office', 'Acrobat Reader', 'Browser', 'VPN client', 'Antivirus', 'Help desk console'])[1 + i % 6]
         || ' ' || (i / 6 + 1),
       (2020 + i % 5) || '.' || (i % 12 + 1),
       (ARRAY['Contoso', 'Fabrikam', 'Northwind', 'Tailspin'])[1 + i % 4],
       '\\cm-cen-01\Source$\Packages\Package ' || to_char(i, 'FM000'),
       1 + i % 3,
       timestamptz '2024-01-01 00:00+00' + i * interval '1 day'
  FROM generate_series(0, 59) AS i
 ORDER BY i;

INSERT INTO advertisements (package_id, collection_id, schedule, available_at, expires_at, mandatory)
SELECT p.package_id, c.collection_id,
       (ARRAY['0 2 * * *', '30 19 * * 1-5', '0 12 1 * *'])[1 + (p.n + c.k) % 3],
       timestamptz '2024-02-01 00:00+00' + (p.n * 3 + c.k) * interval '1 hour',
       CASE WHEN c.k % 2 = 0 THEN timestamptz '2024-12-31 00:00+00' END,
       c.k % 3 = 0
  FROM (SELECT package_id, row_number() OVER (ORDER BY package_id) AS n FROM packages) p
  JOIN (SELECT collection_id, row_number() OVER (ORDER BY collection_id) AS k FROM collections) c
    ON (p.n + c.k) % 4 = 0
 ORDER BY p.n, c.k;

INSERT INTO status_messages (site_code, component, message_id, severity, machine_name, resource_id, created_at, message)
SELECT (ARRAY['CEN', 'NOR', 'SOU', 'EAS'])[1 + i % 4],
       (ARRAY['SMS_SITE_BACKUP', 'SMS_DISTRIBUTION_MANAGER', 'SMS_MP_CONTROL_MANAGER', 'SMS_HIERARCHY_MANAGER',
              'SMS_POLICY_PROVIDER'])[1 + i % 5],
       (ARRAY[5035, 2300, 5460, 3306, 5100])[1 + i % 5],
       CASE WHEN i % 50 = 0 THEN 'error' WHEN i % 10 = 0 THEN 'warning' ELSE 'informational' END,
       'CM-' || (ARRAY['CEN', 'NOR', 'SOU', 'EAS'])[1 + i % 4] || '-01',
       CASE WHEN i % 3 = 0 THEN 16777216 + 1 + i % 2000 END,
       timestamptz '2024-05-01 00:00+00' + i * interval '7 minutes',
       'Component status message ' || i || ': ' || md5(i::text)
  FROM generate_series(1, 5000) AS i
 ORDER BY i;

COMMIT;

ANALYZE;
