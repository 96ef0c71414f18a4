#!/usr/bin/env bash
# Install the system packages the tests need (Debian/Ubuntu, apt). Idempotent: a quick no-op when all present.
#
#   infra/ci-install.sh [--dry-run]
#
# Needs: PostgreSQL server binaries (/usr/lib/postgresql/*/bin), Java 17+ (Kafka 4 broker), Maven (assembles
# the broker from Maven Central: infra/kafka/kafka.sh build), kcat (Kafka CLI for debugging), Chromium (the web
# app's browser tests drive Debian's /usr/bin/chromium with Playwright: browsers cannot be downloaded) and a font
# with Vietnamese coverage for its screenshots (DejaVu).
# When PostgreSQL is installed here, Debian's default cluster is not created (createcluster.conf), so no
# system server takes port 5432; the tests run their own clusters (infra/postgres/postgres.sh).
set -euo pipefail

DRY=0
[ "${1:-}" = "--dry-run" ] && DRY=1

say() { echo "ci-install: $*" >&2; }

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=(sudo -n); else say "not root and no sudo"; fi
fi

java_major() {
  local j=java
  [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ] && j=$JAVA_HOME/bin/java
  command -v "$j" >/dev/null 2>&1 || { echo 0; return; }
  "$j" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1
}

have_pg_server() { ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; }

pkgs=()
have_pg_server && say "ok: PostgreSQL server ($(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1))" ||
  pkgs+=(postgresql)
if command -v kcat >/dev/null 2>&1 || command -v kafkacat >/dev/null 2>&1; then say "ok: kcat"; else pkgs+=(KCAT); fi
if [ "$(java_major)" -ge 17 ] 2>/dev/null; then say "ok: Java $(java_major)"; else pkgs+=(JDK); fi
if command -v mvn >/dev/null 2>&1; then say "ok: maven"; else pkgs+=(maven); fi
# the AsyncAPI parser (tests/contract/test_asyncapi.py) runs on Node.js
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then say "ok: node, npm"; else pkgs+=(nodejs npm); fi
# browser tests (the web app; the offline /docs and /redoc pages) drive Debian's Chromium
if [ -x /usr/bin/chromium ]; then say "ok: chromium"; else pkgs+=(chromium); fi
if [ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then say "ok: DejaVu fonts"; else pkgs+=(fonts-dejavu-core); fi

if [ ${#pkgs[@]} -eq 0 ]; then say "nothing to install"; exit 0; fi
command -v apt-get >/dev/null 2>&1 || { say "ERROR: missing ${pkgs[*]} and no apt-get: install them by hand"; exit 1; }

export DEBIAN_FRONTEND=noninteractive
run() { say "+ $*"; [ $DRY = 1 ] || "${SUDO[@]}" "$@"; }

run apt-get update -qq

# resolve the virtual names to packages this distribution has
candidate() { apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: //p' | grep -qv '(none)'; }
resolved=()
for p in "${pkgs[@]}"; do
  case "$p" in
    KCAT)
      if candidate kcat; then resolved+=(kcat); elif candidate kafkacat; then resolved+=(kafkacat)
      else say "WARNING: no kcat/kafkacat package here (only a debugging aid; skipped)"; fi ;;
    JDK)
      found=""
      for j in openjdk-21-jdk-headless openjdk-17-jdk-headless default-jdk-headless; do
        if candidate "$j"; then found=$j; break; fi
      done
      [ -n "$found" ] || { say "ERROR: no OpenJDK 17+ package available"; exit 1; }
      resolved+=("$found") ;;
    *) resolved+=("$p") ;;
  esac
done
[ ${#resolved[@]} -gt 0 ] || exit 0

if [[ " ${resolved[*]} " == *" postgresql "* ]] && [ ! -e /etc/postgresql-common/createcluster.conf ]; then
  say "+ (no default 'main' cluster) create_main_cluster = false > /etc/postgresql-common/createcluster.conf"
  if [ $DRY = 0 ]; then
    "${SUDO[@]}" mkdir -p /etc/postgresql-common
    echo "create_main_cluster = false" | "${SUDO[@]}" tee /etc/postgresql-common/createcluster.conf >/dev/null
  fi
fi

run apt-get install -y -qq --no-install-recommends "${resolved[@]}"
[ $DRY = 1 ] || say "installed: ${resolved[*]}"
