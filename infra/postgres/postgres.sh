#!/usr/bin/env bash
# Throw-away PostgreSQL cluster on 127.0.0.1 for tests and development (Debian server binaries, no Docker).
#
#   postgres.sh start DATA_DIR PORT   initdb (trust auth, UTF8) if new, start listening on 127.0.0.1:PORT only,
#                                     wait with pg_isready, ensure role "thidua" (superuser) + database "thidua"
#   postgres.sh stop DATA_DIR         pg_ctl stop -m fast (then immediate) for DATA_DIR/pgdata
#   postgres.sh status DATA_DIR       exit 0 if running
#
# Files in DATA_DIR: pgdata/ (the cluster; pgdata/postmaster.pid), postgres.log, run/ (unix socket).
# Durability is traded for speed (fsync=off, synchronous_commit=off): never put data you need here.
# PostgreSQL refuses to run as root: as root the server runs as $PG_USER (default: "postgres" if that user
# exists, else a system user "thidua-pg" is created) and DATA_DIR is chowned to it.
# Environment: PG_BINDIR (server binaries; default newest /usr/lib/postgresql/*/bin), PG_USER, PG_START_TIMEOUT (60).
set -euo pipefail

log() { echo "postgres: $*" >&2; }
die() { echo "postgres: ERROR: $*" >&2; exit 1; }

find_bindir() {
  if [ -n "${PG_BINDIR:-}" ]; then
    [ -x "$PG_BINDIR/initdb" ] || die "PG_BINDIR=$PG_BINDIR has no initdb"
    echo "$PG_BINDIR"; return
  fi
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
  if [ -n "$d" ] && [ -x "$d/initdb" ]; then echo "$d"; return; fi
  if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then pg_config --bindir; return; fi
  if command -v initdb >/dev/null 2>&1; then dirname "$(command -v initdb)"; return; fi
  die "PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin): run infra/ci-install.sh"
}

# The unprivileged user the server runs as (empty = the current user).
pg_user() {
  [ "$(id -u)" -eq 0 ] || return 0
  if [ -n "${PG_USER:-}" ]; then
    id "$PG_USER" >/dev/null 2>&1 || die "PG_USER=$PG_USER does not exist"
    echo "$PG_USER"
  elif id postgres >/dev/null 2>&1; then echo postgres
  else
    if ! id thidua-pg >/dev/null 2>&1; then
      log "creating system user thidua-pg (PostgreSQL refuses to run as root)"
      useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin thidua-pg \
        || die "could not create user thidua-pg"
    fi
    echo thidua-pg
  fi
}

# run a command as the server user, from / (the caller's cwd may not be readable by that user)
as_pg() {
  if [ -n "$PGUSER_RUN" ]; then
    if command -v runuser >/dev/null 2>&1; then (cd / && runuser -u "$PGUSER_RUN" -- "$@")
    else (cd / && su -s /bin/sh "$PGUSER_RUN" -c '"$0" "$@"' -- "$@"); fi
  else
    (cd / && "$@")
  fi
}

# alive = exists and is not a zombie (an exited child of a slow-reaping init still answers kill -0)
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  [ -r "/proc/$1/stat" ] || return 0
  local rest
  rest=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
  [ "${rest%% *}" != Z ]
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

is_running() { [ -f "$1/pgdata/postmaster.pid" ] && as_pg "$BIN/pg_ctl" status -D "$1/pgdata" >/dev/null 2>&1; }

setup() {
  BIN=$(find_bindir)
  PGUSER_RUN=$(pg_user)
}

