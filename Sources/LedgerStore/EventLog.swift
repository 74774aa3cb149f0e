#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The append-only, hash-chained event log in one SQLite file.
///
/// Open it with `create(at:)` (the `init` command) or `init(path:readOnly:)`; write through
/// `write(_:)`, which hands out an `AppendSession` inside one `BEGIN IMMEDIATE` transaction.
public final class EventLog {
    public let connection: Connection
    public var path: String { connection.path }

    /// Creates the database when it does not exist and applies every pending migration.
    /// Returns the log and whether the file was new.
    public static func create(at path: String) throws(StoreError) -> (log: EventLog, created: Bool) {
        let existed = access(path, F_OK) == 0
        let log = try EventLog(path: path, mode: .create)
        return (log, !existed)
    }

    /// Opens an existing ledger. Read-write opens apply pending migrations (upgrades).
    public convenience init(path: String, readOnly: Bool) throws(StoreError) {
        guard access(path, F_OK) == 0 else { throw .databaseMissing(path: path) }
        try self.init(path: path, mode: readOnly ? .readOnly : .readWrite)
    }

    private init(path: String, mode: OpenMode) throws(StoreError) {
        var info = stat()
        if stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR {
            throw .notALedger(path: path, reason: "it is a directory")
        }
        do {
            // WAL is switched on only once the file is known to be a ledger (or a new one):
            // a foreign database is refused untouched.
            connection = try Connection(path: path, mode: mode, enableWAL: false)
        } catch {
            if error.isNotADatabase { throw .notALedger(path: path, reason: error.message) }
            if error.primaryCode == 14 { throw .databaseMissing(path: path) }  // SQLITE_CANTOPEN
            throw .from(error)
        }
        do {
            let migrator = Migrator(LedgerSchema.migrations)
            if mode == .readOnly {
                let applied = try migrator.applied(in: connection)
                guard !applied.isEmpty else {
                    throw StoreError.notALedger(path: path, reason: "no ClientLedger schema (run `clientledger init`)")
                }
                guard try migrator.pending(in: connection).isEmpty else {
                    throw StoreError.notALedger(path: path, reason: "schema is older than this program; open it once for writing to upgrade")
                }
            } else {
                if try migrator.applied(in: connection).isEmpty {
                    if try connection.scalarInt("SELECT count(*) FROM sqlite_master") > 0 {
                        throw StoreError.notALedger(path: path, reason: "an SQLite database without the ClientLedger schema")
                    }
                    // Only `init` makes a ledger of an empty file; other commands refuse it.
                    guard mode == .create else {
                        throw StoreError.notALedger(path: path, reason: "an empty file, not a ledger (run `clientledger init`)")
                    }
                }
                try connection.enableWAL()
                try migrator.migrate(connection)
            }
        } catch let error as StoreError {
            throw error
        } catch let error as SQLiteError {
            if error.isNotADatabase { throw .notALedger(path: path, reason: error.message) }
            throw .from(error)
        } catch {
            throw .notALedger(path: path, reason: String(describing: error))
        }
    }

    // MARK: - Writing

    /// Runs `body` in one write transaction. Everything `body` appends is committed together,
    /// or — when `body` throws — none of it.
    public func write<R>(_ body: (AppendSession) throws -> R) throws -> R {
        // A session caches the chain's head and stream versions: a second session inside
        // the first would leave the outer one stale, so nesting is refused.
        guard !connection.isInTransaction else { throw StoreError.nestedWrite }
        do {
            return try connection.write {
                let session = try AppendSession(connection: connection)
                return try body(session)
            }
        } catch let error as SQLiteError {
            throw StoreError.from(error)
        }
    }

    /// Appends a batch to streams in one transaction. An event whose id is already stored is
    /// not written again; its stored position is returned. `expected` applies to the first
    /// new event of each stream in the batch.
    @discardableResult
    public func append(_ events: [NewEvent], expected: ExpectedVersion = .any) throws -> [AppendOutcome] {
        try write { session in
            var checked = Set<String>()
            return try events.map { event in
                if let stored = try session.storedEvent(id: event.eventId) {
                    guard stored.matches(event) else {
                        throw StoreError.eventIdReused(eventId: event.eventId, position: stored.position)
                    }
                    return AppendOutcome(position: stored.position, version: stored.version, written: false)
                }
                if checked.insert(event.stream).inserted {
                    try session.check(stream: event.stream, expected: expected)
                }
                return try session.append(event)
            }
        }
    }

    // MARK: - Reading

