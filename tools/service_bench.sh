#!/usr/bin/env bash
# The HTTP service's load benchmark, on loopback, bounded: the service (release build) on a
# fresh ledger, tools/service_load.py against it, and in the same run the two references
# the targets are stated against: raw C SQLite one row per transaction
# (tools/raw_append_ceiling.c) and `clientledger import` of the same batched input.
#
#     tools/service_bench.sh   (SINGLE=4000 CLIENTS=32 BATCHES=20 PORT=18080 CONFIG=release SCRATCH=.build)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
SINGLE=${SINGLE:-4000}
CLIENTS=${CLIENTS:-32}
BATCHES=${BATCHES:-20}
PORT=${PORT:-18080}
work=$(mktemp -d /tmp/service-bench.XXXXXX)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT

scratch=${SCRATCH:-.build}
config=${CONFIG:-release}
swift build -c "$config" --scratch-path "$scratch" --product clientledger >/dev/null
swift build -c "$config" --scratch-path "$scratch" --product clientledger-server >/dev/null
bin=$(swift build -c "$config" --scratch-path "$scratch" --show-bin-path)
cc -O2 tools/raw_append_ceiling.c -lsqlite3 -o "$work/raw_append_ceiling"

"$bin/clientledger" init --db "$work/service.db" >/dev/null
ingest=$("$bin/clientledger" tokens create --role ingest --db "$work/service.db" 2>/dev/null)
read=$("$bin/clientledger" tokens create --role read --db "$work/service.db" 2>/dev/null)
"$bin/clientledger" serve --db "$work/service.db" --listen "127.0.0.1:$PORT" --log-level warning &
server=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done

python3 tools/service_load.py --port "$PORT" --ingest "$ingest" --read "$read" \
    --single "$SINGLE" --clients "$CLIENTS" --batches "$BATCHES" | tee "$work/load.txt"
kill -TERM "$server"; wait "$server" || true
"$bin/clientledger" audit verify --db "$work/service.db"

raw=$("$work/raw_append_ceiling" 2000 | awk '$1 == "append_eps" { print $2 }')
echo "raw_c_one_row_per_transaction_eps $raw"

# The CLI's import of the same batched shape (BATCHES × 1,000 events), one transaction.
python3 - "$BATCHES" > "$work/batch.jsonl" <<'PY'
import sys, time
for b in range(int(sys.argv[1])):
    for n in range(1000):
        cid = "B%03dx%03d" % (b, n // 20)
        if n % 20 == 0:
            print('{"type":"ClientRegistered","clientId":"%s","occurredAt":"2024-01-01T00:00:00Z","data":{"name":"Load %s","segment":"retail","investorType":"ordinary","branch":"SH-01"}}' % (cid, cid))
        else:
            at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(1704153600 + n))
            print('{"type":"FundsDeposited","clientId":"%s","occurredAt":"%s","data":{"amount":100.00}}' % (cid, at))
PY
"$bin/clientledger" init --db "$work/cli.db" >/dev/null
start=$(date +%s.%N)
"$bin/clientledger" import "$work/batch.jsonl" --db "$work/cli.db" >/dev/null
end=$(date +%s.%N)
cli=$(python3 -c "print(round($BATCHES * 1000 / ($end - $start)))")
echo "cli_import_eps $cli"

single=$(awk '$1 == "single_eps" { print $2 }' "$work/load.txt")
batch=$(awk '$1 == "batch_eps" { print $2 }' "$work/load.txt")
python3 -c "print('single_vs_raw_c %.2f (target >= 3)' % ($single / $raw)); print('batch_vs_cli_import %.2f (target >= 0.5)' % ($batch / $cli))"
