import Foundation
import LedgerCore
import LedgerStorage

extension SQLiteEventStore {
    /// The audit's fast path, on two threads: a reader steps through the log and copies each
    /// row's stored columns into chunks (names resolved from the catalogue); this thread turns
    /// them into the chain's text fields (ids, times and derived metadata, in reused buffers)
    /// and calls `body`, in position order. SQLite's own work is about a third of an audit,
    /// the text fields and the hashing the rest, so the two halves run side by side.
    public func scanChain(_ body: (HashChain.FieldBytes, Int64, UnsafeRawBufferPointer) throws -> Bool) throws {
        try mapped {
            try catalog.loadAllStreams(on: connection)
            let statement = try connection.prepare(
                """
                SELECT l.position, l.stream_id, l.version, l.event_id, l.type_id, l.schema_version, l.occurred_ms,
                       l.recorded_ms, l.data, l.metadata, l.correlation, l.cause_position, l.rules_id, l.hash
                FROM log l ORDER BY l.position
                """)
            let chunks = ChainChunks(capacity: 4)
            let handles = ChainReader.Handles(statement: statement, catalog: catalog, connection: connection)
            let thread = Thread {
                // The reader's state is this thread's own value: no dynamic exclusivity check
                // on each row's access to it (as a class's properties had: a tenth of its time).
                var reader = ChainReader(handles)
                reader.run(into: chunks)
            }
            thread.stackSize = 1 << 20
            thread.start()
            defer {
                chunks.cancel()
                chunks.waitUntilReaderStopped()
            }
            var text = ChainText()
            while let chunk = try chunks.take() {
                let goOn = try chunk.bytes.withUnsafeBytes { all in
                    for row in 0..<chunk.count {
                        let n = chunk.numbers(row)
                        func field(_ k: Int) -> UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: all[chunk.range(row, k)]) }
                        text.setEventId(field(ChainChunk.eventId), isBlob: n.flags & ChainChunk.eventIdIsBlob != 0)
                        text.setMoments(occurredMs: n.occurredMs, recordedMs: n.recordedMs)
                        if n.flags & ChainChunk.metadataDerived != 0 {
                            let causeIsBlob = n.flags & ChainChunk.causeIsBlob != 0
                            text.setDerivedMetadata(
                                correlation: n.flags & ChainChunk.hasCorrelation != 0 ? field(ChainChunk.metadata) : nil,
                                rules: field(ChainChunk.rules)) { CompactForm.appendIdText(field(ChainChunk.cause), isBlob: causeIsBlob, to: &$0) }
                        } else {
                            text.setMetadata(field(ChainChunk.metadata))
                        }
                        let keepGoing = try text.withFields(
                            position: n.position, version: n.version, schemaVersion: n.schemaVersion,
                            stream: field(ChainChunk.stream), type: field(ChainChunk.type), data: field(ChainChunk.data)
                        ) { try body($0, n.streamKey, field(ChainChunk.hash)) }
                        if !keepGoing { return false }
                    }
                    return true
                }
                if !goOn { break }
            }
        }
    }
}

extension SQLiteEventStore {
    /// Stream numbers are the catalogue's ids, the same on every handle, and one thread that
    /// reads and hashes a part (no hand-off, no copy of the columns) spends about 1.8 µs of
    /// CPU an event against 2.3 µs for the two-thread `scanChain`: two parts side by side use
    /// both cores for less work.
    public var scansChainInParts: Bool { true }

    /// The rows with positions in `positions`, read and turned into chain fields on this thread.
    public func scanChain(
        positions: ClosedRange<Int64>, _ body: (HashChain.FieldBytes, Int64, UnsafeRawBufferPointer) throws -> Bool
    ) throws {
        try mapped {
            try catalog.loadAllStreams(on: connection)
            let statement = try connection.prepare(
                """
                SELECT l.position, l.stream_id, l.version, l.event_id, l.type_id, l.schema_version, l.occurred_ms,
                       l.recorded_ms, l.data, l.metadata, l.correlation, l.cause_position, l.rules_id, l.hash
                FROM log l WHERE l.position BETWEEN ?1 AND ?2 ORDER BY l.position
                """)
            statement.bind(positions.lowerBound, at: 1)
            statement.bind(positions.upperBound, at: 2)
            var reader = ChainReader(ChainReader.Handles(statement: statement, catalog: catalog, connection: connection))
            try reader.forEachRow(body)
        }
    }
}

