import LedgerCore
import LedgerStorage
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The event log in one SQLite file: the embedded backend of the storage contract.
///
/// Open it with `create(at:)` (the `init` command) or `init(path:readOnly:)`. Writes run in
/// `BEGIN IMMEDIATE` transactions on a WAL database with `synchronous=FULL`, so writers are
/// serialized by SQLite's write lock and positions follow commit order.
public final class SQLiteEventStore: EventStore {
    /// The connection, shared with the projection tables of the same file.
    public let connection: Connection
    let clock: any LedgerClock
    public var location: String { connection.path }
    public var path: String { connection.path }
    public var isReadOnly: Bool { connection.mode == .readOnly }

    /// Creates the database when it does not exist and applies every pending migration.
    /// Returns the store and whether the file was new. A file this call created is removed
    /// again when it cannot be made a ledger, so a failed `init` leaves nothing behind.
    public static func create(at path: String, clock: any LedgerClock = SystemClock()) throws(StorageError) -> (store: SQLiteEventStore, created: Bool) {
        let existed = access(path, F_OK) == 0
        do {
            let store = try SQLiteEventStore(path: path, mode: .create, clock: clock)
            return (store, !existed)
        } catch {
            if !existed {
                for suffix in ["", "-wal", "-shm", "-journal"] { unlink(path + suffix) }
            }
            throw error
        }
    }

    /// Opens an existing ledger. Read-write opens apply pending migrations (upgrades) and
    /// refuse a ledger that is newer than the program or whose append-only guards are gone.
    public convenience init(path: String, readOnly: Bool, clock: any LedgerClock = SystemClock()) throws(StorageError) {
        try Self.checkPath(path)
        guard access(path, F_OK) == 0 else { throw .databaseMissing(location: path) }
        try self.init(path: path, mode: readOnly ? .readOnly : .readWrite, clock: clock)
    }

    /// Paths SQLite would take for something else than a file: an in-memory or temporary
    /// database would silently lose every write.
    static func checkPath(_ path: String) throws(StorageError) {
        if path.isEmpty { throw .notALedger(location: "''", reason: "an empty path names no file (pass --db PATH)") }
        if path == ":memory:" || path.hasPrefix("file:") {
            throw .notALedger(location: path, reason: "a ledger is a file on disk; in-memory and URI databases are not accepted")
        }
    }

    private init(path: String, mode: OpenMode, clock: any LedgerClock) throws(StorageError) {
        try Self.checkPath(path)
        self.clock = clock
        var info = stat()
        if stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR {
            throw .notALedger(location: path, reason: "it is a directory")
        }
        do {
            // WAL is switched on only once the file is known to be a ledger (or a new one):
            // a foreign database is refused untouched.
            connection = try Connection(path: path, mode: mode, enableWAL: false)
        } catch {
            if error.isNotADatabase { throw .notALedger(location: path, reason: error.message) }
            if error.primaryCode == 14 {  // SQLITE_CANTOPEN
                if mode == .create { throw .backend("cannot create \(path): \(error.message)") }
                guard access(path, F_OK) == 0 else { throw .databaseMissing(location: path) }
                let reason = access(path, R_OK) != 0 ? "permission denied (this user may not read the file)" : error.message
                throw .cannotOpen(location: path, reason: reason)
            }
            throw StorageError(error, location: path)
        }
        do {
            try openSchema(mode: mode)
        } catch let error as StorageError {
            throw error
        } catch let error as SQLiteError {
            if error.isNotADatabase { throw .notALedger(location: path, reason: error.message) }
            throw StorageError(error, location: path)
        } catch {
            throw .notALedger(location: path, reason: String(describing: error))
        }
    }

    private func openSchema(mode: OpenMode) throws {
        let migrator = Migrator(LedgerSchema.migrations)
        let applied = try migrator.applied(in: connection)
        let known = Set((LedgerSchema.migrations + ProjectionSchema.migrations).map(\.name))
        let unknown = applied.filter { !known.contains($0) }
        if mode == .readOnly {
            guard !applied.isEmpty else {
                throw StorageError.notALedger(location: path, reason: "no ClientLedger schema (run `clientledger init`)")
            }
            guard try migrator.pending(in: connection).isEmpty else {
                throw StorageError.notALedger(location: path, reason: "schema is older than this program; open it once for writing to upgrade")
            }
            return
        }
        if applied.isEmpty {
            if try connection.scalarInt("SELECT count(*) FROM sqlite_master") > 0 {
                throw StorageError.notALedger(location: path, reason: "an SQLite database without the ClientLedger schema")
            }
            // Only `init` makes a ledger of an empty file; other commands refuse it.
            guard mode == .create else {
                throw StorageError.notALedger(location: path, reason: "an empty file, not a ledger (run `clientledger init`)")
            }
        }
        guard unknown.isEmpty else { throw StorageError.schemaNewer(location: path, unknown: unknown) }
        if !applied.isEmpty {
            let missing = try missingAppendOnlyGuards()
            guard missing.isEmpty else { throw StorageError.appendOnlyGuardsMissing(location: path, missing: missing) }
        }
        try connection.enableWAL()
        try migrator.migrate(connection, at: clock.now())
    }

