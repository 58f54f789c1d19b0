#!/usr/bin/env python3
"""A consumer nobody here wrote: reads a topic written by Sluice's AvroConverter with
confluent-kafka's Consumer and its AvroDeserializer (fastavro underneath), the writer
schemas fetched by id with confluent-kafka's SchemaRegistryClient, and prints what a
Python application sees.

  avro_consume.py BOOTSTRAP TOPIC REGISTRY_URL COUNT [--timeout SECONDS]

Reads COUNT records from the start of TOPIC (partition 0, in offset order) and prints
one JSON object per line:

  {"offset": 0, "key_schema_id": 1, "value_schema_id": 2, "key": {...}, "value": {...}}

then a last line {"schemas": {"<id>": <the registry's schema for that id, parsed>}}.

Key and value are the deserializer's results with their field order kept. Values JSON
cannot hold are tagged with the Python type fastavro decoded them to, so a test sees
the type as well as the value: bytes as {"$bytes": "<base64>"}, decimal.Decimal as
{"$decimal": "<str()>"}, date/time/datetime/UUID as {"$date": ...} / {"$time": ...} /
{"$datetime": ...} / {"$uuid": ...} (ISO form), anything else as {"$repr": "<type>: <repr>"}.
A tombstone (no value bytes) is null. Exits non-zero, with the reason on stderr, when a
record does not decode or COUNT records do not arrive within --timeout seconds.
"""
import argparse
import base64
import datetime
import decimal
import json
import struct
import sys
import time
import uuid

from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING
from confluent_kafka.serialization import MessageField, SerializationContext
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer


def plain(value):
    """`value` with every non-JSON value tagged with its Python type."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return {"$bytes": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, decimal.Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, datetime.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, datetime.date):
        return {"$date": value.isoformat()}
    if isinstance(value, datetime.time):
        return {"$time": value.isoformat()}
    if isinstance(value, uuid.UUID):
        return {"$uuid": str(value)}
    return {"$repr": f"{type(value).__name__}: {value!r}"}


def schema_id(data):
    """The id in Confluent's framing (magic byte 0, 4-byte big-endian id), or None."""
    if data is None or len(data) < 5 or data[0] != 0:
        return None
    return struct.unpack(">i", data[1:5])[0]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("bootstrap")
    ap.add_argument("topic")
    ap.add_argument("registry_url")
    ap.add_argument("count", type=int)
    ap.add_argument("--timeout", type=float, default=60.0)
    args = ap.parse_args()

    registry = SchemaRegistryClient({"url": args.registry_url})
    key_deserializer = AvroDeserializer(registry)
    value_deserializer = AvroDeserializer(registry)
    consumer = Consumer({
        "bootstrap.servers": args.bootstrap,
        "group.id": f"avro-consume-{time.time_ns()}",
        "enable.auto.commit": False,
        "receive.message.max.bytes": 1000000000,
    })
    consumer.assign([TopicPartition(args.topic, 0, OFFSET_BEGINNING)])
    deadline = time.time() + args.timeout
    seen, ids = 0, set()
    try:
        while seen < args.count and time.time() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                print(f"consumer error (retrying): {msg.error()}", file=sys.stderr)
                continue
            key_ctx = SerializationContext(msg.topic(), MessageField.KEY, msg.headers())
            value_ctx = SerializationContext(msg.topic(), MessageField.VALUE, msg.headers())
            try:
                key = key_deserializer(msg.key(), key_ctx)
                value = value_deserializer(msg.value(), value_ctx)
            except Exception as e:  # report which record, then fail
                print(f"offset {msg.offset()}: cannot decode: {type(e).__name__}: {e}", file=sys.stderr)
                return 1
            key_id, value_id = schema_id(msg.key()), schema_id(msg.value())
            ids.update(i for i in (key_id, value_id) if i is not None)
            print(json.dumps({
                "offset": msg.offset(),
                "key_schema_id": key_id,
                "value_schema_id": value_id,
                "key": plain(key),
                "value": plain(value),
            }), flush=True)
            seen += 1
    finally:
        consumer.close()
    if seen < args.count:
        print(f"only {seen} of {args.count} records arrived within {args.timeout}s", file=sys.stderr)
        return 1
    schemas = {str(i): json.loads(registry.get_schema(i).schema_str) for i in sorted(ids)}
    print(json.dumps({"schemas": schemas}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
