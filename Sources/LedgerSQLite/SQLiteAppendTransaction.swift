import LedgerCore
import LedgerStorage

/// Appends inside one open write transaction: assigns positions and versions, extends the
/// hash chain, and writes rows in the lean form. Only valid inside `SQLiteEventStore.write`.
final class SQLiteAppendTransaction: AppendTransaction {
    let connection: Connection
    let catalog: Catalog
    let inserter: RowInserter
    private let versionQuery: Statement
    var lastPosition: Int64
    var lastHash: [UInt8]
    /// Extends the chain over one reused buffer (no per-event allocation but the row's hash).
    var hasher: ChainHasher
    private var occurredText = [UInt8](repeating: 0, count: 24)
    private var recordedText: [UInt8]
    let recordedAt: String
    private let recordedMs: Int64
    var recordedMoment: Timestamp { Timestamp(millisecondsSinceEpoch: recordedMs) }
    /// Stream versions as this transaction has them; bounded like the catalogue's stream
    /// cache (a version not kept is read again, the transaction's own rows included).
    private var versions: [String: Int64] = [:]

    private func keep(_ version: Int64, of stream: String) {
        if versions.count >= catalog.streamLimit, versions[stream] == nil { versions.removeAll(keepingCapacity: true) }
        versions[stream] = version
    }

    /// When the log was empty as the transaction began, the only stored ids are the ones
    /// written in it: a fixed-size filter of them says which can not be stored, so most
    /// lookups never touch the index (8 MiB, whatever the size of the import).
    var idsWrittenToEmptyLog: IdFilter?

    init(connection: Connection, catalog: Catalog, recordedAt: Timestamp) throws {
        self.connection = connection
        self.catalog = catalog
        inserter = try RowInserter(connection: connection, catalog: catalog)
        versionQuery = try connection.cached("SELECT coalesce(max(version), 0) FROM log WHERE stream_id = ?")
        let head = try connection.cached("SELECT position, hash FROM log ORDER BY position DESC LIMIT 1")
        defer { head.reset() }
        if try head.step() {
            lastPosition = head.int64(at: 0)
            lastHash = head.blob(at: 1)
        } else {
            lastPosition = 0
            lastHash = HashChain.genesis
        }
        self.recordedAt = recordedAt.iso8601
        self.recordedMs = recordedAt.millisecondsSinceEpoch
        hasher = ChainHasher(previous: lastHash)
        recordedText = Array(self.recordedAt.utf8)
        if lastPosition == 0 { idsWrittenToEmptyLog = IdFilter() }
    }

    func commitAndContinue() throws {
        try connection.execute("COMMIT")
        try catalog.commit()
        try connection.execute("BEGIN IMMEDIATE")
        let head = try connection.cached("SELECT position FROM log ORDER BY position DESC LIMIT 1")
        defer { head.reset() }
        let position = try head.step() ? head.int64(at: 0) : 0
        guard position == lastPosition else {
            throw StorageError.conflict(stream: "(the log)", expected: .exact(lastPosition), actual: position)
        }
    }

    func version(of stream: String) throws -> Int64 {
        if let known = versions[stream] { return known }
        var version: Int64 = 0
        if let id = try catalog.id(of: stream, .stream, on: connection) {
            versionQuery.bind(id, at: 1)
            defer { versionQuery.reset() }
            version = try versionQuery.step() ? versionQuery.int64(at: 0) : 0
        }
        keep(version, of: stream)
        return version
    }

    func storedEvent(id: String) throws -> StoredIdentity? {
        if let written = idsWrittenToEmptyLog, !written.mayContain(id) { return nil }
        return try Self.storedEvent(id: id, on: connection)
    }

    static func storedEvent(id: String, on connection: Connection) throws -> StoredIdentity? {
        let query = try connection.cached(
            """
            SELECT l.position, l.version, s.name, t.name, l.data FROM log l
            JOIN streams s ON s.id = l.stream_id JOIN event_types t ON t.id = l.type_id
            WHERE l.event_id = ?
            """)
        CompactForm.bindId(id, to: query, at: 1)
        defer { query.reset() }
        guard try query.step() else { return nil }
        return StoredIdentity(
            position: query.int64(at: 0), version: query.int64(at: 1), stream: query.string(at: 2),
            type: query.string(at: 3), data: query.string(at: 4))
    }

    /// The chain's hash of `event` at `position`, from its fields as they will be stored.
    private func chainHash(of event: NewEvent, position: Int64, version: Int64) -> [UInt8] {
        chainHash(of: event, position: position, version: version, recordedAt: recordedText)
    }

    private func chainHash(of event: NewEvent, position: Int64, version: Int64, recordedAt recordedText: [UInt8]) -> [UInt8] {
        hasher.next(event, position: position, version: version, recordedAt: recordedText, scratch: &occurredText)
    }

    @discardableResult
    func append(_ event: NewEvent) throws -> AppendOutcome {
        let version = try self.version(of: event.stream) + 1
        let position = lastPosition + 1
        let hash = chainHash(of: event, position: position, version: version)
        do {
            try inserter.insert(RowInserter.Row(
                position: position, stream: event.stream, version: version, eventId: event.eventId, type: event.type,
                schemaVersion: Int64(event.schemaVersion), occurredMs: event.occurredAt.millisecondsSinceEpoch,
                recordedMs: recordedMs, data: event.data, metadata: event.metadata, hash: hash))
        } catch let error as SQLiteError where error.isUniqueViolation {
            // Which constraint failed decides the kind: the id is stored (a reuse), or another
            // writer took the version (a conflict). Asked of the data, not the message.
            hasher.rewind(to: lastHash)
            if let stored = try Self.storedEvent(id: event.eventId, on: connection) {
                throw StorageError.eventIdReused(eventId: event.eventId, position: stored.position)
            }
            versions[event.stream] = nil
            throw StorageError.conflict(stream: event.stream, expected: .exact(version - 1), actual: try self.version(of: event.stream))
        }
        lastPosition = position
        lastHash = hash
        keep(version, of: event.stream)
        idsWrittenToEmptyLog?.insert(event.eventId)
        return AppendOutcome(position: position, version: version, written: true)
    }
}

extension SQLiteAppendTransaction {
    func appendCopy(_ event: RecordedEvent) throws {
        let position = lastPosition + 1
        let version = try self.version(of: event.stream) + 1
        let copy = try hasher.nextCopy(event, position: position, version: version, previous: lastHash, scratch: &occurredText)
        let hash = copy.hash
        let occurred = copy.event.occurredAt
        let recorded = copy.recordedAt
        try inserter.insert(RowInserter.Row(
            position: position, stream: event.stream, version: version, eventId: event.eventId, type: event.type,
            schemaVersion: Int64(event.schemaVersion), occurredMs: occurred.millisecondsSinceEpoch,
            recordedMs: recorded.millisecondsSinceEpoch, data: event.data, metadata: event.metadata, hash: hash))
        lastPosition = position
        lastHash = hash
        keep(version, of: event.stream)
        idsWrittenToEmptyLog?.insert(event.eventId)
    }
}

@available(*, unavailable)
extension SQLiteAppendTransaction: Sendable {}
