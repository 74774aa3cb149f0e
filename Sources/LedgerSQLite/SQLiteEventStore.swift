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
    /// Stream, type and rules-version numbers of the lean stored form, cached.
    let catalog = Catalog()
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
        let known = Set((LedgerSchema.migrations + ProjectionSchema.migrations + AccessTokenSchema.migrations).map(\.name))
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
            // The guards of the schema the file has now: a ledger in the original form is
            // checked against the original triggers before it is converted.
            let required = applied.contains(CompactLog.migration.name) ? LedgerSchema.requiredTriggers : LedgerSchema.originalTriggers
            let missing = try missingGuards(of: required)
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
        do {
            let result = try mapped {
                try connection.write {
                    let transaction = try SQLiteAppendTransaction(connection: connection, catalog: catalog, recordedAt: clock.now())
                    return try body(transaction)
                }
            }
            try catalog.commit()
            return result
        } catch {
            catalog.rollback()
            throw error
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
            let statement = try connection.cached("SELECT position, hash FROM log ORDER BY position DESC LIMIT 1")
            defer { statement.reset() }
            guard try statement.step() else { return .empty }
            return ChainHead(position: statement.int64(at: 0), hash: statement.blob(at: 1))
        }
    }

    public func version(of stream: String) throws -> Int64 {
        try mapped {
            guard let id = try catalog.id(of: stream, .stream, on: connection) else { return 0 }
            let statement = try connection.cached("SELECT coalesce(max(version), 0) FROM log WHERE stream_id = ?")
            defer { statement.reset() }
            statement.bind(id, at: 1)
            return try statement.step() ? statement.int64(at: 0) : 0
        }
    }

    public func hash(at position: Int64) throws -> [UInt8]? {
        try mapped {
            let statement = try connection.cached("SELECT hash FROM log WHERE position = ?")
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
            // Kept prepared: every append asks which campaigns exist (parsing this statement
            // again was a tenth of a single durable append's CPU).
            let statement = try connection.cached("SELECT substr(name, ?3) FROM streams WHERE name >= ?1 AND name < ?2 ORDER BY name")
            defer { statement.reset() }
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
            Int(try connection.scalarInt("SELECT count(*) FROM streams WHERE name >= ? AND name < ?", [category + "/", category + "0"]))
        }
    }

    public func missingAppendOnlyGuards() throws -> [String] {
        try mapped { try missingGuards(of: LedgerSchema.requiredTriggers) }
    }

    private func missingGuards(of required: [String]) throws -> [String] {
        let triggers = try connection.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
        var found: [String: String] = [:]
        while try triggers.step() { found[triggers.string(at: 0)] = triggers.string(at: 1) }
        return required.filter { name in !(found[name]?.contains("RAISE(ABORT") ?? false) }
    }

    public func scan(_ query: EventQuery, _ body: (RecordedEvent) throws -> Bool) throws {
        try mapped {
            guard let (sql, bindings) = try query.sql(catalog: catalog, connection: connection) else { return }
            if query.stream == nil { try catalog.loadAllStreams(on: connection) }
            let statement = try connection.prepare(sql)
            for (offset, binding) in bindings.enumerated() {
                let index = Int32(offset + 1)
                switch binding {
                case .text(let text): statement.bind(text, at: index)
                case .integer(let value): statement.bind(value, at: index)
                }
            }
            while try statement.step() {
                guard try body(try StoredRow.recorded(statement, catalog: catalog, connection: connection)) else { break }
            }
        }
    }

    public func replay(
        category: String, after position: Int64, through head: Int64, _ body: (StoredEventBytes) throws -> Void
    ) throws {
        try mapped {
            try catalog.loadAllStreams(on: connection)
            let prefix = category + "/"
            // Each stream's name, or nil for a stream of another category; each type's name.
            var streams = DenseMap<String?>()
            var types = DenseMap<String>()
            let statement = try connection.prepare(
                """
                SELECT position, stream_id, type_id, schema_version, occurred_ms, data FROM log
                WHERE position > ?1 AND position <= ?2 ORDER BY position
                """)
            statement.bind(position, at: 1)
            statement.bind(head, at: 2)
            while try statement.step() {
                let streamId = statement.int64(at: 1)
                let stream: String
                if let known = streams[streamId] {
                    guard let known else { continue }
                    stream = known
                } else {
                    guard let name = try catalog.name(of: streamId, .stream, on: connection) else {
                        throw StorageError.corrupt("position \(statement.int64(at: 0)): stream \(streamId) is not in the catalogue")
                    }
                    let belongs = name.hasPrefix(prefix)
                    streams[streamId] = .some(belongs ? name : nil)
                    guard belongs else { continue }
                    stream = name
                }
                let typeId = statement.int64(at: 2)
                let type: String
                if let known = types[typeId] {
                    type = known
                } else {
                    guard let name = try catalog.name(of: typeId, .type, on: connection) else {
                        throw StorageError.corrupt("position \(statement.int64(at: 0)): event type \(typeId) is not in the catalogue")
                    }
                    types[typeId] = name
                    type = name
                }
                try statement.withBytes(at: 5) { data in
                    try body(StoredEventBytes(
                        position: statement.int64(at: 0), stream: stream, streamKey: streamId, type: type, typeKey: typeId,
                        schemaVersion: statement.int(at: 3), occurredAt: Timestamp(millisecondsSinceEpoch: statement.int64(at: 4)),
                        data: data))
                }
            }
        }
    }
}

@available(*, unavailable)
extension SQLiteEventStore: Sendable {}

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
