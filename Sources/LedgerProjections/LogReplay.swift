import Foundation
import LedgerDomain
import LedgerStore

/// One client event read back from the log, decoded and upcast.
struct ReplayedEvent: Sendable {
    var position: Int64
    var clientId: String
    var payload: EventPayload
    var occurredAt: Timestamp
}

/// A stored row as raw bytes, copied out of SQLite so that another thread can decode it.
private struct RawRow: Sendable {
    var position: Int64
    var clientId: String
    var type: EventType
    var schemaVersion: Int
    var occurredAt: Timestamp
    var data: [UInt8]
}

/// Reads the log from a position on, decoding payloads on a second thread while this one
/// reads SQLite: decoding JSON, not reading SQLite, is what limits a replay.
enum LogReplay {
    static let chunkSize = 4_096

    /// Calls `body` with each client event after `position`, in position order, up to `head`.
    static func replay(
        _ log: EventLog, after position: Int64, through head: Int64, _ body: (ReplayedEvent) throws -> Void
    ) throws {
        let statement = try log.connection.prepare(
            """
            SELECT position, stream, type, schema_version, occurred_at, data FROM events
            WHERE position > ? AND position <= ? AND stream >= 'client/' AND stream < 'client0'
            ORDER BY position
            """)
        statement.bind(position, at: 1)
        statement.bind(head, at: 2)

        let pipeline = DecodePipeline()
        let decoder = Thread {
            while let chunk = pipeline.nextRaw() {
                pipeline.putDecoded(Result { try chunk.map(decode) })
            }
            pipeline.decoderStopped()
        }
        decoder.stackSize = 8 << 20
        decoder.start()
        defer { pipeline.stop() }

        var raw: [RawRow] = []
        raw.reserveCapacity(chunkSize)
        var inFlight = 0
        func drain(keeping limit: Int) throws {
            while inFlight > limit {
                let decoded = try pipeline.nextDecoded().get()
                inFlight -= 1
                for event in decoded { try body(event) }
            }
        }
        while try statement.step() {
            let typeName = statement.string(at: 2)
            guard let type = EventType(rawValue: typeName) else {
                throw ReplayError(position: statement.int64(at: 0), problem: "unknown event type \(typeName)")
            }
            let occurred = statement.withBytes(at: 4) { Timestamp(iso8601Bytes: $0.bindMemory(to: UInt8.self)) }
            guard let occurred else {
                throw ReplayError(position: statement.int64(at: 0), problem: "occurred_at is not a time")
            }
            let stream = statement.string(at: 1)
            raw.append(RawRow(
                position: statement.int64(at: 0), clientId: String(stream.dropFirst(7)), type: type,
                schemaVersion: statement.int(at: 3), occurredAt: occurred,
                data: statement.withBytes(at: 5) { Array($0) }))
            if raw.count == chunkSize {
                pipeline.putRaw(raw)
                raw.removeAll(keepingCapacity: true)
                inFlight += 1
                try drain(keeping: 4)
            }
        }
        if !raw.isEmpty {
            pipeline.putRaw(raw)
            inFlight += 1
        }
        try drain(keeping: 0)
    }

    private static func decode(_ row: RawRow) throws -> ReplayedEvent {
        let value = try row.data.withUnsafeBufferPointer { try JSONParser.parse($0) }
        guard case .object(let object) = value else {
            throw ReplayError(position: row.position, problem: "data is not a JSON object")
        }
        do {
            let payload = try EventPayload.decode(type: row.type, schemaVersion: row.schemaVersion, data: object)
            return ReplayedEvent(position: row.position, clientId: row.clientId, payload: payload, occurredAt: row.occurredAt)
        } catch {
            throw ReplayError(position: row.position, problem: error.description)
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
    private var raw: [[RawRow]] = []
    private var decoded: [Result<[ReplayedEvent], any Error>] = []
    private var stopped = false
    private var decoderDone = false

    func putRaw(_ chunk: [RawRow]) {
        condition.lock()
        raw.append(chunk)
        condition.broadcast()
        condition.unlock()
    }

    func nextRaw() -> [RawRow]? {
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
