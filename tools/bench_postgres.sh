#!/usr/bin/env bash
# The PostgreSQL figures (docs/postgres.md, README "Benchmarks"), measured in one run side by
# side with the SQLite ledger on the same input, against a throw-away local server
# (tools/test-postgres.sh, loopback, its own data folder):
#
#   tools/bench_postgres.sh [TRADES] [CLIENTS]      default 300000 trades over 1000 clients
#
# - batched import (--batch-size BATCH) into SQLite and into PostgreSQL: stored events/s, ratio;
# - WRITERS (8) writer processes at once, each importing its own clients' facts, against one
#   writer importing all of them: total stored events/s, ratio, and every event stored once;
# - a full rebuild of the projections reading the log from each backend: events/s.
#
# Environment: BATCH (100000), WRITERS (8), SCRATCH (.build) the release build folder.
# Needs: swift, python3, PostgreSQL's server programs (apt-get install postgresql).
set -euo pipefail
cd "$(dirname "$0")/.."
TRADES=${1:-300000}
CLIENTS=${2:-1000}
BATCH=${BATCH:-100000}
WRITERS=${WRITERS:-8}
SCRATCH=${SCRATCH:-.build}
work=$(mktemp -d)
export CLIENTLEDGER_PG_STATE="$work/server.state"
export CLIENTLEDGER_SIGNING_KEY="$work/pg.signing-key"
trap 'tools/test-postgres.sh stop; rm -rf "$work"' EXIT

echo "== building (release)" >&2
swift build -c release --product clientledger --scratch-path "$SCRATCH" >&2
swift build -c release --product clientledger-postgres --scratch-path "$SCRATCH" >&2
CL=$PWD/$SCRATCH/release/clientledger

eval "$(tools/test-postgres.sh start)"
server=${CLIENTLEDGER_TEST_POSTGRES%/postgres}
pg() { echo "$server/$1"; }

json() { python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {}, r))' "$1" "$2"; }
seconds() { python3 -c 'import time; print(time.time())'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

echo "== generating $TRADES trades for $CLIENTS clients (not measured)" >&2
python3 tools/trades_workload.py "$CLIENTS" "$TRADES" > "$work/facts.jsonl"
# The same facts split by client into WRITERS files (each writer owns its clients).
python3 - "$work/facts.jsonl" "$WRITERS" "$work/part" <<'PY'
import json, sys
source, parts, prefix = sys.argv[1], int(sys.argv[2]), sys.argv[3]
outs = [open(f"{prefix}{i}.jsonl", "w") for i in range(parts)]
for line in open(source):
    client = json.loads(line)["clientId"]
    outs[sum(map(ord, client)) % parts].write(line)
for out in outs:
    out.close()
PY

import_rate() {  # DB: stored events/s of a batched import of facts.jsonl
    "$CL" init --db "$1" > /dev/null
    local start end
    start=$(seconds)
    "$CL" import "$work/facts.jsonl" --db "$1" --batch-size "$BATCH" --format json > "$work/import.json"
    end=$(seconds)
    local events
    events=$(json "$work/import.json" 'factsWritten + decisionsWritten')
    echo "$events $(rate "$events" "$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')")"
}

echo "== batched import: SQLite, then PostgreSQL" >&2
read -r sqlite_events sqlite_eps < <(import_rate "$work/ledger.db")
read -r pg_events pg_eps < <(import_rate "$(pg one)")

echo "== rebuild of the projections, reading the log from each backend" >&2
"$CL" projections rebuild --db "$work/ledger.db" --format json > "$work/rebuild_sqlite.json"
"$CL" projections rebuild --db "$(pg one)" --format json > "$work/rebuild_pg.json"
sqlite_rebuild=$(json "$work/rebuild_sqlite.json" 'round(eventsApplied / seconds)')
pg_rebuild=$(json "$work/rebuild_pg.json" 'round(eventsApplied / seconds)')

echo "== $WRITERS writer processes at once, each with its own clients" >&2
"$CL" init --db "$(pg many)" > /dev/null
start=$(seconds)
pids=()
for i in $(seq 0 $((WRITERS - 1))); do
    (
        until "$CL" import "$work/part$i.jsonl" --db "$(pg many)" --batch-size "$BATCH" > "$work/writer$i.out" 2> "$work/writer$i.err"; do
            code=$?
            [ "$code" -eq 75 ] || { echo "writer $i exited $code: $(tail -1 "$work/writer$i.err")" >&2; exit "$code"; }
        done
    ) &
    pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done
end=$(seconds)
"$CL" audit verify --db "$(pg many)" > "$work/verify_many.txt"
many_events=$(awk '/chain intact/ { print $3 }' "$work/verify_many.txt")
many_eps=$(rate "$many_events" "$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')")
dups=$(psql -tA "$(pg many)" -c "SELECT count(*) - count(DISTINCT event_id) FROM clientledger.events")

cat <<EOF
input: $TRADES trades for $CLIENTS clients, batched imports of $BATCH lines
batched import, SQLite:      $sqlite_events stored events, $sqlite_eps ev/s
batched import, PostgreSQL:  $pg_events stored events, $pg_eps ev/s  (ratio to SQLite $(ratio "$pg_eps" "$sqlite_eps"), goal >= 1)
$WRITERS writers at once, PostgreSQL: $many_events events in the log, $many_eps ev/s total (ratio to one writer $(ratio "$many_eps" "$pg_eps"), goal >= 1), ids stored twice: $dups
rebuild reading SQLite:      $sqlite_rebuild ev/s
rebuild reading PostgreSQL:  $pg_rebuild ev/s  (goal >= 1000000)
EOF
