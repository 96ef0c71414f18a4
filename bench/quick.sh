#!/usr/bin/env bash
# `make bench-quick`: a small version of every benchmark, in under two minutes on a 2-core machine.
# Sizes are too small for the ratios to mean much: a smoke test of the harness; docs/benchmarks.md has the numbers.
# Needs PostgreSQL and Kafka (the Makefile runs it under infra/with-services.sh).
set -euo pipefail
THIDUA=${THIDUA:-.venv/bin/thidua}
started=$SECONDS
run() { local at=$SECONDS; "$THIDUA" bench "$@"; echo "bench-quick: $1 took $((SECONDS - at)) s"; }
run generate --units 300 --years 5
run append --units 300 --years 2 --repeat 1 --handler-commands 300
run checkpoints --units 200 --years 2 --repeat 1 --handler-commands 100
run rebuild --units 200 --years 2 --repeat 1 --source store,kafka
run relay --units 300 --years 2 --repeat 1
run projectors --units 200 --years 2 --repeat 1
run latency --units 300 --rates 50,200 --seconds 2 --closed-loop 100
run sync --units 300 --rates 50,200 --seconds 2 --closed-loop 50
run deadline --rate 20 --seconds 3
run queries --units 200 --years 2 --requests 50
run web --units 200 --years 2 --requests 20
run asof --units 300 --years 2 --provinces largest --at 0.8 --period 2027 --repeat 1
run commands --units 300 --repeat 1
run decoder --units 300 --years 2 --repeat 3
echo "bench-quick: $((SECONDS - started)) s in all"
