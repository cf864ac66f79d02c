#!/usr/bin/env bash
# The postgres: load beside psql's own \copy on the same rows: `bench` writes ROWS 30-column
# order-line records with the CSV load (kept) and the postgres load (COPY into table
# bench_lines, replaced); then `psql -c "\copy ..."` loads that CSV into a table of the same
# columns and types, timed, and the ratio is printed. The database is $DATABASE_URL, or, when it
# is not set, a throwaway cluster started here (initdb and pg_ctl from the postgresql package, as
# the postgres user when run as root) and removed at the end. Usage: scripts/compare-postgres.sh [ROWS]
rows="${1:-1000000}"
source "$(dirname "$0")/compare/setup.sh"
cluster=""
cleanup() {
    if [ -n "$cluster" ]; then as_server "$pgbin/pg_ctl" -D "$cluster/data" -m fast -w stop >/dev/null 2>&1 || true; rm -rf "$cluster"; fi
    rm -rf "$work"
}
trap cleanup EXIT
as_server() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [ -z "${DATABASE_URL:-}" ]; then
    pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
    [ -x "$pgbin/initdb" ] || { echo "no DATABASE_URL and no PostgreSQL server here: apt-get install -y postgresql" >&2; exit 1; }
    cluster=$(mktemp -d)
    chmod 755 "$cluster"
    [ "$(id -u)" = 0 ] && chown postgres "$cluster"
    echo bench > "$cluster/pw"
    as_server "$pgbin/initdb" -D "$cluster/data" -U bench --pwfile="$cluster/pw" --auth=scram-sha-256 -E UTF8 --no-locale >/dev/null
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    as_server "$pgbin/pg_ctl" -D "$cluster/data" -l "$cluster/log" -w -o "-p $port -k $cluster -c listen_addresses=127.0.0.1" start >/dev/null
    export DATABASE_URL="postgres://bench:bench@127.0.0.1:$port/postgres?sslmode=disable"
    echo "a throwaway cluster on port $port (server defaults: fsync and synchronous_commit on)"
fi
"$bin" bench --skip-xml --skip-parse --json-products 0 --load-rows "$rows" --loads csv,postgres --keep-csv "$work/rows.csv" | tee "$work/bench.txt"
ours=$(sed -n 's/^  postgres (COPY, table bench_lines): \([0-9.]*\) s.*/\1/p' "$work/bench.txt")
export PGOPTIONS="-c client_min_messages=warning"
header=$(head -1 "$work/rows.csv")
psql "$DATABASE_URL" -X -q -v ON_ERROR_STOP=1 -c "DROP TABLE IF EXISTS psql_lines" -c "CREATE TABLE psql_lines (LIKE bench_lines)"
start=$(date +%s.%N)
psql "$DATABASE_URL" -X -q -v ON_ERROR_STOP=1 -c "\\copy psql_lines ($header) FROM '$work/rows.csv' WITH (FORMAT csv, HEADER true)"
end=$(date +%s.%N)
seconds=$(echo "$end - $start" | bc)
count=$(psql "$DATABASE_URL" -X -A -t -c "SELECT (SELECT count(*) FROM psql_lines) = (SELECT count(*) FROM bench_lines)")
echo "the same rows, other tools:"
echo "  psql \\copy of the CSV into a table of the same columns: $(printf '%.2f' "$seconds") s, $(echo "$rows / $seconds" | bc) rows/s (same row count as bench_lines: $count)"
echo "  postgres load / psql \\copy = $(echo "scale=2; $ours / $seconds" | bc) (target at most 1.5)"
psql "$DATABASE_URL" -X -q -c "DROP TABLE psql_lines" -c "DROP TABLE bench_lines"
