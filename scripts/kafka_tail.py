#!/usr/bin/env python3
"""Reads records from a Kafka topic with confluent-kafka, for the quickstart and the
end-to-end benchmark (a consumer nobody here wrote).

  kafka_tail.py BOOTSTRAP TOPIC COUNT print     prints COUNT records, key and value
  kafka_tail.py BOOTSTRAP TOPIC COUNT latency   reads COUNT records and prints the
                                                latency percentiles (receive time minus
                                                the record's timestamp)
With --registry URL, keys and values are Avro in Confluent's wire format, decoded by
confluent-kafka's AvroDeserializer with the writer schemas fetched from the Schema
Registry at URL (print mode); otherwise they are JSON (with or without schemas).
Exits non-zero when COUNT records do not arrive within --timeout seconds.
"""
import argparse
import base64
import decimal
import json
import sys
import time
import warnings

from confluent_kafka import Consumer


def printable(value):
    """An Avro-decoded value with bytes as base64 and decimals, dates and times as text."""
    if isinstance(value, dict):
        return {k: printable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [printable(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value.isoformat() if hasattr(value, "isoformat") else repr(value)


def json_decoder():
    """Decodes JSON, unwrapping the payload of JsonConverter's schema envelope."""
    def decode(data, _field, _topic):
        doc = json.loads(data) if data else None
        return doc.get("payload", doc) if isinstance(doc, dict) else doc
    return decode


def avro_decoder(registry_url):
    """Decodes Confluent-framed Avro with confluent-kafka's AvroDeserializer."""
    # authlib, imported by the registry client, warns about its own httpx integration,
    # with a filter it adds on import: import it first so this filter comes before that one.
    try:
        import authlib.deprecate  # noqa: F401
    except ImportError:
        pass
    warnings.filterwarnings("ignore", message="The httpx module is deprecated")
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.avro import AvroDeserializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    registry = SchemaRegistryClient({"url": registry_url})
    deserializers = {MessageField.KEY: AvroDeserializer(registry), MessageField.VALUE: AvroDeserializer(registry)}

    def decode(data, field, topic):
        field = MessageField.KEY if field == "key" else MessageField.VALUE
        return printable(deserializers[field](data, SerializationContext(topic, field)))
    return decode


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("bootstrap")
    ap.add_argument("topic")
    ap.add_argument("count", type=int)
    ap.add_argument("mode", choices=["print", "latency"])
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--registry", metavar="URL", help="decode Avro with the Schema Registry at URL")
    args = ap.parse_args()
    decode = avro_decoder(args.registry) if args.registry else json_decoder()
    consumer = Consumer({
        "bootstrap.servers": args.bootstrap,
        "group.id": f"kafka-tail-{time.time_ns()}",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "receive.message.max.bytes": 1000000000,
    })
    consumer.subscribe([args.topic])
    deadline = time.time() + args.timeout
    seen, latencies = 0, []
    try:
        while seen < args.count and time.time() < deadline:
            for msg in consumer.consume(num_messages=1000, timeout=0.5):
                if msg.error():
                    print(f"consumer error: {msg.error()}", file=sys.stderr)
                    continue
                now_ms = time.time() * 1000.0
                seen += 1
                if args.mode == "print":
                    key = decode(msg.key(), "key", msg.topic())
                    payload = decode(msg.value(), "value", msg.topic())
                    print(f"offset {msg.offset()}  key={json.dumps(key)}")
                    print("  value=" + json.dumps(payload)[:600])
                else:
                    _, ts = msg.timestamp()
                    latencies.append(now_ms - ts)
                if seen >= args.count:
                    break
    finally:
        consumer.close()
    if seen < args.count:
        print(f"only {seen} of {args.count} records arrived within {args.timeout}s", file=sys.stderr)
        return 1
    if args.mode == "latency":
        latencies.sort()
        pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]
        print(f"latency ms: p50={pick(0.50):.1f} p90={pick(0.90):.1f} p99={pick(0.99):.1f} max={latencies[-1]:.1f} (n={len(latencies)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
