SELECT N'CM_CEN' AS literal, N'[CM_CEN]' AS quoted -- [CM_CEN]
GO
SELECT N'a]b' AS literal, N'[a]]b]' AS quoted -- [a]]b]
GO
SELECT N'x''; DROP DATABASE y--' AS literal, N'[x''; DROP DATABASE y--]' AS quoted -- [x'; DROP DATABASE y--]
GO
SELECT N'site db with spaces' AS literal, N'[site db with spaces]' AS quoted -- [site db with spaces]
GO
SELECT N'Ünïcødé 站点' AS literal, N'[Ünïcødé 站点]' AS quoted -- [Ünïcødé 站点]
GO
SELECT N'[already]]quoted]' AS literal, N'[[already]]]]quoted]]]' AS quoted -- [[already]]]]quoted]]]
GO
