#!/usr/bin/env bash
# The benchmark: ClientLedger side by side with the peer (Python eventsourcing 9.5.6 on SQLite)
# and the raw C SQLite ceiling, measured in one run on this machine, reported as ratios.
#
#   tools/bench.sh [EVENTS] [CLIENTS]        default 1000000 events over 1000 clients
#
# Environment: ROUNDS (default 3) rounds of the single-append figures, interleaved ledger /
# ceiling, medians reported (fsync latency is noisy); SINGLE (default 3000) appends per round;
# MEMORY_EVENTS / MEMORY_CLIENTS (default unset) also measure the peak memory of a rebuild
# over that many events and clients with /usr/bin/time -v (SPEC: 10000000 over 1000000).
#
# Needs: swift, cc, libsqlite3-dev, python3 (pip install eventsourcing==9.5.6 for the peer;
# the peer is skipped with a note when it is missing).
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS=${1:-1000000}
CLIENTS=${2:-1000}
SINGLE=${SINGLE:-3000}
ROUNDS=${ROUNDS:-3}
PEER_DIR=${PEER_DIR:-../shared/peer}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== building (release)" >&2
swift build -c release --product clientledger >&2
# A path dependency's file list can be cached stale: let SwiftPM plan the package again.
rm -f Benchmarks/.build/*/release/description.json
swift build -c release --package-path Benchmarks >&2
CL=.build/release/clientledger
BENCH=Benchmarks/.build/release/ledger-bench
cc -O2 "$PEER_DIR/sqlite_ceiling.c" -lsqlite3 -o "$work/sqlite_ceiling"
cc -O2 tools/ledger_schema_ceiling.c -lsqlite3 -o "$work/ledger_schema_ceiling"

echo "== generating $EVENTS seeded events for $CLIENTS clients (not measured)" >&2
"$CL" seed --clients "$CLIENTS" --events "$EVENTS" --seed 1 --output "$work/seed.jsonl"

value() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }

echo "== C ceiling, batched" >&2
"$work/sqlite_ceiling" "$EVENTS" > "$work/ceiling_batched.txt"

echo "== ClientLedger import (the database is kept for the rebuild)" >&2
"$CL" init --db "$work/ledger.db" > /dev/null
start=$(date +%s.%N)
"$CL" import "$work/seed.jsonl" --db "$work/ledger.db" --format json > "$work/import.json"
end=$(date +%s.%N)
facts=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["factsWritten"])' "$work/import.json")
decisions=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["decisionsWritten"])' "$work/import.json")
ours_b=$(awk -v f="$facts" -v s="$start" -v e="$end" 'BEGIN { printf "%.0f", f / (e - s) }')
# The same number of rows the import wrote, inserted by raw C with the ledger's schema.
"$work/ledger_schema_ceiling" $((facts + decisions)) > "$work/schema_ceiling.txt"
schema_rows=$(value rows_per_s "$work/schema_ceiling.txt")
rows_per_fact=$(awk -v f="$facts" -v d="$decisions" 'BEGIN { printf "%.2f", (f + d) / f }')
schema_facts=$(awk -v r="$schema_rows" -v k="$rows_per_fact" 'BEGIN { printf "%.0f", r / k }')

echo "== single durable appends, $ROUNDS rounds interleaved" >&2
for _ in $(seq "$ROUNDS"); do
    "$BENCH" single "$SINGLE" | awk '$1 == "append_single_eps" { print $2 }' >> "$work/ours_single.txt"
    "$work/sqlite_ceiling" "$SINGLE" 1 FULL | awk '$1 == "append_eps" { print $2 }' >> "$work/ceiling_single.txt"
done
ours_s=$(median < "$work/ours_single.txt")
ceil_s=$(median < "$work/ceiling_single.txt")

echo "== projections: full rebuild, then catch-up after a 1,000-event import" >&2
"$BENCH" rebuild "$work/ledger.db" > "$work/rebuild.txt"
"$BENCH" catchup "$work/ledger.db" 1000 > "$work/catchup.txt"
"$BENCH" history "$work/ledger.db" C9000001 1000 > "$work/history.txt"

echo "== peer" >&2
if python3 -c "import eventsourcing" 2>/dev/null; then
    python3 "$PEER_DIR/eventsourcing_peer.py" "$CLIENTS" $((EVENTS / CLIENTS)) > "$work/peer.txt"
else
    echo "(peer skipped: pip install eventsourcing==9.5.6)" >&2
    : > "$work/peer.txt"
fi

if [ -n "${MEMORY_EVENTS:-}" ]; then
    echo "== peak memory of a rebuild over $MEMORY_EVENTS events and ${MEMORY_CLIENTS:-1000000} clients" >&2
    "$CL" seed --clients "${MEMORY_CLIENTS:-1000000}" --events "$MEMORY_EVENTS" --seed 2 --output "$work/memory.jsonl"
    "$CL" init --db "$work/memory.db" > /dev/null
    "$CL" import "$work/memory.jsonl" --db "$work/memory.db" --batch-size 500000 > /dev/null 2>&1
    rm -f "$work/memory.jsonl"
    /usr/bin/time -v "$CL" projections rebuild --db "$work/memory.db" 2> "$work/memory.txt" > /dev/null
    peak_kb=$(awk -F: '/Maximum resident set size/ { gsub(/ /, "", $2); print $2 }' "$work/memory.txt")
fi

ceil_b=$(value append_eps "$work/ceiling_batched.txt")
ceil_scan=$(value scan_eps "$work/ceiling_batched.txt")
rebuild=$(value rebuild_eps "$work/rebuild.txt")
rebuild_events=$(value rebuild_events "$work/rebuild.txt")
catchup=$(value catchup_ms "$work/catchup.txt")
history_ms=$(value history_ms "$work/history.txt")
history_events=$(value history_events "$work/history.txt")
history_log=$(value log_events "$work/history.txt")
peer_b=$(value append_batched_eps "$work/peer.txt")
peer_s=$(value append_single_eps "$work/peer.txt")
peer_r=$(value replay_eps "$work/peer.txt")

ratio() { if [ -n "$1" ] && [ -n "$2" ]; then awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; else echo "-"; fi; }

echo
echo "machine: $(nproc) cores, $(uname -sr); events=$EVENTS clients=$CLIENTS; single: $SINGLE appends x $ROUNDS rounds (medians)"
printf "%-50s %11s %11s %11s %9s %8s\n" figure ledger ceiling peer "÷ceiling" "÷peer"
printf "%-50s %11s %11s %11s %9s %8s\n" "import, batched, policies + hash chain (facts/s)" "$ours_b" "$ceil_b" "${peer_b:--}" "$(ratio "$ours_b" "$ceil_b")" "$(ratio "$ours_b" "$peer_b")"
printf "%-50s %11s %11s %11s %9s %8s\n" "single durable appends, FULL (ev/s)" "$ours_s" "$ceil_s" "${peer_s:--}" "$(ratio "$ours_s" "$ceil_s")" "$(ratio "$ours_s" "$peer_s")"
printf "%-50s %11s %11s %11s %9s %8s\n" "full rebuild of the 3 projections (ev/s)" "$rebuild" "$ceil_scan" "${peer_r:--}" "$(ratio "$rebuild" "$ceil_scan")" "$(ratio "$rebuild" "$peer_r")"
printf "%-50s %11s %11s %11s %9s %8s\n" "  (raw C, the ledger's rows: $rows_per_fact rows/fact)" "$ours_b" "$schema_facts" "-" "$(ratio "$ours_b" "$schema_facts")" "-"
echo
echo "import: $facts facts + $decisions decisions written by the policies; rebuild read $rebuild_events stored events"
echo "catch-up of the projections after a 1,000-event import: $catchup ms"
echo "one client's history, $history_events events in a $history_log-event log: $history_ms ms"
if [ -n "${peak_kb:-}" ]; then
    echo "peak memory of a rebuild over $MEMORY_EVENTS events / ${MEMORY_CLIENTS:-1000000} clients: $((peak_kb / 1024)) MiB"
fi
