import LedgerCore

/// The head of the log: the last position and its hash (genesis for an empty log).
public struct ChainHead: Sendable, Equatable {
    public var position: Int64
    public var hash: [UInt8]

    public init(position: Int64, hash: [UInt8]) {
        self.position = position
        self.hash = hash
    }

    public static let empty = ChainHead(position: 0, hash: HashChain.genesis)
}

/// A stored event as a replay hands it over: its payload bytes are lent, valid only inside
/// the call. A replay reads millions of these; nothing is copied unless the caller copies it.
public struct StoredEventBytes {
    public var position: Int64
    public var stream: String
    /// A number the backend gives the stream, stable for the replay: for caching by stream.
    public var streamKey: Int64
    public var type: String
    /// A number the backend gives the event type, stable for the replay.
    public var typeKey: Int64
    public var schemaVersion: Int
    public var occurredAt: Timestamp
    public var data: UnsafeRawBufferPointer

    public init(
        position: Int64, stream: String, streamKey: Int64, type: String, typeKey: Int64, schemaVersion: Int,
        occurredAt: Timestamp, data: UnsafeRawBufferPointer
    ) {
        self.position = position
        self.stream = stream
        self.streamKey = streamKey
        self.type = type
        self.typeKey = typeKey
        self.schemaVersion = schemaVersion
        self.occurredAt = occurredAt
        self.data = data
    }
}

/// The event log of one ledger, whatever database keeps it: the storage contract.
///
/// Guarantees every adapter gives (and `LedgerConformance` checks):
/// - **Ordering.** Positions start at 1 and are gap-free and strictly increasing in commit
///   order: an event at position p is visible to a reader only together with every event
///   before p. Versions inside a stream are 1, 2, 3… in position order.
/// - **Atomicity.** Everything appended inside one `write` commits together or not at all;
///   a `write` whose body throws leaves the log exactly as it was.
/// - **Isolation.** Writes are serialized: a `write` sees the log as of its own start plus
///   its own appends, and no other writer commits in between. `read` sees one consistent
///   snapshot for its whole body.
/// - **Idempotency.** `eventId` is unique across the log; `storedEvent(id:)` finds it.
/// - **Durability.** A `write` that returned has reached stable storage.
/// - **Append-only.** Stored events are never updated or deleted; the database itself
///   refuses it (triggers, privileges), and `missingAppendOnlyGuards()` says when it would not.
///
/// A store is used by one owner at a time (it is not `Sendable`); give each thread its own
/// through `openReader()`.
public protocol EventStore: AnyObject {
    /// Where the log lives (a file path or a URL), for messages.
    var location: String { get }
    /// Whether the store was opened for reading only.
    var isReadOnly: Bool { get }

    /// The last position and its hash.
    func head() throws -> ChainHead
    /// The current version of a stream (0 when it does not exist).
    func version(of stream: String) throws -> Int64
    /// Calls `body` for each event matching `query`, in position order, until it returns false.
    func scan(_ query: EventQuery, _ body: (RecordedEvent) throws -> Bool) throws
    /// The stored event with this id, if any.
    func storedEvent(id: String) throws -> StoredIdentity?
    /// The stored events with these ids, by id (absent ids are left out): one round trip for
    /// a server backend where `storedEvent` would take one per id.
    func storedEvents(ids: [String]) throws -> [String: StoredIdentity]
    /// The hash stored at a position (nil past the head).
    func hash(at position: Int64) throws -> [UInt8]?
    /// The ids of the streams of one category (`client` → client ids), in order.
    func streamIds(category: String) throws -> [String]
    /// Streams of a category that exist, counted.
    func streamCount(category: String) throws -> Int
    /// The append-only guards of the log that are missing or altered (empty when intact).
    func missingAppendOnlyGuards() throws -> [String]

    /// Calls `body` with the events of one stream category after `position` up to `head`,
    /// in position order, as lent bytes: the fast path of replays and rebuilds.
    func replay(category: String, after position: Int64, through head: Int64, _ body: (StoredEventBytes) throws -> Void) throws

    /// Calls `body` with every event's chain fields as bytes (lent for the call), with a
    /// number for its stream that is stable during the scan, and its stored hash, in position
    /// order until `body` returns false: the fast path of an audit.
    func scanChain(_ body: (HashChain.FieldBytes, _ streamKey: Int64, _ hash: UnsafeRawBufferPointer) throws -> Bool) throws

    /// `scanChain` of the rows whose positions are in `positions`, all on the calling thread.
    /// An audit reads the log in two such parts at once, each through a handle of its own,
    /// when `scansChainInParts` says that is the faster way.
    func scanChain(
        positions: ClosedRange<Int64>, _ body: (HashChain.FieldBytes, _ streamKey: Int64, _ hash: UnsafeRawBufferPointer) throws -> Bool
    ) throws

    /// Whether two handles scanning a part of the chain each, side by side, beat one
    /// `scanChain`, with the same stream numbers on every handle (they are then compared
    /// across the parts). False unless a backend says otherwise.
    var scansChainInParts: Bool { get }

