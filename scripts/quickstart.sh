#!/usr/bin/env bash
# The quickstart: change data capture on loopback — MariaDB → sluice standalone → a
# Kafka-protocol broker. Starts MariaDB with a row-based binlog (temp dir, free port),
# creates inventory.customers with three rows, runs the Debezium MySQL connector config of
# examples/mysql-to-kafka, makes an insert, an update and a delete, and prints the change
# events read back from the topic by a stock Kafka client: the snapshot's reads (op r),
# then c, u, d and the delete's tombstone. Installs what it needs (scripts/test-env.sh),
# runs everything in a temp dir, and stops what it started.
#
# Keys and values are Avro (io.confluent.connect.avro.AvroConverter), decoded by
# confluent-kafka's AvroDeserializer. Their schemas go to the Schema Registry at
# $SCHEMA_REGISTRY_URL if set, else to the worker's built-in registry
# (schema.registry.listener), which converters without a schema.registry.url use.
# $SLUICE_BIN runs that sluice binary instead of building one (cargo build --release).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
example=$repo/examples/mysql-to-kafka

eval "$("$repo/scripts/test-env.sh")"
if [ -n "${SLUICE_BIN:-}" ]; then
    sluice=$SLUICE_BIN
    log "using $sluice"
else
    log "building sluice (release)"
    cargo build --release --quiet -p sluice-worker --manifest-path "$repo/Cargo.toml"
    sluice=$repo/target/release/sluice
fi

start_broker
start_mariadb
log "creating inventory.customers (examples/mysql-to-kafka/setup.sql)"
mariadb_sql "$(cat "$example/setup.sql")"

# The example's configs, pointed at the servers started here, with Avro converters.
rest_port=$(free_port)
avro=io.confluent.connect.avro.AvroConverter
sed -e "s|^bootstrap.servers=.*|bootstrap.servers=$bootstrap|" \
    -e "s|^offset.storage.file.filename=.*|offset.storage.file.filename=$work/connect.offsets|" \
    -e "s|^listeners=.*|listeners=http://127.0.0.1:$rest_port|" \
    -e "s|^key.converter=.*|key.converter=$avro|" \
    -e "s|^value.converter=.*|value.converter=$avro|" \
    -e "/^\(key\|value\).converter.schemas.enable=/d" \
    "$example/worker.properties" >"$work/worker.properties"
if [ -n "${SCHEMA_REGISTRY_URL:-}" ]; then
    registry_url=$SCHEMA_REGISTRY_URL
    log "Avro schemas go to the Schema Registry at $registry_url"
    printf 'key.converter.schema.registry.url=%s\nvalue.converter.schema.registry.url=%s\n' \
        "$registry_url" "$registry_url" >>"$work/worker.properties"
else
    registry_url=http://127.0.0.1:$(free_port)
    log "Avro schemas go to sluice's built-in Schema Registry on $registry_url"
    printf 'schema.registry.listener=%s\n' "$registry_url" >>"$work/worker.properties"
fi
python3 - "$example/mysql-connector.json" "$work/mysql-connector.json" "$mariadb_port" "$bootstrap" <<'PY'
import json, sys
source, target, port, bootstrap = sys.argv[1:]
doc = json.load(open(source))
doc["config"]["database.port"] = port
doc["config"]["schema.history.internal.kafka.bootstrap.servers"] = bootstrap
json.dump(doc, open(target, "w"), indent=2)
PY

log "starting sluice standalone (REST API on http://127.0.0.1:$rest_port)"
"$sluice" standalone "$work/worker.properties" "$work/mysql-connector.json" 2>"$work/sluice.log" &
pids+=($!)
wait_for 30 "the REST API" http_get "http://127.0.0.1:$rest_port/"

status() { http_get "http://127.0.0.1:$rest_port/connectors/inventory-connector/status"; }
streaming() { status | grep -q '"phase":"streaming"'; }
if ! wait_for 60 "the snapshot to finish" streaming; then
    status || true
    tail -20 "$work/sluice.log" >&2
    exit 1
fi
log "GET /connectors/inventory-connector/status"
status
echo

log "insert, update, delete in MariaDB"
mariadb_sql "
    INSERT INTO inventory.customers (first_name, last_name, email)
        VALUES ('Anne', 'Kretchmar', 'annek@noanswer.org');
    UPDATE inventory.customers SET first_name = 'Anne Marie' WHERE id = 1004;
    DELETE FROM inventory.customers WHERE id = 1004;"

log "the change events on topic dbserver1.inventory.customers, Avro decoded by confluent-kafka's AvroDeserializer (3 snapshot reads, then c, u, d and a tombstone):"
python "$repo/scripts/kafka_tail.py" "$bootstrap" dbserver1.inventory.customers 7 print \
    --registry "$registry_url" --timeout 60
log "their schemas in the registry: GET $registry_url/subjects"
http_get "$registry_url/subjects"
echo
log "done; stopping sluice, MariaDB and the broker"
