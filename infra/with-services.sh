#!/usr/bin/env bash
# Run a command with throw-away PostgreSQL and Kafka (for `make test` and CI). No Docker.
#
#   infra/with-services.sh CMD [ARGS...]
#
# For each of THIDUA_DATABASE_URL / THIDUA_KAFKA_BOOTSTRAP_SERVERS / THIDUA_KAFKA_SASL_BOOTSTRAP_SERVERS that is NOT
# already set, start that service in a fresh temporary directory on free loopback ports and export the variable (the
# SASL one: a second, authenticated broker — SASL/SCRAM and ACLs, super user "admin" with the random password
# exported as THIDUA_KAFKA_SASL_ADMIN_PASSWORD — started while the first one starts); then run CMD. On exit
# (normal, failure, Ctrl-C, SIGTERM) stop only what was started here, by pid / data dir, and delete the
# directory. Exit code = CMD's. If a service cannot be started, a warning is printed and CMD runs without
# the variable (the test fixtures then skip, or fail when THIDUA_REQUIRE_SERVICES=1).
# Also exported: THIDUA_SERVICES_STARTED ("postgres kafka kafka-sasl", or a subset) = what this script started.
# Environment: THIDUA_KEEP_SERVICES_DIR=1 keeps the temporary directory (logs) after exit.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KAFKA=$HERE/kafka/kafka.sh
PG=$HERE/postgres/postgres.sh

say() { echo "with-services: $*" >&2; }

[ $# -ge 1 ] || { sed -n '2,/^[^#]/{/^#/p}' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

TMP=""
PG_DIR=""
KAFKA_DIR=""
SASL_DIR=""
CLEANED=""

cleanup() {
  [ -z "$CLEANED" ] || return 0
  CLEANED=1
  trap '' INT TERM  # a second Ctrl-C must not leave the services behind
  if [ -n "$KAFKA_DIR" ]; then "$KAFKA" stop "$KAFKA_DIR" >/dev/null 2>&1 || say "WARNING: could not stop Kafka ($KAFKA_DIR)"; fi
  if [ -n "$SASL_DIR" ]; then "$KAFKA" stop "$SASL_DIR" >/dev/null 2>&1 || say "WARNING: could not stop Kafka ($SASL_DIR)"; fi
  if [ -n "$PG_DIR" ]; then "$PG" stop "$PG_DIR" >/dev/null 2>&1 || say "WARNING: could not stop PostgreSQL ($PG_DIR)"; fi
  if [ -n "$TMP" ]; then
    if [ "${THIDUA_KEEP_SERVICES_DIR:-0}" = 1 ]; then say "kept $TMP"; else rm -rf "$TMP"; fi
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# N free TCP ports on 127.0.0.1 (held open together, so they are distinct)
free_ports() {
  local n=$1 py
  for py in "${PYTHON:-}" python3 python; do
    [ -n "$py" ] && command -v "$py" >/dev/null 2>&1 || continue
    "$py" - "$n" <<'EOF' && return 0
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
  done
  # no python: random high ports that nobody answers on
  local out=() p
  while [ ${#out[@]} -lt "$n" ]; do
    p=$((20000 + RANDOM % 40000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && continue
    [[ " ${out[*]} " == *" $p "* ]] || out+=("$p")
  done
  echo "${out[*]}"
}

need_pg=1 need_kafka=1 need_sasl=1
if [ -n "${THIDUA_DATABASE_URL:-}" ]; then need_pg=0; say "THIDUA_DATABASE_URL already set: not starting PostgreSQL"; fi
if [ -n "${THIDUA_KAFKA_BOOTSTRAP_SERVERS:-}" ]; then
  need_kafka=0; say "THIDUA_KAFKA_BOOTSTRAP_SERVERS already set: not starting Kafka"
fi
if [ -n "${THIDUA_KAFKA_SASL_BOOTSTRAP_SERVERS:-}" ]; then
  need_sasl=0; say "THIDUA_KAFKA_SASL_BOOTSTRAP_SERVERS already set: not starting the SASL broker"
fi
STARTED=()

if [ $need_pg = 1 ] || [ $need_kafka = 1 ] || [ $need_sasl = 1 ]; then
  TMP=$(mktemp -d "${TMPDIR:-/tmp}/thidua-services.XXXXXX") || { say "ERROR: mktemp failed"; exit 1; }
  chmod 755 "$TMP"  # as root, PostgreSQL runs as an unprivileged user that must reach $TMP/postgres
  read -r PG_PORT KAFKA_PORT CONTROLLER_PORT SASL_PORT SASL_CONTROLLER_PORT < <(free_ports 5)

  SASL_PID=""
  if [ $need_sasl = 1 ] && "$KAFKA" build; then  # in the background, while PostgreSQL and the first broker start
    SASL_DIR=$TMP/kafka-sasl
    SASL_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr -d '+/=\n')
    sasl_t0=$SECONDS
    KAFKA_SASL_ADMIN_PASSWORD=$SASL_PASSWORD "$KAFKA" start "$SASL_DIR" "$SASL_PORT" "$SASL_CONTROLLER_PORT" \
      >"$TMP/kafka-sasl-start.log" 2>&1 &
    SASL_PID=$!
  fi

  if [ $need_pg = 1 ]; then
    PG_DIR=$TMP/postgres
    t0=$SECONDS
    if "$PG" start "$PG_DIR" "$PG_PORT"; then
      export THIDUA_DATABASE_URL="postgresql+psycopg://thidua@127.0.0.1:$PG_PORT/thidua"
      STARTED+=(postgres)
      say "PostgreSQL ready on 127.0.0.1:$PG_PORT ($((SECONDS - t0)) s)"
    else
      say "WARNING: could not start PostgreSQL; running without THIDUA_DATABASE_URL" \
        "(THIDUA_KEEP_SERVICES_DIR=1 keeps the logs)"
    fi
  fi

  if [ $need_kafka = 1 ]; then
    KAFKA_DIR=$TMP/kafka
    t0=$SECONDS
    if "$KAFKA" build && "$KAFKA" start "$KAFKA_DIR" "$KAFKA_PORT" "$CONTROLLER_PORT"; then
      export THIDUA_KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:$KAFKA_PORT"
      STARTED+=(kafka)
      say "Kafka ready on 127.0.0.1:$KAFKA_PORT ($((SECONDS - t0)) s)"
    else
      say "WARNING: could not start Kafka; running without THIDUA_KAFKA_BOOTSTRAP_SERVERS" \
        "(THIDUA_KEEP_SERVICES_DIR=1 keeps the logs)"
    fi
  fi

  if [ -n "$SASL_PID" ]; then
    if wait "$SASL_PID"; then
      export THIDUA_KAFKA_SASL_BOOTSTRAP_SERVERS="127.0.0.1:$SASL_PORT" THIDUA_KAFKA_SASL_ADMIN_PASSWORD="$SASL_PASSWORD"
      STARTED+=(kafka-sasl)
      say "Kafka with SASL/SCRAM and ACLs ready on 127.0.0.1:$SASL_PORT ($((SECONDS - sasl_t0)) s, started in parallel)"
    else
      cat "$TMP/kafka-sasl-start.log" >&2
      say "WARNING: could not start the SASL broker; running without THIDUA_KAFKA_SASL_BOOTSTRAP_SERVERS"
    fi
  fi
fi
export THIDUA_SERVICES_STARTED="${STARTED[*]}"

"$@"
rc=$?
exit $rc
