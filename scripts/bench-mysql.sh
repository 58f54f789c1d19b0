#!/usr/bin/env bash
# MySQL-source benchmark: MariaDB → sluice standalone (release build) → a Kafka-protocol
# broker, JSON with schemas (the Debezium envelope), rows of about 200 bytes
# (INT, INT, DECIMAL, DATETIME(6), three VARCHARs). Prints rows/s, CPU time and the peak
# RSS (VmHWM) of the sluice process for
#   (a) the snapshot of ROWS rows;
#   (b) streaming ROWS rows inserted while sluice runs (bounded by MariaDB's insert rate);
#   (c) streaming a backlog of ROWS rows inserted while sluice was stopped (sluice's own rate).
# A phase ends when the topic holds all its records (broker high watermarks). sluice runs
# pinned to one core (taskset) when the machine has more than one (SLUICE_BENCH_PIN=0: not).
#
#   scripts/bench-mysql.sh [ROWS]          default 1000000
#   SLUICE_BENCH_PHASES=c scripts/bench-mysql.sh   runs only the listed phases (default abc)
#   SLUICE_BENCH_WORKER_PROPS='producer.compression.type=none' scripts/bench-mysql.sh
#       adds worker settings (one per line)
#   SLUICE_BENCH_PERF=1 scripts/bench-mysql.sh   also records `perf record -g` of phase (c)
#       into target/bench-mysql.perf.data (SLUICE_BENCH_PERF_OPTS replaces `-g`, e.g.
#       `--call-graph dwarf`)
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
rows=${1:-1000000}
phases=${SLUICE_BENCH_PHASES:-abc}

eval "$("$repo/scripts/test-env.sh")"
log "building sluice (release)"
cargo build --release --quiet -p sluice-worker --manifest-path "$repo/Cargo.toml"
sluice=$repo/target/release/sluice
pin=()
if [ "${SLUICE_BENCH_PIN:-1}" != 0 ] && [ "$(nproc)" -gt 1 ] && command -v taskset >/dev/null; then
    pin=(taskset -c 1)
fi

start_broker
start_mariadb --innodb-buffer-pool-size=1G --innodb-log-file-size=512M \
    --innodb-flush-log-at-trx-commit=0 --sync-binlog=0 --max-allowed-packet=256M

# ~207 bytes of values a row: 4 + 4 + 5 + 8 + 36 + ~22 + 128.
mariadb_sql "
    CREATE DATABASE bench;
    CREATE TABLE bench.snap (id INT PRIMARY KEY, qty INT NOT NULL, price DECIMAL(10,2) NOT NULL,
        created DATETIME(6) NOT NULL, name VARCHAR(64) NOT NULL, email VARCHAR(64) NOT NULL,
        note VARCHAR(255));
    CREATE TABLE bench.live LIKE bench.snap;"

# insert_rows TABLE FROM COUNT: COUNT rows with ids FROM.., in transactions of 10000 rows.
insert_rows() {
    local table=$1 from=$2 count=$3 sql="" chunk=10000 i
    for ((i = 0; i < count; i += chunk)); do
        local n=$((count - i < chunk ? count - i : chunk))
        sql+="INSERT INTO bench.$table SELECT seq, seq % 1000, (seq % 100000) / 100,
            TIMESTAMP '2024-01-01 00:00:00' + INTERVAL seq SECOND,
            CONCAT('customer ', LPAD(seq, 10, '0'), ' of the benchmark'),
            CONCAT('user', seq, '@example.com'),
            CONCAT(MD5(seq), MD5(seq + 1), MD5(seq + 2), MD5(seq + 3))
            FROM bench.seq_$((from + i))_to_$((from + i + n - 1));"
    done
    mariadb_sql "$sql"
}

# wait_records TOPIC COUNT: blocks until TOPIC holds COUNT records; prints the epoch time
# (seconds) it saw them.
wait_records() {
    python - "$bootstrap" "$1" "$2" <<'PY'
import sys, time
from confluent_kafka import Consumer, TopicPartition
bootstrap, topic, want = sys.argv[1], sys.argv[2], int(sys.argv[3])
c = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-wait"})
deadline = time.time() + 1800
while time.time() < deadline:
    md = c.list_topics(topic, timeout=5).topics.get(topic)
    parts = list(md.partitions) if md is not None and md.error is None else []
    have = sum(c.get_watermark_offsets(TopicPartition(topic, p), timeout=5)[1] for p in parts)
    if have >= want:
        print(f"{time.time():.3f}")
        sys.exit(0)
    time.sleep(0.05)
sys.exit(f"{topic}: only {have} of {want} records after 1800 s")
PY
}

# run_sluice NAME SNAPSHOT_MODE TABLE: starts a worker pinned to one core; sets $sluice_pid.
run_sluice() {
    local name=$1 rest_port
    rest_port=$(free_port)
    mkdir -p "$work/$name"
    cat >"$work/$name/worker.properties" <<PROPS
bootstrap.servers=$bootstrap
key.converter=org.apache.kafka.connect.json.JsonConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
key.converter.schemas.enable=true
value.converter.schemas.enable=true
offset.storage.file.filename=$work/$name/connect.offsets
offset.flush.interval.ms=1000
listeners=http://127.0.0.1:$rest_port
${SLUICE_BENCH_WORKER_PROPS:-}
PROPS
    cat >"$work/$name/mysql.json" <<JSON
{"name": "$name", "config": {
  "connector.class": "io.debezium.connector.mysql.MySqlConnector",
  "database.hostname": "127.0.0.1", "database.port": "$mariadb_port",
  "database.user": "sluice", "database.password": "sluice",
  "database.server.id": "$((5400 + RANDOM % 900))", "topic.prefix": "$name",
  "table.include.list": "bench\\\\.$3", "snapshot.mode": "$2",
  "heartbeat.interval.ms": "1000"}}
JSON
    "${pin[@]}" "$sluice" standalone "$work/$name/worker.properties" "$work/$name/mysql.json" \
        2>>"$work/$name/sluice.log" &
    sluice_pid=$!
    pids+=("$sluice_pid")
    wait_for 30 "the REST API of $name" http_get "http://127.0.0.1:$rest_port/"
}

