#!/usr/bin/env bash
# Runs a command (default: `npm test`) while CPU-bound busy loops compete with it for every core, the way a shared CI
# runner or a laptop compiling something else does: a test that passes only on an idle machine fails here.
#
#   bash scripts/cpu-competition.sh                         # npm test, two busy loops
#   bash scripts/cpu-competition.sh npm test -- test/faults  # any command
#   CPU_HOGS=4 bash scripts/cpu-competition.sh …             # more competition
#
# The busy loops stop when the command ends, whatever way it ends (exit trap), and each also stops by itself if this
# script is gone (killed with SIGKILL, where no trap runs). Exits with the command's status.
set -euo pipefail
cd "$(dirname "$0")/.."

hogs="${CPU_HOGS:-2}"
if ! [[ "$hogs" =~ ^[0-9]+$ ]]; then
  echo "cpu-competition: CPU_HOGS must be a whole number (got \"$hogs\")" >&2
  exit 64
fi
if [ "$#" -eq 0 ]; then set -- npm test; fi

pids=()
stop_hogs() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap stop_hogs EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

parent=$$
for _ in $(seq 1 "$hogs"); do
  # Pure CPU, no I/O; checks every ~100k iterations that this script still runs.
  ( while kill -0 "$parent" 2>/dev/null; do for ((i = 0; i < 100000; i++)); do :; done; done ) &
  pids+=("$!")
done
echo "cpu-competition: ${hogs} busy loop(s) (pids ${pids[*]:-none}) compete with: $*" >&2

status=0
"$@" || status=$?
echo "cpu-competition: '$*' exited with ${status}" >&2
exit "$status"
