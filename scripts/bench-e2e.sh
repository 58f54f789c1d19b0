#!/usr/bin/env bash
# End-to-end benchmark: datagen → sluice standalone → a Kafka-protocol broker, JSON
# with schemas, 20-column rows. Prints records/s (until every record is acknowledged
# by the broker and its offset committed), end-to-end latency percentiles at a fixed
# rate (read back by a stock Kafka client), and the sluice process's peak RSS.
#
#   scripts/bench-e2e.sh [RECORDS] [LATENCY_RATE]     defaults: 1000000 20000
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
records=${1:-1000000}
rate=${2:-20000}

eval "$("$repo/scripts/test-env.sh")"
log "building sluice (release)"
cargo build --release --quiet -p sluice-worker --manifest-path "$repo/Cargo.toml"
sluice=$repo/target/release/sluice
start_broker

# run_sluice NAME CONNECTOR_JSON: starts a worker; sets $sluice_pid and $rest_port.
run_sluice() {
    rest_port=$(free_port)
    mkdir -p "$work/$1"
    cat >"$work/$1/worker.properties" <<PROPS
bootstrap.servers=$bootstrap
offset.storage.file.filename=$work/$1/connect.offsets
offset.flush.interval.ms=100
listeners=http://127.0.0.1:$rest_port
PROPS
    printf '%s' "$2" >"$work/$1/connector.json"
    "$sluice" standalone "$work/$1/worker.properties" "$work/$1/connector.json" 2>"$work/$1/sluice.log" &
    sluice_pid=$!
    pids+=("$sluice_pid")
}

committed_seq() {
    python3 - "$1" <<'PY' 2>/dev/null || echo -1
import json, sys
doc = json.load(open(sys.argv[1]))
print(max((o[1].get("seq", -1) for o in doc["offsets"]), default=-1))
PY
}

all_committed() { [ "$(committed_seq "$work/$1/connect.offsets")" -ge $((records - 1)) ]; }

log "throughput: $records records, as fast as possible"
run_sluice throughput "{\"name\":\"bench\",\"config\":{\"connector.class\":\"datagen\",\"topic.prefix\":\"bench\",\"columns\":\"20\",\"max.records\":\"$records\",\"batch.size\":\"2000\"}}"
start_ns=$(date +%s%N)
wait_for 600 "all $records records acknowledged" all_committed throughput
end_ns=$(date +%s%N)
rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$sluice_pid/status")
cpu_ticks=$(awk '{print $14 + $15}' "/proc/$sluice_pid/stat")
elapsed_ms=$(( (end_ns - start_ns) / 1000000 ))
kill -TERM "$sluice_pid"
wait "$sluice_pid" || true
bytes=$(python3 -c "import os;print(sum(os.path.getsize(os.path.join(d,f)) for d,_,fs in os.walk('$work/broker') for f in fs))")
echo "throughput: $records records in ${elapsed_ms} ms = $(( records * 1000 / (elapsed_ms > 0 ? elapsed_ms : 1) )) records/s (sluice CPU $(( cpu_ticks * 10 )) ms; broker data ${bytes} bytes)"
echo "peak RSS of sluice: $(( rss_kb / 1024 )) MiB (${rss_kb} kB)"

latency_records=$(( rate * 5 ))
log "latency: $latency_records records at $rate records/s"
run_sluice latency "{\"name\":\"lat\",\"config\":{\"connector.class\":\"datagen\",\"topic.prefix\":\"lat\",\"columns\":\"20\",\"rate\":\"$rate\",\"max.records\":\"$latency_records\",\"batch.size\":\"100\"}}"
python "$repo/scripts/kafka_tail.py" "$bootstrap" lat.inventory.customers "$latency_records" latency --timeout 120
rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$sluice_pid/status")
echo "peak RSS of sluice at $rate records/s: $(( rss_kb / 1024 )) MiB"
