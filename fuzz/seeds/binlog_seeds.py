"""Splits a binlog file into binlog_event seeds (see fuzz_targets/binlog_event.rs).

stream-*: mode byte 0x00 (or 0x10: fake ROTATE with checksum) then the file itself.
rows-*: mode byte 0x01 (0x05, 0x09, 0x0d: the other connector configs), the TABLE_MAP
data as [u16 LE length][data], a selector of the rows event type, the rows event data.
Event data is taken without the 19-byte header and the 4-byte CRC32.
"""
import struct
import sys
from pathlib import Path

ROWS_TYPES = [0x1E, 0x1F, 0x20, 0x17, 0x18, 0x19]

binlog = Path(sys.argv[1]).read_bytes()
out = Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
assert binlog[:4] == b"\xfebin", "not a binlog file"
(out / "stream-file").write_bytes(b"\x00" + binlog)
(out / "stream-file-checksummed-rotate").write_bytes(b"\x10" + binlog[4:])

pos, maps, n = 4, {}, 0
while pos + 19 <= len(binlog):
    ty = binlog[pos + 4]
    (size,) = struct.unpack_from("<I", binlog, pos + 9)
    data = binlog[pos + 19 : pos + size - 4]
    pos += size
    if ty == 0x13:
        (table_id,) = struct.unpack_from("<Q", data[:6] + b"\0\0")
        maps[table_id] = data
    elif ty in ROWS_TYPES:
        (table_id,) = struct.unpack_from("<Q", data[:6] + b"\0\0")
        tm = maps[table_id]
        for mode in (0x01, 0x05, 0x09, 0x0D):
            seed = bytes([mode]) + struct.pack("<H", len(tm)) + tm
            seed += bytes([ROWS_TYPES.index(ty)]) + data
            (out / f"rows-{n:02}-{mode:02x}").write_bytes(seed)
        n += 1
print(f"{n} rows events, {len(binlog)} bytes of binlog", file=sys.stderr)
