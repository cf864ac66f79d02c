#!/usr/bin/env bash
# Replaying recorded Order Get pages, side by side with the tools a user would reach for instead:
# records PAGES pages of 200 Full orders from a separate `commerce-etl demo-store` (release
# build), then times, on the same files, one after another:
#   - commerce-etl: a `files` pipeline reading every order into a record and writing a one-column CSV
#   - xmllint --stream --noout (libxml2 reading alone; apt-get install libxml2-utils)
#   - Python's ElementTree building a dict per order and writing the same CSV (scripts/compare/reference_replay.py)
# and prints wall and CPU seconds, peak memory and the ratios. Each is run RUNS times (default 3),
# alternating, and the smallest wall and CPU times are kept: on a noisy machine one run of either
# can take half as long again. Usage: scripts/compare-replay.sh [PAGES] [RUNS]
pages="${1:-100}"
runs="${2:-3}"
command -v xmllint >/dev/null || { echo "needs xmllint: apt-get install -y libxml2-utils" >&2; exit 2; }
source "$(dirname "$0")/compare/setup.sh"
port=$((20000 + RANDOM % 20000))
"$bin" demo-store --port "$port" --orders $((pages * 200)) --products 10 > "$work/store.log" 2>&1 &
store=$!
trap 'kill $store 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do grep -q "Aurora XML API" "$work/store.log" && break; sleep 0.1; done
python3 scripts/compare/record_pages.py "http://127.0.0.1:$port/ajax/Ajax_API/processRequestXml" "$work/pages" --pages "$pages"
kill $store
files=$(ls "$work"/pages/*.xml | wc -l)
bytes=$(cat "$work"/pages/*.xml | wc -c)
cat > "$work/replay.yml" <<YML
version: 1
name: replay-compare
connections: { recorded: { type: files, dialect: aurora-xml, paths: ["$work/pages/*.xml"] } }
extract: { orders: { connection: recorded, resource: orders } }
load: { ids: { input: orders, csv: { path: out/ids.csv, columns: [OrderID] } } }
YML
measure() { # NAME COMMAND...: prints "NAME wall cpu rss"
  local name=$1; shift
  /usr/bin/time -f "%e %U %S %M" -o "$work/time" "$@" > /dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
  read -r wall user sys rss < "$work/time"
  echo "$name $wall $(echo "$user + $sys" | bc) $((rss / 1024))"
}
cd "$work"
for _ in $(seq "$runs"); do
  measure commerce-etl "$bin" run replay.yml
  measure xmllint xmllint --stream --noout pages/*.xml
  measure python-elementtree python3 "$OLDPWD/scripts/compare/reference_replay.py" py.csv pages/*.xml
done > all
smallest < all > results
cmp -s out/ids.csv py.csv || { echo "the two CSVs differ:" >&2; diff out/ids.csv py.csv | head -5 >&2; exit 1; }
echo "replay of $files recorded Order Get pages, $((bytes / 1000000)) MB, $((files * 200)) orders -> one-column CSV (same bytes from both writers); best of $runs runs"
printf "%-20s %8s %8s %8s %s\n" "" "wall s" "CPU s" "peak MB" "CPU vs commerce-etl"
ours=$(awk '$1=="commerce-etl"{print $3}' results)
while read -r name wall cpu rss; do
  printf "%-20s %8s %8s %8s %s\n" "$name" "$wall" "$cpu" "$rss" "$(echo "scale=2; $cpu / $ours" | bc)x"
done < results
