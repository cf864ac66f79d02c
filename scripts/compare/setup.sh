# Sourced by scripts/compare-*.sh: stops on the first error, works from the repository root,
# builds the release binary and names it $bin, and makes a scratch directory $work (each script
# sets its own trap to remove it and stop what it started).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
swift build -c release --product commerce-etl >/dev/null
bin="$(swift build -c release --show-bin-path)/commerce-etl"
work="$(mktemp -d)"

# Reads "NAME WALL CPU RSS [MORE]" lines (several runs of each NAME) and prints one line per
# NAME, in first-seen order: the smallest wall time, the smallest CPU time (with the MORE fields
# of that run) and the largest peak memory.
smallest() {
  awk '{
    if (!($1 in cpu)) { order[++n] = $1; wall[$1] = $2; cpu[$1] = $3; rss[$1] = $4; more[$1] = $5 }
    if ($2 < wall[$1]) wall[$1] = $2
    if ($3 < cpu[$1]) { cpu[$1] = $3; more[$1] = $5 }
    if ($4 > rss[$1]) rss[$1] = $4
  } END { for (i = 1; i <= n; i++) { k = order[i]; print k, wall[k], cpu[k], rss[k], more[k] } }'
}

# Runs COMMAND once and prints "ANON FILE": its peak resident memory split into anonymous
# (private: the heap, stacks) and file-backed (code and data mapped from the binary and its
# libraries: clean, shared with every other process using them, and reclaimable), in MB, from
# /proc/PID/smaps_rollup sampled every 50 ms at the largest total seen. A separate run from the
# timed ones, as the sampling takes CPU.
peak_split() {
  "$@" > /dev/null 2>&1 &
  local pid=$! best=0 anon=0 rss a
  while kill -0 "$pid" 2>/dev/null; do
    read -r rss a < <(awk '/^Rss:/ { r = $2 } /^Anonymous:/ { a = $2 } END { print r + 0, a + 0 }' "/proc/$pid/smaps_rollup" 2>/dev/null || echo "0 0")
    if [ "$rss" -gt "$best" ]; then best=$rss; anon=$a; fi
    sleep 0.05
  done
  wait "$pid"
  echo "$((anon / 1024)) $(((best - anon) / 1024))"
}
