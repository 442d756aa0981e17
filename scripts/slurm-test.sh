#!/usr/bin/env bash
# End-to-end test of the Slurm deployment files (deploy/slurm/*.sbatch) on a real
# single-node Slurm cluster on this machine.
#
#   sudo scripts/slurm-test.sh     # as root: installs Debian packages, starts daemons
#
# 1. installs slurmctld, slurmd, slurm-client and munge with apt-get (skipped when they
#    are there), writes /etc/slurm/slurm.conf for one node (unless a config not written
#    by this script exists), starts munged, slurmctld and slurmd by hand (no systemd)
#    unless they already run, and waits for `sinfo` to show the node idle;
# 2. submits deploy/slurm/sweep-array.sbatch as a 4-task array over a small sweep and
#    deploy/slurm/merge.sbatch with --dependency=afterok on it, and polls squeue until
#    both are gone (at most $TIMEOUT s);
# 3. runs the same sweep in one process and compares sweep.csv and sweep_replications.csv
#    of the merged folder with it byte for byte (cmp);
# 4. stops the daemons it started (and only those).
# Without apt-get (or with SLURM_TEST_LOCAL=1) step 1-2 become: the 4 array tasks run as
# local processes with the Slurm variables set, then merge.sbatch runs; step 3 is the same.
# Re-runnable: an installed or running Slurm is reused. Exit 0 only if every byte matches.
# The work folder (shards, merged, reference, job logs) is removed on success unless
# KEEP_WORK=1. Settings: ORCHSIM, SHARDS (4), TIMEOUT (120 s), SCENARIO, SWEEP_ARGS,
# SLURM_TEST_LOCAL=1 (skip Slurm).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
SHARDS=${SHARDS:-4}
TIMEOUT=${TIMEOUT:-120}
SCENARIO=${SCENARIO:-$ROOT/scenarios/research-report.toml}
# A small, uneven grid (10 points over 4 shards: 3+3+2+2), two axes, few replications.
SWEEP_ARGS=${SWEEP_ARGS:---vary strategies.pipeline.handoff_tokens=0:8000:5 --vary agents.quality_check.review.recall=0.5,0.9 --replications 4 --tasks 200}
MARK="# written by orchsim scripts/slurm-test.sh"

log() { echo "slurm-test: $*"; }
PASSED=0          # set to 1 at the very end; the summary line is printed on exit, last

if [ -z "${ORCHSIM:-}" ]; then
  cargo build --release --quiet
  ORCHSIM=$ROOT/target/release/orchsim
fi
WORK=$(mktemp -d "${TMPDIR:-/tmp}/orchsim-slurm.XXXXXX")
log "work dir $WORK"

