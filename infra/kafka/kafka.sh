#!/usr/bin/env bash
# Single-node Apache Kafka (KRaft, broker+controller) on 127.0.0.1, assembled from Maven Central. No Docker.
#
#   kafka.sh build                               mvn package -> infra/kafka/target/kafka-libs (skipped when built)
#   kafka.sh start DATA_DIR PORT CONTROLLER_PORT format DATA_DIR (fresh cluster id) if new, start the broker in
#                                                the background, wait until it answers a metadata request
#                                                With KAFKA_SASL_ADMIN_PASSWORD set: the authenticated broker
#                                                (sasl.properties: SASL/SCRAM-SHA-512 and ACLs; super user "admin"
#                                                with that password, created when the storage is formatted)
#   kafka.sh stop DATA_DIR                       SIGTERM the pid in DATA_DIR/kafka.pid, SIGKILL after a timeout
#   kafka.sh status DATA_DIR                     exit 0 if running (prints the pid)
#   kafka.sh check BOOTSTRAP                     one metadata request; exit 0 if the broker answers
#
# Files in DATA_DIR: server.properties, kafka.pid, kafka.log (broker stdout+stderr), data/ (log.dirs), sasl.env
# (SASL mode: the passwords it was formatted with, mode 0600; a restart reuses them).
# Environment: KAFKA_START_TIMEOUT (s, 90), KAFKA_STOP_TIMEOUT (s, 30), KAFKA_HEAP_OPTS ("-Xms128m -Xmx512m"),
#   JAVA_HOME, PYTHON (an interpreter with kafka-python for the readiness check; else the repo's .venv, else
#   python3, else a pure-bash Metadata v4 request; KAFKA_READY_CHECK=bash forces the latter),
#   KAFKA_LIBS_DIR (use other jars; for version experiments).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
LIBS=${KAFKA_LIBS_DIR:-$HERE/target/kafka-libs}
STAMP=$LIBS/.thidua-build

log() { echo "kafka: $*" >&2; }
die() { echo "kafka: ERROR: $*" >&2; exit 1; }