stop_sluice() {
    kill -TERM "$sluice_pid"
    wait "$sluice_pid" || true
}

# mark_servers: remembers the CPU time MariaDB and the broker have used so far.
mark_servers() {
    mariadb_cpu0=$(cpu_ms "$mariadb_pid")
    broker_cpu0=$(cpu_ms "$broker_pid")
}

# servers_cpu: the CPU time MariaDB and the broker used since mark_servers.
servers_cpu() {
    echo "    (meanwhile MariaDB used $(($(cpu_ms "$mariadb_pid") - mariadb_cpu0)) ms of CPU," \
        "the broker $(($(cpu_ms "$broker_pid") - broker_cpu0)) ms)"
}

# report WHAT ROWS START_NS END_S: rows/s, CPU and peak RSS of $sluice_pid.
report() {
    local what=$1 n=$2 start_ns=$3 end_s=$4 rss_kb cpu_ticks hz elapsed_ms
    rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$sluice_pid/status")
    cpu_ticks=$(awk '{print $14 + $15}' "/proc/$sluice_pid/stat")
    hz=$(getconf CLK_TCK)
    elapsed_ms=$(python3 -c "print(max(1, int(($end_s - $start_ns / 1e9) * 1000)))")
    printf '%-34s %8d rows in %6d ms = %7d rows/s; sluice CPU %6d ms (%d rows per CPU-second); peak RSS %d MiB\n' \
        "$what" "$n" "$elapsed_ms" $((n * 1000 / elapsed_ms)) $((cpu_ticks * 1000 / hz)) \
        $((n * hz / (cpu_ticks > 0 ? cpu_ticks : 1))) $((rss_kb / 1024))
}

log "loading $rows rows into bench.snap"
t=$(date +%s%N)
insert_rows snap 1 "$rows"
log "loaded in $(( ($(date +%s%N) - t) / 1000000 )) ms"
mariadb_sql "ANALYZE TABLE bench.snap" >/dev/null
row_bytes=$(mariadb_sql "SELECT ROUND(AVG(4 + 4 + 5 + 8 + LENGTH(name) + LENGTH(email) + LENGTH(note)))
    FROM bench.snap")

result_a= result_b= result_c=
if [[ $phases == *a* ]]; then
log "(a) snapshot of $rows rows"
mark_servers
start_ns=$(date +%s%N)
run_sluice snap initial snap
end_s=$(wait_records snap.bench.snap "$rows")
result_a=$(report "(a) snapshot" "$rows" "$start_ns" "$end_s")
result_a+=$'\n'$(servers_cpu)
stop_sluice
fi

# Phase (b) leaves the connector's offsets in $work/live; (c) starts from them (or from
# the binlog's end when (b) did not run) after inserting its backlog.
run_sluice live no_data live
wait_for 30 "the first committed offset (heartbeat)" test -s "$work/live/connect.offsets"
seen=0
if [[ $phases == *b* ]]; then
log "(b) streaming $rows rows inserted while sluice runs"
start_ns=$(date +%s%N)
insert_rows live 1 "$rows"
insert_end=$(date +%s%N)
end_s=$(wait_records live.bench.live "$rows")
result_b=$(report "(b) streaming, live inserts" "$rows" "$start_ns" "$end_s")
result_b+=$'\n'"    (MariaDB inserted them in $(( (insert_end - start_ns) / 1000000 )) ms)"
seen=$rows
fi
stop_sluice

if [[ $phases == *c* ]]; then
log "(c) streaming a backlog of $rows rows inserted while sluice was stopped"
insert_rows live $((rows + 1)) "$rows"
perf_pid=
mark_servers
start_ns=$(date +%s%N)
run_sluice live no_data live
if [ "${SLUICE_BENCH_PERF:-}" = 1 ]; then
    # shellcheck disable=SC2086 # options are words
    perf record ${SLUICE_BENCH_PERF_OPTS:--g} -o "$repo/target/bench-mysql.perf.data" \
        -p "$sluice_pid" >/dev/null 2>&1 &
    perf_pid=$!
fi
end_s=$(wait_records live.bench.live $((seen + rows)))
result_c=$(report "(c) streaming, backlog" "$rows" "$start_ns" "$end_s")
result_c+=$'\n'$(servers_cpu)
if [ -n "$perf_pid" ]; then
    kill -INT "$perf_pid"
    wait "$perf_pid" || true
    log "perf data: $repo/target/bench-mysql.perf.data"
fi
stop_sluice
fi

echo "sluice MySQL source, $rows rows of $row_bytes bytes (values), JSON with schemas, sluice ${pin[*]:-unpinned}:"
cp "$work"/*/sluice.log "$repo/target/" 2>/dev/null || true
for r in "$result_a" "$result_b" "$result_c"; do
    [ -z "$r" ] || echo "$r"
done