    /// The number of events and the position of the last one.
    public func head() throws -> (position: Int64, hash: [UInt8]) {
        let statement = try connection.cached("SELECT position, hash FROM events ORDER BY position DESC LIMIT 1")
        defer { statement.reset() }
        guard try statement.step() else { return (0, HashChain.genesis) }
        return (statement.int64(at: 0), statement.blob(at: 0 + 1))
    }

    /// The current version of a stream (0 when it does not exist).
    public func version(of stream: String) throws -> Int64 {
        try connection.scalarInt("SELECT coalesce(max(version), 0) FROM events WHERE stream = ?", [stream])
    }

    /// Calls `body` for each event matching `query`, in position order, until it returns false.
    public func scan(_ query: EventQuery, _ body: (RecordedEvent) throws -> Bool) throws {
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

    /// Every event matching `query`, in position order.
    public func events(_ query: EventQuery) throws -> [RecordedEvent] {
        var result: [RecordedEvent] = []
        try scan(query) { result.append($0); return true }
        return result
    }
}

@available(*, unavailable)
extension EventLog: Sendable {}

// MARK: - Appending inside a transaction

/// What the log already holds under an event id.
public struct StoredIdentity: Sendable {
    public var position: Int64
    public var version: Int64
    public var stream: String
    public var type: String
    public var data: String

    public init(position: Int64, version: Int64, stream: String, type: String, data: String) {
        self.position = position
        self.version = version
        self.stream = stream
        self.type = type
        self.data = data
    }

    /// Whether a retried event is the same event (same stream, type and payload).
    public func matches(_ event: NewEvent) -> Bool {
        stream == event.stream && type == event.type && data == event.data
    }
}

/// Appends inside one open write transaction: assigns positions and versions, extends the
/// hash chain. Only valid inside `EventLog.write`.
public final class AppendSession {
    let connection: Connection
    private let insert: Statement
    private let versionQuery: Statement
    private let idQuery: Statement
    /// Position and hash of the last event, including those appended in this session.
    public private(set) var lastPosition: Int64
    public private(set) var lastHash: [UInt8]
    /// The `recorded_at` written on every event of this transaction.
    public let recordedAt: String
    private var versions: [String: Int64] = [:]
    /// When the log was empty as the transaction began, the only stored ids are the ones
    /// written in it: they are kept here and no lookup touches the index.
    private var idsWrittenToEmptyLog: Set<UInt64>?

    init(connection: Connection) throws {
        self.connection = connection
        insert = try connection.cached(
            """
            INSERT INTO events(position, stream, version, event_id, type, schema_version,
                               occurred_at, recorded_at, data, metadata, hash)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        versionQuery = try connection.cached("SELECT coalesce(max(version), 0) FROM events WHERE stream = ?")
        idQuery = try connection.cached("SELECT position, version, stream, type, data FROM events WHERE event_id = ?")
        let head = try connection.cached("SELECT position, hash FROM events ORDER BY position DESC LIMIT 1")
        defer { head.reset() }
        if try head.step() {
            lastPosition = head.int64(at: 0)
            lastHash = head.blob(at: 1)
        } else {
            lastPosition = 0
            lastHash = HashChain.genesis
        }
        recordedAt = Timestamp.now().iso8601
        if lastPosition == 0 { idsWrittenToEmptyLog = [] }
    }

    /// The stream's current version, counting events appended in this session.
    public func version(of stream: String) throws -> Int64 {
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

    /// Throws `conflict` unless the stream is at the expected version.
    public func check(stream: String, expected: ExpectedVersion) throws {
        let current = try version(of: stream)
        guard expected.matches(current) else {
            throw StoreError.conflict(stream: stream, expected: expected, actual: current)
        }
    }

    /// The stored event with this id, if any.
    public func storedEvent(id: String) throws -> StoredIdentity? {
        if let written = idsWrittenToEmptyLog, !written.contains(Self.shortKey(id)) { return nil }
        idQuery.bind(id, at: 1)
        defer { idQuery.reset() }
        guard try idQuery.step() else { return nil }
        return StoredIdentity(
            position: idQuery.int64(at: 0), version: idQuery.int64(at: 1), stream: idQuery.string(at: 2),
            type: idQuery.string(at: 3), data: idQuery.string(at: 4))
    }

    /// Appends one event at the next version of its stream and the next position of the log.
    @discardableResult
    public func append(_ event: NewEvent) throws -> AppendOutcome {
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
            if error.isUniqueViolation, error.message.contains("stream") {
                throw StoreError.conflict(stream: event.stream, expected: .exact(version - 1), actual: try self.version(of: event.stream))
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
extension AppendSession: Sendable {}
