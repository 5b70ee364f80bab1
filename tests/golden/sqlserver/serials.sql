-- read
SELECT s.name AS schema_name, t.name AS table_name, COALESCE(CAST(ic.last_value AS bigint), CAST(ic.seed_value AS bigint) - CAST(ic.increment_value AS bigint)) AS last_value FROM [CM_CEN].sys.identity_columns AS ic JOIN [CM_CEN].sys.tables AS t ON t.object_id = ic.object_id JOIN [CM_CEN].sys.schemas AS s ON s.schema_id = t.schema_id WHERE t.is_ms_shipped = 0 ORDER BY s.name, t.name
GO
SELECT s.name AS schema_name, q.name AS sequence_name, CAST(q.current_value AS bigint) AS current_value FROM [CM_CEN].sys.sequences AS q JOIN [CM_CEN].sys.schemas AS s ON s.schema_id = q.schema_id ORDER BY s.name, q.name
GO
-- resync
USE [Ünïcødé 站点]
GO
DBCC CHECKIDENT (N'[dbo].[Sites]', RESEED, 1041)
GO
DBCC CHECKIDENT (N'[sch ema].[x''; DROP DATABASE y--]', RESEED, -5)
GO
ALTER SEQUENCE [dbo].[a]]b] RESTART WITH 100000
GO
ALTER SEQUENCE [dbo].[SiteNumbers] RESTART WITH 1
GO
USE [master]
GO
