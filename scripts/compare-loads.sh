#!/usr/bin/env bash
# The loads side by side with the tools a user would reach for, on the same rows: `bench`
# writes ROWS 30-column order-line records with the CSV, NDJSON.gz and SQLite loads (and zlib
# alone on the same NDJSON bytes); then Python's sqlite3 `executemany` inserts the same rows
# (read back from the CSV, numbers as numbers) into a table of the same columns, and `gzip -6`
# compresses the same CSV bytes, and the CSV's bytes are written again with plain 64 KiB writes
# (scripts/compare/reference_write.py), the floor for the CSV load, and Python's csv.writer writes
# the same rows (scripts/compare/reference_csv.py). With RUNS (default 1), the whole comparison
# runs RUNS times, one after the other, each printed: on a noisy machine a single pass can put
# minutes of background load on one side; compare within a pass, and across passes take the best.
# Usage: scripts/compare-loads.sh [ROWS] [RUNS]
rows="${1:-1000000}"
runs="${2:-1}"
source "$(dirname "$0")/compare/setup.sh"
trap 'rm -rf "$work"' EXIT
for run in $(seq "$runs"); do
  [ "$runs" -gt 1 ] && echo "pass $run of $runs:"
  rm -f "$work"/py.sqlite*   # each pass inserts into a new database, as the bench does
  # Each measured step starts once the files written before it are on disk (`sync`): the SQLite
  # load, run right after the bench had written and copied 600 MB of CSV and NDJSON, shared the
  # disk with their writeback and took up to half as long again as on its own.
  sync
  "$bin" bench --skip-xml --skip-parse --json-products 0 --load-rows "$rows" --loads csv,ndjson_gz --keep-csv "$work/rows.csv"
  sync
  "$bin" bench --skip-xml --skip-parse --json-products 0 --load-rows "$rows" --loads sqlite | grep -v "^loads,"
  echo "the same rows, other tools:"
  sync
  echo "  python sqlite3 executemany: $(python3 scripts/compare/reference_sqlite.py "$work/rows.csv" "$work/py.sqlite")"
  sync
  echo "  python csv.writer on the same rows (already strings): $(python3 scripts/compare/reference_csv.py "$work/rows.csv" "$work/py.csv")"
  sync
  echo "  the CSV's bytes written with one write per 64 KiB, then fsync: $(python3 scripts/compare/reference_write.py "$work/rows.csv" "$work/copy.csv")"
  size=$(stat -c %s "$work/rows.csv")
  /usr/bin/time -f "%e" -o "$work/time" gzip -6 -c "$work/rows.csv" > /dev/null
  echo "  gzip -6 on the CSV ($((size / 1000000)) MB): $(cat "$work/time") s, $(echo "scale=1; $size / 1000000 / $(cat "$work/time")" | bc) MB/s in"
done
