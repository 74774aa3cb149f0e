import Foundation
import LedgerDomain
import LedgerCore
import LedgerStorage

/// One client event read back from the log, decoded and upcast.
struct ReplayedEvent: Sendable {
    var position: Int64
    var clientId: String
    var payload: EventPayload
    var occurredAt: Timestamp
}

/// A stored row, copied out of the store (or a rebuild's range file) so that another thread
/// can decode it; its payload bytes live in the chunk's shared buffer.
struct RawRow: Sendable {
    var position: Int64
    var clientId: String
    var type: EventType
    var schemaVersion: Int
    var occurredAt: Timestamp
    var dataStart: Int
    var dataEnd: Int
}

struct RawChunk: Sendable {
    var rows: [RawRow] = []
    var data: [UInt8] = []
}

/// Gathers rows into chunks of `size`, handing each full chunk (and, at `finish`, the last)
/// to `send`: the one way both the log's replay and a rebuild's range files cut their rows.
struct ChunkBuilder {
    private let size: Int
    private var chunk = RawChunk()

    init(size: Int) {
        self.size = max(1, size)
        chunk.rows.reserveCapacity(self.size)
    }

    mutating func add(
        position: Int64, clientId: String, type: EventType, schemaVersion: Int, occurredAt: Timestamp,
        data: UnsafeRawBufferPointer, _ send: (RawChunk) throws -> Void
    ) throws {
        let start = chunk.data.count
        chunk.data.append(contentsOf: data)
        chunk.rows.append(RawRow(
            position: position, clientId: clientId, type: type, schemaVersion: schemaVersion, occurredAt: occurredAt,
            dataStart: start, dataEnd: chunk.data.count))
        guard chunk.rows.count == size else { return }
        try send(chunk)
        chunk = RawChunk()
        chunk.rows.reserveCapacity(size)
    }

    /// Hands over the rows not yet sent, if any.
    mutating func finish(_ send: (RawChunk) throws -> Void) throws {
        guard !chunk.rows.isEmpty else { return }
        try send(chunk)
        chunk = RawChunk()
    }
}

/// Reads the log from a position on, decoding payloads on a second thread while this one
/// reads SQLite: decoding JSON, not reading SQLite, is what limits a replay.
enum LogReplay {
    /// Rows per hand-over: small enough that a chunk's buffers come from the heap's free
    /// lists rather than fresh pages.
    static let chunkSize = 1_024

    /// Calls `body` with each client event after `position`, in position order, up to `head`.
    static func replay(
        _ log: any EventStore, after position: Int64, through head: Int64, _ body: (ReplayedEvent) throws -> Void
    ) throws {
        try replay(chunks: { send in try readChunks(log, after: position, through: head, send) }, body)
    }

    /// Calls `body` with each event of range `index` of `spill`, in log order.
    static func replay(range index: Int, of spill: RangeSpill, _ body: (ReplayedEvent) throws -> Void) throws {
        try replay(chunks: { send in try spill.read(range: index, chunkSize: chunkSize, send) }, body)
    }

    /// Decodes on a second thread the chunks `chunks` hands over (reading them on this one),
    /// and calls `body` with each event, in order, on this thread.
    private static func replay(
        chunks: (_ send: (RawChunk) throws -> Void) throws -> Void, _ body: (ReplayedEvent) throws -> Void
    ) throws {
        let pipeline = DecodePipeline()
        let decoder = Thread {
            while let chunk = pipeline.nextRaw() {
                pipeline.putDecoded(Result { try decode(chunk) })
            }
            pipeline.decoderStopped()
        }
        decoder.stackSize = 8 << 20
        decoder.start()
        defer { pipeline.stop() }

        // `chunks` and `body` are both the caller's and never call each other.
        try withoutActuallyEscaping(body) { body in
            var inFlight = 0
            func drain(keeping limit: Int) throws {
                while inFlight > limit {
                    let decoded = try pipeline.nextDecoded().get()
                    inFlight -= 1
                    for event in decoded { try body(event) }
                }
            }
            try chunks { chunk in
                pipeline.putRaw(chunk)
                inFlight += 1
                try drain(keeping: 8)
            }
            try drain(keeping: 0)
        }
    }

    /// Like `replay`, but `body` runs on the decoding thread (in position order) and this
    /// thread only reads SQLite: a full rebuild, where the fold is the heavier half, spreads
    /// over both cores. `body` must touch nothing the caller uses until this returns.
    static func replayFoldingOnWorker(
        _ log: any EventStore, after position: Int64, through head: Int64,
        _ fold: @escaping (ReplayedEvent) throws -> Void
    ) throws {
        let body = UncheckedBody(run: fold)
        let pipeline = DecodePipeline()
        let worker = Thread {
            while let chunk = pipeline.nextRaw() {
                do {
                    for event in try decode(chunk) { try body.run(event) }
                    pipeline.chunkDone()
                } catch {
                    pipeline.fail(error)
                    break
                }
            }
            pipeline.decoderStopped()
        }
        worker.stackSize = 8 << 20
        worker.start()
        defer { pipeline.stop() }
        var sent = 0
        try readChunks(log, after: position, through: head) { chunk in
            pipeline.putRaw(chunk)
            sent += 1
            try pipeline.waitUntilDone(atLeast: sent - 8)
        }
        try pipeline.waitUntilDone(atLeast: sent)
    }

