"""Writes the seed corpora of json_decode, avro_decode, protobuf_decode and
connector_config (see each target for the meaning of its first byte). The Avro and
Protobuf records are the ones the converters' tests spell out byte by byte, plus records
of the targets' hand-written schemas, encoded here by the formats' rules."""
import json
import struct
import sys
from pathlib import Path

corpus = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent.parent / "corpus")


def write(target, name, data):
    d = corpus / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


# --- JSON: bit 0 schemas.enable, bit 1 replace.null.with.default, bit 2 NUMERIC decimals.
def field(ty, field_name, optional=False, **extra):
    return {"type": ty, "optional": optional, "field": field_name, **extra}


row_schema = {
    "type": "struct",
    "name": "dbserver1.inventory.customers.Value",
    "optional": True,
    "fields": [
        field("int32", "id"),
        field("int8", "small"),
        field("int16", "short", True),
        field("int64", "big"),
        field("float", "f", True),
        field("double", "d"),
        field("boolean", "flag"),
        field("string", "name", True, default="none"),
        field("bytes", "blob", True),
        field("bytes", "price", name="org.apache.kafka.connect.data.Decimal", version=1,
              parameters={"scale": "2", "connect.decimal.precision": "10"}),
        field("int32", "day", name="org.apache.kafka.connect.data.Date", version=1),
        field("int32", "at", name="org.apache.kafka.connect.data.Time", version=1),
        field("int64", "ts", name="org.apache.kafka.connect.data.Timestamp", version=1),
        {"type": "array", "items": {"type": "string", "optional": False}, "optional": True,
         "field": "tags"},
        {"type": "map", "keys": {"type": "string", "optional": False},
         "values": {"type": "int32", "optional": True}, "optional": False, "field": "m"},
        {"type": "map", "keys": {"type": "int32", "optional": False},
         "values": {"type": "string", "optional": False}, "optional": False, "field": "im"},
    ],
}
row = {"id": 1, "small": -2, "short": None, "big": 9007199254740993, "f": 1.5, "d": -0.0,
       "flag": True, "name": None, "blob": "AAEC", "price": "BNI=", "day": 19000,
       "at": 3600000, "ts": 1700000000000, "tags": ["a", "b"], "m": {"k": 1, "n": None},
       "im": [[1, "one"], [2, "two"]]}
envelope_schema = {
    "type": "struct", "name": "dbserver1.inventory.customers.Envelope", "optional": False,
    "fields": [dict(row_schema, field="before"), dict(row_schema, field="after"),
               field("string", "op"), field("int64", "ts_ms", True)],
}
envelope = {"schema": envelope_schema,
            "payload": {"before": None, "after": row, "op": "c", "ts_ms": 1700000000123}}
write("json_decode", "envelope", b"\x01" + json.dumps(envelope).encode())
numeric = json.loads(json.dumps(envelope))
numeric["payload"]["after"]["price"] = 12.34
write("json_decode", "envelope-numeric", b"\x05" + json.dumps(numeric).encode())
write("json_decode", "null-schema", b"\x03" + b'{"schema":null,"payload":{"a":[1,2.5,"x",null,true]}}')
write("json_decode", "schemaless", b"\x00" + json.dumps(
    {"before": None, "after": {"id": 1, "v": 1.5e300, "n": 123456789012345678901234567890},
     "op": "u", "arr": [[], {}, "s"]}).encode())
write("json_decode", "primitive", b"\x01" + b'{"schema":{"type":"float64","optional":true},"payload":"NaN"}')


# --- Avro: first byte picks the schema (see avro_decode.rs).
def zz(n):
    n = (n << 1) ^ (n >> 63)
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def astr(s):
    b = s.encode() if isinstance(s, str) else s
    return zz(len(b)) + b


# ROW_BODY of the Avro converter's tests (the test row schema, id 1).
row_body = bytes([0x02, 0x01, 0x04, ord("a"), ord("b"), 0x00, 0x02, 0xD8, 0x04, 0x01, 0x04,
                  0x04, 0xD2, 0, 0, 0, 0, 0, 0, 0xF8, 0x3F, 0x03, 0x80, 0xA0, 0xAB, 0xFE,
                  0xF9, 0x62])
write("avro_decode", "test-row", b"\x00" + row_body)
everything = (
    b"\x01" + zz(1) + zz(2) + struct.pack("<f", 1.5) + struct.pack("<d", -2.25)
    + astr(b"ab") + astr("x") + zz(1) + b"abcd" + zz(2) + astr("z")
    + zz(1) + astr("k") + zz(1) + zz(5) + zz(0)
    + zz(1) + astr("a") + astr("q") + zz(0) + zz(0)
    + astr(b"\x04\xd2") + b"\x00\x00\x00\x00\x00\x00\x04\xd2"
    + astr("3e11fa47-71ca-11e1-9e33-c80aa9429562")
    + zz(19000) + zz(3600000) + zz(3600000000) + zz(1700000000000) + zz(1700000000000000)
    + zz(1) + b"wxyz"
)
write("avro_decode", "hand-written", b"\x03" + everything)
small = json.dumps({"type": "record", "name": "R", "namespace": "n", "fields": [
    {"name": "a", "type": "int"},
    {"name": "b", "type": ["null", "string"], "default": None},
    {"name": "c", "type": {"type": "array", "items": "long"}},
    {"name": "d", "type": {"type": "bytes", "logicalType": "decimal", "precision": 5, "scale": 2}},
]}).encode()
write("avro_decode", "schema-and-body",
      b"\x04" + small + b"\x00" + zz(7) + zz(1) + astr("hi") + zz(2) + zz(1) + zz(-1) + zz(0)
      + astr(b"\x30\x39"))
