import LedgerCore
import LedgerStorage
import NIOCore
import PostgresNIO

/// PostgreSQL ledgers (`postgres://` and `postgresql://` URLs), for `LedgerStores.register`.
public struct PostgresBackend: LedgerBackend {
    public init() {}

    public func accepts(_ location: String) -> Bool { PostgresLocation.accepts(location) }

    public func open(_ location: String, readOnly: Bool, clock: any LedgerClock) throws -> any EventStore {
        try PostgresEventStore(try PostgresLocation(location), mode: readOnly ? .readOnly : .readWrite, clock: clock)
    }

    public func create(_ location: String, clock: any LedgerClock) throws -> (store: any EventStore, created: Bool) {
        let (store, created) = try PostgresEventStore.create(try PostgresLocation(location), clock: clock)
        return (store, created)
    }
}

/// The event log in a PostgreSQL database: the server backend of the storage contract.
///
/// Writers are serialized by a transaction-scoped advisory lock of the ledger
/// (`pg_advisory_xact_lock`), taken first in every write transaction: positions are then
/// assigned by one writer at a time, whatever process or machine it runs on, and follow
/// commit order. An advisory lock needs no privilege on the table, unlike `LOCK TABLE … IN
/// EXCLUSIVE MODE`, which requires UPDATE or DELETE rights the ledger's role must not have.
/// Reads run in REPEATABLE READ transactions: one snapshot for the whole body.
public final class PostgresEventStore: EventStore, AccessTokenKeeping {
    enum Mode { case create, readWrite, readOnly }

    let session: Session
    let address: PostgresLocation
    let clock: any LedgerClock
    public let isReadOnly: Bool
    public var location: String { address.description }
    /// The open write's transaction: reads of this store inside it see its appends.
    weak var openTransaction: PostgresAppendTransaction?

    /// The ledger at `location`, created (database, schema, tables) when missing; and whether
    /// it was new.
    public static func create(_ location: PostgresLocation, clock: any LedgerClock = SystemClock()) throws -> (store: PostgresEventStore, created: Bool) {
        do {
            let store = try PostgresEventStore(location, mode: .create, clock: clock)
            return (store, store.createdNow)
        } catch StorageError.databaseMissing {
            let server = try Session(location.with(database: "postgres"))
            try server.execute("CREATE DATABASE \(quoted(location.database))")
            let store = try PostgresEventStore(location, mode: .create, clock: clock)
            return (store, true)
        }
    }

    private var createdNow = false

    init(_ location: PostgresLocation, mode: Mode, clock: any LedgerClock) throws {
        address = location
        self.clock = clock
        isReadOnly = mode == .readOnly
        session = try Session(location)
        try session.execute("SET search_path = \(PostgresLocation.schema)")
        try session.execute("SET lock_timeout = '10s'")
        // A commit that returned is on the server's disk, whatever the server's default.
        try session.execute("SET synchronous_commit = on")
        if isReadOnly { try session.execute("SET default_transaction_read_only = on") }
        try openSchema(mode: mode)
    }

    private func openSchema(mode: Mode) throws {
        let applied = try PostgresMigrator.applied(on: session)
        let unknown = applied.filter { !PostgresSchema.allNames.contains($0) }
        guard unknown.isEmpty else { throw StorageError.schemaNewer(location: location, unknown: unknown) }
        let pending = PostgresSchema.migrations.filter { !applied.contains($0.name) }
        switch mode {
        case .readOnly:
            guard !applied.isEmpty else {
                throw StorageError.notALedger(location: location, reason: "no ClientLedger schema in this database (run `clientledger init`)")
            }
            guard pending.isEmpty else {
                throw StorageError.notALedger(location: location, reason: "schema is older than this program; open it once for writing to upgrade")
            }
        case .readWrite:
            guard !applied.isEmpty else {
                throw StorageError.notALedger(location: location, reason: "no ClientLedger schema in this database (run `clientledger init`)")
            }
        case .create:
            createdNow = applied.isEmpty
        }
        // A write needs the guards; a read-only open goes on, so that `audit verify` can say
        // which are missing.
        if !applied.isEmpty, mode != .readOnly {
            let missing = try missingAppendOnlyGuards()
            guard missing.isEmpty else { throw StorageError.appendOnlyGuardsMissing(location: location, missing: missing) }
        }
        if mode != .readOnly, !pending.isEmpty {
            try PostgresMigrator.migrate(PostgresSchema.migrations, on: session, at: clock.now())
        }
    }

