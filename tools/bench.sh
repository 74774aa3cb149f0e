#!/usr/bin/env bash
# The benchmark: every figure of the product's targets (docs/benchmarks.md), measured in one
# run on this machine side by side with the peer (Python eventsourcing, tools/peer_eventsourcing.py)
# and the ceilings (tools/same_rows_ceiling.py, tools/raw_append_ceiling.c), reported as ratios.
#
#   tools/bench.sh [TRADES] [CLIENTS]        default 999000 trades over 1000 clients
#
# Environment:
#   ROUNDS (3)  rounds of single appends, interleaved ledger / ceiling, medians reported
#   SINGLE (3000) appends per round
#   BATCH (100000) --batch-size of the batched import
#   SCRATCH (.build)  the build folder of the release build (another one lets a benchmark build
#       while tests run from .build)
#   LATE_CLIENTS / LATE_FACTS (1000 / 200000)  the late-fact import (5% late within 30 days), and the
#       import with three open multiplier campaigns
#   LAUNCH_CLIENTS (100000)  clients of the fixed-award campaign launch
#   SCALE_EVENTS / SCALE_CLIENTS (unset)  also the shape at scale: a seeded ledger of that many
#       facts and clients (10000000 / 1000000 for the product's target; about 30 minutes),
#       imported in batches of 500000: import rate, peak memory, rebuild, verify, stored size
#
# Needs: swift, cc, libsqlite3-dev, python3; pip install eventsourcing==9.5.6 for the peer
# (skipped with a note when it is missing). Setup (building, generating files) is not measured.
set -euo pipefail
cd "$(dirname "$0")/.."
TRADES=${1:-999000}
CLIENTS=${2:-1000}
SINGLE=${SINGLE:-3000}
ROUNDS=${ROUNDS:-3}
BATCH=${BATCH:-100000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== building (release)" >&2
SCRATCH=${SCRATCH:-.build}
swift build -c release --product clientledger --scratch-path "$SCRATCH" >&2
# A path dependency's file list can be cached stale: let SwiftPM plan the package again.
rm -f Benchmarks/.build/*/release/description.json
swift build -c release --package-path Benchmarks >&2
CL=$PWD/$SCRATCH/release/clientledger
BENCH=$PWD/Benchmarks/.build/release/ledger-bench
cc -O2 tools/raw_append_ceiling.c -lsqlite3 -o "$work/raw_append_ceiling"

value() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }
ratio() { if [ -n "$1" ] && [ -n "$2" ]; then awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; else echo "-"; fi; }
# Runs a command under /usr/bin/time -v; prints "seconds peak_kib".
timed() {
    local log=$1; shift
    /usr/bin/time -v "$@" 2> "$log" > "$log.out"
    awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; t = s }
                /Maximum resident set size/ { m = $2 } END { print t, m }' "$log"
}
stored_events() { python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["factsWritten"] + r["decisionsWritten"])' "$1"; }
file_bytes() {
    python3 - "$1" <<'PY'
import os, sqlite3, sys
db = sqlite3.connect(sys.argv[1]); db.execute("PRAGMA wal_checkpoint(TRUNCATE)"); db.close()
print(os.path.getsize(sys.argv[1]))
PY
}

echo "== generating $TRADES trades for $CLIENTS clients (not measured)" >&2
python3 tools/trades_workload.py "$CLIENTS" "$TRADES" > "$work/facts.jsonl"

echo "== peer" >&2
if python3 -c "import eventsourcing" 2>/dev/null; then
    python3 tools/peer_eventsourcing.py "$CLIENTS" "$TRADES" > "$work/peer.txt"
else
    echo "(peer skipped: pip install eventsourcing==9.5.6)" >&2
    : > "$work/peer.txt"
fi

echo "== ledger: batched import (--batch-size $BATCH), then the same rows copied by SQLite alone" >&2
"$CL" init --db "$work/ledger.db" > /dev/null
read -r batched_s batched_kib < <(timed "$work/import.time" "$CL" import "$work/facts.jsonl" --db "$work/ledger.db" --batch-size "$BATCH" --format json)
events=$(stored_events "$work/import.time.out")
python3 tools/same_rows_ceiling.py "$work/ledger.db" > "$work/same_rows.txt"
bytes=$(file_bytes "$work/ledger.db")

echo "== ledger: one-transaction import of the same file" >&2
"$CL" init --db "$work/one.db" > /dev/null
read -r one_s one_kib < <(timed "$work/one.time" "$CL" import "$work/facts.jsonl" --db "$work/one.db" --format json)
rm -f "$work/one.db"*

echo "== audit verify" >&2
read -r verify_s _ < <(timed "$work/verify.time" "$CL" audit verify --db "$work/ledger.db")

echo "== single durable appends, $ROUNDS rounds interleaved" >&2
for _ in $(seq "$ROUNDS"); do
    "$BENCH" single "$SINGLE" | awk '$1 == "append_single_eps" { print $2 }' >> "$work/ours_single.txt"
    "$work/raw_append_ceiling" "$SINGLE" | awk '$1 == "append_eps" { print $2 }' >> "$work/ceiling_single.txt"
done

echo "== projections: full rebuild, catch-up after a 1,000-event import, one client's history" >&2
"$BENCH" rebuild "$work/ledger.db" > "$work/rebuild.txt" || echo "(ledger-bench mode for rebuild failed: its figures are missing)" >&2
# Deposits on a day after the workload's last trade (its trades are 20 s apart from 2024-01-02).
catchup_day=$(python3 -c 'import datetime,sys; print((datetime.date(2024, 1, 2) + datetime.timedelta(seconds=int(sys.argv[1]) * 20 + 86400)).isoformat())' "$TRADES")
"$BENCH" catchup "$work/ledger.db" 1000 "$catchup_day" > "$work/catchup.txt" || echo "(ledger-bench mode for catchup failed: its figures are missing)" >&2
"$BENCH" history "$work/ledger.db" C9000001 1000 > "$work/history.txt" || echo "(ledger-bench mode for history failed: its figures are missing)" >&2
"$BENCH" insight "$work/ledger.db" > "$work/insight.txt" || echo "(ledger-bench mode for insight failed: its figures are missing)" >&2

echo "== compliance: export of a 10,000-event client, checked offline by audit verify-export and tools/verify_export.py" >&2
"$BENCH" exportbundle "$work/ledger.db" C9000002 "$work/bundle.jsonl" 10000 > "$work/bundle.txt" || echo "(ledger-bench mode for bundle failed: its figures are missing)" >&2
read -r verify_export_s _ < <(timed "$work/verify_export.time" "$CL" audit verify-export "$work/bundle.jsonl")
read -r verify_export_py_s _ < <(timed "$work/verify_export_py.time" python3 tools/verify_export.py "$work/bundle.jsonl")

echo "== late facts: one for a client of 1,000 events; an import with 5% of the facts late (30-day window)" >&2
"$BENCH" late 1000 > "$work/late.txt" || echo "(ledger-bench mode for late failed: its figures are missing)" >&2
"$BENCH" lateimport "${LATE_CLIENTS:-1000}" "${LATE_FACTS:-200000}" 5 > "$work/lateimport.txt" || echo "(ledger-bench mode for lateimport failed: its figures are missing)" >&2
"$BENCH" launch "${LAUNCH_CLIENTS:-100000}" > "$work/launch.txt" || echo "(ledger-bench mode for launch failed: its figures are missing)" >&2
"$BENCH" simulate "$work/ledger.db" > "$work/simulate.txt" || echo "(ledger-bench mode for simulate failed: its figures are missing)" >&2
"$BENCH" campaignimport "${LATE_CLIENTS:-1000}" "${LATE_FACTS:-200000}" > "$work/campaignimport.txt" || echo "(ledger-bench mode for campaignimport failed: its figures are missing)" >&2

if [ -n "${SCALE_EVENTS:-}" ]; then
    echo "== at scale: $SCALE_EVENTS facts of ${SCALE_CLIENTS:-1000000} clients" >&2
    "$CL" seed --clients "${SCALE_CLIENTS:-1000000}" --events "$SCALE_EVENTS" --seed 2 --output "$work/scale.jsonl"
    "$CL" init --db "$work/scale.db" > /dev/null
    read -r scale_s scale_kib < <(timed "$work/scale.time" "$CL" import "$work/scale.jsonl" --db "$work/scale.db" --batch-size 500000 --format json)
    scale_events=$(stored_events "$work/scale.time.out")
    rm -f "$work/scale.jsonl"
    scale_bytes=$(file_bytes "$work/scale.db")
    read -r scale_rebuild_s scale_rebuild_kib < <(timed "$work/scale_rebuild.time" "$CL" projections rebuild --db "$work/scale.db")
    read -r scale_verify_s _ < <(timed "$work/scale_verify.time" "$CL" audit verify --db "$work/scale.db")
    "$BENCH" insight "$work/scale.db" > "$work/scale_insight.txt" || echo "(ledger-bench mode for scale_insight failed: its figures are missing)" >&2
fi

peer_b=$(value append_batched_eps "$work/peer.txt")
peer_s=$(value append_single_eps "$work/peer.txt")
peer_r=$(value replay_eps "$work/peer.txt")
same_rows=$(value same_rows_per_s "$work/same_rows.txt")
ours_b=$(awk -v n="$events" -v s="$batched_s" 'BEGIN { printf "%.0f", n / s }')
ours_one=$(awk -v n="$events" -v s="$one_s" 'BEGIN { printf "%.0f", n / s }')
verify=$(awk -v n="$events" -v s="$verify_s" 'BEGIN { printf "%.0f", n / s }')
ours_s=$(median < "$work/ours_single.txt")
ceil_s=$(median < "$work/ceiling_single.txt")
rebuild=$(value rebuild_eps "$work/rebuild.txt")

echo
echo "machine: $(nproc) cores, $(uname -sr); $TRADES trades of $CLIENTS clients, $events stored events; single: $SINGLE appends x $ROUNDS rounds (medians)"
printf "%-58s %12s %12s %12s %8s %8s\n" figure ledger ceiling peer "÷ceiling" "÷peer"
printf "%-58s %12s %12s %12s %8s %8s\n" "batched import, stored events/s (same-rows ceiling)" "$ours_b" "$same_rows" "${peer_b:--}" "$(ratio "$ours_b" "$same_rows")" "$(ratio "$ours_b" "$peer_b")"
printf "%-58s %12s %12s %12s %8s %8s\n" "one-transaction import, stored events/s" "$ours_one" "$same_rows" "${peer_b:--}" "$(ratio "$ours_one" "$same_rows")" "$(ratio "$ours_one" "$peer_b")"
printf "%-58s %12s %12s %12s %8s %8s\n" "single durable appends, events/s (raw C, one row a txn)" "$ours_s" "$ceil_s" "${peer_s:--}" "$(ratio "$ours_s" "$ceil_s")" "$(ratio "$ours_s" "$peer_s")"
printf "%-58s %12s %12s %12s %8s %8s\n" "full rebuild of the projections, events/s" "$rebuild" "-" "${peer_r:--}" "-" "$(ratio "$rebuild" "$peer_r")"
printf "%-58s %12s\n" "audit verify, events/s" "$verify"
echo
echo "peak memory: batched import $((batched_kib / 1024)) MiB, one-transaction import $((one_kib / 1024)) MiB"
echo "stored size: $bytes bytes for $events events = $((bytes / events)) bytes per event, indexes included"
echo "catch-up of the projections after a 1,000-event import: $(value catchup_ms "$work/catchup.txt") ms"
echo "churn scores of $(value insight_scored "$work/insight.txt") clients: $(value insight_s "$work/insight.txt") s, against a full rebuild $(value insight_rebuild_s "$work/insight.txt") s (ratio $(value insight_of_rebuild "$work/insight.txt"); target: at most 1)"
echo "one client's history, $(value history_events "$work/history.txt") events in a $(value log_events "$work/history.txt")-event log: $(value history_ms "$work/history.txt") ms"
echo "audit verify-export of a $(value export_events "$work/bundle.txt")-event bundle ($(value export_bytes "$work/bundle.txt") bytes, a $(value log_events "$work/bundle.txt")-event log): ${verify_export_s} s (target < 1; in process $(value verify_export_s "$work/bundle.txt") s); tools/verify_export.py ${verify_export_py_s} s; the export itself $(value export_bundle_s "$work/bundle.txt") s"
echo "a late fact for a client of $(value late_fact_client_events "$work/late.txt") events, with its corrections: $(value late_fact_ms "$work/late.txt") ms (target < 5)"
echo "import with 5% late facts: $(value import_late_eps "$work/lateimport.txt") facts/s vs $(value import_in_order_eps "$work/lateimport.txt") in time order: ratio $(value import_late_ratio "$work/lateimport.txt") (target >= 0.70)"
echo "campaign launch to $(value launch_enrolled "$work/launch.txt") clients: $(value launch_awards_per_s "$work/launch.txt") awards/s ($(value launch_s "$work/launch.txt") s; target >= 50000)"
echo "campaign simulate of a multiplier campaign over $(value simulate_events "$work/simulate.txt") events: $(value simulate_s "$work/simulate.txt") s, against a full rebuild $(value simulate_rebuild_s "$work/simulate.txt") s (ratio $(value simulate_of_rebuild "$work/simulate.txt"); target: at most 1)"
echo "import with three open multiplier campaigns: $(value import_three_campaigns_eps "$work/campaignimport.txt") facts/s vs $(value import_no_campaign_eps "$work/campaignimport.txt") without: ratio $(value import_campaign_ratio "$work/campaignimport.txt")"
if [ -n "${SCALE_EVENTS:-}" ]; then
    echo "at scale ($SCALE_EVENTS facts, ${SCALE_CLIENTS:-1000000} clients, $scale_events stored events):"
    echo "  batched import $(awk -v n="$scale_events" -v s="$scale_s" 'BEGIN { printf "%.0f", n / s }') events/s, peak $((scale_kib / 1024)) MiB"
    echo "  rebuild $(awk -v n="$scale_events" -v s="$scale_rebuild_s" 'BEGIN { printf "%.0f", n / s }') events/s, peak $((scale_rebuild_kib / 1024)) MiB"
    echo "  audit verify $(awk -v n="$scale_events" -v s="$scale_verify_s" 'BEGIN { printf "%.0f", n / s }') events/s"
    echo "  stored size $((scale_bytes / scale_events)) bytes per event"
    echo "  churn scores of $(value insight_scored "$work/scale_insight.txt") clients $(value insight_s "$work/scale_insight.txt") s, rebuild $(value insight_rebuild_s "$work/scale_insight.txt") s (ratio $(value insight_of_rebuild "$work/scale_insight.txt"); target: at most 1)"
fi
