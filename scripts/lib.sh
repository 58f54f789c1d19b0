# Shared by the quickstart and benchmark scripts: a temp dir, free ports, and
# starting / stopping the processes they run, by PID.
# shellcheck shell=bash

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/sluice.XXXXXX")
pids=()

log() { printf '==> %s\n' "$*" >&2; }

cleanup() {
    local pid
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        for _ in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_for SECONDS WHAT COMMAND...: polls COMMAND every 0.1 s until it succeeds.
wait_for() {
    local seconds=$1 what=$2
    shift 2
    local deadline=$((SECONDS + seconds))
    until "$@" >/dev/null 2>&1; do
        if [ $SECONDS -ge $deadline ]; then
            log "timed out after ${seconds}s waiting for $what"
            return 1
        fi
        sleep 0.1
    done
}

port_open() { python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$1),0.5)"; }

# start_broker: starts noida-db on a free port; sets $bootstrap.
start_broker() {
    local port
    port=$(free_port)
    bootstrap=127.0.0.1:$port
    log "starting a Kafka-protocol broker (noida-db) on $bootstrap"
    "$SLUICE_NOIDA_DB" start --only kafka --host 127.0.0.1 --kafka-port "$port" \
        --data-dir "$work/broker" >"$work/broker.log" 2>&1 &
    pids+=($!)
    wait_for 30 "the broker on $bootstrap" port_open "$port"
}
