#!/usr/bin/env bash
# Replay throughput and memory: builds a large Order Get response by repeating the orders of
# samples/aurora-xml/order-get-page-2.xml, runs the seed-examples pipeline over it with a
# release build, and prints wall time and peak memory (RSS). Usage: scripts/bench-replay.sh [COPIES]
set -euo pipefail
cd "$(dirname "$0")/.."
copies="${1:-20000}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

swift build -c release --product commerce-etl >/dev/null
python3 - "$copies" "$work/order-get-big.xml" <<'PY'
import sys
copies, target = int(sys.argv[1]), sys.argv[2]
src = open('samples/aurora-xml/order-get-page-2.xml', encoding='utf-8').read()
start, end = src.index('<Order>'), src.rindex('</Order>') + len('</Order>')
with open(target, 'w', encoding='utf-8') as f:
    f.write(src[:start])
    for _ in range(copies):
        f.write(src[start:end])
    f.write(src[end:])
PY
sed "s#samples/aurora-xml/order-get-\*.xml#$work/order-get-big.xml#" pipelines/seed-examples.yml > "$work/bench.yml"
size=$(stat -c %s "$work/order-get-big.xml")
echo "input: $((size / 1000000)) MB, $((copies * 3)) orders"
cd "$work"
/usr/bin/time -f "wall %e s, peak RSS %M KB" "$OLDPWD/.build/release/commerce-etl" run bench.yml
