SELECT 'CM_CEN' AS literal, '"CM_CEN"' AS quoted -- "CM_CEN"
;
SELECT 'a"b' AS literal, '"a""b"' AS quoted -- "a""b"
;
SELECT 'x''; DROP DATABASE y--' AS literal, '"x''; DROP DATABASE y--"' AS quoted -- "x'; DROP DATABASE y--"
;
SELECT 'site db with spaces' AS literal, '"site db with spaces"' AS quoted -- "site db with spaces"
;
SELECT 'Ünïcødé 站点' AS literal, '"Ünïcødé 站点"' AS quoted -- "Ünïcødé 站点"
;
SELECT '"already""quoted"' AS literal, '"""already""""quoted"""' AS quoted -- """already""""quoted"""
;