cmd_start() {
  [ $# -eq 2 ] || die "usage: postgres.sh start DATA_DIR PORT"
  local dir=$1 port=$2
  [[ "$port" =~ ^[0-9]+$ ]] || die "PORT must be a number"
  setup
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if is_running "$dir"; then log "already running ($dir/pgdata)"; return 0; fi
  port_in_use "$port" && die "port $port on 127.0.0.1 is already in use"

  mkdir -p "$dir/run"
  if [ -n "$PGUSER_RUN" ]; then
    chown "$PGUSER_RUN:" "$dir" "$dir/run"
    [ ! -d "$dir/pgdata" ] || chown -R "$PGUSER_RUN:" "$dir/pgdata"
    as_pg test -w "$dir" ||
      die "user $PGUSER_RUN cannot write $dir: a parent directory is not accessible to it (chmod o+x)"
  fi
  local t0=$SECONDS

  if [ ! -f "$dir/pgdata/PG_VERSION" ]; then
    local loc=C
    if locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$'; then loc=C.UTF-8; fi
    log "initdb $dir/pgdata ($("$BIN/postgres" --version), locale $loc${PGUSER_RUN:+, as $PGUSER_RUN})"
    rm -rf "$dir/pgdata"
    as_pg "$BIN/initdb" -D "$dir/pgdata" -U postgres -A trust -E UTF8 --locale="$loc" -N >"$dir/initdb.log" 2>&1 ||
      { cat "$dir/initdb.log" >&2; die "initdb failed"; }
    as_pg tee -a "$dir/pgdata/postgresql.conf" >/dev/null <<'EOF'

# --- thidua test/dev cluster (infra/postgres/postgres.sh) ---
# listen address, port and socket directory are rewritten at every start:
include_if_exists = 'thidua-runtime.conf'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
shared_buffers = 128MB
log_min_messages = warning
log_line_prefix = '%m [%p] %q%u@%d '
EOF
  fi

  # unix sockets are limited to ~107 bytes; all clients use TCP anyway, so drop the socket if the path is long
  local sockdir="$dir/run"
  [ ${#sockdir} -le 90 ] || sockdir=""
  as_pg tee "$dir/pgdata/thidua-runtime.conf" >/dev/null <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$sockdir'
EOF

  if ! as_pg "$BIN/pg_ctl" start -D "$dir/pgdata" -l "$dir/postgres.log" -w -t "${PG_START_TIMEOUT:-60}" -s; then
    tail -n 30 "$dir/postgres.log" >&2 || true
    die "pg_ctl start failed (log: $dir/postgres.log)"
  fi
  local i
  for ((i = 0; i < 120; i++)); do
    "$BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -d postgres && break
    sleep 0.5
  done
  "$BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -d postgres || { cmd_stop "$dir"; die "not ready on port $port"; }

  "$BIN/psql" -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 >/dev/null <<'EOF' ||
SELECT 'CREATE ROLE thidua LOGIN SUPERUSER' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'thidua')
\gexec
SELECT 'CREATE DATABASE thidua OWNER thidua' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'thidua')
\gexec
EOF
    { cmd_stop "$dir"; die "could not create role/database thidua"; }
  log "ready: postgresql://thidua@127.0.0.1:$port/thidua (pid $(head -n1 "$dir/pgdata/postmaster.pid")) after $((SECONDS - t0)) s"
}

cmd_stop() {
  [ $# -eq 1 ] || die "usage: postgres.sh stop DATA_DIR"
  local dir=$1 pid
  [ -d "$dir/pgdata" ] || { log "not running (no $dir/pgdata)"; return 0; }
  [ -n "${BIN:-}" ] || setup
  dir=$(cd "$dir" && pwd)
  if ! is_running "$dir"; then log "not running ($dir/pgdata)"; return 0; fi
  pid=$(head -n1 "$dir/pgdata/postmaster.pid")
  if ! as_pg "$BIN/pg_ctl" stop -D "$dir/pgdata" -m fast -w -t 60 -s; then
    log "fast shutdown failed, trying immediate"
    as_pg "$BIN/pg_ctl" stop -D "$dir/pgdata" -m immediate -w -t 20 -s ||
      { log "sending SIGKILL to postmaster $pid"; kill -KILL "$pid" 2>/dev/null || true; sleep 1; }
  fi
  # pg_ctl -w returns when postmaster.pid is gone; the process itself may need a moment more
  local i
  for ((i = 0; i < 100; i++)); do alive "$pid" || break; sleep 0.1; done
  if alive "$pid"; then die "could not stop postmaster pid $pid"; fi
  log "stopped (pid $pid)"
}

cmd_status() {
  [ $# -eq 1 ] || die "usage: postgres.sh status DATA_DIR"
  setup
  if [ -d "$1" ] && is_running "$(cd "$1" && pwd)"; then
    echo "running (pid $(head -n1 "$1/pgdata/postmaster.pid"))"
  else echo "not running"; return 1; fi
}

case "${1:-}" in
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  status) shift; cmd_status "$@" ;;
  *) sed -n '2,/^[^#]/{/^#/p}' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
