#!/usr/bin/env bash
# pipelines/orders-export.yml as a user runs it (the release binary against a separate
# `commerce-etl demo-store`), side by side with a plain Python stdlib script writing the same
# three outputs from the same store (scripts/compare/reference_export.py). Prints wall and CPU
# seconds and peak memory of each, the store's own CPU during each run (a separate process, not
# counted in either), and the ratios. Each runs RUNS times (default 3), alternating, and the
# smallest wall and CPU times are kept (with the store's CPU during that fastest run). One more
# run of each, sampled, splits its peak memory into private (anonymous) and file-backed pages.
# Usage: scripts/compare-export.sh [ORDERS] [RUNS]
orders="${1:-20000}"
runs="${2:-3}"
source "$(dirname "$0")/compare/setup.sh"
repo="$PWD"
port=$((20000 + RANDOM % 20000))
"$bin" demo-store --port "$port" --orders "$orders" --products 10 --token local-test > "$work/store.log" 2>&1 &
store=$!
trap 'kill $store 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do grep -q "Aurora XML API" "$work/store.log" && break; sleep 0.1; done
url="http://127.0.0.1:$port/ajax/Ajax_API/processRequestXml"
ticks=$(getconf CLK_TCK)
store_cpu() { awk -v t="$ticks" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$store/stat"; }
measure() { # NAME COMMAND...: prints "NAME wall cpu rss store-cpu"
  local name=$1; shift
  local before; before=$(store_cpu)
  /usr/bin/time -f "%e %U %S %M" -o "$work/time" "$@" > /dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
  read -r wall user sys rss < "$work/time"
  echo "$name $wall $(echo "$user + $sys" | bc) $((rss / 1024)) $(echo "$(store_cpu) - $before" | bc)"
}
cp -r pipelines "$work/"
cd "$work"
for _ in $(seq "$runs"); do
  measure commerce-etl env AURORA_XML_URL="$url" AURORA_TOKEN=local-test "$bin" run pipelines/orders-export.yml
  measure python-stdlib python3 "$repo/scripts/compare/reference_export.py" "$url" py --token local-test
done > all
smallest < all > results
ours=$(($(wc -l < out/orders-export/order-lines.csv) - 1)); theirs=$(($(wc -l < py/order-lines.csv) - 1))
[ "$ours" = "$theirs" ] || { echo "line counts differ: $ours against $theirs" >&2; exit 1; }
echo "orders-export.yml, $orders orders ($ours lines) from a separate demo store -> CSV, SQLite, NDJSON.gz; best of $runs runs"
printf "%-15s %8s %8s %8s %10s %s\n" "" "wall s" "CPU s" "peak MB" "store CPU" "CPU vs commerce-etl"
cpu=$(awk '$1=="commerce-etl"{print $3}' results)
while read -r name wall c rss s; do
  printf "%-15s %8s %8s %8s %10s %s\n" "$name" "$wall" "$c" "$rss" "$s" "$(echo "scale=2; $c / $cpu" | bc)x"
done < results
read -r ours_anon ours_file < <(peak_split env AURORA_XML_URL="$url" AURORA_TOKEN=local-test "$bin" run pipelines/orders-export.yml)
read -r py_anon py_file < <(peak_split python3 "$repo/scripts/compare/reference_export.py" "$url" py --token local-test)
echo "peak memory split (one sampled run each): commerce-etl $ours_anon MB private + $ours_file MB mapped from files;" \
  "python-stdlib $py_anon MB private + $py_file MB mapped from files (code and data of the binary and its libraries: shared and reclaimable)"
