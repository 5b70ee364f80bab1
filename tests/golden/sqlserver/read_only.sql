-- read-only CM_CEN
IF EXISTS (SELECT 1 FROM sys.databases WHERE name = N'CM_CEN' AND is_read_only = 1) ALTER DATABASE [CM_CEN] SET READ_WRITE WITH ROLLBACK IMMEDIATE
GO
USE [CM_CEN]
GO
IF DATABASE_PRINCIPAL_ID(N'helpdesk') IS NULL CREATE USER [helpdesk] FOR LOGIN [helpdesk]
GO
DENY INSERT, UPDATE, DELETE, ALTER, EXECUTE TO [helpdesk]
GO
GRANT SELECT TO [helpdesk]
GO
IF DATABASE_PRINCIPAL_ID(N'a]b') IS NULL CREATE USER [a]]b] FOR LOGIN [a]]b]
GO
DENY INSERT, UPDATE, DELETE, ALTER, EXECUTE TO [a]]b]
GO
GRANT SELECT TO [a]]b]
GO
IF DATABASE_PRINCIPAL_ID(N'DOMAIN\help desk') IS NULL CREATE USER [DOMAIN\help desk] FOR LOGIN [DOMAIN\help desk]
GO
DENY INSERT, UPDATE, DELETE, ALTER, EXECUTE TO [DOMAIN\help desk]
GO
GRANT SELECT TO [DOMAIN\help desk]
GO
USE [master]
GO
ALTER DATABASE [CM_CEN] SET READ_ONLY WITH ROLLBACK IMMEDIATE
GO
-- read-only hostile, no readers
IF EXISTS (SELECT 1 FROM sys.databases WHERE name = N'x''; DROP DATABASE y--' AND is_read_only = 1) ALTER DATABASE [x'; DROP DATABASE y--] SET READ_WRITE WITH ROLLBACK IMMEDIATE
GO
USE [x'; DROP DATABASE y--]
GO
USE [master]
GO
ALTER DATABASE [x'; DROP DATABASE y--] SET READ_ONLY WITH ROLLBACK IMMEDIATE
GO
-- write probe as helpdesk: enter
USE [Ünïcødé 站点]
GO
EXECUTE AS USER = N'helpdesk'
GO
-- attempt (must fail)
CREATE TABLE [dbo].[sitekeeper_write_probe] ([id] int NOT NULL)
GO
-- write permissions held (must be none)
SELECT permission_name FROM fn_my_permissions(NULL, N'DATABASE') WHERE permission_name IN (N'INSERT', N'UPDATE', N'DELETE', N'ALTER', N'EXECUTE', N'CONTROL', N'CREATE TABLE') ORDER BY permission_name
GO
-- leave
REVERT
GO
USE [master]
GO
-- cleanup (only after an unexpected success)
USE [Ünïcødé 站点]
GO
IF OBJECT_ID(N'[dbo].[sitekeeper_write_probe]', N'U') IS NOT NULL DROP TABLE [dbo].[sitekeeper_write_probe]
GO
USE [master]
GO
-- write probe as x'; DROP DATABASE y--: enter
USE [Ünïcødé 站点]
GO
EXECUTE AS USER = N'x''; DROP DATABASE y--'
GO
-- attempt (must fail)
CREATE TABLE [dbo].[sitekeeper_write_probe] ([id] int NOT NULL)
GO
-- write permissions held (must be none)
SELECT permission_name FROM fn_my_permissions(NULL, N'DATABASE') WHERE permission_name IN (N'INSERT', N'UPDATE', N'DELETE', N'ALTER', N'EXECUTE', N'CONTROL', N'CREATE TABLE') ORDER BY permission_name
GO
-- leave
REVERT
GO
USE [master]
GO
-- cleanup (only after an unexpected success)
USE [Ünïcødé 站点]
GO
IF OBJECT_ID(N'[dbo].[sitekeeper_write_probe]', N'U') IS NOT NULL DROP TABLE [dbo].[sitekeeper_write_probe]
GO
USE [master]
GO