STARTED_PIDS=()   # daemons this script started, stopped at exit
JOBS=()           # jobs this script submitted, cancelled at exit if still there
cleanup() {
  local rc=$?
  if [ ${#JOBS[@]} -gt 0 ] && command -v scancel >/dev/null; then
    scancel "${JOBS[@]}" 2>/dev/null || true
  fi
  local pid
  for pid in "${STARTED_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${STARTED_PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  done
  [ ${#STARTED_PIDS[@]} -eq 0 ] || log "stopped the daemons it started (pids ${STARTED_PIDS[*]})"
  if [ "$PASSED" = 1 ] && [ $rc = 0 ]; then
    [ "${KEEP_WORK:-0}" = 1 ] || rm -rf "$WORK"
    echo "slurm: 1 passed, 0 failed"
  else
    echo "slurm: 0 passed, 1 failed"
    [ $rc != 0 ] || rc=1
  fi
  exit $rc
}
trap cleanup EXIT

fail() { log "FAILED: $*"; exit 1; }

# ---- 1. a single-node Slurm -------------------------------------------------------------
MODE=slurm
[ "${SLURM_TEST_LOCAL:-0}" = 1 ] && MODE=local
have_slurm() { command -v slurmctld && command -v slurmd && command -v sbatch && command -v munged; } >/dev/null 2>&1
if [ "$MODE" = slurm ] && ! have_slurm; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    log "installing slurmctld slurmd slurm-client munge with apt-get"
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
           slurmctld slurmd slurm-client munge >"$WORK/apt.log" 2>&1; }; then
      log "apt-get failed (see $WORK/apt.log)"; MODE=local
    fi
  else
    log "apt-get unavailable (or not root)"; MODE=local
  fi
fi

# Prints the pid in pidfile $1 if that process is alive.
alive_pid() { local p; p=$(cat "$1" 2>/dev/null) && [ -n "$p" ] && kill -0 "$p" 2>/dev/null && echo "$p"; }

if [ "$MODE" = slurm ]; then
  H=$(hostname -s)
  CONF=/etc/slurm/slurm.conf
  if [ ! -f "$CONF" ] || grep -qxF "$MARK" "$CONF"; then
    mkdir -p /etc/slurm
    cat > "$CONF.tmp" <<CONF
$MARK
ClusterName=local
SlurmctldHost=$H(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
MailProg=/bin/true
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
NodeName=$H NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=debug Nodes=$H Default=YES MaxTime=INFINITE State=UP
CONF
    mv "$CONF.tmp" "$CONF"
  else
    log "using the existing $CONF (not written by this script)"
  fi
  PIDCTLD=$(sed -n 's/^SlurmctldPidFile=//p' "$CONF"); PIDCTLD=${PIDCTLD:-/run/slurmctld.pid}
  PIDD=$(sed -n 's/^SlurmdPidFile=//p' "$CONF"); PIDD=${PIDD:-/run/slurmd.pid}
  mkdir -p /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/munge
  chown munge:munge /run/munge
  if [ ! -s /etc/munge/munge.key ]; then
    log "creating a munge key"
    (mungekey --create 2>/dev/null || dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none)
    chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key
  fi

  if ! alive_pid /run/munge/munged.pid >/dev/null; then
    runuser -u munge -- /usr/sbin/munged || fail "munged did not start"
    for _ in $(seq 50); do alive_pid /run/munge/munged.pid >/dev/null && break; sleep 0.1; done
    STARTED_PIDS+=("$(alive_pid /run/munge/munged.pid)") || fail "munged did not start"
  fi
  if ! alive_pid "$PIDCTLD" >/dev/null; then
    slurmctld || fail "slurmctld did not start (see /var/log/slurm/slurmctld.log)"
    for _ in $(seq 50); do alive_pid "$PIDCTLD" >/dev/null && break; sleep 0.1; done
    STARTED_PIDS+=("$(alive_pid "$PIDCTLD")") || fail "slurmctld did not start (see /var/log/slurm/slurmctld.log)"
  fi
  if ! alive_pid "$PIDD" >/dev/null; then
    slurmd || fail "slurmd did not start (see /var/log/slurm/slurmd.log)"
    for _ in $(seq 50); do alive_pid "$PIDD" >/dev/null && break; sleep 0.1; done
    STARTED_PIDS+=("$(alive_pid "$PIDD")") || fail "slurmd did not start (see /var/log/slurm/slurmd.log)"
  fi
  [ ${#STARTED_PIDS[@]} -eq 0 ] && log "Slurm was already running: reusing it"

  log "waiting for sinfo to show an idle node"
  idle=0
  for i in $(seq 60); do
    state=$(sinfo -h -o %T 2>/dev/null | sort -u | tr '\n' ' ')
    case "$state" in *idle*) idle=1; break ;; esac
    # a node left down or drained by an earlier run comes back with resume
    case "$state" in *down*|*drain*) scontrol update nodename="$(hostname -s)" state=resume 2>/dev/null || true ;; esac
    sleep 1
  done
  [ $idle = 1 ] || fail "no idle node after 60 s (sinfo: ${state:-nothing}); see /var/log/slurm/"
  log "node idle after ${i} s: $(sinfo -h -o '%P %D %T %c CPUs' | head -1)"
else
  log "falling back to local processes: the $SHARDS array tasks run on this machine without Slurm"
fi

# ---- 2. the sharded sweep through deploy/slurm ------------------------------------------
export ORCHSIM SCENARIO SWEEP_ARGS
export SHARDS_DIR=$WORK/shards MERGED_OUT=$WORK/merged MERGE_ARGS=--no-charts
t0=$(date +%s)
if [ "$MODE" = slurm ]; then
  jid=$(sbatch --parsable --array=0-$((SHARDS - 1)) --chdir "$WORK" --output "$WORK/slurm-%x-%A_%a.out" \
        deploy/slurm/sweep-array.sbatch) || fail "sbatch of the array failed"
  jid=${jid%%;*}; JOBS+=("$jid")
  mid=$(sbatch --parsable --dependency=afterok:"$jid" --kill-on-invalid-dep=yes --chdir "$WORK" \
        --output "$WORK/slurm-%x-%j.out" deploy/slurm/merge.sbatch) || fail "sbatch of the merge failed"
  mid=${mid%%;*}; JOBS+=("$mid")
  log "submitted array job $jid (tasks 0-$((SHARDS - 1))) and merge job $mid (afterok:$jid)"
  while [ -n "$(squeue -h -j "$jid,$mid" 2>/dev/null)" ]; do
    if [ $(( $(date +%s) - t0 )) -ge "$TIMEOUT" ]; then
      squeue -j "$jid,$mid" || true
      fail "jobs still queued or running after $TIMEOUT s"
    fi
    sleep 1
  done
  JOBS=()
  log "jobs left the queue after $(( $(date +%s) - t0 )) s"
  for f in "$WORK"/slurm-*.out; do echo "--- $(basename "$f")"; sed 's/^/    /' "$f"; done
  # Job records stay for MinJobAge (300 s) after the end: every job must have COMPLETED.
  states=$(for j in "$jid" "$mid"; do scontrol -o show job "$j" 2>/dev/null | grep -o 'JobState=[A-Z_]*'; done || true)
  log "job states: $(echo "$states" | sort | uniq -c | tr -s ' ' | tr '\n' ' ')"
  [ -n "$states" ] || fail "no job records left to check"
  if echo "$states" | grep -qv '^JobState=COMPLETED$'; then fail "a job did not complete"; fi
else
  pids=()
  for k in $(seq 0 $((SHARDS - 1))); do
    (cd "$WORK" && SLURM_ARRAY_TASK_ID=$k SLURM_ARRAY_TASK_COUNT=$SHARDS \
       bash "$ROOT/deploy/slurm/sweep-array.sbatch" > "$WORK/local-sweep-$k.out" 2>&1) &
    pids+=($!)
  done
  for k in "${!pids[@]}"; do wait "${pids[$k]}" || { cat "$WORK/local-sweep-$k.out"; fail "local shard $k failed"; }; done
  (cd "$WORK" && bash "$ROOT/deploy/slurm/merge.sbatch") || fail "local merge failed"
  log "local shards and merge done in $(( $(date +%s) - t0 )) s"
fi
[ -f "$MERGED_OUT/sweep.csv" ] || fail "no merged sweep.csv in $MERGED_OUT"

# ---- 3. compare with a one-process sweep -------------------------------------------------
read -r -a ARGS <<< "$SWEEP_ARGS"
"$ORCHSIM" sweep "$SCENARIO" "${ARGS[@]}" --out "$WORK/reference" --no-charts --quiet || fail "reference sweep failed"
ok=1
for f in sweep.csv sweep_replications.csv; do
  if cmp "$WORK/reference/$f" "$MERGED_OUT/$f"; then
    log "$f identical ($(wc -l < "$MERGED_OUT/$f") lines, $(wc -c < "$MERGED_OUT/$f") bytes)"
  else
    ok=0
  fi
done
[ $ok = 1 ] || fail "merged output differs from the one-process sweep"
[ "$MODE" = slurm ] && log "passed on a real Slurm ($SHARDS array tasks + dependent merge)" \
                    || log "passed with local processes (no Slurm: apt-get unavailable or SLURM_TEST_LOCAL=1)"
PASSED=1