    /// Runs `body`, turning SQLite's failures into the contract's error kinds.
    func mapped<R>(_ body: () throws -> R) throws -> R {
        do {
            return try body()
        } catch let error as SQLiteError {
            throw StorageError(error, location: path)
        }
    }

    // MARK: - Writing

    public func write<R>(_ body: (any AppendTransaction) throws -> R) throws -> R {
        // A transaction caches the chain's head and stream versions: a second one inside the
        // first would leave the outer one stale, so nesting is refused.
        guard !connection.isInTransaction else { throw StorageError.nestedWrite }
        guard !isReadOnly else { throw StorageError.readOnly(location: path) }
        return try mapped {
            try connection.write {
                let transaction = try SQLiteAppendTransaction(connection: connection, recordedAt: clock.now())
                return try body(transaction)
            }
        }
    }

    public func read<R>(_ body: () throws -> R) throws -> R {
        try mapped { try connection.read(body) }
    }

    public func openReader() throws -> any EventStore {
        try SQLiteEventStore(path: path, readOnly: true, clock: clock)
    }

    // MARK: - Reading

    public func head() throws -> ChainHead {
        try mapped {
            let statement = try connection.cached("SELECT position, hash FROM events ORDER BY position DESC LIMIT 1")
            defer { statement.reset() }
            guard try statement.step() else { return .empty }
            return ChainHead(position: statement.int64(at: 0), hash: statement.blob(at: 1))
        }
    }

    public func version(of stream: String) throws -> Int64 {
        try mapped { try connection.scalarInt("SELECT coalesce(max(version), 0) FROM events WHERE stream = ?", [stream]) }
    }

    public func hash(at position: Int64) throws -> [UInt8]? {
        try mapped {
            let statement = try connection.cached("SELECT hash FROM events WHERE position = ?")
            defer { statement.reset() }
            statement.bind(position, at: 1)
            return try statement.step() ? statement.blob(at: 0) : nil
        }
    }

    public func storedEvent(id: String) throws -> StoredIdentity? {
        try mapped { try SQLiteAppendTransaction.storedEvent(id: id, on: connection) }
    }

    public func streamIds(category: String) throws -> [String] {
        try mapped {
            let prefix = category + "/"
            let statement = try connection.prepare(
                "SELECT substr(stream, ?3) FROM events WHERE stream >= ?1 AND stream < ?2 AND version = 1 ORDER BY stream")
            statement.bind(prefix, at: 1)
            statement.bind(category + "0", at: 2)
            statement.bind(Int64(prefix.utf8.count + 1), at: 3)
            var ids: [String] = []
            while try statement.step() { ids.append(statement.string(at: 0)) }
            return ids
        }
    }

    public func streamCount(category: String) throws -> Int {
        try mapped {
            Int(try connection.scalarInt(
                "SELECT count(*) FROM events WHERE stream >= ? AND stream < ? AND version = 1", [category + "/", category + "0"]))
        }
    }

