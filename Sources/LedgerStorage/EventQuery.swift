import LedgerCore

/// A filter over the log: by stream, type, position range and time ranges.
/// Every bound is inclusive; nil means unbounded.
public struct EventQuery: Sendable, Equatable {
    public var stream: String?
    public var types: [String] = []
    public var fromPosition: Int64?
    public var toPosition: Int64?
    /// Bounds on `occurredAt` (when it happened in the world).
    public var occurredFrom: Timestamp?
    public var occurredTo: Timestamp?
    /// Bounds on `recordedAt` (when the ledger learned of it).
    public var recordedFrom: Timestamp?
    public var recordedTo: Timestamp?
    public var limit: Int?

    public init(
        stream: String? = nil, types: [String] = [], fromPosition: Int64? = nil, toPosition: Int64? = nil,
        occurredFrom: Timestamp? = nil, occurredTo: Timestamp? = nil,
        recordedFrom: Timestamp? = nil, recordedTo: Timestamp? = nil, limit: Int? = nil
    ) {
        self.stream = stream
        self.types = types
        self.fromPosition = fromPosition
        self.toPosition = toPosition
        self.occurredFrom = occurredFrom
        self.occurredTo = occurredTo
        self.recordedFrom = recordedFrom
        self.recordedTo = recordedTo
        self.limit = limit
    }

    /// Every event of the log.
    public static let all = EventQuery()
}
