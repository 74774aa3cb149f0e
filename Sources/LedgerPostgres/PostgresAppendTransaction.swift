import LedgerCore
import LedgerStorage
import NIOCore
import PostgresNIO

/// Appends inside one write transaction of a PostgreSQL ledger, holding the ledger's lock.
///
/// Rows are assigned their position, version and hash at once (so every append answers at
/// once, as the contract says), and sent to the server in batches of multi-row inserts: one
/// round trip per batch instead of one per event. A batch is sent when it is full, at commit,
/// and before any read of the same store inside the write, so reads see every append.
/// Refusals (`eventIdReused`) are decided before a row is buffered: the id is looked up among
/// the buffered rows, then in the log — or not at all when the log was empty as the write
/// began, since every stored id was then written by this write and a filter of them says
/// which cannot be stored.
final class PostgresAppendTransaction: AppendTransaction {
    private unowned let store: PostgresEventStore
    private var session: Session { store.session }
    private(set) var lastPosition: Int64
    private(set) var lastHash: [UInt8]
    let recordedAt: String
    private let recordedMs: Int64
    private var hasher: ChainHasher
    private var occurredText = [UInt8](repeating: 0, count: 24)
    private var recordedText: [UInt8]
    private var versions: [String: Int64] = [:]
    private var idsWrittenToEmptyLog: IdFilter?

    /// Rows not sent yet, by column.
    private var positions: [Int64] = []
    private var streams: [String] = []
    private var streamVersions: [Int64] = []
    private var eventIds: [String] = []
    private var types: [String] = []
    private var schemaVersions: [Int64] = []
    private var occurred: [String] = []
    private var recorded: [String] = []
    private var data: [String] = []
    private var metadata: [String] = []
    private var hashes: [ByteBuffer] = []
    private var buffered: [String: Int64] = [:]
    /// Keys made in this transaction and not sent yet.
    private var newKeys: [(stream: String, key: [UInt8])] = []
    private var keysMade: [String: [UInt8]] = [:]

    static let batchRows = 2_000

    init(store: PostgresEventStore, recordedAt: Timestamp) throws {
        self.store = store
        if let row = try store.session.query("SELECT position, hash FROM events ORDER BY position DESC LIMIT 1").first {
            let cells = row.makeRandomAccess()
            lastPosition = try cells.int64(0)
            lastHash = try cells.bytes(1)
        } else {
            lastPosition = 0
            lastHash = HashChain.genesis
        }
        self.recordedAt = recordedAt.iso8601
        recordedMs = recordedAt.millisecondsSinceEpoch
        recordedText = Array(self.recordedAt.utf8)
        hasher = ChainHasher(previous: lastHash)
        if lastPosition == 0 { idsWrittenToEmptyLog = IdFilter() }
    }

    func version(of stream: String) throws -> Int64 {
        if let known = versions[stream] { return known }
        let version = try session.scalar(
            "SELECT coalesce(max(version), 0) FROM events WHERE stream = $1", try PostgresBindings(stream), as: Int64.self) ?? 0
        versions[stream] = version
        return version
    }

    /// Ids looked up ahead (`prefetch`): what the log held for each, or nil for none. Valid for
    /// the whole transaction, since only it writes under the lock; an id it appends is dropped.
    private var looked: [String: StoredIdentity?] = [:]

    func prefetch(eventIds: [String]) throws {
        if idsWrittenToEmptyLog != nil { return }
        if looked.count > 200_000 { looked.removeAll(keepingCapacity: true) }
        let unknown = eventIds.filter { looked[$0] == nil && buffered[$0] == nil }
        let found = try PostgresEventStore.storedEvents(ids: unknown, on: session)
        for id in unknown { looked[id] = .some(found[id]) }
    }

    func storedEvent(id: String) throws -> StoredIdentity? {
        if let known = looked[id] { return known }
        if let position = buffered[id] {
            let index = Int(position - positions[0])
            return StoredIdentity(
                position: position, version: streamVersions[index], stream: streams[index], type: types[index], data: data[index])
        }
        if let written = idsWrittenToEmptyLog, !written.mayContain(id) { return nil }
        return try PostgresEventStore.storedEvent(id: id, on: session)
    }

    private func chainHash(of event: NewEvent, position: Int64, version: Int64) -> [UInt8] {
        chainHash(of: event, position: position, version: version, recordedAt: recordedText)
    }

    private func chainHash(of event: NewEvent, position: Int64, version: Int64, recordedAt recordedText: [UInt8]) -> [UInt8] {
        hasher.next(event, position: position, version: version, recordedAt: recordedText, scratch: &occurredText)
    }

    func appendCopy(_ event: RecordedEvent) throws {
        let position = lastPosition + 1
        let version = try self.version(of: event.stream) + 1
        let copy = try hasher.nextCopy(event, position: position, version: version, previous: lastHash, scratch: &occurredText)
        buffer(copy.event, position: position, version: version, hash: copy.hash, recordedAt: event.recordedAt)
        if positions.count >= Self.batchRows { try flush() }
    }

