#!/usr/bin/env bash
# Simulator throughput in one command: builds in release mode and runs one replication
# of the bare M/M/5 queue (scenarios/mmc.toml) with TASKS tasks (default 1,000,000) on
# one thread, printing tasks/s, events/s and peak RSS. The example ends in assertions
# (all tasks served, mean wait within tolerance of Erlang C), so a non-zero exit means
# the simulator is wrong, not just slow.
#
#   scripts/bench.sh [TASKS]
#
# For the criterion benches (engine hot loop, mmc and default replications):
#   cargo bench --bench engine
set -euo pipefail

cd "$(dirname "$0")/.."
tasks="${1:-1000000}"

cargo build --release --example throughput
cargo run --release --quiet --example throughput -- "$tasks"
