#!/usr/bin/env python3
"""A consumer nobody here wrote: reads a topic written by Sluice's ProtobufConverter with
confluent-kafka's Consumer and its ProtobufDeserializer, and prints what a Python
application sees.

  protobuf_consume.py BOOTSTRAP TOPIC REGISTRY_URL COUNT [--timeout SECONDS]

The deserializer needs the message class a consumer would have generated with protoc; it
is compiled here from the registry's schema text by sluice_protobuf
(runtime/testkit/python, on PYTHONPATH), once per schema id. The deserializer itself then
fetches the writer schema by id with confluent-kafka's SchemaRegistryClient and picks the
message by the framing's message indexes.

Reads COUNT records from the start of TOPIC (partition 0, in offset order) and prints one
JSON object per line:

  {"offset": 0, "key_schema_id": 1, "value_schema_id": 2,
   "key_message": "<full name>", "value_message": "<full name>",
   "key": {...}, "value": {...}, "value_decimals": {"after.c_decimal": "12345678.90"},
   "descriptors_match": true}

key / value: json_format.MessageToDict(message, preserving_proto_field_name=True), field
order kept; a tombstone (no value bytes) is null. value_decimals: every
confluent.type.Decimal in the value, read with confluent-kafka's protobuf_to_decimal.
descriptors_match: whether the registry's `format=serialized` descriptors equal the ones
protoc compiled from its schema text. Then a last line
{"schemas": {"<id>": {"schemaType": ..., "schema": <the .proto text>}}}. Exits non-zero,
with the reason on stderr, when a record does not decode or COUNT records do not arrive
within --timeout seconds.
"""
import argparse
import json
import sys
import tempfile
import time

from sluice_protobuf import MessageClasses, decimals, get_json, schema_id, to_dict

from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("bootstrap")
    ap.add_argument("topic")
    ap.add_argument("registry_url")
    ap.add_argument("count", type=int)
    ap.add_argument("--timeout", type=float, default=60.0)
    args = ap.parse_args()

    registry = SchemaRegistryClient({"url": args.registry_url})
    deserializers = {}
    consumer = Consumer({
        "bootstrap.servers": args.bootstrap,
        "group.id": f"protobuf-consume-{time.time_ns()}",
        "enable.auto.commit": False,
        "receive.message.max.bytes": 1000000000,
    })
    consumer.assign([TopicPartition(args.topic, 0, OFFSET_BEGINNING)])
    deadline = time.time() + args.timeout
    seen, ids = 0, set()
    with tempfile.TemporaryDirectory() as workdir:
        classes = MessageClasses(args.registry_url, workdir)

        def decode(data, ctx):
            """(message or None, whether the descriptors matched)."""
            if data is None:
                return None, True
            message_class, matches = classes.for_bytes(data)
            if message_class not in deserializers:
                deserializers[message_class] = ProtobufDeserializer(
                    message_class, {}, registry
                )
            return deserializers[message_class](data, ctx), matches

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
                    key, key_matches = decode(msg.key(), key_ctx)
                    value, value_matches = decode(msg.value(), value_ctx)
                except Exception as e:  # report which record, then fail
                    print(
                        f"offset {msg.offset()}: cannot decode: {type(e).__name__}: {e}",
                        file=sys.stderr,
                    )
                    return 1
                key_id, value_id = schema_id(msg.key()), schema_id(msg.value())
                ids.update(i for i in (key_id, value_id) if i is not None)
                print(json.dumps({
                    "offset": msg.offset(),
                    "key_schema_id": key_id,
                    "value_schema_id": value_id,
                    "key_message": None if key is None else key.DESCRIPTOR.full_name,
                    "value_message": None if value is None else value.DESCRIPTOR.full_name,
                    "key": None if key is None else to_dict(key),
                    "value": None if value is None else to_dict(value),
                    "value_decimals": {} if value is None else decimals(value),
                    "descriptors_match": key_matches and value_matches,
                }), flush=True)
                seen += 1
        finally:
            consumer.close()
    if seen < args.count:
        print(f"only {seen} of {args.count} records arrived within {args.timeout}s", file=sys.stderr)
        return 1
    schemas = {}
    for i in sorted(ids):
        answer = get_json(f"{args.registry_url}/schemas/ids/{i}")
        schemas[str(i)] = {"schemaType": answer.get("schemaType"), "schema": answer["schema"]}
    print(json.dumps({"schemas": schemas}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
