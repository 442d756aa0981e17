#!/usr/bin/env bash
# Simulator throughput in one command: builds in release mode and runs, on one thread,
# one replication of the bare M/M/5 queue (scenarios/mmc.toml) with TASKS tasks
# (default 1,000,000), then one of the agents pipeline (benches/pipeline.toml: three
# steps on two shared model pools, transient errors, retries with backoff) with
# TASKS tasks, printing tasks/s, events/s and peak RSS for each. The example ends in
# assertions (M/M/5: all tasks served, mean wait within tolerance of Erlang C;
# pipeline: every task ended, retries happened), so a non-zero exit means the
# simulator is wrong, not just slow.
#
#   scripts/bench.sh [TASKS]
#
# It then times whole commands: the cost of --audit, and a 200-point sweep with --jobs 1
# against --jobs 2 (identical output checked), and prints the peak RSS of a batch of
# 1,000,000 tasks arriving at once on the M/M/5 queue (waiting tasks are deferred
# arrivals of 4 bytes each, see src/workflow/agents/pool.rs).
#
# Before/after in one run, alternating two builds of the example: benches/compare.sh;
# how the figures in docs/bench.md were measured is written there.
#
# For the criterion benches (engine hot loop; mmc, default and pipeline replications):
#   cargo bench --bench engine
set -euo pipefail

cd "$(dirname "$0")/.."
tasks="${1:-1000000}"

cargo build --release --example throughput
echo "== bare M/M/5 queue"
cargo run --release --quiet --example throughput -- "$tasks"
echo "== pipeline: 3 steps, 2 shared pools, transient errors, retries with backoff"
cargo run --release --quiet --example throughput -- --pipeline "$tasks"

# Whole-command figures, each measured in this one run (quote ratios, not absolute times).
bin=target/release/orchsim
cargo build --release --quiet
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
secs() { local t0 t1; t0=$(date +%s%N); "$@" >/dev/null; t1=$(date +%s%N); echo "scale=3; ($t1 - $t0) / 1000000000" | bc -l 2>/dev/null || python3 -c "print(($t1 - $t0) / 1e9)"; }

plain=$(secs "$bin" run scenarios/mmc.toml --replications 4 --jobs 1 --no-charts --quiet --out "$tmp/plain")
audit=$(secs "$bin" run scenarios/mmc.toml --replications 4 --jobs 1 --no-charts --quiet --out "$tmp/audit" --audit)
lines=$(wc -l < "$tmp/audit/events.jsonl")
python3 - "$plain" "$audit" "$lines" <<'PY'
import sys
plain, audit, lines = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
print(f"--audit cost     M/M/5, 4 x 100k tasks: {plain:.2f} s plain vs {audit:.2f} s with the trail "
      f"({audit / max(plain, 1e-9):.1f}x; {lines / audit / 1e6:.2f} M trail lines/s)")
PY

grid="--vary strategies.pipeline.handoff_tokens=0:3980:200 --replications 20 --no-charts --quiet"
one=$(secs "$bin" sweep scenarios/research-report.toml $grid --jobs 1 --out "$tmp/s1")
two=$(secs "$bin" sweep scenarios/research-report.toml $grid --jobs 2 --out "$tmp/s2")
cmp -s "$tmp/s1/sweep.csv" "$tmp/s2/sweep.csv" || { echo "sweep: --jobs 1 and --jobs 2 differ" >&2; exit 1; }
python3 - "$one" "$two" <<'PY'
import sys
one, two = float(sys.argv[1]), float(sys.argv[2])
print(f"sweep            200 points x 20 replications, default scenario: {one:.2f} s with --jobs 1, "
      f"{two:.2f} s with --jobs 2 (speed-up {one / two:.2f}x; {200 / two:.0f} points/s)")
PY

batch="$tmp/batch"
python3 - "$bin" "$batch" <<'PY'
import resource, subprocess, sys
bin, out = sys.argv[1], sys.argv[2]
subprocess.run([bin, "run", "scenarios/mmc.toml", "--replications", "1", "--jobs", "1", "--no-charts", "--quiet",
                "--set", "workload.tasks=1000000", "--set", "workload.arrivals={ process = \"batch\" }", "--out", out],
               check=True, stdout=subprocess.DEVNULL)
kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(f"batch            M/M/5, 1,000,000 tasks arriving at once: peak RSS {kb / 1024:.1f} MiB")
PY
