#!/usr/bin/env bash
# Soak: MariaDB → sluice (MySQL source) → Kafka → sluice (MySQL sink) → MariaDB, under a
# mixed insert / update / delete load for SLUICE_SOAK_MINUTES (default 30), in a
# distributed cluster of two workers (static membership). Worker 2 is killed with
# `kill -9` every SLUICE_SOAK_KILL_EVERY seconds (default 180) and restarted under its
# group.instance.id; worker 1 runs the whole time and its RSS is sampled every 30 s.
# At the end the load stops and the script waits until the copy equals the source
# (row count and a checksum of every row), then prints one report: rows, changes, kills,
# records on the topic and duplicates (at-least-once), and worker 1's RSS over time.
# Exit status 1 if the copy never equals the source.
#
#   scripts/soak.sh                     30 minutes, debug build
#   SLUICE_SOAK_MINUTES=5 SLUICE_BIN=target/release/sluice scripts/soak.sh
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
minutes=${SLUICE_SOAK_MINUTES:-30}
kill_every=${SLUICE_SOAK_KILL_EVERY:-180}

eval "$("$repo/scripts/test-env.sh")"
if [ -z "${SLUICE_BIN:-}" ]; then
    log "building sluice"
    cargo build --quiet -p sluice-worker --manifest-path "$repo/Cargo.toml"
    SLUICE_BIN=$repo/target/debug/sluice
fi
# A copy: a build during the soak must not replace the binary under the workers.
cp "$SLUICE_BIN" "$work/sluice"
sluice=$work/sluice

start_broker
start_mariadb
mariadb_sql "
    CREATE DATABASE src;
    CREATE TABLE src.t (id INT PRIMARY KEY, v BIGINT NOT NULL, note VARCHAR(64));
    INSERT INTO src.t SELECT seq, seq, CONCAT('row ', seq) FROM src.seq_1_to_5000;
    CREATE DATABASE dst;
    CREATE USER 'sink'@'127.0.0.1' IDENTIFIED BY 'sinkpw';
    GRANT ALL ON dst.* TO 'sink'@'127.0.0.1';"

declare -A worker_pid worker_port
# start_worker N: starts distributed worker N (static member soak-N); sets its pid, port.
start_worker() {
    local n=$1 dir=$work/worker-$1
    mkdir -p "$dir"
    if [ -z "${worker_port[$n]:-}" ]; then
        worker_port[$n]=$(free_port)
    fi
    cat >"$dir/worker.properties" <<PROPS
bootstrap.servers=$bootstrap
group.id=soak
group.instance.id=soak-$n
config.storage.topic=soak-configs
offset.storage.topic=soak-offsets
status.storage.topic=soak-status
config.storage.replication.factor=1
offset.storage.replication.factor=1
status.storage.replication.factor=1
rebalance.timeout.ms=5000
offset.flush.interval.ms=1000
key.converter.schemas.enable=true
value.converter.schemas.enable=true
listeners=http://127.0.0.1:${worker_port[$n]}
PROPS
    "$sluice" distributed "$dir/worker.properties" 2>>"$dir/sluice.log" &
    worker_pid[$n]=$!
    pids+=("$!")
    wait_for 60 "worker $n's REST API" http_get "http://127.0.0.1:${worker_port[$n]}/"
}

rss_mib() { awk '/VmRSS/ {printf "%d", $2 / 1024}' "/proc/$1/status"; }

start_worker 1
start_worker 2

# rest METHOD PATH [BODY]: a REST call to worker 1, retried while the cluster answers 409.
rest() {
    python - "http://127.0.0.1:${worker_port[1]}$2" "$1" "${3:-}" <<'PY'
import sys, time, urllib.request, urllib.error
url, method, body = sys.argv[1], sys.argv[2], sys.argv[3]
deadline = time.time() + 60
while True:
    req = urllib.request.Request(url, method=method, data=body.encode() or None,
                                 headers={"content-type": "application/json"})
    try:
        print(urllib.request.urlopen(req, timeout=30).read().decode())
        break
    except urllib.error.HTTPError as e:
        if e.code != 409 or time.time() > deadline:
            sys.exit(f"{method} {url}: {e.code} {e.read().decode()}")
        time.sleep(0.2)
PY
}

rest POST /connectors "{\"name\": \"soak-source\", \"config\": {
  \"connector.class\": \"io.debezium.connector.mariadb.MariaDbConnector\",
  \"database.hostname\": \"127.0.0.1\", \"database.port\": \"$mariadb_port\",
  \"database.user\": \"sluice\", \"database.password\": \"sluice\",
  \"database.server.id\": \"5701\", \"topic.prefix\": \"soak\",
  \"table.include.list\": \"src\\\\.t\"}}" >/dev/null
rest POST /connectors "{\"name\": \"soak-sink\", \"config\": {
  \"connector.class\": \"io.debezium.connector.jdbc.JdbcSinkConnector\",
  \"topics\": \"soak.src.t\",
  \"connection.url\": \"jdbc:mysql://127.0.0.1:$mariadb_port/dst\",
  \"connection.username\": \"sink\", \"connection.password\": \"sinkpw\",
  \"insert.mode\": \"upsert\", \"primary.key.mode\": \"record_key\",
  \"delete.enabled\": \"true\", \"schema.evolution\": \"basic\",
  \"table.name.format\": \"\${source.table}\"}}" >/dev/null
log "connectors created; load for $minutes min, worker 2 killed every $kill_every s"

