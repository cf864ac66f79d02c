#!/usr/bin/env bash
# Runs every shipped pipeline (against the built-in demo store, or its recorded files) with the
# given binary in a scratch directory and prints the SHA-256 of every output file, manifests
# excepted (they hold run ids and times); SQLite files by their `sqlite3 .dump`. Two binaries give the same list when a change keeps
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
  "$bin" run "$p" > /dev/null 2> "$work/err.txt" || { echo "$p failed:" >&2; cat "$work/err.txt" >&2; exit 1; }
done
# SQLite files compare by content (their dump): page layout may differ between runs.
find out -type f ! -name '*manifest*' | sort | while read -r f; do
  case "$f" in
    *.sqlite) echo "$(sqlite3 "$f" .dump | sha256sum | cut -d' ' -f1)  $f (dump)" ;;
    *) sha256sum "$f" ;;
  esac
done
