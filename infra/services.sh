#!/usr/bin/env bash
# Local PostgreSQL + Kafka for developers/operators (no Docker). Data persists in DIR between up/down.
#
#   infra/services.sh up     [--dir DIR]   start both (idempotent), write DIR/env, print it
#   infra/services.sh down   [--dir DIR]   stop both (by pid / data dir); data is kept (rm -rf DIR to reset)
#   infra/services.sh env    [--dir DIR]   print DIR/env        (use:  eval "$(infra/services.sh env)")
#   infra/services.sh status [--dir DIR]
#
# DIR defaults to var/services in the repository root. Ports: THIDUA_PG_PORT (15432), THIDUA_KAFKA_PORT (19092),
# THIDUA_KAFKA_CONTROLLER_PORT (Kafka port + 1). A service that is already running keeps its port.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
KAFKA=$HERE/kafka/kafka.sh
PG=$HERE/postgres/postgres.sh

usage() { sed -n '2,/^[^#]/{/^#/p}' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

CMD=${1:-}; [ $# -gt 0 ] && shift
DIR=$REPO/var/services
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) [ $# -ge 2 ] || usage; DIR=$2; shift 2 ;;
    --dir=*) DIR=${1#--dir=}; shift ;;
    *) usage ;;
  esac
done

pg_port_of() { sed -n "s/^port = \([0-9]*\)$/\1/p" "$DIR/postgres/pgdata/thidua-runtime.conf" 2>/dev/null; }
kafka_port_of() { sed -n 's|^listeners=PLAINTEXT://127.0.0.1:\([0-9]*\),.*|\1|p' "$DIR/kafka/server.properties" 2>/dev/null; }

write_env() {
  local pg_port=$1 kafka_port=$2
  cat >"$DIR/env.tmp" <<EOF
export THIDUA_DATABASE_URL=postgresql+psycopg://thidua@127.0.0.1:$pg_port/thidua
export THIDUA_KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$kafka_port
EOF
  mv "$DIR/env.tmp" "$DIR/env"
}

cmd_up() {
  mkdir -p "$DIR"
  DIR=$(cd "$DIR" && pwd)
  # as root, PostgreSQL runs as an unprivileged user that must be able to traverse DIR
  [ "$(id -u)" -ne 0 ] || chmod a+x "$DIR"
  local pg_port=${THIDUA_PG_PORT:-15432} kafka_port=${THIDUA_KAFKA_PORT:-19092} cport
  cport=${THIDUA_KAFKA_CONTROLLER_PORT:-$((kafka_port + 1))}

  if "$PG" status "$DIR/postgres" >/dev/null 2>&1; then
    pg_port=$(pg_port_of)
    echo "PostgreSQL already running on 127.0.0.1:$pg_port ($DIR/postgres)" >&2
  else
    "$PG" start "$DIR/postgres" "$pg_port"
  fi

  if "$KAFKA" status "$DIR/kafka" >/dev/null 2>&1; then
    kafka_port=$(kafka_port_of)
    echo "Kafka already running on 127.0.0.1:$kafka_port ($DIR/kafka)" >&2
  else
    "$KAFKA" build
    "$KAFKA" start "$DIR/kafka" "$kafka_port" "$cport"
  fi

  write_env "$pg_port" "$kafka_port"
  cat "$DIR/env"
}

cmd_down() {
  [ -d "$DIR" ] || { echo "nothing to stop ($DIR does not exist)" >&2; return 0; }
  local rc=0
  "$KAFKA" stop "$DIR/kafka" || rc=1
  "$PG" stop "$DIR/postgres" || rc=1
  return $rc
}

cmd_env() {
  [ -f "$DIR/env" ] || { echo "no $DIR/env: run infra/services.sh up" >&2; return 1; }
  cat "$DIR/env"
}

cmd_status() {
  local rc=0 pg kafka
  pg=$("$PG" status "$DIR/postgres" 2>/dev/null) || rc=1
  kafka=$("$KAFKA" status "$DIR/kafka" 2>/dev/null) || rc=1
  echo "postgres: $pg"
  echo "kafka:    $kafka"
  return $rc
}

case "$CMD" in
  up) cmd_up ;;
  down) cmd_down ;;
  env) cmd_env ;;
  status) cmd_status ;;
  *) usage ;;
esac
