#!/usr/bin/env bash
# Two builds of commerce-etl on the same pipeline, for judging a change on a noisy machine: runs
# them alternately N times (default 5) in the pipeline's directory and prints, for each, the
# smallest CPU seconds (user + system), wall seconds and peak memory seen. Pair it with
# scripts/output-digests.sh to check the change kept every output byte-identical:
#   cp .build/release/commerce-etl /tmp/before && (make the change) && swift build -c release
#   scripts/compare-binaries.sh /tmp/before .build/release/commerce-etl path/to/pipeline.yml 5
set -euo pipefail
a=$(realpath "${1:?usage: $0 BIN_A BIN_B PIPELINE.yml [RUNS]}")
b=$(realpath "${2:?usage: $0 BIN_A BIN_B PIPELINE.yml [RUNS]}")
pipeline=$(realpath "${3:?usage: $0 BIN_A BIN_B PIPELINE.yml [RUNS]}")
runs="${4:-5}"
times=$(mktemp)
trap 'rm -f "$times"' EXIT
cd "$(dirname "$pipeline")"
for _ in $(seq "$runs"); do
  for bin in "$a" "$b"; do
    /usr/bin/time -f "$bin %U %S %e %M" -a -o "$times" "$bin" run "$pipeline" > /dev/null
  done
done
awk -v runs="$runs" '{
  cpu = $2 + $3
  if (!($1 in best) || cpu < best[$1]) best[$1] = cpu
  if (!($1 in wall) || $4 < wall[$1]) wall[$1] = $4
  if ($5 > rss[$1]) rss[$1] = $5
} END {
  for (bin in best) printf "%s: min CPU %.2f s, min wall %.2f s, peak %d MB (%d runs)\n", bin, best[bin], wall[bin], rss[bin] / 1024, runs
}' "$times"