    /// Runs `body` in one write transaction (see the guarantees above).
    func write<R>(_ body: (any AppendTransaction) throws -> R) throws -> R
    /// Runs `body` on one consistent snapshot of the log.
    func read<R>(_ body: () throws -> R) throws -> R
    /// A second, read-only handle on the same log, for another thread. Inside a write of
    /// this store, it sees the log as it was when that write began.
    func openReader() throws -> any EventStore
    /// The projections kept in the same database.
    func projectionStore() -> any ProjectionStore

    /// The personal-data key of a stream (nil when it has none, or it was destroyed). Keys
    /// live outside the chained events: they are the one thing of a ledger that is deleted.
    func personalDataKey(stream: String) throws -> [UInt8]?
    /// After a key was destroyed: leaves no copy of it in the store's files (for SQLite, the
    /// WAL is written into the database file and truncated). False when another connection
    /// kept it from completing; running it again later completes it.
    func purgeDestroyedKeys() throws -> Bool
}

/// Appends inside one open write transaction: assigns positions and versions and extends
/// the hash chain. Valid only inside `EventStore.write`.
public protocol AppendTransaction: AnyObject {
    /// Position and hash of the last event, counting those appended in this transaction.
    var lastPosition: Int64 { get }
    var lastHash: [UInt8] { get }
    /// The `recordedAt` written on every event of this transaction.
    var recordedAt: String { get }
    /// The stream's current version, counting events appended in this transaction.
    func version(of stream: String) throws -> Int64
    /// The stored event with this id, if any (counting this transaction's).
    func storedEvent(id: String) throws -> StoredIdentity?
    /// Says that `storedEvent` and `append` are about to be asked about these ids: a server
    /// backend looks them all up at once. Only a hint; answers are the same without it.
    func prefetch(eventIds: [String]) throws
    /// Appends one event at the next version of its stream and the next position of the log.
    /// An id already stored (in the log or earlier in this transaction) is refused with
    /// `eventIdReused` and nothing is written; the transaction stays usable, and the next
    /// append takes the same position and version, so a caller may go on with another id.
    @discardableResult
    func append(_ event: NewEvent) throws -> AppendOutcome
    /// Appends an event copied from another ledger as it was recorded there, with its
    /// `recordedAt` and hash (`clientledger copy`). It must be the next position of this log
    /// and the next version of its stream, and its stored hash must be the one the chain gives
    /// its fields here; otherwise it is refused with `corrupt` and nothing is written.
    func appendCopy(_ event: RecordedEvent) throws
    /// Commits what was appended so far (durably, as a `write` that returned) and goes on in a
    /// new transaction: for long imports committed in batches. Throws `conflict` when another
    /// writer committed in between, since what the caller planned rests on the old head.
    func commitAndContinue() throws

    /// The personal-data key of a stream, counting keys made in this transaction.
    func personalDataKey(stream: String) throws -> [UInt8]?
    /// The stream's key, made with `newKey` (and kept with this transaction) when it has none.
    func personalDataKey(stream: String, creating newKey: () -> [UInt8]) throws -> [UInt8]
    /// Destroys the stream's key, overwriting it where it was stored; false when it had none.
    func destroyPersonalDataKey(stream: String) throws -> Bool
}

extension AppendTransaction {
    public func prefetch(eventIds: [String]) throws {}

    /// Throws `conflict` unless the stream is at the expected version.
    public func check(stream: String, expected: ExpectedVersion) throws {
        let current = try version(of: stream)
        guard expected.matches(current) else {
            throw StorageError.conflict(stream: stream, expected: expected, actual: current)
        }
    }
}

extension EventStore {
    public var scansChainInParts: Bool { false }

    /// The rows of `scanChain` in `positions`, for backends without a range of their own.
    public func scanChain(
        positions: ClosedRange<Int64>, _ body: (HashChain.FieldBytes, _ streamKey: Int64, _ hash: UnsafeRawBufferPointer) throws -> Bool
    ) throws {
        try scanChain { fields, streamKey, hash in
            if fields.position < positions.lowerBound { return true }
            if fields.position > positions.upperBound { return false }
            return try body(fields, streamKey, hash)
        }
    }

    public func storedEvents(ids: [String]) throws -> [String: StoredIdentity] {
        var found: [String: StoredIdentity] = [:]
        for id in ids { if let stored = try storedEvent(id: id) { found[id] = stored } }
        return found
    }

    /// Appends a batch in one transaction. An event whose id is already stored is not
    /// written again and its stored position is returned; the same id with other content is
    /// refused. `expected` applies to the first new event of each stream in the batch.
    @discardableResult
    public func append(_ events: [NewEvent], expected: ExpectedVersion = .any) throws -> [AppendOutcome] {
        try write { transaction in
            var checked = Set<String>()
            return try events.map { event in
                if let stored = try transaction.storedEvent(id: event.eventId) {
                    guard stored.matches(event) else {
                        throw StorageError.eventIdReused(eventId: event.eventId, position: stored.position)
                    }
                    return AppendOutcome(position: stored.position, version: stored.version, written: false)
                }
                if checked.insert(event.stream).inserted {
                    try transaction.check(stream: event.stream, expected: expected)
                }
                return try transaction.append(event)
            }
        }
    }

    /// Every event matching `query`, in position order.
    public func events(_ query: EventQuery) throws -> [RecordedEvent] {
        var result: [RecordedEvent] = []
        try scan(query) { result.append($0); return true }
        return result
    }
}

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
