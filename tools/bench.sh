#!/usr/bin/env bash
# The benchmark: ClientLedger side by side with the peer (Python eventsourcing 9.5.6 on SQLite)
# and the raw C SQLite ceiling, measured in one run on this machine, reported as ratios.
#
#   tools/bench.sh [EVENTS] [CLIENTS]        default 1000000 events over 1000 clients
#
# Needs: swift, cc, libsqlite3-dev, python3 (pip install eventsourcing==9.5.6 for the peer;
# the peer is skipped with a note when it is missing).
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS=${1:-1000000}
CLIENTS=${2:-1000}
SINGLE=${SINGLE:-5000}
PEER_DIR=${PEER_DIR:-../shared/peer}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== building (release)" >&2
swift build -c release --product clientledger >&2
swift build -c release --package-path Benchmarks >&2
CL=.build/release/clientledger
BENCH=Benchmarks/.build/release/ledger-bench
cc -O2 "$PEER_DIR/sqlite_ceiling.c" -lsqlite3 -o "$work/sqlite_ceiling"

echo "== generating $EVENTS seeded events for $CLIENTS clients (not measured)" >&2
"$CL" seed --clients "$CLIENTS" --events "$EVENTS" --seed 1 --output "$work/seed.jsonl"

value() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }

echo "== C ceiling" >&2
"$work/sqlite_ceiling" "$EVENTS" > "$work/ceiling_batched.txt"
"$work/sqlite_ceiling" "$SINGLE" 1 FULL > "$work/ceiling_single.txt"

echo "== ClientLedger" >&2
"$BENCH" import "$work/seed.jsonl" > "$work/ledger_import.txt"
"$BENCH" single "$SINGLE" > "$work/ledger_single.txt"

echo "== peer" >&2
if python3 -c "import eventsourcing" 2>/dev/null; then
    python3 "$PEER_DIR/eventsourcing_peer.py" "$CLIENTS" $((EVENTS / CLIENTS)) > "$work/peer.txt"
else
    echo "(peer skipped: pip install eventsourcing==9.5.6)" >&2
    : > "$work/peer.txt"
fi

ceil_b=$(value append_eps "$work/ceiling_batched.txt")
ceil_s=$(value append_eps "$work/ceiling_single.txt")
ceil_scan=$(value scan_eps "$work/ceiling_batched.txt")
ours_b=$(value import_eps "$work/ledger_import.txt")
ours_s=$(value append_single_eps "$work/ledger_single.txt")
peer_b=$(value append_batched_eps "$work/peer.txt")
peer_s=$(value append_single_eps "$work/peer.txt")
peer_r=$(value replay_eps "$work/peer.txt")

ratio() { if [ -n "$1" ] && [ -n "$2" ]; then awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; else echo "-"; fi; }

echo
echo "machine: $(nproc) cores, $(uname -sr); events=$EVENTS clients=$CLIENTS single=$SINGLE"
printf "%-46s %12s %12s %12s %10s %10s\n" figure ledger ceiling peer "÷ceiling" "÷peer"
printf "%-46s %12s %12s %12s %10s %10s\n" "import, batched, policies + hash chain (ev/s)" "$ours_b" "$ceil_b" "${peer_b:--}" "$(ratio "$ours_b" "$ceil_b")" "$(ratio "$ours_b" "$peer_b")"
printf "%-46s %12s %12s %12s %10s %10s\n" "single durable appends, FULL (ev/s)" "$ours_s" "$ceil_s" "${peer_s:--}" "$(ratio "$ours_s" "$ceil_s")" "$(ratio "$ours_s" "$peer_s")"
echo
echo "ledger import detail:"; sed 's/^/  /' "$work/ledger_import.txt"
echo "ceiling scan_eps $ceil_scan; peer replay_eps ${peer_r:--}"
