/// The ledger's schema, as ordered migrations. `schemas/events.sql` shows the same SQL for
/// integrators; a test keeps the two in step.
public enum LedgerSchema {
    public static let eventLog = Migration(
        name: "0001_event_log",
        sql: """
            CREATE TABLE events(
                position       INTEGER PRIMARY KEY,
                stream         TEXT    NOT NULL,
                version        INTEGER NOT NULL CHECK (version >= 1),
                event_id       TEXT    NOT NULL UNIQUE,
                type           TEXT    NOT NULL,
                schema_version INTEGER NOT NULL CHECK (schema_version >= 1),
                occurred_at    TEXT    NOT NULL,
                recorded_at    TEXT    NOT NULL,
                data           TEXT    NOT NULL,
                metadata       TEXT    NOT NULL,
                hash           BLOB    NOT NULL CHECK (length(hash) = 32),
                UNIQUE (stream, version)
            );
            CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
            BEGIN
                SELECT RAISE(ABORT, 'events are append-only: UPDATE is not allowed');
            END;
            CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
            BEGIN
                SELECT RAISE(ABORT, 'events are append-only: DELETE is not allowed');
            END;
            CREATE TRIGGER events_gap_free BEFORE INSERT ON events
            WHEN NEW.position IS NOT (SELECT coalesce(max(position), 0) + 1 FROM events)
            BEGIN
                SELECT RAISE(ABORT, 'events are gap-free: position must follow the last one');
            END;
            CREATE TABLE ledger_info(
                key   TEXT PRIMARY KEY,
                value TEXT NOT NULL
            );
            """)

    /// Every migration, in order.
    public static let migrations: [Migration] = [eventLog, CompactLog.migration, PersonalKeys.migration]

    /// The triggers that make the log append-only; `audit verify` checks they are in place.
    public static let requiredTriggers = CompactLog.requiredTriggers

    /// The triggers of the original form (`events` as a table), before migration 0002.
    static let originalTriggers = ["events_append_only_update", "events_append_only_delete", "events_gap_free"]
}
