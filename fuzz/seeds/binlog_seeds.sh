#!/usr/bin/env bash
# Regenerates the binlog_event seed corpus from a real MariaDB: starts one on loopback
# (scripts/lib.sh), writes rows of every column type the decoder knows, and splits the
# binlog file into seeds (binlog_seeds.py): the whole file as a stream, and each
# TABLE_MAP with each of its rows events in the target's direct form.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../../scripts/lib.sh
source "$here/../../scripts/lib.sh"

start_mariadb
mariadb_sql "
    CREATE DATABASE inv;
    CREATE TABLE inv.everything (
        id INT UNSIGNED PRIMARY KEY, ti TINYINT, si SMALLINT UNSIGNED, mi MEDIUMINT,
        bi BIGINT UNSIGNED, f FLOAT, d DOUBLE, dec1 DECIMAL(10,2), dec2 DECIMAL(40,12),
        b1 BIT(1), b12 BIT(12), y YEAR, dt DATE, tm TIME(3), dtm DATETIME(6),
        ts TIMESTAMP(2) NULL, c CHAR(4), vc VARCHAR(300) CHARSET latin1, bn BINARY(4),
        vb VARBINARY(10), tx TEXT, bl BLOB, e ENUM('a','b','c'), st SET('x','y','z'),
        j JSON, g GEOMETRY);
    INSERT INTO inv.everything VALUES
        (1, -1, 65535, -8388608, 18446744073709551615, 1.5, -2.25, 12.34,
         -123456789012345678901234.123456789012, b'1', b'101010101010', 2024, '2024-02-29',
         '-12:34:56.789', '2018-06-20 06:37:03.123456', '2024-01-02 03:04:05.12', 'ab',
         'caf\xe9', 'xy', 'raw', 'text', 'blob', 'b', 'x,z', '{\"k\": [1, 2]}',
         ST_GeomFromText('POINT(1 2)')),
        (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
         NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
    UPDATE inv.everything SET ti = 7, vc = 'updated', id = 3 WHERE id = 1;
    DELETE FROM inv.everything WHERE id = 2;
    CREATE TABLE inv.small (k INT PRIMARY KEY, v VARCHAR(10));
    BEGIN; INSERT INTO inv.small VALUES (1, 'one'), (2, 'two'); COMMIT;
    TRUNCATE TABLE inv.small;
    FLUSH BINARY LOGS;"
python3 "$here/binlog_seeds.py" "$work/mariadb/data/mysql-bin.000001" \
    "$here/../corpus/binlog_event"
