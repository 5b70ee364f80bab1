-- capture
SELECT name, CAST(value_in_use AS int) AS value_in_use FROM sys.configurations WHERE name IN (N'clr enabled', N'clr strict security') ORDER BY name
GO
SELECT CAST(is_trustworthy_on AS int) AS is_trustworthy_on, CAST(is_broker_enabled AS int) AS is_broker_enabled FROM sys.databases WHERE name = N'CM_CEN'
GO
SELECT CAST(is_trustworthy_on AS int) AS is_trustworthy_on, CAST(is_broker_enabled AS int) AS is_broker_enabled FROM sys.databases WHERE name = N'x''; DROP DATABASE y--'
GO
SELECT CONVERT(varchar(130), [hash], 1) AS hash_hex, COALESCE([description], N'') AS description FROM sys.trusted_assemblies ORDER BY [hash]
GO
-- apply: everything on
EXEC sp_configure N'show advanced options', 1
GO
RECONFIGURE
GO
EXEC sp_configure N'clr enabled', 1
GO
EXEC sp_configure N'clr strict security', 1
GO
RECONFIGURE
GO
IF NOT EXISTS (SELECT 1 FROM sys.trusted_assemblies WHERE [hash] = 0xAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA) EXEC sys.sp_add_trusted_assembly @hash = 0xAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA, @description = N'SMS CLR assembly, it''s trusted'
GO
IF NOT EXISTS (SELECT 1 FROM sys.trusted_assemblies WHERE [hash] = 0x0102) EXEC sys.sp_add_trusted_assembly @hash = 0x0102, @description = N'x''; DROP DATABASE y--'
GO
ALTER DATABASE [CM_CEN] SET TRUSTWORTHY ON
GO
ALTER DATABASE [CM_CEN] SET ENABLE_BROKER WITH ROLLBACK IMMEDIATE
GO
-- apply: everything off, 2016
EXEC sp_configure N'show advanced options', 1
GO
RECONFIGURE
GO
EXEC sp_configure N'clr enabled', 0
GO
RECONFIGURE
GO
ALTER DATABASE [a]]b] SET TRUSTWORTHY OFF
GO
ALTER DATABASE [a]]b] SET DISABLE_BROKER WITH ROLLBACK IMMEDIATE
GO
