import LedgerCore

/// An event on its way into the log. The log assigns its position, version, recorded time and hash.
public struct NewEvent: Sendable, Equatable {
    public var eventId: String
    public var stream: String
    public var type: String
    public var schemaVersion: Int
    public var occurredAt: Timestamp
    /// The payload as compact JSON text.
    public var data: String
    /// Metadata as compact JSON text (`actor`, `channel`, `correlationId`, `causationId`, `rulesVersion`).
    public var metadata: String

    public init(
        eventId: String, stream: String, type: String, schemaVersion: Int = 1,
        occurredAt: Timestamp, data: String, metadata: String = "{}"
    ) {
        self.eventId = eventId
        self.stream = stream
        self.type = type
        self.schemaVersion = schemaVersion
        self.occurredAt = occurredAt
        self.data = data
        self.metadata = metadata
    }
}

/// An event as stored in the log.
public struct RecordedEvent: Sendable, Equatable {
    public var position: Int64
    public var stream: String
    public var version: Int64
    public var eventId: String
    public var type: String
    public var schemaVersion: Int
    /// Stored text of `occurred_at` (fixed-width ISO-8601, UTC).
    public var occurredAt: String
    /// Stored text of `recorded_at` (fixed-width ISO-8601, UTC).
    public var recordedAt: String
    public var data: String
    public var metadata: String
    public var hash: [UInt8]

    public init(
        position: Int64, stream: String, version: Int64, eventId: String, type: String, schemaVersion: Int,
        occurredAt: String, recordedAt: String, data: String, metadata: String, hash: [UInt8]
    ) {
        self.position = position
        self.stream = stream
        self.version = version
        self.eventId = eventId
        self.type = type
        self.schemaVersion = schemaVersion
        self.occurredAt = occurredAt
        self.recordedAt = recordedAt
        self.data = data
        self.metadata = metadata
        self.hash = hash
    }

    /// `occurredAt` as a moment (the ledger only stores parseable moments).
    public var occurredMoment: Timestamp {
        Timestamp(iso8601: occurredAt) ?? Timestamp(millisecondsSinceEpoch: 0)
    }
}

/// The stream version an append expects to find (optimistic concurrency).
public enum ExpectedVersion: Sendable, Equatable {
    /// Append whatever the stream's version.
    case any
    /// The stream must not exist yet.
    case noStream
    /// The stream's current version must be exactly this.
    case exact(Int64)

    public func matches(_ current: Int64) -> Bool {
        switch self {
        case .any: return true
        case .noStream: return current == 0
        case .exact(let version): return current == version
        }
    }

    public var description: String {
        switch self {
        case .any: return "any"
        case .noStream: return "0 (no stream)"
        case .exact(let version): return String(version)
        }
    }
}

/// What the log did with one appended event.
public struct AppendOutcome: Sendable, Equatable {
    public var position: Int64
    public var version: Int64
    /// False when the event id was already stored and nothing was written (a safe retry).
    public var written: Bool

    public init(position: Int64, version: Int64, written: Bool) {
        self.position = position
        self.version = version
        self.written = written
    }
}
