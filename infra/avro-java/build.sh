#!/usr/bin/env bash
# Build the Avro interop CLI if needed; print its Java classpath (absolute) as the last stdout line.
# Maven output goes to stderr so stdout carries only the classpath.
# Usage: CP="$(infra/avro-java/build.sh | tail -n1)"; java -cp "$CP" vn.thidua.interop.AvroInterop ...
# (keep the trailing lib/* unexpanded: it is a JVM classpath wildcard, not a shell glob)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
jar="$here/target/avro-interop.jar"
lib="$here/target/lib"

needs_build=0
if [[ ! -f "$jar" || ! -d "$lib" ]] || [[ -z "$(ls -A "$lib" 2>/dev/null)" ]]; then
  needs_build=1
elif [[ -n "$(find "$here/pom.xml" "$here/src" -type f -newer "$jar" -print -quit)" ]]; then
  needs_build=1
fi

if (( needs_build )); then
  command -v mvn >/dev/null || { echo "build.sh: mvn not found on PATH" >&2; exit 1; }
  mvn -q -B -f "$here/pom.xml" package -DskipTests 1>&2
  [[ -f "$jar" ]] || { echo "build.sh: build did not produce $jar" >&2; exit 1; }
  touch "$jar"  # jar plugin may keep an older mtime when contents are unchanged
fi

echo "$jar:$lib/*"
