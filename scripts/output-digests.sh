#!/usr/bin/env bash
# Runs every shipped pipeline (against the built-in demo store, or its recorded files) with the
# given binary in a scratch directory and prints the SHA-256 of every output file, manifests
# excepted (they hold run ids and times); SQLite files by their content: each table's schema and
# rows in rowid order, tables by name (loads sharing a file create their tables in whatever order
# their first records arrive, so the file's page layout and `.dump` order vary between runs), and
# gzip files by what they decompress to (how the bytes are compressed is the compressor's: the
# resume tests check it is the same on every run). Two binaries give the same list when a change keeps
# every output byte-identical:
#   scripts/output-digests.sh /tmp/before/commerce-etl > before.txt
#   scripts/output-digests.sh .build/release/commerce-etl > after.txt && diff before.txt after.txt
set -euo pipefail
bin=$(realpath "${1:?usage: $0 PATH-TO-commerce-etl}")
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$repo/pipelines" "$repo/samples" "$work/"
cd "$work"
for p in pipelines/*.yml; do
  if grep -q 'DATABASE_URL' "$p" && [ -z "${DATABASE_URL:-}" ]; then echo "skipped $p: it loads into the database DATABASE_URL names, and none is set" >&2; continue; fi
  "$bin" run "$p" > /dev/null 2> "$work/err.txt" || { echo "$p failed:" >&2; cat "$work/err.txt" >&2; exit 1; }
done
# SQLite files compare by content (their dump): page layout may differ between runs.
find out -type f ! -name '*manifest*' | sort | while read -r f; do
  case "$f" in
    *.sqlite)
      digest=$(for t in $(sqlite3 "$f" "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"); do
        sqlite3 "$f" ".schema $t" "SELECT * FROM \"$t\" ORDER BY rowid"
      done | sha256sum | cut -d' ' -f1)
      echo "$digest  $f (tables)" ;;
    *.gz) echo "$(gzip -dc "$f" | sha256sum | cut -d' ' -f1)  $f (decompressed)" ;;
    *) sha256sum "$f" ;;
  esac
done
