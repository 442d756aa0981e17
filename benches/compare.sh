#!/usr/bin/env bash
# Before/after throughput in one run: alternates two builds of the throughput example
# (examples/throughput.rs) ROUNDS times on each benchmark, so that both see the same
# machine load, and prints each build's median tasks/s and events/s and the ratio of
# the medians.
#
#   benches/compare.sh BEFORE_BIN AFTER_BIN [TASKS] [ROUNDS]
#
# BEFORE_BIN and AFTER_BIN are built `throughput` examples, e.g. the current one
# (target/release/examples/throughput) and one built from an older commit in a second
# worktree. An old example without `--pipeline` needs the few lines that pick
# benches/pipeline.toml (see docs/bench.md). Defaults: 1,000,000 tasks, 7 rounds.
set -euo pipefail

before=$1
after=$2
tasks=${3:-1000000}
rounds=${4:-7}

field() { awk -v k="$1" '$1 == k { print $2 }'; }
for bench in mmc pipeline; do
  args=("$tasks")
  [ "$bench" = pipeline ] && args=(--pipeline "$tasks")
  b_tps=() a_tps=() b_eps=() a_eps=()
  for _ in $(seq "$rounds"); do
    out=$("$before" "${args[@]}")
    b_tps+=("$(field tasks/s <<<"$out")")
    b_eps+=("$(field events/s <<<"$out")")
    out=$("$after" "${args[@]}")
    a_tps+=("$(field tasks/s <<<"$out")")
    a_eps+=("$(field events/s <<<"$out")")
  done
  python3 - "$bench" "$rounds" "${b_tps[*]}" "${a_tps[*]}" "${b_eps[*]}" "${a_eps[*]}" <<'PY'
import statistics, sys
bench, rounds = sys.argv[1], sys.argv[2]
bt, at, be, ae = ([float(x) for x in a.split()] for a in sys.argv[3:7])
mb, ma = statistics.median(bt), statistics.median(at)
print(f"{bench:9} before {mb:12,.0f} tasks/s {statistics.median(be):12,.0f} events/s | "
      f"after {ma:12,.0f} tasks/s {statistics.median(ae):12,.0f} events/s | "
      f"ratio {ma / mb:.2f}x (medians of {rounds} alternating runs)")
PY
done
