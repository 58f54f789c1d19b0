#!/usr/bin/env bash
# The quickstart: a real pipeline on loopback — datagen (Debezium-shaped change events)
# → sluice standalone → a Kafka-protocol broker — then prints a few records read back
# from the topic by a stock Kafka client. Installs what it needs, runs everything in a
# temp dir, and stops what it started.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

eval "$("$repo/scripts/test-env.sh")"
log "building sluice (release)"
cargo build --release --quiet -p sluice-worker --manifest-path "$repo/Cargo.toml"
sluice=$repo/target/release/sluice

start_broker
rest_port=$(free_port)
cat >"$work/worker.properties" <<PROPS
bootstrap.servers=$bootstrap
key.converter=org.apache.kafka.connect.json.JsonConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
key.converter.schemas.enable=false
value.converter.schemas.enable=false
offset.storage.file.filename=$work/connect.offsets
offset.flush.interval.ms=1000
listeners=http://127.0.0.1:$rest_port
PROPS
cat >"$work/datagen.json" <<JSON
{"name": "inventory-datagen",
 "config": {"connector.class": "datagen", "topic.prefix": "quickstart",
            "database.name": "inventory", "table.name": "customers",
            "columns": "6", "rate": "20", "max.records": "100"}}
JSON
log "starting sluice standalone (REST API on http://127.0.0.1:$rest_port)"
"$sluice" standalone "$work/worker.properties" "$work/datagen.json" 2>"$work/sluice.log" &
pids+=($!)
wait_for 30 "the REST API" curl -fs "http://127.0.0.1:$rest_port/"
log "GET /connectors/inventory-datagen/status"
curl -fs "http://127.0.0.1:$rest_port/connectors/inventory-datagen/status"
echo
log "the first 5 change events on topic quickstart.inventory.customers:"
python "$repo/scripts/kafka_tail.py" "$bootstrap" quickstart.inventory.customers 5 print --timeout 60
log "done; stopping sluice and the broker"
