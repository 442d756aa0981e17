#!/usr/bin/env bash
# A larger fuzz of the scenario loader than `cargo test` runs: CASES mutated shipped
# scenarios through `orchsim run` in a DEBUG build (integer overflow panics there), each
# with a 60 s limit, and ten times as many arbitrary byte strings through the loader.
# Every case must run (exit 0) or be refused (exit 2): no panic, no hang. Failing cases
# are listed with their mutations and kept as failedN.toml in the temporary folder named.
#
#   scripts/fuzz.sh [CASES] [SEED]      # defaults: 3000 cases, seed 1
#
# The generator is seeded: the same CASES and SEED give the same corpus.
set -euo pipefail

cd "$(dirname "$0")/.."
cases="${1:-3000}"
seed="${2:-1}"
ORCHSIM_FUZZ_CASES="$cases" ORCHSIM_FUZZ_SEED="$seed" \
  cargo test --test integration fuzz:: -- --nocapture --test-threads 1 2>&1 |
  grep -oE '(fuzz|bytes): [0-9].*|panicked.*|FAILED.*|test result.*|case [0-9]+.*'