write("avro_decode", "schema-primitive", b"\x04" + b'{"type":"map","values":"double"}' + b"\x00"
      + zz(1) + astr("k") + struct.pack("<d", 0.5) + zz(0))


# --- Protobuf: low nibble settings, bits 4-5 schema; then message indexes and body.
def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def tag(num, wire):
    return varint(num << 3 | wire)


def ld(num, body):
    return tag(num, 2) + varint(len(body)) + body


# The exact bytes of the Protobuf converter's test (schema t.Row, id 1), indexes [0].
test_row = bytes([0x08, 0x96, 0x01, 0x12, 0x02, ord("h"), ord("i"), 0x18] + [0xFF] * 9
                 + [0x01, 0x2A, 0x03, 0x01, 0xAC, 0x02])
for settings in (0x00, 0x01, 0x06, 0x0F):
    write("protobuf_decode", f"test-row-{settings:x}", bytes([settings]) + b"\x00" + test_row)
line = ld(1, b"s1") + tag(2, 0) + varint(2) + ld(3, b"t")
order = (
    tag(1, 0) + varint(7) + ld(2, b"bob") + ld(3, line) + ld(4, ld(1, b"a") + tag(2, 0) + varint(5))
    + ld(5, tag(1, 0) + varint(9) + ld(2, line)) + tag(6, 0) + varint(1) + ld(7, b"cc")
    + ld(10, tag(1, 0) + varint(1700000000) + tag(2, 0) + varint(5000))
    + ld(11, tag(1, 0) + varint(2024) + tag(2, 0) + varint(2) + tag(3, 0) + varint(29))
    + ld(12, tag(1, 0) + varint(23) + tag(2, 0) + varint(59))
    + ld(13, ld(1, b"\x04\xd2") + tag(2, 0) + varint(10) + tag(3, 0) + varint(2))
    + ld(14, ld(1, b"hi")) + ld(15, tag(1, 0) + varint(3)) + ld(16, tag(1, 0) + varint(1))
    + tag(17, 1) + struct.pack("<d", 0.25) + tag(18, 0) + varint(3)
    + tag(19, 1) + struct.pack("<Q", 42) + tag(20, 5) + struct.pack("<i", -5)
    + tag(21, 0) + varint(2**64 - 1) + tag(22, 5) + struct.pack("<f", 0.5)
    + ld(23, b"\x01\x02")
)
for settings in (0x30, 0x31, 0x3E):
    write("protobuf_decode", f"order-{settings:x}", bytes([settings]) + b"\x00" + order)
transfer = ld(9, ld(1, b"DE00") + ld(2, line))
write("protobuf_decode", "order-transfer", b"\x30\x00" + tag(1, 0) + varint(1) + transfer)
other = ld(1, b"\x01\x02\x03") + ld(2, tag(1, 0) + varint(1) + ld(2, b"yes"))
write("protobuf_decode", "other-index-1", b"\x30" + b"\x02\x02" + other)
write("protobuf_decode", "order-line-nested-index", b"\x30" + b"\x04\x00\x00" + line)

# --- connector_config: properties and JSON (the example configs are copied beside these).
write("connector_config", "source.properties", b"""# a Debezium MySQL source with converters and transforms
name=inventory
connector.class=io.debezium.connector.mysql.MySqlConnector
database.hostname=127.0.0.1
database.user=sluice
database.password=sl\\u0075ice
topic.prefix=dbserver1
table.include.list=inv\\\\.(a|b),inv.c.*
column.mask.with.4.chars=inv.a.secret
column.mask.hash.SHA-256.with.salt.s1=inv.a.email
message.key.columns=inv.a:id,name;inv.b:k
decimal.handling.mode=string
key.converter=org.apache.kafka.connect.json.JsonConverter
key.converter.schemas.enable=false
value.converter=io.confluent.connect.avro.AvroConverter
value.converter.schema.registry.url=http://127.0.0.1:8081
value.converter.basic.auth.credentials.source=USER_INFO
value.converter.basic.auth.user.info=u:p
transforms=unwrap,route,cast
transforms.unwrap.type=io.debezium.transforms.ExtractNewRecordState
transforms.unwrap.add.fields=op,table
transforms.route.type=org.apache.kafka.connect.transforms.RegexRouter
transforms.route.regex=([^.]+)\\\\.([^.]+)\\\\.([^.]+)
transforms.route.replacement=$3
transforms.route.predicate=isTomb
transforms.cast.type=org.apache.kafka.connect.transforms.Cast$Value
transforms.cast.spec=id:int64,price:float64
predicates=isTomb
predicates.isTomb.type=org.apache.kafka.connect.transforms.predicates.RecordIsTombstone
""")
write("connector_config", "sink.json", json.dumps({"name": "sink", "config": {
    "connector.class": "io.debezium.connector.jdbc.JdbcSinkConnector",
    "connection.url": "mysql://u:p@127.0.0.1:3306/db", "topics": "a,b",
    "insert.mode": "upsert", "primary.key.mode": "record_key", "tasks.max": 2,
    "value.converter": "io.confluent.connect.protobuf.ProtobufConverter",
    "value.converter.schema.registry.url": "http://127.0.0.1:8081",
    "value.converter.optional.for.nullables": True,
    "transforms": "ts,mask", "transforms.ts.type": "TimestampConverter$Value",
    "transforms.ts.field": "at", "transforms.ts.target.type": "string",
    "transforms.ts.format": "yyyy-MM-dd'T'HH:mm:ss.SSS",
    "transforms.mask.type": "MaskField$Value", "transforms.mask.fields": "ssn",
    "transforms.mask.replacement": "***"}}).encode())
