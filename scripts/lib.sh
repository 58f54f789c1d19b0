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

# http_get URL: prints the body, fails on an error status (curl is not always installed).
http_get() {
    python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())' "$1"
}

# cpu_ms PID: the CPU time (user + system) process PID has used, in milliseconds.
cpu_ms() {
    awk -v hz="$(getconf CLK_TCK)" '{print int(($14 + $15) * 1000 / hz)}' "/proc/$1/stat"
}

# start_broker: starts noida-db on a free port; sets $bootstrap and $broker_pid.
start_broker() {
    local port
    port=$(free_port)
    bootstrap=127.0.0.1:$port
    log "starting a Kafka-protocol broker (noida-db) on $bootstrap"
    "$SLUICE_NOIDA_DB" start --only kafka --host 127.0.0.1 --kafka-port "$port" \
        --data-dir "$work/broker" >"$work/broker.log" 2>&1 &
    broker_pid=$!
    pids+=($!)
    wait_for 30 "the broker on $bootstrap" port_open "$port"
}

# start_mariadb [EXTRA_MARIADBD_OPTIONS...]: initialises a data directory in $work/mariadb
# and starts mariadbd on a free loopback port with the binlog settings change data capture
# needs (log_bin, binlog_format=ROW, binlog_row_image=FULL, binlog_row_metadata=FULL), then
# creates the connector's user sluice/sluice with its grants. Sets $mariadb_port and
# $mariadb_socket and $mariadb_pid; `mariadb_sql STATEMENTS` runs statements as root over the socket.
start_mariadb() {
    local server install_db client port dir=$work/mariadb user_opt=()
    server=$(command -v mariadbd || command -v mysqld || echo /usr/sbin/mariadbd)
    install_db=$(command -v mariadb-install-db || command -v mysql_install_db || echo /usr/bin/mariadb-install-db)
    client=$(command -v mariadb || command -v mysql || echo /usr/bin/mariadb)
    mariadb_client=$client
    if [ "$(id -u)" -eq 0 ]; then
        user_opt=(--user=root)
    fi
    mkdir -p "$dir"
    log "initialising MariaDB in $dir"
    "$install_db" --no-defaults --auth-root-authentication-method=normal --skip-test-db \
        --datadir="$dir/data" "${user_opt[@]}" >"$dir/install-db.log" 2>&1
    port=$(free_port)
    mariadb_port=$port
    mariadb_socket=$dir/mysqld.sock
    log "starting MariaDB on 127.0.0.1:$port"
    "$server" --no-defaults "${user_opt[@]}" --datadir="$dir/data" --socket="$mariadb_socket" \
        --pid-file="$dir/mysqld.pid" --tmpdir="$dir" --port="$port" --bind-address=127.0.0.1 \
        --log-bin=mysql-bin --server-id=1 --binlog-format=ROW \
        --binlog-row-image=FULL --binlog-row-metadata=FULL \
        --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
        --innodb-use-native-aio=0 "$@" >"$dir/mariadbd.log" 2>&1 &
    mariadb_pid=$!
    pids+=($!)
    wait_for 60 "MariaDB on port $port" mariadb_sql "SELECT 1"
    mariadb_sql "
        DELETE FROM mysql.global_priv WHERE User = '';
        FLUSH PRIVILEGES;
        CREATE USER 'sluice'@'127.0.0.1' IDENTIFIED BY 'sluice';
        CREATE USER 'sluice'@'localhost' IDENTIFIED BY 'sluice';
        GRANT SELECT, RELOAD, SHOW DATABASES, LOCK TABLES, REPLICATION SLAVE, BINLOG MONITOR
            ON *.* TO 'sluice'@'127.0.0.1', 'sluice'@'localhost';"
}

mariadb_sql() {
    "$mariadb_client" --no-defaults --batch --skip-column-names --user=root --protocol=SOCKET \
        --socket="$mariadb_socket" --default-character-set=utf8mb4 --execute "$1"
}