    public func missingAppendOnlyGuards() throws -> [String] {
        try mapped {
            let triggers = try connection.prepare(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'events'")
            var found: [String: String] = [:]
            while try triggers.step() { found[triggers.string(at: 0)] = triggers.string(at: 1) }
            return LedgerSchema.requiredTriggers.filter { name in
                !(found[name]?.contains("RAISE(ABORT") ?? false)
            }
        }
    }

    public func scan(_ query: EventQuery, _ body: (RecordedEvent) throws -> Bool) throws {
        try mapped {
            let (sql, bindings) = query.sql()
            let statement = try connection.prepare(sql)
            for (offset, binding) in bindings.enumerated() {
                let index = Int32(offset + 1)
                switch binding {
                case .text(let text): statement.bind(text, at: index)
                case .integer(let value): statement.bind(value, at: index)
                }
            }
            while try statement.step() {
                let event = RecordedEvent(
                    position: statement.int64(at: 0), stream: statement.string(at: 1), version: statement.int64(at: 2),
                    eventId: statement.string(at: 3), type: statement.string(at: 4), schemaVersion: statement.int(at: 5),
                    occurredAt: statement.string(at: 6), recordedAt: statement.string(at: 7), data: statement.string(at: 8),
                    metadata: statement.string(at: 9), hash: statement.blob(at: 10))
                guard try body(event) else { break }
            }
        }
    }

    public func replay(
        category: String, after position: Int64, through head: Int64, _ body: (StoredEventBytes) throws -> Void
    ) throws {
        try mapped {
            let statement = try connection.prepare(
                """
                SELECT position, stream, type, schema_version, occurred_at, data FROM events
                WHERE position > ?1 AND position <= ?2 AND stream >= ?3 AND stream < ?4
                ORDER BY position
                """)
            statement.bind(position, at: 1)
            statement.bind(head, at: 2)
            statement.bind(category + "/", at: 3)
            statement.bind(category + "0", at: 4)
            while try statement.step() {
                try statement.withBytes(at: 1) { stream in
                    try statement.withBytes(at: 2) { type in
                        try statement.withBytes(at: 4) { occurred in
                            try statement.withBytes(at: 5) { data in
                                try body(StoredEventBytes(
                                    position: statement.int64(at: 0), stream: stream, type: type,
                                    schemaVersion: statement.int(at: 3), occurredAt: occurred, data: data))
                            }
                        }
                    }
                }
            }
        }
    }
}

@available(*, unavailable)
extension SQLiteEventStore: Sendable {}

// MARK: - Appending inside a transaction

/// Appends inside one open write transaction: assigns positions and versions, extends the
/// hash chain. Only valid inside `SQLiteEventStore.write`.
final class SQLiteAppendTransaction: AppendTransaction {
    public let connection: Connection
    private let insert: Statement
    private let versionQuery: Statement
    private(set) var lastPosition: Int64
    private(set) var lastHash: [UInt8]
    let recordedAt: String
    private var versions: [String: Int64] = [:]
    /// When the log was empty as the transaction began, the only stored ids are the ones
    /// written in it: they are kept here and no lookup touches the index.
    private var idsWrittenToEmptyLog: Set<UInt64>?