kafka_version() { sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$HERE/pom.xml" | head -n1; }

java_bin() {
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then echo "$JAVA_HOME/bin/java"
  elif command -v java >/dev/null 2>&1; then command -v java
  else die "java not found (Kafka 4 needs Java 17+): run infra/ci-install.sh"; fi
}

check_java() {
  local j v
  j=$(java_bin)
  v=$("$j" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1)
  [ -n "$v" ] && [ "$v" -ge 17 ] || die "Java 17+ required, found: $("$j" -version 2>&1 | head -n1)"
}

build_stamp() { echo "kafka=$(kafka_version) pom=$(cksum <"$HERE/pom.xml" | cut -d' ' -f1)"; }

is_built() { [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(build_stamp)" ]; }

cmd_build() {
  if [ -n "${KAFKA_LIBS_DIR:-}" ]; then log "KAFKA_LIBS_DIR set, not building"; return 0; fi
  if is_built; then log "jars for Kafka $(kafka_version) already built ($LIBS)"; return 0; fi
  command -v mvn >/dev/null 2>&1 || die "mvn not found: run infra/ci-install.sh"
  mkdir -p "$HERE/target"
  # serialise concurrent builds (two test runs starting at once)
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$HERE/target/.build.lock"
    flock 9
    if is_built; then log "jars for Kafka $(kafka_version) built meanwhile"; return 0; fi
  fi
  log "building Kafka $(kafka_version) jars from Maven Central (cached in ~/.m2) ..."
  local t0=$SECONDS
  rm -rf "$LIBS"
  # (maven 3.8 prints stray ANSI resets even with -B -q: strip them)
  if ! (cd "$HERE" && mvn -q -B package 2>&1 | sed 's/\x1b\[[0-9;]*m//g'); then die "mvn package failed"; fi
  [ -f "$LIBS/kafka_2.13-$(kafka_version).jar" ] || die "build finished but $LIBS has no kafka_2.13-$(kafka_version).jar"
  build_stamp >"$STAMP"
  log "built $(ls "$LIBS"/*.jar | wc -l) jars in $((SECONDS - t0)) s"
}

# pid of our broker for DATA_DIR if it is alive, else nothing
running_pid() {
  local dir=$1 pid args
  [ -f "$dir/kafka.pid" ] || return 1
  pid=$(cat "$dir/kafka.pid" 2>/dev/null || true)
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  alive "$pid" || return 1
  # guard against pid reuse: the process must be a broker started with this DATA_DIR's config
  if [ -r "/proc/$pid/cmdline" ]; then args=$(tr '\0' ' ' <"/proc/$pid/cmdline")
  else args=$(ps -o args= -p "$pid" 2>/dev/null || true); fi
  case "$args" in *kafka.Kafka*"$dir/server.properties"*) echo "$pid" ;; *) return 1 ;; esac
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

pick_python() {
  local p
  [ "${KAFKA_READY_CHECK:-auto}" != bash ] || return 1
  for p in "${PYTHON:-}" "$REPO/.venv/bin/python" python3; do
    [ -n "$p" ] || continue
    command -v "$p" >/dev/null 2>&1 || continue
    if "$p" -c 'import kafka' >/dev/null 2>&1; then echo "$p"; return 0; fi
  done
  return 1
}

# A real Metadata request. With kafka-python: admin describe_cluster (needs >= 1 broker and a controller).
read -r -d '' PY_CHECK <<'EOF' || true
import logging, sys
logging.disable(logging.CRITICAL)
from kafka import KafkaAdminClient
import os
sasl = {}
if os.environ.get("KAFKA_CHECK_SASL_PASSWORD"):
    sasl = dict(security_protocol="SASL_PLAINTEXT", sasl_mechanism="SCRAM-SHA-512", sasl_plain_username="admin",
                sasl_plain_password=os.environ["KAFKA_CHECK_SASL_PASSWORD"])
a = KafkaAdminClient(bootstrap_servers=sys.argv[1], client_id="thidua-infra-check",
                     request_timeout_ms=5000, **sasl)
try:
    c = a.describe_cluster()
    sys.exit(0 if c.get("brokers") and c.get("controller_id", -1) != -1 else 1)
finally:
    a.close()
EOF

# One raw request over /dev/tcp (printf-escaped bytes); prints the first N bytes of the reply as decimal numbers.
raw_reply() {
  local host=${1%:*} port=${1##*:}
  (
    exec 2>/dev/null
    exec 3<>"/dev/tcp/$host/$port" || exit 1
    printf "$2" >&3
    timeout 5 head -c "$3" <&3 | od -An -tu1
  )
}

# Without python: Metadata v4 (all topics); ready when the response lists >= 1 broker.
bash_check() {
  local out
  # size=18 | api_key=3 api_version=4 correlation_id=1 client_id="chk" | topics=null allow_auto_create=false
  out=$(raw_reply "$1" '\x00\x00\x00\x12\x00\x03\x00\x04\x00\x00\x00\x01\x00\x03chk\xff\xff\xff\xff\x00' 16) || return 1
  # bytes: size(4) correlation_id(4) throttle_time_ms(4) brokers_count(4)
  # shellcheck disable=SC2086
  set -- $out
  [ $# -eq 16 ] && [ "${8}" = 1 ] && [ $(( ${13} << 24 | ${14} << 16 | ${15} << 8 | ${16} )) -ge 1 ]
}

# Without python, on a SASL listener: ApiVersions v0 (allowed before authentication); ready when error_code is 0.
bash_api_versions() {
  local out
  out=$(raw_reply "$1" '\x00\x00\x00\x0d\x00\x12\x00\x00\x00\x00\x00\x01\x00\x03chk' 10) || return 1
  # bytes: size(4) correlation_id(4) error_code(2)
  # shellcheck disable=SC2086
  set -- $out
  [ $# -eq 10 ] && [ "${8}" = 1 ] && [ "${9}" = 0 ] && [ "${10}" = 0 ]
}

cmd_check() {
  local bs=$1 py
  if py=$(pick_python); then timeout 20 "$py" -c "$PY_CHECK" "$bs" >/dev/null 2>&1
  elif [ -n "${KAFKA_CHECK_SASL_PASSWORD:-}" ]; then bash_api_versions "$bs"
  else bash_check "$bs"; fi
}

# SASL mode: the passwords of DATA_DIR (kept from its first start), the configuration overlaid with sasl.properties
sasl_setup() {
  local dir=$1 admin
  if [ -f "$dir/sasl.env" ]; then
    # shellcheck disable=SC1091
    . "$dir/sasl.env"
    [ -z "${KAFKA_SASL_ADMIN_PASSWORD:-}" ] || [ "$KAFKA_SASL_ADMIN_PASSWORD" = "$SASL_ADMIN" ] ||
      log "DATA_DIR was formatted with another admin password: keeping it"
  else
    admin=$KAFKA_SASL_ADMIN_PASSWORD
    SASL_ADMIN=$admin
    SASL_CONTROLLER=$(head -c 18 /dev/urandom | base64 | tr -d '+/=\n')
    (umask 077; printf 'SASL_ADMIN=%q\nSASL_CONTROLLER=%q\n' "$SASL_ADMIN" "$SASL_CONTROLLER" >"$dir/sasl.env")
  fi
  export KAFKA_CHECK_SASL_PASSWORD=$SASL_ADMIN
}

cmd_start() {
  [ $# -eq 3 ] || die "usage: kafka.sh start DATA_DIR PORT CONTROLLER_PORT"
  local dir=$1 port=$2 cport=$3 pid
  [[ "$port" =~ ^[0-9]+$ && "$cport" =~ ^[0-9]+$ ]] || die "ports must be numbers"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if pid=$(running_pid "$dir"); then log "already running (pid $pid, $dir)"; return 0; fi
  rm -f "$dir/kafka.pid"
  [ -f "$STAMP" ] || [ -n "${KAFKA_LIBS_DIR:-}" ] || die "jars not built: run infra/kafka/kafka.sh build"
  check_java
  local p
  for p in "$port" "$cport"; do port_in_use "$p" && die "port $p on 127.0.0.1 is already in use"; done

  local java conf cp logopt id py
  java=$(java_bin)
  conf=$dir/server.properties
  cp="$LIBS/*"
  logopt="-Dlog4j2.configurationFile=$HERE/log4j2.properties"
  mkdir -p "$dir/data" "$dir/logs"
  local overlay=/dev/null scram=()
  if [ -n "${KAFKA_SASL_ADMIN_PASSWORD:-}" ] || [ -f "$dir/sasl.env" ]; then
    sasl_setup "$dir"
    overlay=$HERE/sasl.properties
    scram=(--add-scram "SCRAM-SHA-512=[name=admin,password=$SASL_ADMIN]")
  fi
  # the overlay's keys replace the base's (grep keeps the others), then the placeholders are filled in
  grep -v -E "^($(sed -n 's/^\([a-z0-9._-]*\)=.*/\1/p' "$overlay" | paste -sd'|' - | sed 's/\./\\./g'))=" \
    "$HERE/server.properties" | cat - "$overlay" |
    sed -e "s|@PORT@|$port|g" -e "s|@CONTROLLER_PORT@|$cport|g" -e "s|@LOG_DIRS@|$dir/data|g" \
      -e "s|@ADMIN_PASSWORD@|${SASL_ADMIN:-}|g" -e "s|@CONTROLLER_PASSWORD@|${SASL_CONTROLLER:-}|g" >"$conf"
  chmod 600 "$conf"

  local t0=$SECONDS
  if [ ! -f "$dir/data/meta.properties" ]; then
    # fresh cluster id (22-char URL-safe base64 UUID); static controller.quorum.voters -> no --standalone
    # (one starting with "-" would be read as an option by the storage tool's argument parser: draw again)
    id=-
    while [ "${id#-}" != "$id" ]; do id=$(head -c16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n'); done
    echo "=== format $(date -Is) cluster.id=$id" >>"$dir/kafka.log"
    "$java" -Xmx256m $logopt -cp "$cp" kafka.tools.StorageTool format -t "$id" -c "$conf" --ignore-formatted \
      "${scram[@]}" >>"$dir/kafka.log" 2>&1 || { tail -n 30 "$dir/kafka.log" >&2; die "storage format failed ($dir/kafka.log)"; }
  fi

  echo "=== start $(date -Is) port=$port controller_port=$cport" >>"$dir/kafka.log"
  # own session (setsid): Ctrl-C in the caller's terminal does not reach the broker; stop it by pid.
  # The inner bash writes its pid and execs java, so kafka.pid is the JVM's pid.
  # shellcheck disable=SC2086
  setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' kafka-start "$dir/kafka.pid" \
    "$java" ${KAFKA_HEAP_OPTS:--Xms128m -Xmx512m} -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15 \
    -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true -Dkafka.logs.dir="$dir/logs" $logopt \
    -cp "$cp" kafka.Kafka "$conf" </dev/null >>"$dir/kafka.log" 2>&1 &
  local i
  for i in $(seq 50); do [ -s "$dir/kafka.pid" ] && break; sleep 0.1; done
  pid=$(cat "$dir/kafka.pid" 2>/dev/null || true)
  [ -n "$pid" ] || die "broker did not start (no pid file)"

  local timeout=${KAFKA_START_TIMEOUT:-90} how="bash Metadata v4"
  if py=$(pick_python); then how="kafka-python ($py)"; fi
  log "started pid $pid on 127.0.0.1:$port, waiting until it answers a metadata request [$how] ..."
  while :; do
    if ! alive "$pid"; then
      tail -n 40 "$dir/kafka.log" >&2
      rm -f "$dir/kafka.pid"
      die "broker exited during start-up (log: $dir/kafka.log)"
    fi
    if cmd_check "127.0.0.1:$port"; then break; fi
    if [ $((SECONDS - t0)) -ge "$timeout" ]; then
      tail -n 40 "$dir/kafka.log" >&2
      cmd_stop "$dir" || true
      die "broker not ready after ${timeout}s (log: $dir/kafka.log)"
    fi
    sleep 0.5
  done
  log "ready: 127.0.0.1:$port (pid $pid) after $((SECONDS - t0)) s"
}

cmd_stop() {
  [ $# -eq 1 ] || die "usage: kafka.sh stop DATA_DIR"
  local dir=$1 pid i timeout=${KAFKA_STOP_TIMEOUT:-30}
  [ -d "$dir" ] || { log "not running (no $dir)"; return 0; }
  dir=$(cd "$dir" && pwd)
  if ! pid=$(running_pid "$dir"); then
    log "not running ($dir)"; rm -f "$dir/kafka.pid"; return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < timeout * 10; i++)); do
    alive "$pid" || break
    sleep 0.1
  done
  if alive "$pid"; then
    log "pid $pid still alive after ${timeout}s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for i in $(seq 50); do alive "$pid" || break; sleep 0.1; done
  fi
  alive "$pid" && die "could not stop pid $pid"
  rm -f "$dir/kafka.pid"
  log "stopped (pid $pid)"
}

cmd_status() {
  [ $# -eq 1 ] || die "usage: kafka.sh status DATA_DIR"
  local pid
  if [ -d "$1" ] && pid=$(running_pid "$(cd "$1" && pwd)"); then echo "running (pid $pid)"; else echo "not running"; return 1; fi
}

case "${1:-}" in
  build) shift; cmd_build ;;
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  status) shift; cmd_status "$@" ;;
  check) shift; [ $# -eq 1 ] || die "usage: kafka.sh check HOST:PORT"; cmd_check "$1" ;;
  version) kafka_version ;;
  *) sed -n '2,/^[^#]/{/^#/p}' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
