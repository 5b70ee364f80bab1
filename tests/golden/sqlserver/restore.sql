-- file list
RESTORE FILELISTONLY FROM DISK = N'/srv/sk archive/2024-05-01 0200 ü/CM_CEN.bak'
GO
SELECT CAST(SERVERPROPERTY(N'InstanceDefaultDataPath') AS nvarchar(4000)) AS data_path, CAST(SERVERPROPERTY(N'InstanceDefaultLogPath') AS nvarchar(4000)) AS log_path
GO
-- staging CM_CEN
IF EXISTS (SELECT 1 FROM sys.databases WHERE name = N'CM_CEN')
BEGIN
  IF EXISTS (SELECT 1 FROM sys.databases WHERE name = N'CM_CEN' AND state_desc = N'ONLINE') ALTER DATABASE [CM_CEN] SET SINGLE_USER WITH ROLLBACK IMMEDIATE;
  DROP DATABASE [CM_CEN];
END
GO
RESTORE DATABASE [CM_CEN] FROM DISK = N'/srv/sk archive/2024-05-01 0200 ü/CM_CEN.bak' WITH MOVE N'CM_CEN' TO N'C:\Program Files\Microsoft SQL Server\MSSQL16.MSSQLSERVER\MSSQL\DATA\CM_CEN_20240501T020000_1.mdf', MOVE N'CM_CEN_2' TO N'C:\Program Files\Microsoft SQL Server\MSSQL16.MSSQLSERVER\MSSQL\DATA\CM_CEN_20240501T020000_2.ndf', MOVE N'CM_CEN_log' TO N'L:\Logs\CM_CEN_20240501T020000_3.ldf', MOVE N'it''s fs' TO N'C:\Program Files\Microsoft SQL Server\MSSQL16.MSSQLSERVER\MSSQL\DATA\CM_CEN_20240501T020000_4', RECOVERY, REPLACE, CHECKSUM
GO
-- staging a]b
IF EXISTS (SELECT 1 FROM sys.databases WHERE name = N'a]b')
BEGIN
  IF EXISTS (SELECT 1 FROM sys.databases WHERE name = N'a]b' AND state_desc = N'ONLINE') ALTER DATABASE [a]]b] SET SINGLE_USER WITH ROLLBACK IMMEDIATE;
  DROP DATABASE [a]]b];
