#!/usr/bin/env bash
# Executes every notebook in notebooks/ headlessly against fresh simulator output.
#
#   scripts/notebooks.sh            # from anywhere; needs python3 (>= 3.11) and cargo
#
# 1. creates the virtualenv .venv-nb at the repository root (reused when present) and
#    installs notebooks/requirements.txt into it;
# 2. builds the release binary (unless ORCHSIM is set) and writes the notebooks' inputs:
#      output/notebooks/research-report/        orchsim run --task-log
#      output/notebooks/research-report-sweep/  orchsim sweep over the generalist's output price
#    (the sweep where the five-agent pipeline breaks even with one agent and with voting);
#    these folders are the script's own, never those of your runs (hence --force);
# 3. runs each notebook in a temporary copy (the committed .ipynb files stay without
#    outputs) with the kernel in notebooks/, so the notebooks' relative paths resolve;
#    executed copies are kept in $NB_OUT (default: a temp dir) for inspection.
# Exit status: 0 when every notebook ran without an error, 1 otherwise.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
VENV=${VENV:-$ROOT/.venv-nb}
PY=${PYTHON:-python3}
NB_OUT=${NB_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/orchsim-notebooks.XXXXXX")}
mkdir -p "$NB_OUT"

# --- 1. the virtualenv --------------------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
  echo "notebooks: creating $VENV"
  "$PY" -m venv "$VENV"
fi
stamp="$VENV/.requirements.sha256"
want=$(sha256sum notebooks/requirements.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "notebooks: installing notebooks/requirements.txt"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r notebooks/requirements.txt
  echo "$want" > "$stamp"
fi

# --- 2. the inputs ------------------------------------------------------------------
if [ -z "${ORCHSIM:-}" ]; then
  cargo build --release --quiet
  ORCHSIM=$ROOT/target/release/orchsim
fi
echo "notebooks: producing inputs with $ORCHSIM"
"$ORCHSIM" run --task-log --out output/notebooks/research-report --quiet
"$ORCHSIM" sweep scenarios/research-report.toml \
  --vary models.gpt-4o-2024-08-06.output_usd_per_mtok=10:610:13 --replications 20 \
  --out output/notebooks/research-report-sweep --force --quiet

# --- 3. execute ---------------------------------------------------------------------
passed=0
failed=0
failures=()
for nb in notebooks/*.ipynb; do
  name=$(basename "$nb")
  start=$(date +%s%N)
  if "$VENV/bin/python" - "$nb" "$ROOT/notebooks" "$NB_OUT/$name" <<'PYEOF' > "$NB_OUT/$name.log" 2>&1
import sys
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

src, cwd, dst = sys.argv[1:4]
nb = nbformat.read(src, as_version=4)
client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": cwd}})
try:
    client.execute()
except CellExecutionError as e:
    print(e, file=sys.stderr)
    sys.exit(1)
finally:
    nbformat.write(nb, dst)  # the executed copy, never the committed notebook
PYEOF
  then
    passed=$((passed + 1))
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    printf 'notebooks: %-28s ok     (%d.%01d s)\n' "$name" $((ms / 1000)) $((ms % 1000 / 100))
  else
    failed=$((failed + 1))
    failures+=("$name")
    printf 'notebooks: %-28s FAILED (log: %s)\n' "$name" "$NB_OUT/$name.log"
    sed "s/$(printf '\033')\\[[0-9;]*m//g" "$NB_OUT/$name.log" | grep -v -e '^\s*$' -e 'Kernel is running over TCP' | tail -n 25 | sed 's/^/    /'
  fi
done
echo "notebooks: executed copies in $NB_OUT"
[ "$failed" -eq 0 ] || echo "notebooks: failed: ${failures[*]}"
echo "notebooks: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