    init(connection: Connection, recordedAt: Timestamp) throws {
        self.connection = connection
        insert = try connection.cached(
            """
            INSERT INTO events(position, stream, version, event_id, type, schema_version,
                               occurred_at, recorded_at, data, metadata, hash)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        versionQuery = try connection.cached("SELECT coalesce(max(version), 0) FROM events WHERE stream = ?")
        let head = try connection.cached("SELECT position, hash FROM events ORDER BY position DESC LIMIT 1")
        defer { head.reset() }
        if try head.step() {
            lastPosition = head.int64(at: 0)
            lastHash = head.blob(at: 1)
        } else {
            lastPosition = 0
            lastHash = HashChain.genesis
        }
        self.recordedAt = recordedAt.iso8601
        if lastPosition == 0 { idsWrittenToEmptyLog = [] }
    }

    func version(of stream: String) throws -> Int64 {
        if let known = versions[stream] { return known }
        versionQuery.bind(stream, at: 1)
        defer { versionQuery.reset() }
        let version = try versionQuery.step() ? versionQuery.int64(at: 0) : 0
        versions[stream] = version
        return version
    }

    /// A 64-bit key of an event id: its first 16 hex digits (ids are UUIDs, random or
    /// hash-derived). Equal ids give equal keys; a shared key only costs one real lookup.
    static func shortKey(_ id: String) -> UInt64 {
        var key: UInt64 = 0
        var digits = 0
        for byte in id.utf8 where digits < 16 {
            let value: UInt8
            switch byte {
            case 48...57: value = byte - 48
            case 97...102: value = byte - 87
            case 65...70: value = byte - 55
            default: continue
            }
            key = key << 4 | UInt64(value)
            digits += 1
        }
        return key
    }

    func storedEvent(id: String) throws -> StoredIdentity? {
        if let written = idsWrittenToEmptyLog, !written.contains(Self.shortKey(id)) { return nil }
        return try Self.storedEvent(id: id, on: connection)
    }

    static func storedEvent(id: String, on connection: Connection) throws -> StoredIdentity? {
        let query = try connection.cached("SELECT position, version, stream, type, data FROM events WHERE event_id = ?")
        query.bind(id, at: 1)
        defer { query.reset() }
        guard try query.step() else { return nil }
        return StoredIdentity(
            position: query.int64(at: 0), version: query.int64(at: 1), stream: query.string(at: 2),
            type: query.string(at: 3), data: query.string(at: 4))
    }

    @discardableResult
    func append(_ event: NewEvent) throws -> AppendOutcome {
        let version = try self.version(of: event.stream) + 1
        let position = lastPosition + 1
        let occurredAt = event.occurredAt.iso8601
        let hash = HashChain.hash(
            previous: lastHash,
            HashChain.Fields(
                position: position, stream: event.stream, version: version, eventId: event.eventId,
                type: event.type, schemaVersion: Int64(event.schemaVersion), occurredAt: occurredAt,
                recordedAt: recordedAt, data: event.data, metadata: event.metadata))
        insert.bind(position, at: 1)
        insert.bind(event.stream, at: 2)
        insert.bind(version, at: 3)
        insert.bind(event.eventId, at: 4)
        insert.bind(event.type, at: 5)
        insert.bind(event.schemaVersion, at: 6)
        insert.bind(occurredAt, at: 7)
        insert.bind(recordedAt, at: 8)
        insert.bind(event.data, at: 9)
        insert.bind(event.metadata, at: 10)
        insert.bind(hash, at: 11)
        do {
            try insert.run()
        } catch {
            // Which constraint failed decides the kind: another writer took the version
            // (a conflict), or the id is stored (a reuse). Asked of the data, not the message.
            if error.isUniqueViolation {
                let stored = try Self.storedEvent(id: event.eventId, on: connection)
                if let stored { throw StorageError.eventIdReused(eventId: event.eventId, position: stored.position) }
                versions[event.stream] = nil
                throw StorageError.conflict(stream: event.stream, expected: .exact(version - 1), actual: try self.version(of: event.stream))
            }
            throw error
        }
        lastPosition = position
        lastHash = hash
        versions[event.stream] = version
        idsWrittenToEmptyLog?.insert(Self.shortKey(event.eventId))
        return AppendOutcome(position: position, version: version, written: true)
    }
}

@available(*, unavailable)
extension SQLiteAppendTransaction: Sendable {}

// MARK: - Errors

extension StorageError {
    /// Classifies a SQLite failure by its result code.
    public init(_ error: SQLiteError, location: String) {
        switch error.primaryCode {
        case 5, 6: self = .busy(error.message)  // SQLITE_BUSY, SQLITE_LOCKED
        case 8: self = .readOnly(location: location)  // SQLITE_READONLY
        case 13: self = .full(location: location)  // SQLITE_FULL
        case 11, 26: self = .corrupt("\(location): \(error.message)")  // SQLITE_CORRUPT, SQLITE_NOTADB
        case 10: self = .backend("\(location): the disk could not be read or written (\(error.message))")  // SQLITE_IOERR
        // The message only, never the statement: a person cannot act on SQL text.
        default: self = .backend("\(location): the database reported \"\(error.message)\" (code \(error.extendedCode))")
        }
    }
}

// MARK: - Queries

extension EventQuery {
    enum Binding { case text(String), integer(Int64) }

    func sql() -> (String, [Binding]) {
        var clauses: [String] = []
        var bindings: [Binding] = []
        if let stream {
            clauses.append("stream = ?")
            bindings.append(.text(stream))
        }
        if !types.isEmpty {
            clauses.append("type IN (" + types.map { _ in "?" }.joined(separator: ", ") + ")")
            bindings.append(contentsOf: types.map { .text($0) })
        }
        if let fromPosition {
            clauses.append("position >= ?")
            bindings.append(.integer(fromPosition))
        }
        if let toPosition {
            clauses.append("position <= ?")
            bindings.append(.integer(toPosition))
        }
        for (column, bound, op) in [
            ("occurred_at", occurredFrom, ">="), ("occurred_at", occurredTo, "<="),
            ("recorded_at", recordedFrom, ">="), ("recorded_at", recordedTo, "<="),
        ] {
            if let bound {
                clauses.append("\(column) \(op) ?")
                bindings.append(.text(bound.iso8601))
            }
        }
        var sql = "SELECT position, stream, version, event_id, type, schema_version, occurred_at, recorded_at, data, metadata, hash FROM events"
        if !clauses.isEmpty { sql += " WHERE " + clauses.joined(separator: " AND ") }
        sql += " ORDER BY position"
        if let limit { sql += " LIMIT \(max(0, limit))" }
        return (sql, bindings)
    }
}