/// Rows of the log as stored, copied out of SQLite for the audit's second thread: per row a
/// few integers and the end offsets of its byte fields in one buffer.
struct ChainChunk: Sendable {
    static let rows = 2_048
    static let fieldCount = 7
    // Byte fields, in the order they are copied.
    static let stream = 0, type = 1, eventId = 2, data = 3, metadata = 4, cause = 5, rules = 6
    static let hash = 7
    // Flags.
    static let eventIdIsBlob: Int64 = 1, causeIsBlob: Int64 = 2, metadataDerived: Int64 = 4, hasCorrelation: Int64 = 8

    struct Numbers {
        var position, streamKey, version, schemaVersion, occurredMs, recordedMs, flags: Int64
    }

    private(set) var count = 0
    private var integers: [Int64] = []
    /// End offsets of the byte fields (eight a row: the seven above and the hash).
    private var ends: [Int] = []
    private(set) var bytes: [UInt8] = []

    init() {
        integers.reserveCapacity(Self.rows * 7)
        ends.reserveCapacity(Self.rows * 8)
        bytes.reserveCapacity(Self.rows * 320)
    }

    var isFull: Bool { count >= Self.rows }

    func numbers(_ row: Int) -> Numbers {
        let i = row * 7
        return Numbers(
            position: integers[i], streamKey: integers[i + 1], version: integers[i + 2], schemaVersion: integers[i + 3],
            occurredMs: integers[i + 4], recordedMs: integers[i + 5], flags: integers[i + 6])
    }

    func range(_ row: Int, _ field: Int) -> Range<Int> {
        let index = row * 8 + field
        let start = index == 0 ? 0 : ends[index - 1]
        return start..<ends[index]
    }

    mutating func add(_ numbers: Numbers) {
        integers.append(numbers.position)
        integers.append(numbers.streamKey)
        integers.append(numbers.version)
        integers.append(numbers.schemaVersion)
        integers.append(numbers.occurredMs)
        integers.append(numbers.recordedMs)
        integers.append(numbers.flags)
        count += 1
    }

    mutating func append(_ field: UnsafeRawBufferPointer) {
        bytes.append(contentsOf: field)
        ends.append(bytes.count)
    }

    mutating func append(_ field: [UInt8]) {
        bytes.append(contentsOf: field)
        ends.append(bytes.count)
    }
}

/// Reads the log's rows for the audit: on the reading thread of `scanChain`, filling chunks
/// (it owns the connection while the scan runs; the calling thread only waits for chunks),
/// or on the calling thread for one half, turning each row into chain fields (`forEachRow`).
private struct ChainReader {
    /// What the reading thread is handed: the connection is its alone until the scan ends.
    final class Handles: @unchecked Sendable {
        let statement: Statement
        let catalog: Catalog
        let connection: Connection

        init(statement: Statement, catalog: Catalog, connection: Connection) {
            self.statement = statement
            self.catalog = catalog
            self.connection = connection
        }
    }

    let statement: Statement
    let catalog: Catalog
    let connection: Connection
    /// Names by id: streams, event types and rules versions have small dense ids.
    var streams = DenseMap<[UInt8]>()
    var types = DenseMap<[UInt8]>()
    var rules = DenseMap<[UInt8]>()

    init(_ handles: Handles) {
        statement = handles.statement
        catalog = handles.catalog
        connection = handles.connection
    }

    mutating func run(into chunks: ChainChunks) {
        do {
            var chunk = ChainChunk()
            while try statement.step() {
                try add(to: &chunk)
                if chunk.isFull {
                    guard chunks.put(chunk) else { return chunks.finish(nil) }
                    chunk = ChainChunk()
                }
            }
            if chunk.count > 0, !chunks.put(chunk) { return chunks.finish(nil) }
            chunks.finish(nil)
        } catch {
            chunks.finish(error)
        }
    }

