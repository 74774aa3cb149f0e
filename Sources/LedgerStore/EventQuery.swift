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

    enum Binding { case text(String), integer(Int64) }

    func sql() -> (String, [Binding]) {
        var clauses: [String] = []
        var bindings: [Binding] = []
        if let stream {
            clauses.append("stream = ?")
            bindings.append(.text(stream))
        }
        if !types.isEmpty {
            clauses.append("type IN (" + types.map { _ in "?" }.joined(separator: ", ") + ")")
            bindings.append(contentsOf: types.map { .text($0) })
        }
        if let fromPosition {
            clauses.append("position >= ?")
            bindings.append(.integer(fromPosition))
        }
        if let toPosition {
            clauses.append("position <= ?")
            bindings.append(.integer(toPosition))
        }
        for (column, bound, op) in [
            ("occurred_at", occurredFrom, ">="), ("occurred_at", occurredTo, "<="),
            ("recorded_at", recordedFrom, ">="), ("recorded_at", recordedTo, "<="),
        ] {
            if let bound {
                clauses.append("\(column) \(op) ?")
                bindings.append(.text(bound.iso8601))
            }
        }
        var sql = "SELECT position, stream, version, event_id, type, schema_version, occurred_at, recorded_at, data, metadata, hash FROM events"
        if !clauses.isEmpty { sql += " WHERE " + clauses.joined(separator: " AND ") }
        sql += " ORDER BY position"
        if let limit { sql += " LIMIT \(max(0, limit))" }
        return (sql, bindings)
    }
}
