import LedgerCore
import LedgerStorage

/// Migration 0003 and the SQL of personal-data keys (`personal_keys`): one 32-byte AES key
/// per stream, outside the chained log, the one table of the ledger whose rows are deleted
/// (`forget`). Deletion runs with `secure_delete` on, so the freed bytes are overwritten;
/// `purge` then writes the WAL into the database and truncates it, so no page image holding
/// the key is left in either file.
enum PersonalKeys {
    static let migration = Migration(
        name: "0003_personal_keys",
        sql: """
            CREATE TABLE personal_keys(
                stream     TEXT    PRIMARY KEY,
                key        BLOB    NOT NULL CHECK (length(key) = 32),
                created_ms INTEGER NOT NULL
            );
            """)

    static func key(stream: String, on connection: Connection) throws -> [UInt8]? {
        let statement = try connection.cached("SELECT key FROM personal_keys WHERE stream = ?")
        defer { statement.reset() }
        statement.bind(stream, at: 1)
        guard try statement.step() else { return nil }
        return statement.blob(at: 0)
    }

    static func insert(stream: String, key: [UInt8], at moment: Timestamp, on connection: Connection) throws {
        let statement = try connection.cached("INSERT INTO personal_keys(stream, key, created_ms) VALUES (?, ?, ?)")
        statement.bind(stream, at: 1)
        statement.bind(key, at: 2)
        statement.bind(moment.millisecondsSinceEpoch, at: 3)
        try statement.run()
    }

    /// Deletes the key with `secure_delete` on (the deleted cell and any page it frees are
    /// zeroed), then back to the connection's usual `FAST`.
    static func destroy(stream: String, on connection: Connection) throws -> Bool {
        guard try key(stream: stream, on: connection) != nil else { return false }
        try connection.execute("PRAGMA secure_delete = ON")
        defer { try? connection.execute("PRAGMA secure_delete = FAST") }
        let statement = try connection.cached("DELETE FROM personal_keys WHERE stream = ?")
        statement.bind(stream, at: 1)
        try statement.run()
        return true
    }

    /// `wal_checkpoint(TRUNCATE)`: every frame copied into the database file and the WAL cut
    /// to zero bytes. False when a reader kept part of the WAL in use.
    static func purge(on connection: Connection) throws -> Bool {
        let statement = try connection.prepare("PRAGMA wal_checkpoint(TRUNCATE)")
        guard try statement.step() else { return false }
        return statement.int64(at: 0) == 0
    }
}

extension SQLiteEventStore {
    public func personalDataKey(stream: String) throws -> [UInt8]? {
        try mapped { try PersonalKeys.key(stream: stream, on: connection) }
    }

    public func purgeDestroyedKeys() throws -> Bool {
        guard !isReadOnly else { throw StorageError.readOnly(location: path) }
        return try mapped { try PersonalKeys.purge(on: connection) }
    }
}

extension SQLiteAppendTransaction {
    func personalDataKey(stream: String) throws -> [UInt8]? {
        try PersonalKeys.key(stream: stream, on: connection)
    }

    func personalDataKey(stream: String, creating newKey: () -> [UInt8]) throws -> [UInt8] {
        if let key = try PersonalKeys.key(stream: stream, on: connection) { return key }
        let key = newKey()
        try PersonalKeys.insert(stream: stream, key: key, at: recordedMoment, on: connection)
        return key
    }

    func destroyPersonalDataKey(stream: String) throws -> Bool {
        try PersonalKeys.destroy(stream: stream, on: connection)
    }
}
