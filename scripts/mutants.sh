#!/usr/bin/env bash
# Mutation testing of the money, billing and workflow code with cargo-mutants.
#
#   scripts/mutants.sh                         # every mutant in src/workflow and src/economics (hours on 2 cores)
#   scripts/mutants.sh --shard 0/8             # one eighth of them (run the 8 shards anywhere, in any order)
#   scripts/mutants.sh -f src/economics/money.rs -f src/economics/billing.rs
#   scripts/mutants.sh --in-diff <(git diff main)   # only mutants in changed lines
#   scripts/mutants.sh --all-tests ...         # run the whole suite per mutant instead of the fast subset
#
# Any other option goes to `cargo mutants` unchanged. Results go to mutants.out/ (or
# --output DIR); the script ends by printing the score, caught / (caught + missed), and
# the surviving (missed) mutants. It is not run in CI: it takes hours.
#
# Tests run per mutant (the default): the library's unit tests, and the integration
# tests that check closed forms, hand-computed bills and invariants (rules, theory,
# quality, properties, mutants_kill), through cargo-nextest. The rest of the integration
# suite (CLI runs, charts, sweeps, audits: ~7 min debug) exercises the same code through
# files and adds minutes per surviving mutant for few kills. A mutant that survives the
# subset may still be caught by the whole suite: confirm a survivor with --all-tests -f FILE.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=27.1.0
if ! cargo mutants --version >/dev/null 2>&1; then
    echo "installing cargo-mutants $VERSION" >&2
    cargo install --locked "cargo-mutants@$VERSION"
fi

all_tests=0
files=0
out=mutants.out
args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --all-tests) all_tests=1 ;;
        -f | --file) files=1; args+=("$1" "$2"); shift ;;
        --output | -o) out="$2/mutants.out"; args+=("$1" "$2"); shift ;;
        --in-diff) files=1; args+=("$1" "$2"); shift ;;
        *) args+=("$1") ;;
    esac
    shift
done
if [ "$files" = 0 ]; then
    args+=(-f 'src/workflow/**' -f 'src/workflow.rs' -f 'src/economics/**' -f 'src/economics.rs')
fi

# The machine is shared: one build job, one mutant at a time unless told otherwise.
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"
status=0
if [ "$all_tests" = 1 ]; then
    cargo mutants --no-shuffle "${args[@]}" || status=$?
else
    if ! cargo nextest --version >/dev/null 2>&1; then
        echo "cargo-nextest is needed for the fast subset (cargo install --locked cargo-nextest), or pass --all-tests" >&2
        exit 2
    fi
    filter='kind(lib) | (binary(integration) & test(/^(rules|theory|quality|properties|mutants_kill)::/))'
    cargo mutants --no-shuffle --test-tool nextest "${args[@]}" -- -E "$filter" || status=$?
fi
# cargo-mutants exits 2 when mutants were missed, 3 on timeouts: still a report.
case "$status" in 0 | 2 | 3) ;; *) exit "$status" ;; esac

caught=$(grep -c . "$out/caught.txt" 2>/dev/null || true)
missed=$(grep -c . "$out/missed.txt" 2>/dev/null || true)
timeout=$(grep -c . "$out/timeout.txt" 2>/dev/null || true)
unviable=$(grep -c . "$out/unviable.txt" 2>/dev/null || true)
caught=${caught:-0} missed=${missed:-0}
echo
echo "caught $caught, missed $missed, timeout ${timeout:-0}, unviable ${unviable:-0}"
if [ $((caught + missed)) -gt 0 ]; then
    awk -v c="$caught" -v m="$missed" 'BEGIN { printf "mutation score: %.1f%% (caught / (caught + missed))\n", 100 * c / (c + m) }'
fi
if [ "$missed" -gt 0 ]; then
    echo "survivors:"
    sed 's/^/  /' "$out/missed.txt"
fi
exit "$status"