# The load: transactions of 1-5 random inserts / updates / deletes over ids 1..20000, about
# 100 a second; counts committed changes in $work/changes.
python - "$mariadb_socket" "$work/changes" "$work/load.stop" <<'PY' &
import os, random, subprocess, sys, time
socket, counter, stop = sys.argv[1], sys.argv[2], sys.argv[3]
rng = random.Random(7)
rows = {i: i for i in range(1, 5001)}
changes = {"insert": 0, "update": 0, "delete": 0}
counter_v = 10**9
client = subprocess.Popen(["mariadb", "--no-defaults", "--user=root", "--protocol=SOCKET",
                           f"--socket={socket}", "--batch", "--skip-column-names", "--unbuffered", "src"],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
while not os.path.exists(stop):
    sql, planned, kinds = [], dict(rows), []
    for _ in range(rng.randint(1, 5)):
        counter_v += 1
        op = rng.random()
        if op < 0.5 or not planned:
            i = rng.randint(1, 20000)
            if i in planned:
                sql.append(f"UPDATE t SET v = {counter_v} WHERE id = {i};")
                kinds.append("update")
            else:
                sql.append(f"INSERT INTO t VALUES ({i}, {counter_v}, 'inserted');")
                kinds.append("insert")
            planned[i] = counter_v
        elif op < 0.8:
            i = rng.choice(list(planned))
            sql.append(f"UPDATE t SET v = {counter_v}, note = 'updated' WHERE id = {i};")
            kinds.append("update")
            planned[i] = counter_v
        else:
            i = rng.choice(list(planned))
            sql.append(f"DELETE FROM t WHERE id = {i};")
            kinds.append("delete")
            del planned[i]
    client.stdin.write("BEGIN; " + " ".join(sql) + " COMMIT; SELECT 'ok';\n")
    client.stdin.flush()
    assert client.stdout.readline().strip() == "ok"
    rows = planned
    for k in kinds:
        changes[k] += 1
    with open(counter + ".tmp", "w") as f:
        f.write(f"{changes['insert']} {changes['update']} {changes['delete']}\n")
    os.replace(counter + ".tmp", counter)
    time.sleep(0.01)
client.stdin.close()
client.wait()
PY
load_pid=$!
pids+=("$load_pid")

start=$SECONDS
kills=0
rss_samples=()
next_kill=$((SECONDS + kill_every))
next_sample=$SECONDS
while [ $((SECONDS - start)) -lt $((minutes * 60)) ]; do
    if [ $SECONDS -ge "$next_sample" ]; then
        rss_samples+=("$(rss_mib "${worker_pid[1]}")")
        next_sample=$((next_sample + 30))
    fi
    if [ $SECONDS -ge "$next_kill" ]; then
        kill -KILL "${worker_pid[2]}"
        wait "${worker_pid[2]}" 2>/dev/null || true
        kills=$((kills + 1))
        log "kill -9 of worker 2 (#$kills) at $((SECONDS - start)) s; restarting it"
        start_worker 2
        next_kill=$((SECONDS + kill_every))
    fi
    kill -0 "$load_pid" 2>/dev/null || { log "the load generator died"; exit 1; }
    sleep 1
done
touch "$work/load.stop"
wait "$load_pid" || true
read -r inserts updates deletes <"$work/changes"
changes=$((inserts + updates + deletes))
log "load stopped after $changes changes; waiting for the copy to catch up"

checksum() {
    mariadb_sql "SELECT COUNT(*), COALESCE(SUM(CRC32(CONCAT_WS(':', id, v, note))), 0) FROM $1.t"
}
equal=no
deadline=$((SECONDS + 600))
caught_up_s=0
stopped=$SECONDS
while [ $SECONDS -lt $deadline ]; do
    if [ "$(checksum src)" = "$(checksum dst 2>/dev/null || echo missing)" ]; then
        equal=yes
        caught_up_s=$((SECONDS - stopped))
        break
    fi
    sleep 1
done
records=$(python - "$bootstrap" <<'PY'
import sys
from confluent_kafka import Consumer, TopicPartition
c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": "soak-count"})
md = c.list_topics("soak.src.t", timeout=10).topics["soak.src.t"]
print(sum(c.get_watermark_offsets(TopicPartition("soak.src.t", p), timeout=10)[1]
          for p in md.partitions))
PY
)
# Every change is one record (a delete is a record and its tombstone), plus the snapshot;
# what is beyond that was delivered twice after a kill (at-least-once).
expected=$((5000 + inserts + updates + 2 * deletes))
duplicates=$((records - expected))
read -r rows _ <<<"$(checksum src)"
first=${rss_samples[0]}
last=${rss_samples[${#rss_samples[@]}-1]}
max=$(printf '%s\n' "${rss_samples[@]}" | sort -n | tail -1)
cat <<REPORT
soak: $minutes min, $changes committed changes ($inserts inserts, $updates updates, $deletes deletes) on src.t, $rows rows at the end
      kill -9 of worker 2: $kills times, each restarted under its group.instance.id
      topic soak.src.t: $records records, $expected expected (5000 snapshot rows, the changes, a tombstone per delete): $duplicates duplicates
      copy equal to the source: $equal ($caught_up_s s after the load stopped)
      worker 1 RSS (MiB), every 30 s: first $first, last $last, max $max; samples: ${rss_samples[*]}
REPORT
cp "$work"/worker-*/sluice.log "$repo/target/" 2>/dev/null || true
[ "$equal" = yes ]
