#!/usr/bin/env bash
# Memory under an oversized answer: a local Python server streams one Order Get page of SIZE_MB
# (default 2048) and the release build runs a one-stage pipeline against it with the default
# max_response_mb (64). Prints the run's error line, wall time and peak memory (RSS).
# Usage: scripts/bench-oversized-page.sh [SIZE_MB]
set -euo pipefail
cd "$(dirname "$0")/.."
size="${1:-2048}"
work="$(mktemp -d)"
port=$((20000 + RANDOM % 20000))
swift build -c release --product commerce-etl >/dev/null
binary="$(swift build -c release --show-bin-path)/commerce-etl"
cat > "$work/server.py" <<'PY'
import http.server, sys
SIZE = int(sys.argv[2]) << 20
ORDER = b"<Order><OrderID>%d</OrderID><ChargedCurrency>GBP</ChargedCurrency><OrderTotal>1.00</OrderTotal><Notes>" + b"x" * 400 + b"</Notes></Order>"
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200); self.send_header("Content-Type", "application/xml"); self.end_headers()
        head = b"<?xml version='1.0'?><AuroraResponseEnvelope><Responses><Response><Ack>OK</Ack><Paging><Token>T</Token></Paging><Data>"
        try:
            self.wfile.write(head); sent, i = len(head), 0
            while sent < SIZE:
                chunk = b"".join(ORDER % (i + k) for k in range(200)); i += 200
                self.wfile.write(chunk); sent += len(chunk)
            self.wfile.write(b"</Data></Response></Responses></AuroraResponseEnvelope>")
        except (BrokenPipeError, ConnectionResetError): pass
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
python3 "$work/server.py" "$port" "$size" 2>/dev/null &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$work"' EXIT
sleep 1
cat > "$work/p.yml" <<YML
version: 1
name: oversized
connections: { store: { type: aurora-xml, url: "http://127.0.0.1:$port/x", token: t0ken-value, retries: 0 } }
extract: { orders: { connection: store, resource: orders } }
load: { out: { input: orders, csv: { path: out/orders.csv, columns: [OrderID] } } }
YML
cd "$work"
/usr/bin/time -f "%e s wall, peak RSS %M KB" "$binary" run p.yml 2>&1 | grep -v "^the run" || true