    static func quoted(_ identifier: String) -> String {
        "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// Before a read of this store inside its own write: the transaction's buffered rows are
    /// sent, so the read sees them.
    func flushOpenWrite() throws {
        try openTransaction?.flush()
    }

    // MARK: - Writing

    public func write<R>(_ body: (any AppendTransaction) throws -> R) throws -> R {
        guard !session.inTransaction else { throw StorageError.nestedWrite }
        guard !isReadOnly else { throw StorageError.readOnly(location: location) }
        var appended: Int64 = 0
        let result = try session.transaction {
            try session.execute("SELECT pg_advisory_xact_lock(\(LockKey.log))")
            let transaction = try PostgresAppendTransaction(store: self, recordedAt: clock.now())
            let first = transaction.lastPosition
            openTransaction = transaction
            defer { openTransaction = nil }
            let result = try body(transaction)
            try transaction.flush()
            appended = transaction.lastPosition - first
            return result
        }
        // After a large import the planner's statistics of the log are stale (a new table has
        // none): without them it sorts whole ranges of the log for a page of a scan. Refreshed
        // now rather than when autovacuum next runs; a role that may not analyze the table is
        // told so by the server as a warning, and nothing fails.
        if appended >= 10_000 { _ = try? session.execute("ANALYZE events, streams") }
        return result
    }

    public func read<R>(_ body: () throws -> R) throws -> R {
        if session.inTransaction { return try body() }
        return try session.transaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", body)
    }

    public func openReader() throws -> any EventStore {
        try PostgresEventStore(address, mode: .readOnly, clock: clock)
    }

    public func projectionStore() -> any ProjectionStore {
        PostgresProjectionStore(store: self)
    }

    public func accessTokenStore() -> any AccessTokenStore {
        PostgresAccessTokenStore(store: self)
    }

    // MARK: - Reading

    public func head() throws -> ChainHead {
        try flushOpenWrite()
        guard let row = try session.query("SELECT position, hash FROM events ORDER BY position DESC LIMIT 1").first else { return .empty }
        let cells = row.makeRandomAccess()
        return ChainHead(position: try cells.int64(0), hash: try cells.bytes(1))
    }

    public func version(of stream: String) throws -> Int64 {
        try flushOpenWrite()
        return try session.scalar(
            "SELECT coalesce(max(version), 0) FROM events WHERE stream = $1", try PostgresBindings(stream), as: Int64.self) ?? 0
    }

    public func hash(at position: Int64) throws -> [UInt8]? {
        try flushOpenWrite()
        guard let row = try session.query("SELECT hash FROM events WHERE position = $1", try PostgresBindings(position)).first else {
            return nil
        }
        return try row.makeRandomAccess().bytes(0)
    }

    public func storedEvent(id: String) throws -> StoredIdentity? {
        try flushOpenWrite()
        return try Self.storedEvent(id: id, on: session)
    }

    public func storedEvents(ids: [String]) throws -> [String: StoredIdentity] {
        try flushOpenWrite()
        return try Self.storedEvents(ids: ids, on: session)
    }

    static func storedEvents(ids: [String], on session: Session) throws -> [String: StoredIdentity] {
        guard !ids.isEmpty else { return [:] }
        var found: [String: StoredIdentity] = [:]
        for row in try session.query(
            "SELECT event_id, position, version, stream, type, data FROM events WHERE event_id = ANY($1)", try PostgresBindings(ids))
        {
            let c = row.makeRandomAccess()
            found[try c.string(0)] = StoredIdentity(
                position: try c.int64(1), version: try c.int64(2), stream: try c.string(3), type: try c.string(4), data: try c.string(5))
        }
        return found
    }

    static func storedEvent(id: String, on session: Session) throws -> StoredIdentity? {
        guard let row = try session.query(
            "SELECT position, version, stream, type, data FROM events WHERE event_id = $1", try PostgresBindings(id)).first
        else { return nil }
        let cells = row.makeRandomAccess()
        return StoredIdentity(
            position: try cells.int64(0), version: try cells.int64(1), stream: try cells.string(2), type: try cells.string(3),
            data: try cells.string(4))
    }

    public func streamIds(category: String) throws -> [String] {
        try flushOpenWrite()
        let prefix = category + "/"
        return try session.query(
            // Byte order, as SQLite's, whatever the database's collation.
            "SELECT substr(name, $2::integer) FROM streams WHERE starts_with(name, $1) ORDER BY name COLLATE \"C\"",
            try PostgresBindings(prefix, Int64(prefix.count + 1))
        ).map { try $0.makeRandomAccess().string(0) }
    }

    public func streamCount(category: String) throws -> Int {
        try flushOpenWrite()
        return Int(try session.scalar(
            "SELECT count(*) FROM streams WHERE starts_with(name, $1)", try PostgresBindings(category + "/"),
            as: Int64.self) ?? 0)
    }

    public func missingAppendOnlyGuards() throws -> [String] {
        let rows = try session.query(
            """
            SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = $1 AND NOT t.tgisinternal AND t.tgenabled IN ('O', 'A')
            """, try PostgresBindings(PostgresLocation.schema))
        let present = Set(try rows.map { try $0.makeRandomAccess().string(0) })
        return PostgresSchema.requiredTriggers.filter { !present.contains($0) }
    }

    /// Rows of one page of a long read.
    static let pageSize = 20_000

    public func scan(_ query: EventQuery, _ body: (RecordedEvent) throws -> Bool) throws {
        try flushOpenWrite()
        var conditions: [String] = []
        var binds = PostgresBindings()
        func bind(_ value: any PostgresEncodable) throws -> String {
            try binds.appendAny(value)
            return "$\(binds.count)"
        }
        if let stream = query.stream { conditions.append("stream = \(try bind(stream))") }
        if !query.types.isEmpty { conditions.append("type = ANY(\(try bind(query.types)))") }
        if let from = query.fromPosition { conditions.append("position >= \(try bind(from))") }
        if let to = query.toPosition { conditions.append("position <= \(try bind(to))") }
        if let from = query.occurredFrom { conditions.append("occurred_at >= \(try bind(from.iso8601))") }
        if let to = query.occurredTo { conditions.append("occurred_at <= \(try bind(to.iso8601))") }
        if let from = query.recordedFrom { conditions.append("recorded_at >= \(try bind(from.iso8601))") }
        if let to = query.recordedTo { conditions.append("recorded_at <= \(try bind(to.iso8601))") }
        let after = binds.count + 1
        conditions.append("position > $\(after)")
        let sql = """
            SELECT position, stream, version, event_id, type, schema_version, occurred_at, recorded_at, data, metadata, hash
            FROM events WHERE \(conditions.joined(separator: " AND ")) ORDER BY position LIMIT $\(after + 1)
            """
        var remaining = query.limit ?? Int.max
        var last: Int64 = 0
        while remaining > 0 {
            var page = binds
            try page.appendAny(last)
            try page.appendAny(Int64(min(remaining, Self.pageSize)))
            let rows = try session.query(sql, page)
            for row in rows {
                let c = row.makeRandomAccess()
                let event = RecordedEvent(
                    position: try c.int64(0), stream: try c.string(1), version: try c.int64(2), eventId: try c.string(3),
                    type: try c.string(4), schemaVersion: Int(try c.int64(5)), occurredAt: try c.string(6),
                    recordedAt: try c.string(7), data: try c.string(8), metadata: try c.string(9), hash: try c.bytes(10))
                last = event.position
                remaining -= 1
                guard try body(event) else { return }
            }
            if rows.count < Self.pageSize { return }
        }
    }

    public func replay(
        category: String, after position: Int64, through head: Int64, _ body: (StoredEventBytes) throws -> Void
    ) throws {
        try flushOpenWrite()
        var keys = ReplayKeys()
        // Pages are ranges of positions (gap-free, so a range of n positions holds at most n
        // rows): each is a short index range whatever the table's statistics say.
        var last = position
        while last < head {
            let end = min(head, last + Int64(Self.pageSize))
            let rows = try session.query(
                """
                SELECT position, stream, type, schema_version, occurred_at, data FROM events
                WHERE position > $1 AND position <= $2 AND starts_with(stream, $3) ORDER BY position
                """, try PostgresBindings(last, end, category + "/"))
            last = end
            for row in rows { try keys.lend(row, to: body) }
        }
    }

    /// Numbers for the streams and types a replay meets (stable for the replay), and the
    /// lending of a replay row (position, stream, type, schema_version, occurred_at, data).
    private struct ReplayKeys {
        private var streams: [String: Int64] = [:]
        private var types: [String: Int64] = [:]

        mutating func lend(_ row: PostgresRow, to body: (StoredEventBytes) throws -> Void) throws {
            let c = row.makeRandomAccess()
            let at = try c.int64(0)
            let stream = try c.string(1)
            let type = try c.string(2)
            let streamKey = streams[stream] ?? { let key = Int64(streams.count + 1); streams[stream] = key; return key }()
            let typeKey = types[type] ?? { let key = Int64(types.count + 1); types[type] = key; return key }()
            let occurredText = try c.string(4)
            guard let occurred = Timestamp(iso8601: occurredText) else {
                throw StorageError.corrupt("position \(at): occurred_at \(occurredText) is not a moment")
            }
            try c.withBytes(5) { data in
                try body(StoredEventBytes(
                    position: at, stream: stream, streamKey: streamKey, type: type, typeKey: typeKey,
                    schemaVersion: Int(try c.int64(3)), occurredAt: occurred, data: data))
            }
        }
    }

    public func scanChain(_ body: (HashChain.FieldBytes, _ streamKey: Int64, _ hash: UnsafeRawBufferPointer) throws -> Bool) throws {
        try flushOpenWrite()
        var streamKeys: [String: Int64] = [:]
        var last: Int64 = 0
        // Ranges of positions, as in `replay`; past the head a range comes back empty (and a
        // row beyond a gap is still read: the audit must see it).
        let head = try self.head().position
        while true {
            let rows = try session.query(
                """
                SELECT position, version, schema_version, stream, event_id, type, occurred_at, recorded_at, data, metadata, hash
                FROM events WHERE position > $1 AND position <= $2 ORDER BY position
                """, try PostgresBindings(last, last + Int64(Self.pageSize)))
            let pageEnd = last + Int64(Self.pageSize)
            if rows.isEmpty {
                // Past the head, or a gap of a whole page: read on from the next stored row.
                guard last < head, let next = try session.scalar(
                    "SELECT min(position) FROM events WHERE position > $1", try PostgresBindings(last), as: Int64.self)
                else { return }
                last = next - 1
                continue
            }
            for row in rows {
                let c = row.makeRandomAccess()
                let at = try c.int64(0)
                last = at
                let stream = try c.string(3)
                let streamKey = streamKeys[stream] ?? { let key = Int64(streamKeys.count + 1); streamKeys[stream] = key; return key }()
                let version = try c.int64(1)
                let schemaVersion = try c.int64(2)
                let goOn = try c.withBytes(3) { stream in try c.withBytes(4) { eventId in try c.withBytes(5) { type in
                    try c.withBytes(6) { occurred in try c.withBytes(7) { recorded in try c.withBytes(8) { data in
                        try c.withBytes(9) { metadata in try c.withBytes(10) { hash in
                            try body(HashChain.FieldBytes(
                                position: at, version: version, schemaVersion: schemaVersion, stream: stream, eventId: eventId,
                                type: type, occurredAt: occurred, recordedAt: recorded, data: data, metadata: metadata),
                                streamKey, hash)
                        } }
                    } } }
                } } }
                guard goOn else { return }
            }
            last = max(last, pageEnd)
        }
    }

    // MARK: - Personal-data keys

    public func personalDataKey(stream: String) throws -> [UInt8]? {
        try flushOpenWrite()
        guard let row = try session.query("SELECT key FROM personal_keys WHERE stream = $1", try PostgresBindings(stream)).first else {
            return nil
        }
        return try row.makeRandomAccess().bytes(0)
    }

    /// `VACUUM FULL personal_keys`: the table is rewritten into new files without the deleted
    /// rows, so no file of the database holds a destroyed key. The server's WAL and the firm's
    /// backups keep it until they are recycled (docs/postgres.md).
    public func purgeDestroyedKeys() throws -> Bool {
        guard !isReadOnly else { throw StorageError.readOnly(location: location) }
        guard !session.inTransaction else { return false }
        // VACUUM of a table the role does not own is skipped with a warning only: asked first.
        let owns = try session.scalar(
            """
            SELECT pg_has_role(current_user, c.relowner, 'USAGE') FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = $1 AND c.relname = 'personal_keys'
            """, try PostgresBindings(PostgresLocation.schema), as: Bool.self) ?? false
        guard owns else { return false }
        try session.execute("VACUUM FULL personal_keys")
        return true
    }
}

@available(*, unavailable)
extension PostgresEventStore: Sendable {}

extension ByteBuffer {
    init(bytes: [UInt8]) {
        self = ByteBufferAllocator().buffer(capacity: bytes.count)
        writeBytes(bytes)
    }
}
