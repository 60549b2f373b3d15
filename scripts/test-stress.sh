#!/usr/bin/env bash
# `bun run test:stress [RUNS] [PATH…]`: the full suite (`bun run test`, in shards) RUNS times in a row (default 5) while stress-ng loads the
# machine (`stress-ng --cpu 2 --io 1`), as a loaded CI machine would be. Prints each run's pass/fail counts, time and
# load average, and exits non-zero if any run failed. PATHs (optional) limit the runs to some test files or folders.
# stress-ng is installed if missing (Debian: apt-get; also in scripts/setup.sh), and stopped by its PID at the end,
# failure or not.
set -uo pipefail
cd "$(dirname "$0")/.."

runs=5
if [[ $# -gt 0 && "$1" =~ ^[0-9]+$ ]]; then runs=$1; shift; fi

if ! command -v stress-ng >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "test:stress: installing stress-ng"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q stress-ng >/dev/null || { echo "test:stress: could not install stress-ng (apt-get install stress-ng)" >&2; exit 1; }
fi

load() { cut -d' ' -f1-3 /proc/loadavg; }

stress-ng --cpu 2 --io 1 --quiet &
stress_pid=$!
stop_stress() {
  kill -TERM "$stress_pid" 2>/dev/null
  wait "$stress_pid" 2>/dev/null
}
trap stop_stress EXIT
trap 'exit 130' INT TERM

log_dir=$(mktemp -d "${TMPDIR:-/tmp}/musicfs-stress-XXXXXX")
echo "test:stress: $runs run(s) under stress-ng --cpu 2 --io 1 (PID $stress_pid); output of each run in $log_dir"
failed_runs=0
for i in $(seq 1 "$runs"); do
  out="$log_dir/run-$i.txt"
  before=$(load)
  start=$(date +%s.%N)
  bun run test "$@" >"$out" 2>&1
  code=$?
  end=$(date +%s.%N)
  pass=$(grep -Eo '^ *[0-9]+ pass' "$out" | tail -1 | grep -Eo '[0-9]+' || true)
  fail=$(grep -Eo '^ *[0-9]+ fail' "$out" | tail -1 | grep -Eo '[0-9]+' || true)
  secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.0f", b - a }')
  verdict=ok
  if [ "$code" -ne 0 ]; then verdict=FAILED; failed_runs=$((failed_runs + 1)); fi
  echo "run $i/$runs: $verdict  ${pass:-?} pass, ${fail:-?} fail, ${secs} s, load average $before → $(load)"
  [ "$code" -eq 0 ] || grep -E '^✗ ' "$out" | sed 's/^/    /'
done
echo "test:stress: $((runs - failed_runs)) of $runs run(s) passed"
[ "$failed_runs" -eq 0 ]