END
GO
RESTORE DATABASE [a]]b] FROM DISK = N'/srv/sk archive/2024-05-01 0200 ü/CM_CEN.bak' WITH MOVE N'CM_CEN' TO N'C:\Program Files\Microsoft SQL Server\MSSQL16.MSSQLSERVER\MSSQL\DATA\a_b_20240501T020000_1.mdf', MOVE N'CM_CEN_2' TO N'C:\Program Files\Microsoft SQL Server\MSSQL16.MSSQLSERVER\MSSQL\DATA\a_b_20240501T020000_2.ndf', MOVE N'CM_CEN_log' TO N'L:\Logs\a_b_20240501T020000_3.ldf', MOVE N'it''s fs' TO N'C:\Program Files\Microsoft SQL Server\MSSQL16.MSSQLSERVER\MSSQL\DATA\a_b_20240501T020000_4', RECOVERY, REPLACE, CHECKSUM
GO
-- staging x'; DROP DATABASE y--
IF EXISTS (SELECT 1 FROM sys.databases WHERE name = N'x''; DROP DATABASE y--')
BEGIN
  IF EXISTS (SELECT 1 FROM sys.databases WHERE name = N'x''; DROP DATABASE y--' AND state_desc = N'ONLINE') ALTER DATABASE [x'; DROP DATABASE y--] SET SINGLE_USER WITH ROLLBACK IMMEDIATE;
  DROP DATABASE [x'; DROP DATABASE y--];
END
GO
RESTORE DATABASE [x'; DROP DATABASE y--] FROM DISK = N'/srv/sk archive/2024-05-01 0200 ü/CM_CEN.bak' WITH MOVE N'CM_CEN' TO N'C:\Program Files\Microsoft SQL Server\MSSQL16.MSSQLSERVER\MSSQL\DATA\x___DROP_DATABASE_y--_20240501T020000_1.mdf', MOVE N'CM_CEN_2' TO N'C:\Program Files\Microsoft SQL Server\MSSQL16.MSSQLSERVER\MSSQL\DATA\x___DROP_DATABASE_y--_20240501T020000_2.ndf', MOVE N'CM_CEN_log' TO N'L:\Logs\x___DROP_DATABASE_y--_20240501T020000_3.ldf', MOVE N'it''s fs' TO N'C:\Program Files\Microsoft SQL Server\MSSQL16.MSSQLSERVER\MSSQL\DATA\x___DROP_DATABASE_y--_20240501T020000_4', RECOVERY, REPLACE, CHECKSUM
GO
-- staging site db with spaces
IF EXISTS (SELECT 1 FROM sys.databases WHERE name = N'site db with spaces')
BEGIN
  IF EXISTS (SELECT 1 FROM sys.databases WHERE name = N'site db with spaces' AND state_desc = N'ONLINE') ALTER DATABASE [site db with spaces] SET SINGLE_USER WITH ROLLBACK IMMEDIATE;
  DROP DATABASE [site db with spaces];
END
GO
RESTORE DATABASE [site db with spaces] FROM DISK = N'/srv/sk archive/2024-05-01 0200 ü/CM_CEN.bak' WITH MOVE N'CM_CEN' TO N'C:\Program Files\Microsoft SQL Server\MSSQL16.MSSQLSERVER\MSSQL\DATA\site_db_with_spaces_20240501T020000_1.mdf', MOVE N'CM_CEN_2' TO N'C:\Program Files\Microsoft SQL Server\MSSQL16.MSSQLSERVER\MSSQL\DATA\site_db_with_spaces_20240501T020000_2.ndf', MOVE N'CM_CEN_log' TO N'L:\Logs\site_db_with_spaces_20240501T020000_3.ldf', MOVE N'it''s fs' TO N'C:\Program Files\Microsoft SQL Server\MSSQL16.MSSQLSERVER\MSSQL\DATA\site_db_with_spaces_20240501T020000_4', RECOVERY, REPLACE, CHECKSUM
GO
-- staging Ünïcødé 站点
IF EXISTS (SELECT 1 FROM sys.databases WHERE name = N'Ünïcødé 站点')
BEGIN
  IF EXISTS (SELECT 1 FROM sys.databases WHERE name = N'Ünïcødé 站点' AND state_desc = N'ONLINE') ALTER DATABASE [Ünïcødé 站点] SET SINGLE_USER WITH ROLLBACK IMMEDIATE;
  DROP DATABASE [Ünïcødé 站点];
END
GO
RESTORE DATABASE [Ünïcødé 站点] FROM DISK = N'/srv/sk archive/2024-05-01 0200 ü/CM_CEN.bak' WITH MOVE N'CM_CEN' TO N'C:\Program Files\Microsoft SQL Server\MSSQL16.MSSQLSERVER\MSSQL\DATA\_n_c_d_____20240501T020000_1.mdf', MOVE N'CM_CEN_2' TO N'C:\Program Files\Microsoft SQL Server\MSSQL16.MSSQLSERVER\MSSQL\DATA\_n_c_d_____20240501T020000_2.ndf', MOVE N'CM_CEN_log' TO N'L:\Logs\_n_c_d_____20240501T020000_3.ldf', MOVE N'it''s fs' TO N'C:\Program Files\Microsoft SQL Server\MSSQL16.MSSQLSERVER\MSSQL\DATA\_n_c_d_____20240501T020000_4', RECOVERY, REPLACE, CHECKSUM
GO
-- staging [already]]quoted]
IF EXISTS (SELECT 1 FROM sys.databases WHERE name = N'[already]]quoted]')
BEGIN
  IF EXISTS (SELECT 1 FROM sys.databases WHERE name = N'[already]]quoted]' AND state_desc = N'ONLINE') ALTER DATABASE [[already]]]]quoted]]] SET SINGLE_USER WITH ROLLBACK IMMEDIATE;
  DROP DATABASE [[already]]]]quoted]]];
END
GO
RESTORE DATABASE [[already]]]]quoted]]] FROM DISK = N'/srv/sk archive/2024-05-01 0200 ü/CM_CEN.bak' WITH MOVE N'CM_CEN' TO N'C:\Program Files\Microsoft SQL Server\MSSQL16.MSSQLSERVER\MSSQL\DATA\_already__quoted__20240501T020000_1.mdf', MOVE N'CM_CEN_2' TO N'C:\Program Files\Microsoft SQL Server\MSSQL16.MSSQLSERVER\MSSQL\DATA\_already__quoted__20240501T020000_2.ndf', MOVE N'CM_CEN_log' TO N'L:\Logs\_already__quoted__20240501T020000_3.ldf', MOVE N'it''s fs' TO N'C:\Program Files\Microsoft SQL Server\MSSQL16.MSSQLSERVER\MSSQL\DATA\_already__quoted__20240501T020000_4', RECOVERY, REPLACE, CHECKSUM
GO
-- standby seed (linux paths, no recovery)
RESTORE DATABASE [CM_CEN] FROM DISK = N'/srv/sk archive/2024-05-01 0200 ü/CM_CEN.bak' WITH MOVE N'CM_CEN' TO N'/var/opt/mssql/data/CM_CEN_20240501T020000_1.mdf', MOVE N'CM_CEN_2' TO N'/var/opt/mssql/data/CM_CEN_20240501T020000_2.ndf', MOVE N'CM_CEN_log' TO N'/var/opt/mssql/data/CM_CEN_20240501T020000_3.ldf', MOVE N'it''s fs' TO N'/var/opt/mssql/data/CM_CEN_20240501T020000_4', NORECOVERY, REPLACE, CHECKSUM
GO