    @discardableResult
    func append(_ event: NewEvent) throws -> AppendOutcome {
        if let stored = try storedEvent(id: event.eventId) {
            throw StorageError.eventIdReused(eventId: event.eventId, position: stored.position)
        }
        let version = try self.version(of: event.stream) + 1
        let position = lastPosition + 1
        let hash = chainHash(of: event, position: position, version: version)
        buffer(event, position: position, version: version, hash: hash, recordedAt: recordedAt)
        if positions.count >= Self.batchRows { try flush() }
        return AppendOutcome(position: position, version: version, written: true)
    }

    private func buffer(_ event: NewEvent, position: Int64, version: Int64, hash: [UInt8], recordedAt: String) {
        positions.append(position)
        recorded.append(recordedAt)
        streams.append(event.stream)
        streamVersions.append(version)
        eventIds.append(event.eventId)
        types.append(event.type)
        schemaVersions.append(Int64(event.schemaVersion))
        occurred.append(event.occurredAt.iso8601)
        data.append(event.data)
        metadata.append(event.metadata)
        hashes.append(ByteBuffer(bytes: hash))
        buffered[event.eventId] = position
        looked[event.eventId] = nil
        lastPosition = position
        lastHash = hash
        versions[event.stream] = version
        idsWrittenToEmptyLog?.insert(event.eventId)
    }

    /// Sends the buffered rows and keys in one statement each.
    func flush() throws {
        if !newKeys.isEmpty {
            try session.execute(
                "INSERT INTO personal_keys(stream, key, created_ms) SELECT s, k, $3 FROM unnest($1::text[], $2::bytea[]) AS u(s, k)",
                try PostgresBindings(newKeys.map(\.stream), newKeys.map { ByteBuffer(bytes: $0.key) }, recordedMs))
            newKeys.removeAll(keepingCapacity: true)
        }
        guard !positions.isEmpty else { return }
        // Under the ledger's lock no other writer appends; a row taken meanwhile (a unique
        // key, or the gap-free trigger) means a writer that did not take the lock: the
        // transaction rolls back and nothing of it is written.
        try session.execute(
                """
                INSERT INTO events(position, stream, version, event_id, type, schema_version, occurred_at, recorded_at, data, metadata, hash)
                SELECT p, s, v, i, t, sv, o, r, d, m, h
                FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::bigint[], $7::text[],
                            $8::text[], $9::text[], $10::text[], $11::bytea[]) AS u(p, s, v, i, t, sv, o, r, d, m, h)
                ORDER BY p
                """,
                try PostgresBindings(
                    positions, streams, streamVersions, eventIds, types, schemaVersions, occurred, recorded, data, metadata,
                    hashes),
                refine: { state in
                    state == "23505" || state == "P0001"
                        ? StorageError.busy("another writer appended to the log without the ledger's lock; nothing was written") : nil
                })
        positions.removeAll(keepingCapacity: true)
        streams.removeAll(keepingCapacity: true)
        streamVersions.removeAll(keepingCapacity: true)
        eventIds.removeAll(keepingCapacity: true)
        types.removeAll(keepingCapacity: true)
        schemaVersions.removeAll(keepingCapacity: true)
        occurred.removeAll(keepingCapacity: true)
        recorded.removeAll(keepingCapacity: true)
        data.removeAll(keepingCapacity: true)
        metadata.removeAll(keepingCapacity: true)
        hashes.removeAll(keepingCapacity: true)
        buffered.removeAll(keepingCapacity: true)
    }

    func commitAndContinue() throws {
        try flush()
        try session.commitAndBegin()
        try session.execute("SELECT pg_advisory_xact_lock(\(LockKey.log))")
        let position = try session.scalar("SELECT coalesce(max(position), 0) FROM events", as: Int64.self) ?? 0
        guard position == lastPosition else {
            throw StorageError.conflict(stream: "(the log)", expected: .exact(lastPosition), actual: position)
        }
    }

    // MARK: - Personal-data keys

    func personalDataKey(stream: String) throws -> [UInt8]? {
        if let key = keysMade[stream] { return key }
        guard let row = try session.query("SELECT key FROM personal_keys WHERE stream = $1", try PostgresBindings(stream)).first else {
            return nil
        }
        return try row.makeRandomAccess().bytes(0)
    }

    func personalDataKey(stream: String, creating newKey: () -> [UInt8]) throws -> [UInt8] {
        if let key = try personalDataKey(stream: stream) { return key }
        let key = newKey()
        keysMade[stream] = key
        newKeys.append((stream, key))
        return key
    }

    func destroyPersonalDataKey(stream: String) throws -> Bool {
        try flush()
        keysMade[stream] = nil
        return try session.execute("DELETE FROM personal_keys WHERE stream = $1", try PostgresBindings(stream)) > 0
    }
}

@available(*, unavailable)
extension PostgresAppendTransaction: Sendable {}
