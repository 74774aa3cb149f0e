#!/usr/bin/env python3
"""The same-rows ceiling: SQLite alone copying a ledger's own stored rows (`log` and its
catalogues) into an empty database of the same schema — tables, indexes and append-only
triggers — with INSERT … SELECT, in WAL mode with synchronous=FULL and the ledger's page
cache. No parsing, no policies, no hashing: what the stored form costs SQLite itself.

    tools/same_rows_ceiling.py LEDGER.db [CACHE_KIB]

Prints: same_rows_per_s, same_rows, same_rows_s.
"""
import os
import sqlite3
import sys
import tempfile
import time


def main():
    source = sys.argv[1]
    cache_kib = int(sys.argv[2]) if len(sys.argv) > 2 else 65536
    folder = tempfile.mkdtemp()
    target = os.path.join(folder, "copy.db")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    schema = [row[0] for row in src.execute(
        "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND type IN ('table', 'index', 'trigger')"
        " AND (name IN ('log', 'streams', 'event_types', 'rules_versions') OR tbl_name IN ('log', 'streams', 'event_types', 'rules_versions'))"
        " ORDER BY CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1 ELSE 2 END")]
    src.close()
    db = sqlite3.connect(f"file:{target}", uri=True, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute(f"PRAGMA cache_size=-{cache_kib}")
    for statement in schema:
        db.execute(statement)
    db.execute("ATTACH DATABASE ? AS src", (f"file:{source}?mode=ro",))
    rows = db.execute("SELECT count(*) FROM src.log").fetchone()[0]
    start = time.perf_counter()
    db.execute("BEGIN IMMEDIATE")
    for table in ("streams", "event_types", "rules_versions", "log"):
        db.execute(f"INSERT INTO main.{table} SELECT * FROM src.{table} ORDER BY rowid")
    db.execute("COMMIT")
    elapsed = time.perf_counter() - start
    db.close()
    for suffix in ("", "-wal", "-shm"):
        try:
            os.remove(target + suffix)
        except FileNotFoundError:
            pass
    print(f"same_rows_per_s {rows / elapsed:.0f}")
    print(f"same_rows {rows}")
    print(f"same_rows_s {elapsed:.3f}")


if __name__ == "__main__":
    main()