    /// The ids of the last rows read, by position: a decision's cause is nearly always a few
    /// rows back, so its id is found here rather than by a lookup (a join cost the reader a
    /// B-tree descent a row).
    static let recentSlots = 4_096
    static let slotBytes = 64
    var recentPositions = [Int64](repeating: 0, count: recentSlots)
    var recentLengths = [Int](repeating: 0, count: recentSlots)
    var recentIsBlob = [Bool](repeating: false, count: recentSlots)
    var recentIds = [UInt8](repeating: 0, count: recentSlots * slotBytes)
    private var causeQuery: Statement?

    private mutating func add(to chunk: inout ChainChunk) throws {
        let s = statement
        let position = s.int64(at: 0)
        let streamId = s.int64(at: 1)
        var flags: Int64 = 0
        let idIsBlob = s.isBlob(at: 3)
        if idIsBlob { flags |= ChainChunk.eventIdIsBlob }
        let derived = s.isNull(at: 9)
        var cause = Cause.missing
        if derived {
            flags |= ChainChunk.metadataDerived
            if !s.isNull(at: 11) { cause = try self.cause(at: s.int64(at: 11)) }
            if cause.isBlob { flags |= ChainChunk.causeIsBlob }
            if !s.isNull(at: 10) { flags |= ChainChunk.hasCorrelation }
        }
        chunk.add(ChainChunk.Numbers(
            position: position, streamKey: streamId, version: s.int64(at: 2), schemaVersion: s.int64(at: 5),
            occurredMs: s.int64(at: 6), recordedMs: s.int64(at: 7), flags: flags))
        chunk.append(try Self.name(streamId, .stream, &streams, catalog: catalog, connection: connection))
        chunk.append(try Self.name(s.int64(at: 4), .type, &types, catalog: catalog, connection: connection))
        s.withBytes(at: 3) { chunk.append($0) }
        s.withBytes(at: 8) { chunk.append($0) }
        // Explicit metadata, or a derived decision's correlation (empty when it is the cause).
        s.withBytes(at: derived ? 10 : 9) { chunk.append($0) }
        if derived {
            append(cause, to: &chunk)
            chunk.append(try Self.name(s.int64(at: 12), .rules, &rules, catalog: catalog, connection: connection))
        } else {
            chunk.append(UnsafeRawBufferPointer(start: nil, count: 0))
            chunk.append(UnsafeRawBufferPointer(start: nil, count: 0))
        }
        s.withBytes(at: 13) { chunk.append($0) }
        // Kept last: this row's slot may be the one its own cause was found in (4,096 rows back).
        s.withBytes(at: 3) { remember($0, isBlob: idIsBlob, at: position) }
    }

    /// Where the id of the row at `position` is kept (positions below 1, which only a damaged
    /// log holds, are never kept).
    private static func slot(of position: Int64) -> Int? {
        position > 0 ? Int(position % Int64(recentSlots)) : nil
    }

    mutating func remember(_ id: UnsafeRawBufferPointer, isBlob: Bool, at position: Int64) {
        guard id.count <= Self.slotBytes, let slot = Self.slot(of: position) else { return }
        recentPositions[slot] = position
        recentLengths[slot] = id.count
        recentIsBlob[slot] = isBlob
        recentIds.withUnsafeMutableBytes { all in
            UnsafeMutableRawBufferPointer(rebasing: all[(slot * Self.slotBytes)...]).copyMemory(from: id)
        }
    }

    /// Where a decision's cause id is: among the recent rows (no copy), looked up, or missing.
    enum Cause {
        case recent(slot: Int, isBlob: Bool)
        case stored([UInt8], isBlob: Bool)
        case missing

        var isBlob: Bool {
            switch self {
            case .recent(_, let isBlob), .stored(_, let isBlob): isBlob
            case .missing: false
            }
        }
    }

    /// The stored id of the row at `position`: from the recent rows, else looked up. Missing
    /// when there is no such row (the hash then cannot verify, and the audit says where).
    mutating func cause(at position: Int64) throws -> Cause {
        if let slot = Self.slot(of: position), recentPositions[slot] == position {
            return .recent(slot: slot, isBlob: recentIsBlob[slot])
        }
        let query = try causeQuery ?? connection.prepare("SELECT event_id FROM log WHERE position = ?")
        causeQuery = query
        query.reset()
        query.bind(position, at: 1)
        defer { query.reset() }
        guard try query.step() else { return .missing }
        var bytes: [UInt8] = []
        query.withBytes(at: 0) { bytes = Array($0) }
        return .stored(bytes, isBlob: query.isBlob(at: 0))
    }

