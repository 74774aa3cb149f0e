#!/usr/bin/env python3
"""The peer: Python `eventsourcing` (9.5.x, SQLite persistence) on the benchmark's workload,
so that every figure of tools/bench.sh has a peer measured in the same run on the same
machine (pip install eventsourcing==9.5.6).

The workload is the ledger's: CLIENTS clients, each registered, then TRADES trades spread
over them, every trade stored with the points it earned (two events a trade, as the ledger
stores the fact and its PointsAwarded). Events are saved in batches of BATCH per client
aggregate (one transaction each), like the ledger's batched import.

    tools/peer_eventsourcing.py [CLIENTS] [TRADES] [BATCH]        default 1000 999000 2000

Prints one `name value` line per figure: append_batched_eps (stored events/s),
append_single_eps, replay_eps (events/s folded into points per client), stored_events.
"""
import os
import sys
import tempfile
import time

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event


class Client(Aggregate):
    @event("Registered")
    def __init__(self, name: str):
        self.name = name
        self.points = 0

    @event("TradeExecuted")
    def trade(self, order_id: str, product_id: str, notional: str):
        pass

    @event("PointsAwarded")
    def award(self, points: int, reason: str):
        self.points += points


class Ledger(Application):
    pass


def make_app(path):
    os.environ["PERSISTENCE_MODULE"] = "eventsourcing.sqlite"
    os.environ["SQLITE_DBNAME"] = path
    os.environ["SQLITE_LOCK_TIMEOUT"] = "10"
    return Ledger()


def main():
    clients = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    trades = int(sys.argv[2]) if len(sys.argv) > 2 else 999000
    batch = int(sys.argv[3]) if len(sys.argv) > 3 else 2000
    folder = tempfile.mkdtemp()
    app = make_app(os.path.join(folder, "batched.db"))
    aggregates = [Client(name=f"C{c:07d}") for c in range(clients)]
    pending = [1] * clients  # the registration
    stored = 0
    state = 88172645463325252
    start = time.perf_counter()
    for t in range(trades):
        state ^= (state << 13) & 0xFFFFFFFFFFFFFFFF
        state ^= state >> 7
        state ^= (state << 17) & 0xFFFFFFFFFFFFFFFF
        c = state % clients
        notional = 1000 + (state >> 20) % 500000
        aggregate = aggregates[c]
        aggregate.trade(order_id=f"O-{t}", product_id="EQ-600519", notional=f"{notional}.{t % 100:02d}")
        aggregate.award(points=min(notional // 100, 5000), reason="trade")
        pending[c] += 2
        if pending[c] >= batch:
            app.save(aggregate)
            stored += pending[c]
            pending[c] = 0
    for c, aggregate in enumerate(aggregates):
        if pending[c]:
            app.save(aggregate)
            stored += pending[c]
    elapsed = time.perf_counter() - start
    print(f"append_batched_eps {stored / elapsed:.0f}")
    print(f"stored_events {stored}")

    # Replay: every event in log order, folded into points per client.
    start = time.perf_counter()
    points = {}
    position = 1
    count = 0
    while True:
        page = app.recorder.select_notifications(start=position, limit=1000)
        if not page:
            break
        for notification in page:
            domain_event = app.mapper.to_domain_event(notification)
            count += 1
            if type(domain_event).__name__ == "PointsAwarded":
                points[domain_event.originator_id] = points.get(domain_event.originator_id, 0) + domain_event.points
        position = page[-1].id + 1
    elapsed = time.perf_counter() - start
    assert count == stored, (count, stored)
    print(f"replay_eps {count / elapsed:.0f}")

    # Single appends: one event per transaction.
    solo_app = make_app(os.path.join(folder, "single.db"))
    single = min(stored, 3000)
    solo = Client(name="solo")
    solo_app.save(solo)
    start = time.perf_counter()
    for _ in range(single - 1):
        solo.award(points=1, reason="trade")
        solo_app.save(solo)
    elapsed = time.perf_counter() - start
    print(f"append_single_eps {(single - 1) / elapsed:.0f}")


if __name__ == "__main__":
    main()
