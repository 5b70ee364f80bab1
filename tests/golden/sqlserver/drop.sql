-- CM_CEN
IF EXISTS (SELECT 1 FROM sys.databases WHERE name = N'CM_CEN')
BEGIN
  IF EXISTS (SELECT 1 FROM sys.databases WHERE name = N'CM_CEN' AND state_desc = N'ONLINE') ALTER DATABASE [CM_CEN] SET SINGLE_USER WITH ROLLBACK IMMEDIATE;
  DROP DATABASE [CM_CEN];
END
GO
SELECT COUNT(*) AS present FROM sys.databases WHERE name = N'CM_CEN'
GO
SELECT state_desc, CAST(is_read_only AS int) AS is_read_only, user_access_desc FROM sys.databases WHERE name = N'CM_CEN'
GO
-- a]b
IF EXISTS (SELECT 1 FROM sys.databases WHERE name = N'a]b')
BEGIN
  IF EXISTS (SELECT 1 FROM sys.databases WHERE name = N'a]b' AND state_desc = N'ONLINE') ALTER DATABASE [a]]b] SET SINGLE_USER WITH ROLLBACK IMMEDIATE;
  DROP DATABASE [a]]b];
END
GO
SELECT COUNT(*) AS present FROM sys.databases WHERE name = N'a]b'
GO
SELECT state_desc, CAST(is_read_only AS int) AS is_read_only, user_access_desc FROM sys.databases WHERE name = N'a]b'
GO
-- x'; DROP DATABASE y--
IF EXISTS (SELECT 1 FROM sys.databases WHERE name = N'x''; DROP DATABASE y--')
BEGIN
  IF EXISTS (SELECT 1 FROM sys.databases WHERE name = N'x''; DROP DATABASE y--' AND state_desc = N'ONLINE') ALTER DATABASE [x'; DROP DATABASE y--] SET SINGLE_USER WITH ROLLBACK IMMEDIATE;
  DROP DATABASE [x'; DROP DATABASE y--];
END
GO
SELECT COUNT(*) AS present FROM sys.databases WHERE name = N'x''; DROP DATABASE y--'
GO
SELECT state_desc, CAST(is_read_only AS int) AS is_read_only, user_access_desc FROM sys.databases WHERE name = N'x''; DROP DATABASE y--'
GO
-- site db with spaces
IF EXISTS (SELECT 1 FROM sys.databases WHERE name = N'site db with spaces')
BEGIN
  IF EXISTS (SELECT 1 FROM sys.databases WHERE name = N'site db with spaces' AND state_desc = N'ONLINE') ALTER DATABASE [site db with spaces] SET SINGLE_USER WITH ROLLBACK IMMEDIATE;
  DROP DATABASE [site db with spaces];
END
GO
SELECT COUNT(*) AS present FROM sys.databases WHERE name = N'site db with spaces'
GO
SELECT state_desc, CAST(is_read_only AS int) AS is_read_only, user_access_desc FROM sys.databases WHERE name = N'site db with spaces'
GO
-- Ünïcødé 站点
IF EXISTS (SELECT 1 FROM sys.databases WHERE name = N'Ünïcødé 站点')
BEGIN
  IF EXISTS (SELECT 1 FROM sys.databases WHERE name = N'Ünïcødé 站点' AND state_desc = N'ONLINE') ALTER DATABASE [Ünïcødé 站点] SET SINGLE_USER WITH ROLLBACK IMMEDIATE;
  DROP DATABASE [Ünïcødé 站点];
END
GO
SELECT COUNT(*) AS present FROM sys.databases WHERE name = N'Ünïcødé 站点'
GO
SELECT state_desc, CAST(is_read_only AS int) AS is_read_only, user_access_desc FROM sys.databases WHERE name = N'Ünïcødé 站点'
GO
-- [already]]quoted]
IF EXISTS (SELECT 1 FROM sys.databases WHERE name = N'[already]]quoted]')
BEGIN
  IF EXISTS (SELECT 1 FROM sys.databases WHERE name = N'[already]]quoted]' AND state_desc = N'ONLINE') ALTER DATABASE [[already]]]]quoted]]] SET SINGLE_USER WITH ROLLBACK IMMEDIATE;
  DROP DATABASE [[already]]]]quoted]]];
END
GO
SELECT COUNT(*) AS present FROM sys.databases WHERE name = N'[already]]quoted]'
GO
SELECT state_desc, CAST(is_read_only AS int) AS is_read_only, user_access_desc FROM sys.databases WHERE name = N'[already]]quoted]'
GO