    private func append(_ cause: Cause, to chunk: inout ChainChunk) {
        switch cause {
        case .recent(let slot, _):
            let start = slot * Self.slotBytes
            recentIds.withUnsafeBytes { chunk.append(UnsafeRawBufferPointer(rebasing: $0[start..<(start + recentLengths[slot])])) }
        case .stored(let bytes, _):
            chunk.append(bytes)
        case .missing:
            chunk.append(UnsafeRawBufferPointer(start: nil, count: 0))
        }
    }

    /// The name of a catalogue id, looked up once.
    static func name(
        _ id: Int64, _ kind: Catalog.Kind, _ known: inout DenseMap<[UInt8]>, catalog: Catalog, connection: Connection
    ) throws -> [UInt8] {
        if let name = known[id] { return name }
        let bytes = Array((try catalog.name(of: id, kind, on: connection) ?? "").utf8)
        known[id] = bytes
        return bytes
    }
}

/// A bounded hand-off of chunks from the audit's reading thread.
private final class ChainChunks: @unchecked Sendable {
    private let condition = NSCondition()
    private var chunks: [ChainChunk] = []
    private let capacity: Int
    private var finished = false
    private var cancelled = false
    private var failure: (any Error)?

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Adds a chunk; false when the consumer has stopped.
    func put(_ chunk: ChainChunk) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while chunks.count >= capacity, !cancelled { condition.wait() }
        guard !cancelled else { return false }
        chunks.append(chunk)
        condition.broadcast()
        return true
    }

    func finish(_ error: (any Error)?) {
        condition.lock()
        finished = true
        failure = error
        condition.broadcast()
        condition.unlock()
    }

    /// The next chunk; nil at the end; the reader's error once the chunks before it are taken.
    func take() throws -> ChainChunk? {
        condition.lock()
        defer { condition.unlock() }
        while chunks.isEmpty, !finished { condition.wait() }
        if !chunks.isEmpty {
            condition.broadcast()
            return chunks.removeFirst()
        }
        if let failure { throw failure }
        return nil
    }

    func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        condition.unlock()
    }

    func waitUntilReaderStopped() {
        condition.lock()
        while !finished { condition.wait() }
        condition.unlock()
    }
}

extension ChainReader {
    /// Steps the statement and calls `body` with each row's chain fields, on this thread:
    /// no chunk, no copy of the columns.
    mutating func forEachRow(_ body: (HashChain.FieldBytes, Int64, UnsafeRawBufferPointer) throws -> Bool) throws {
        var text = ChainText()
        let s = statement
        while try s.step() {
            let position = s.int64(at: 0)
            let streamId = s.int64(at: 1)
            let idIsBlob = s.isBlob(at: 3)
            if s.isNull(at: 9) {
                let cause = s.isNull(at: 11) ? Cause.missing : try self.cause(at: s.int64(at: 11))
                let rulesVersion = try Self.name(s.int64(at: 12), .rules, &rules, catalog: catalog, connection: connection)
                let hasCorrelation = !s.isNull(at: 10)
                s.withStoredBytes(at: 10) { correlation in
                    rulesVersion.withUnsafeBytes { rules in
                        text.setDerivedMetadata(correlation: hasCorrelation ? correlation : nil, rules: rules) { appendText(of: cause, to: &$0) }
                    }
                }
            } else {
                s.withStoredBytes(at: 9) { text.setMetadata($0) }
            }
            s.withStoredBytes(at: 3) { id in
                text.setEventId(id, isBlob: idIsBlob)
                // After the cause was looked up: this row's slot may be the one its cause was in.
                remember(id, isBlob: idIsBlob, at: position)
            }
            text.setMoments(occurredMs: s.int64(at: 6), recordedMs: s.int64(at: 7))
            let stream = try Self.name(streamId, .stream, &streams, catalog: catalog, connection: connection)
            let type = try Self.name(s.int64(at: 4), .type, &types, catalog: catalog, connection: connection)
            let version = s.int64(at: 2), schemaVersion = s.int64(at: 5)
            let keepGoing = try stream.withUnsafeBytes { stream in try type.withUnsafeBytes { type in
                try s.withStoredBytes(at: 8) { data in
                    try text.withFields(
                        position: position, version: version, schemaVersion: schemaVersion, stream: stream, type: type, data: data
                    ) { fields in try s.withStoredBytes(at: 13) { hash in try body(fields, streamId, hash) } }
                }
            } }
            if !keepGoing { return }
        }
    }

