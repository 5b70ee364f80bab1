-- standby CM_CEN
BACKUP LOG [CM_CEN] TO DISK = N'/srv/sk archive/2024-05-01 0200 ü/log/CM_CEN.bak' WITH CHECKSUM, INIT
GO
RESTORE LOG [CM_CEN] FROM DISK = N'/srv/sk archive/2024-05-01 0200 ü/log/CM_CEN.bak' WITH NORECOVERY, CHECKSUM
GO
SELECT TOP (1) rh.destination_database_name, CONVERT(nvarchar(33), rh.restore_date, 126) AS restore_date, CONVERT(nvarchar(33), bs.backup_finish_date, 126) AS backup_finish_date, DATEDIFF(SECOND, bs.backup_finish_date, GETDATE()) AS lag_seconds FROM msdb.dbo.restorehistory AS rh JOIN msdb.dbo.backupset AS bs ON bs.backup_set_id = rh.backup_set_id WHERE rh.restore_type = 'L' AND rh.destination_database_name = N'CM_CEN' ORDER BY rh.restore_history_id DESC
GO
RESTORE DATABASE [CM_CEN] WITH RECOVERY
GO
ALTER DATABASE [CM_CEN] SET READ_ONLY WITH ROLLBACK IMMEDIATE
GO
-- standby x'; DROP DATABASE y--
BACKUP LOG [x'; DROP DATABASE y--] TO DISK = N'/srv/sk archive/2024-05-01 0200 ü/log/x''; DROP DATABASE y--.bak' WITH CHECKSUM, INIT
GO
RESTORE LOG [x'; DROP DATABASE y--] FROM DISK = N'/srv/sk archive/2024-05-01 0200 ü/log/x''; DROP DATABASE y--.bak' WITH NORECOVERY, CHECKSUM
GO
SELECT TOP (1) rh.destination_database_name, CONVERT(nvarchar(33), rh.restore_date, 126) AS restore_date, CONVERT(nvarchar(33), bs.backup_finish_date, 126) AS backup_finish_date, DATEDIFF(SECOND, bs.backup_finish_date, GETDATE()) AS lag_seconds FROM msdb.dbo.restorehistory AS rh JOIN msdb.dbo.backupset AS bs ON bs.backup_set_id = rh.backup_set_id WHERE rh.restore_type = 'L' AND rh.destination_database_name = N'x''; DROP DATABASE y--' ORDER BY rh.restore_history_id DESC
GO
RESTORE DATABASE [x'; DROP DATABASE y--] WITH RECOVERY
GO
ALTER DATABASE [x'; DROP DATABASE y--] SET READ_ONLY WITH ROLLBACK IMMEDIATE
GO
-- any database
SELECT TOP (1) rh.destination_database_name, CONVERT(nvarchar(33), rh.restore_date, 126) AS restore_date, CONVERT(nvarchar(33), bs.backup_finish_date, 126) AS backup_finish_date, DATEDIFF(SECOND, bs.backup_finish_date, GETDATE()) AS lag_seconds FROM msdb.dbo.restorehistory AS rh JOIN msdb.dbo.backupset AS bs ON bs.backup_set_id = rh.backup_set_id WHERE rh.restore_type = 'L' ORDER BY rh.restore_history_id DESC
GO
SELECT CAST(SERVERPROPERTY(N'ProductVersion') AS nvarchar(128)) AS version, CAST(SERVERPROPERTY(N'Edition') AS nvarchar(128)) AS edition, (SELECT COUNT(*) FROM sys.databases WHERE database_id > 4 AND state_desc = N'RESTORING') AS restoring, (SELECT COUNT(*) FROM sys.databases WHERE database_id > 4 AND state_desc = N'ONLINE' AND is_read_only = 0) AS writable
GO
