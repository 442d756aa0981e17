#!/usr/bin/env bash
# Mutation testing of the money, billing and workflow code with cargo-mutants.
#
#   scripts/mutants.sh                         # every mutant in src/workflow and src/economics (hours on 2 cores)
#   scripts/mutants.sh --shard 0/8             # one eighth of them (run the 8 shards anywhere, in any order)
#   scripts/mutants.sh -f src/economics/money.rs -f src/economics/billing.rs
#   scripts/mutants.sh --in-diff <(git diff main)   # only mutants in changed lines
#   scripts/mutants.sh --all-tests ...         # run the whole suite per mutant instead of the fast subset
#   scripts/mutants.sh --summary               # only print the summary of mutants.out/ (also of a run
#                                              # still going or stopped part way)
#
# A spread sample: `--shard k/n` takes every n-th mutant when the script adds
# `--sharding round-robin` (cargo-mutants' own default, `slice`, would give shard 0 the
# first files only).
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
summary_only=0
shard=0
sharding=0
out=mutants.out
args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --all-tests) all_tests=1 ;;
        --summary) summary_only=1 ;;
        --shard | --shard=*) shard=1; args+=("$1") ;;
        --sharding | --sharding=*) sharding=1; args+=("$1") ;;
        -f | --file) files=1; args+=("$1" "$2"); shift ;;
        --output | -o) out="$2/mutants.out"; args+=("$1" "$2"); shift ;;
        --in-diff) files=1; args+=("$1" "$2"); shift ;;
        *) args+=("$1") ;;
    esac
    shift
done

# Counts of a results folder, from the per-outcome lists cargo-mutants appends to as it
# goes (so it works on a run still going or stopped part way).
count() { grep -c . "$out/$1.txt" 2>/dev/null || true; }
summary() {
    local caught missed timeout unviable
    caught=$(count caught) missed=$(count missed) timeout=$(count timeout) unviable=$(count unviable)
    caught=${caught:-0} missed=${missed:-0} timeout=${timeout:-0} unviable=${unviable:-0}
    echo
    echo "caught $caught, missed $missed, timeout $timeout, unviable $unviable ($((caught + missed + timeout + unviable)) tested)"
    if [ $((caught + missed)) -gt 0 ]; then
        awk -v c="$caught" -v m="$missed" 'BEGIN { printf "mutation score: %.1f%% (caught / (caught + missed))\n", 100 * c / (c + m) }'
    fi
    if [ "$missed" -gt 0 ]; then
        echo "survivors:"
        sed 's/^/  /' "$out/missed.txt"
    fi
    if [ "$timeout" -gt 0 ]; then
        # On a loaded machine a mutant the tests do not catch can also time out: read its log.
        echo "timeouts (a hang, or a slow run of tests that pass: see $out/log/):"
        sed 's/^/  /' "$out/timeout.txt"
    fi
}
if [ "$summary_only" = 1 ]; then
    summary
    exit 0
fi
if [ "$files" = 0 ]; then
    args+=(-f 'src/workflow/**' -f 'src/workflow.rs' -f 'src/economics/**' -f 'src/economics.rs')
fi

# The machine is shared: one build job, one mutant at a time unless told otherwise.
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"
# Shards are spread over every file unless asked otherwise.
if [ "$shard" = 1 ] && [ "$sharding" = 0 ]; then
    args+=(--sharding round-robin)
fi
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
summary
exit "$status"