    /// Reads client events into chunks of raw bytes, handing each full chunk (and the last) to `send`.
    private static func readChunks(
        _ log: any EventStore, after position: Int64, through head: Int64,
        _ send: (RawChunk) throws -> Void
    ) throws {
        var chunks = ChunkBuilder(size: chunkSize)
        // Client ids and event types, worked out once per stream and per type.
        var clientIds = DenseMap<String>()
        var types = DenseMap<EventType>()
        func each(_ row: StoredEventBytes) throws {
            let type: EventType
            if let known = types[row.typeKey] {
                type = known
            } else {
                guard let named = EventType(rawValue: row.type) else {
                    throw ReplayError(position: row.position, problem: "unknown event type \(row.type)")
                }
                types[row.typeKey] = named
                type = named
            }
            let clientId: String
            if let known = clientIds[row.streamKey] {
                clientId = known
            } else {
                clientId = String(row.stream.dropFirst(7))
                clientIds[row.streamKey] = clientId
            }
            try chunks.add(
                position: row.position, clientId: clientId, type: type, schemaVersion: row.schemaVersion,
                occurredAt: row.occurredAt, data: row.data, send)
        }
        try log.replay(category: "client", after: position, through: head, each)
        try chunks.finish(send)
    }

    private static func decode(_ chunk: RawChunk) throws -> [ReplayedEvent] {
        try chunk.data.withUnsafeBufferPointer { buffer in
            try chunk.rows.map { row in
                let bytes = UnsafeBufferPointer(rebasing: buffer[row.dataStart..<row.dataEnd])
                let payload = try CanonicalPayloadReader.decode(type: row.type, schemaVersion: row.schemaVersion, bytes: bytes)
                    ?? fullDecode(row, bytes)
                return ReplayedEvent(position: row.position, clientId: row.clientId, payload: payload, occurredAt: row.occurredAt)
            }
        }
    }

    /// The general path: parse, validate and upcast.
    private static func fullDecode(_ row: RawRow, _ bytes: UnsafeBufferPointer<UInt8>) throws -> EventPayload {
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes)
        } catch {
            throw ReplayError(position: row.position, problem: "data: \(error)")
        }
        guard case .object(let object) = value else {
            throw ReplayError(position: row.position, problem: "data is not a JSON object")
        }
        do {
            return try EventPayload.decode(type: row.type, schemaVersion: row.schemaVersion, data: object)
        } catch {
            throw ReplayError(position: row.position, problem: error.description)
        }
    }
}

/// The fold handed to the worker thread; the replay waits for the worker before returning,
/// so the closure never outlives the call.
private struct UncheckedBody: @unchecked Sendable {
    let run: (ReplayedEvent) throws -> Void
}

/// A range of client ids (`from` ≤ id < `before`, no upper bound when nil): a rebuild over
/// very many clients folds one range at a time to bound its memory (`RangeSpill`).
struct Partition: Sendable, Equatable {
    var from: String
    var before: String?

    /// `count` ranges with about as many clients each, covering every id: cut at the ids of
    /// `ids` (sorted, as `index(of:in:)` compares them), the first open below and the last above.
    static func split(_ ids: [String], into count: Int) -> [Partition] {
        let count = max(1, min(count, ids.count))
        let cuts = (1..<count).map { ids[$0 * ids.count / count] }
        return (0..<count).map { index in
            Partition(from: index == 0 ? "" : cuts[index - 1], before: index == count - 1 ? nil : cuts[index])
        }
    }
}

/// A stored event the projections cannot read.
public struct ReplayError: Error, CustomStringConvertible, Sendable {
    public var position: Int64
    public var problem: String
    public var description: String { "position \(position): \(problem)" }
}

/// Chunks going to the decoder thread and coming back, in order.
private final class DecodePipeline: @unchecked Sendable {
    private let condition = NSCondition()
    private var raw: [RawChunk] = []
    private var decoded: [Result<[ReplayedEvent], any Error>] = []
    private var stopped = false
    private var decoderDone = false

    func putRaw(_ chunk: RawChunk) {
        condition.lock()
        raw.append(chunk)
        condition.broadcast()
        condition.unlock()
    }

    func nextRaw() -> RawChunk? {
        condition.lock()
        defer { condition.unlock() }
        while raw.isEmpty, !stopped { condition.wait() }
        guard !raw.isEmpty, !stopped else { return nil }
        return raw.removeFirst()
    }

    func putDecoded(_ result: Result<[ReplayedEvent], any Error>) {
        condition.lock()
        decoded.append(result)
        condition.broadcast()
        condition.unlock()
    }

    func nextDecoded() -> Result<[ReplayedEvent], any Error> {
        condition.lock()
        defer { condition.unlock() }
        while decoded.isEmpty { condition.wait() }
        return decoded.removeFirst()
    }

    private var done = 0
    private var workerFailure: (any Error)?

    /// The worker finished folding one more chunk.
    func chunkDone() {
        condition.lock()
        done += 1
        condition.broadcast()
        condition.unlock()
    }

    func fail(_ error: any Error) {
        condition.lock()
        workerFailure = error
        condition.broadcast()
        condition.unlock()
    }

    /// Waits until the worker has folded `count` chunks; throws the worker's error.
    func waitUntilDone(atLeast count: Int) throws {
        condition.lock()
        defer { condition.unlock() }
        while done < count, workerFailure == nil, !decoderDone { condition.wait() }
        if let workerFailure { throw workerFailure }
    }

    func decoderStopped() {
        condition.lock()
        decoderDone = true
        condition.broadcast()
        condition.unlock()
    }

    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        while !decoderDone { condition.wait() }
        condition.unlock()
    }
}
