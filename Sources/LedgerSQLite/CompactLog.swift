import LedgerCore
import LedgerStorage

/// Migration 0002: the lean stored form (`CompactForm`). The log moves to `log` with its
/// catalogues (`streams`, `event_types`, `rules_versions`), and `events` becomes a view with
/// the columns, names and text forms of the original table, so every existing query and
/// tool (`tools/verify_chain.py`, the docs' examples) reads it unchanged.
enum CompactLog {
    static let tables = """
        CREATE TABLE streams(
            id   INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE
        );
        CREATE TABLE event_types(
            id   INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE
        );
        CREATE TABLE rules_versions(
            id      INTEGER PRIMARY KEY,
            version TEXT NOT NULL UNIQUE
        );
        CREATE TABLE log(
            position       INTEGER PRIMARY KEY,
            stream_id      INTEGER NOT NULL,
            version        INTEGER NOT NULL CHECK (version >= 1),
            event_id       BLOB    NOT NULL,
            type_id        INTEGER NOT NULL,
            schema_version INTEGER NOT NULL CHECK (schema_version >= 1),
            occurred_ms    INTEGER NOT NULL,
            recorded_ms    INTEGER NOT NULL,
            data           TEXT    NOT NULL,
            metadata       TEXT,
            cause_position INTEGER,
            correlation    TEXT,
            rules_id       INTEGER,
            hash           BLOB    NOT NULL CHECK (length(hash) = 32)
        );
        CREATE UNIQUE INDEX log_stream_version ON log(stream_id, version);
        CREATE UNIQUE INDEX log_event_id ON log(event_id);
        """

    static let guards = ["log", "streams", "event_types", "rules_versions"].map { table in
        """
        CREATE TRIGGER \(table)_append_only_update BEFORE UPDATE ON \(table)
        BEGIN
            SELECT RAISE(ABORT, '\(table) is append-only: UPDATE is not allowed');
        END;
        CREATE TRIGGER \(table)_append_only_delete BEFORE DELETE ON \(table)
        BEGIN
            SELECT RAISE(ABORT, '\(table) is append-only: DELETE is not allowed');
        END;
        """
    }.joined(separator: "\n") + """

        CREATE TRIGGER log_gap_free BEFORE INSERT ON log
        WHEN NEW.position IS NOT (SELECT coalesce(max(position), 0) + 1 FROM log)
        BEGIN
            SELECT RAISE(ABORT, 'events are gap-free: position must follow the last one');
        END;
        """

    static let requiredTriggers = ["log", "streams", "event_types", "rules_versions"].flatMap {
        ["\($0)_append_only_update", "\($0)_append_only_delete"]
    } + ["log_gap_free"]

    /// `events`: the original table's columns and text forms, derived from `log`. Left joins:
    /// a row whose stream or type is not in its catalogue still shows (with a null name, and a
    /// hash that cannot verify), so no tampering can hide a row from an audit.
    static let view = """
        CREATE VIEW events AS
        SELECT l.position AS position, s.name AS stream, l.version AS version,
               \(CompactForm.idTextSQL("l.event_id")) AS event_id, t.name AS type,
               l.schema_version AS schema_version,
               \(CompactForm.timeTextSQL("l.occurred_ms")) AS occurred_at,
               \(CompactForm.timeTextSQL("l.recorded_ms")) AS recorded_at,
               l.data AS data, \(CompactForm.metadataTextSQL) AS metadata, l.hash AS hash
        FROM log l
        LEFT JOIN streams s ON s.id = l.stream_id
        LEFT JOIN event_types t ON t.id = l.type_id
        LEFT JOIN log c ON c.position = l.cause_position
        LEFT JOIN rules_versions r ON r.id = l.rules_id;
        """

    static let migration = Migration(name: "0002_compact_log") { connection in
        try connection.execute(tables)
        try copyLegacyEvents(connection)
        try connection.execute("DROP TABLE events")
        try connection.execute(guards)
        try connection.execute(view)
    }

    /// Copies every row of the original `events` table into `log`, checking that each row's
    /// text forms come back byte for byte (so every hash still verifies), and that the chain
    /// head is the same before and after.
    static func copyLegacyEvents(_ connection: Connection) throws {
        let read = try connection.prepare(
            """
            SELECT position, stream, version, event_id, type, schema_version, occurred_at, recorded_at, data, metadata, hash
            FROM events ORDER BY position
            """)
        let catalog = Catalog()
        let writer = try RowInserter(connection: connection, catalog: catalog)
        var lastHash: [UInt8]?
        while try read.step() {
            let position = read.int64(at: 0)
            let occurredText = read.string(at: 6)
            let recordedText = read.string(at: 7)
            guard let occurred = Timestamp(iso8601: occurredText), occurred.iso8601 == occurredText,
                let recorded = Timestamp(iso8601: recordedText), recorded.iso8601 == recordedText
            else {
                throw StorageError.corrupt("position \(position): a stored time is not in the fixed-width form; the log was not converted")
            }
            let row = RowInserter.Row(
                position: position, stream: read.string(at: 1), version: read.int64(at: 2), eventId: read.string(at: 3),
                type: read.string(at: 4), schemaVersion: read.int64(at: 5), occurredMs: occurred.millisecondsSinceEpoch,
                recordedMs: recorded.millisecondsSinceEpoch, data: read.string(at: 8), metadata: read.string(at: 9),
                hash: read.blob(at: 10))
            try writer.insert(row)
            lastHash = row.hash
        }
        try catalog.commit()
        // Every row must read back through the view exactly as it was stored.
        let differing = try connection.scalarInt(
            """
            SELECT count(*) FROM events e JOIN (\(view.replacingOccurrences(of: "CREATE VIEW events AS", with: "").replacingOccurrences(of: ";", with: ""))) v
            ON v.position = e.position
            WHERE v.stream IS NOT e.stream OR v.version IS NOT e.version OR v.event_id IS NOT e.event_id OR v.type IS NOT e.type
               OR v.schema_version IS NOT e.schema_version OR v.occurred_at IS NOT e.occurred_at OR v.recorded_at IS NOT e.recorded_at
               OR v.data IS NOT e.data OR v.metadata IS NOT e.metadata OR v.hash IS NOT e.hash
            """)
        let counts = try connection.scalarInt("SELECT (SELECT count(*) FROM events) - (SELECT count(*) FROM log)")
        guard differing == 0, counts == 0 else {
            throw StorageError.corrupt("\(differing) converted rows do not read back as stored; the log was not converted")
        }
        _ = lastHash
    }
}
