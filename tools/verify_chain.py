#!/usr/bin/env python3
"""Recompute and check the ClientLedger hash chain, independently of the ClientLedger program.

Usage: python3 tools/verify_chain.py DB [--quiet]

Standard library only. The database is opened read-only; nothing is written. The contract
checked is the one in schemas/hash-chain.md:

    hash(0) = 32 zero bytes
    hash(n) = SHA-256( hash(n-1) || canonical(n) )
    canonical(n) = for each of position, stream, version, event_id, type, schema_version,
                   occurred_at, recorded_at, data, metadata:
                   4-byte big-endian length of the field's bytes, then the bytes
                   (integers as decimal ASCII, text columns as their exact stored UTF-8 bytes)

It also checks that positions run 1, 2, 3... without gaps, that each stream's versions run
1, 2, 3... in position order, and that the append-only triggers are in place.

Output (stdout):
    OK <count> events, head <hex of the last hash>       chain intact
    BROKEN at position <n>: <reason>                      first bad position of the chain
    BROKEN: missing trigger <name>                        one line per missing trigger
The chain line always comes first; trigger lines follow it.

Exit status: 0 intact; 1 broken (chain or triggers); 65 not a readable ClientLedger database;
66 the file does not exist.
"""

import argparse
import hashlib
import sqlite3
import struct
import sys

# The log is stored in `log` and its catalogues (`events` is a view over them, with the
# original columns and text forms): every one of those tables must refuse UPDATE and DELETE.
REQUIRED_TRIGGERS = tuple(
    f"{table}_append_only_{op}"
    for table in ("log", "streams", "event_types", "rules_versions")
    for op in ("update", "delete")
) + ("log_gap_free",)

GENESIS = bytes(32)

TEXT_COLUMNS = ("stream", "event_id", "type", "occurred_at", "recorded_at", "data", "metadata")

EX_DATAERR = 65
EX_NOINPUT = 66


def uri_for(path):
    """A read-only SQLite URI for a file path ('%', '?' and '#' must be escaped in URIs)."""
    escaped = path.replace("%", "%25").replace("?", "%3F").replace("#", "%23")
    return f"file:{escaped}?mode=ro"


def verify_chain(cursor, progress=None):
    """Walks the events in position order.

    Returns (events_checked, bad_position_or_None, reason_or_None, head_hash_bytes).
    The head hash is the hash of the last event that checked out (genesis when none did).
    """
    sha256 = hashlib.sha256
    length = struct.Struct(">I").pack
    versions = {}  # stream bytes -> last version seen
    previous = GENESIS
    expected_position = 1
    checked = 0

    cursor.execute(
        "SELECT position, stream, version, event_id, type, schema_version,"
        " occurred_at, recorded_at, data, metadata, hash"
        " FROM events ORDER BY position"
    )
    for row in cursor:
        (position, stream, version, event_id, type_, schema_version,
         occurred_at, recorded_at, data, metadata, stored) = row

        if position != expected_position:
            return (checked, expected_position,
                    f"position {expected_position} is missing (next stored position is {position})",
                    previous)

        # Type checks: the contract hashes integers as decimal ASCII and text as stored bytes.
        # Anything else means the row was not written by ClientLedger.
        if type(version) is not int or type(schema_version) is not int:
            bad = "version" if type(version) is not int else "schema_version"
            return (checked, position, f"column {bad} does not hold an integer", previous)
        texts = (stream, event_id, type_, occurred_at, recorded_at, data, metadata)
        for name, value in zip(TEXT_COLUMNS, texts):
            if type(value) is not bytes:
                return (checked, position, f"column {name} does not hold text", previous)
        if type(stored) is not bytes:
            return (checked, position, "column hash does not hold a 32-byte blob", previous)

        p = str(position).encode("ascii")
        v = str(version).encode("ascii")
        s = str(schema_version).encode("ascii")
        computed = sha256(b"".join((
            previous,
            length(len(p)), p,
            length(len(stream)), stream,
            length(len(v)), v,
            length(len(event_id)), event_id,
            length(len(type_)), type_,
            length(len(s)), s,
            length(len(occurred_at)), occurred_at,
            length(len(recorded_at)), recorded_at,
            length(len(data)), data,
            length(len(metadata)), metadata,
        ))).digest()

        if computed != stored:
            return (checked, position,
                    f"hash mismatch: stored {stored.hex()}, recomputed {computed.hex()}",
                    previous)

        expected_version = versions.get(stream, 0) + 1
        if version != expected_version:
            return (checked, position,
                    f"stream {stream.decode('utf-8', 'replace')} jumps to version {version},"
                    f" expected {expected_version}",
                    previous)
        versions[stream] = version

        previous = computed
        expected_position += 1
        checked += 1
        if progress is not None and checked % 100_000 == 0:
            progress(checked)

    return checked, None, None, previous


def trigger_problems(cursor):
    """Names of required triggers that are missing or altered, with a short reason each."""
    cursor.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
    )
    found = {}
    for name, sql in cursor:
        found[bytes(name).decode("utf-8", "replace")] = (
            bytes(sql).decode("utf-8", "replace") if sql is not None else "")
    problems = []
    for name in REQUIRED_TRIGGERS:
        if name not in found:
            problems.append(f"missing trigger {name}")
        elif "RAISE(ABORT" not in found[name]:
            # Same rule as `clientledger audit verify`: a trigger that no longer aborts is as
            # good as missing.
            problems.append(f"missing trigger {name} (present but altered: it does not RAISE(ABORT))")
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Recompute and check the ClientLedger hash chain (read-only).")
    parser.add_argument("db", metavar="DB", help="path to the ledger's SQLite file")
    parser.add_argument("--quiet", action="store_true",
                        help="no progress on stderr (the result line is still printed)")
    args = parser.parse_args(argv)

    try:
        with open(args.db, "rb"):
            pass
    except FileNotFoundError:
        print(f"verify_chain: {args.db}: no such file", file=sys.stderr)
        return EX_NOINPUT
    except OSError as error:
        print(f"verify_chain: {args.db}: cannot open: {error.strerror}", file=sys.stderr)
        return EX_NOINPUT

    progress = None
    if not args.quiet:
        def progress(n):
            print(f"... {n} events checked", file=sys.stderr, flush=True)

    try:
        conn = sqlite3.connect(uri_for(args.db), uri=True, isolation_level=None)
    except sqlite3.Error as error:
        print(f"verify_chain: {args.db}: cannot open: {error}", file=sys.stderr)
        return EX_NOINPUT
    conn.text_factory = bytes
    try:
        cursor = conn.cursor()
        # One read transaction: the events and the triggers are read from the same snapshot,
        # even if the ledger is being appended to meanwhile.
        cursor.execute("BEGIN")
        checked, bad, reason, head = verify_chain(cursor, progress)
        problems = trigger_problems(cursor)
        cursor.execute("COMMIT")
    except sqlite3.DatabaseError as error:
        print(f"verify_chain: {args.db}: not a readable ClientLedger database: {error}",
              file=sys.stderr)
        return EX_DATAERR
    finally:
        conn.close()

    if bad is None:
        print(f"OK {checked} events, head {head.hex()}")
    else:
        print(f"BROKEN at position {bad}: {reason}")
    for problem in problems:
        print(f"BROKEN: {problem}")
    return 0 if bad is None and not problems else 1


if __name__ == "__main__":
    sys.exit(main())
