#!/usr/bin/env python3
"""Reads records from a Kafka topic with confluent-kafka, for the quickstart and the
end-to-end benchmark (a consumer nobody here wrote).

  kafka_tail.py BOOTSTRAP TOPIC COUNT print     prints COUNT records, key and value
  kafka_tail.py BOOTSTRAP TOPIC COUNT latency   reads COUNT records and prints the
                                                latency percentiles (receive time minus
                                                the record's timestamp)
Exits non-zero when COUNT records do not arrive within --timeout seconds.
"""
import argparse
import json
import sys
import time

from confluent_kafka import Consumer


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("bootstrap")
    ap.add_argument("topic")
    ap.add_argument("count", type=int)
    ap.add_argument("mode", choices=["print", "latency"])
    ap.add_argument("--timeout", type=float, default=60.0)
    args = ap.parse_args()
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
                    value = json.loads(msg.value()) if msg.value() else None
                    payload = value.get("payload", value) if isinstance(value, dict) else value
                    key = json.loads(msg.key()) if msg.key() else None
                    key = key.get("payload", key) if isinstance(key, dict) else key
                    print(f"offset {msg.offset()}  key={json.dumps(key)}")
                    print("  value=" + json.dumps(payload, indent=None)[:600])
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