    private func appendText(of cause: Cause, to out: inout [UInt8]) {
        switch cause {
        case .recent(let slot, let isBlob):
            let start = slot * Self.slotBytes
            recentIds.withUnsafeBytes {
                CompactForm.appendIdText(UnsafeRawBufferPointer(rebasing: $0[start..<(start + recentLengths[slot])]), isBlob: isBlob, to: &out)
            }
        case .stored(let bytes, let isBlob):
            bytes.withUnsafeBytes { CompactForm.appendIdText($0, isBlob: isBlob, to: &out) }
        case .missing:
            break
        }
    }
}

/// The chain's text fields that the stored form keeps in a shorter shape — the event id,
/// the two moments, a decision's metadata derived from its cause — rebuilt into buffers
/// reused from event to event.
struct ChainText {
    private var eventId = [UInt8]()
    private var metadata = [UInt8]()
    private var occurred = [UInt8](repeating: 0, count: 24)
    private var recorded = [UInt8](repeating: 0, count: 24)
    private var occurredMs: Int64?
    private var recordedMs: Int64?
    private let prefix = Array(CompactForm.DecisionMetadata.prefix.utf8)
    private let causeKey = Array(#"","causationId":""#.utf8)
    private let rulesKey = Array(#"","rulesVersion":""#.utf8)
    private let suffix = Array(#""}"#.utf8)

    mutating func setEventId(_ stored: UnsafeRawBufferPointer, isBlob: Bool) {
        eventId.removeAll(keepingCapacity: true)
        CompactForm.appendIdText(stored, isBlob: isBlob, to: &eventId)
    }

    /// A decision shares its fact's moment, and an import's rows their recording moment: the
    /// text is redone only when the moment changes.
    mutating func setMoments(occurredMs occurredAt: Int64, recordedMs recordedAt: Int64) {
        if occurredAt != occurredMs {
            occurredMs = occurredAt
            occurred.withUnsafeMutableBufferPointer { Timestamp(millisecondsSinceEpoch: occurredAt).write(into: $0) }
        }
        if recordedAt != recordedMs {
            recordedMs = recordedAt
            recorded.withUnsafeMutableBufferPointer { Timestamp(millisecondsSinceEpoch: recordedAt).write(into: $0) }
        }
    }

    mutating func setMetadata(_ stored: UnsafeRawBufferPointer) {
        metadata.removeAll(keepingCapacity: true)
        metadata.append(contentsOf: stored)
    }

    /// A decision's metadata, derived from its cause (docs/storage.md): the correlation is the
    /// cause's id unless one is stored; `appendCause` appends the cause's id text.
    mutating func setDerivedMetadata(
        correlation: UnsafeRawBufferPointer?, rules: UnsafeRawBufferPointer, appendCause: (inout [UInt8]) -> Void
    ) {
        metadata.removeAll(keepingCapacity: true)
        metadata.append(contentsOf: prefix)
        if let correlation { metadata.append(contentsOf: correlation) } else { appendCause(&metadata) }
        metadata.append(contentsOf: causeKey)
        appendCause(&metadata)
        metadata.append(contentsOf: rulesKey)
        metadata.append(contentsOf: rules)
        metadata.append(contentsOf: suffix)
    }

    /// The chain fields of the row, with the text set above, lent to `body`.
    func withFields<R>(
        position: Int64, version: Int64, schemaVersion: Int64, stream: UnsafeRawBufferPointer,
        type: UnsafeRawBufferPointer, data: UnsafeRawBufferPointer, _ body: (HashChain.FieldBytes) throws -> R
    ) rethrows -> R {
        try eventId.withUnsafeBytes { eventId in try occurred.withUnsafeBytes { occurred in
            try recorded.withUnsafeBytes { recorded in try metadata.withUnsafeBytes { metadata in
                try body(HashChain.FieldBytes(
                    position: position, version: version, schemaVersion: schemaVersion, stream: stream, eventId: eventId,
                    type: type, occurredAt: occurred, recordedAt: recorded, data: data, metadata: metadata))
            } }
        } }
    }
}
