import LedgerCore
import LedgerStorage

/// Reading `log` rows back as the contract's events, with their text forms.
enum StoredRow {
    /// The columns `recorded` reads, in order, for a `log l` with its catalogues and cause.
    static let columns = """
        SELECT l.position, s.name, l.version, l.event_id, t.name, l.schema_version, l.occurred_ms, l.recorded_ms,
               l.data, l.metadata, l.correlation, c.event_id, r.version, l.hash
        FROM log l
        LEFT JOIN streams s ON s.id = l.stream_id
        LEFT JOIN event_types t ON t.id = l.type_id
        LEFT JOIN log c ON c.position = l.cause_position
        LEFT JOIN rules_versions r ON r.id = l.rules_id
        """

    static func recorded(_ statement: Statement, catalog: Catalog, connection: Connection) throws -> RecordedEvent {
        let eventId = CompactForm.idText(statement, at: 3)
        let metadata: String
        if statement.isNull(at: 9) {
            let cause = CompactForm.idText(statement, at: 11)
            metadata = CompactForm.DecisionMetadata.text(
                correlation: statement.optionalString(at: 10), cause: cause, rulesVersion: statement.optionalString(at: 12) ?? "")
        } else {
            metadata = statement.string(at: 9)
        }
        return RecordedEvent(
            position: statement.int64(at: 0), stream: statement.optionalString(at: 1) ?? "", version: statement.int64(at: 2),
            eventId: eventId, type: statement.optionalString(at: 4) ?? "", schemaVersion: statement.int(at: 5),
            occurredAt: Timestamp(millisecondsSinceEpoch: statement.int64(at: 6)).iso8601,
            recordedAt: Timestamp(millisecondsSinceEpoch: statement.int64(at: 7)).iso8601,
            data: statement.string(at: 8), metadata: metadata, hash: statement.blob(at: 13))
    }
}

extension EventQuery {
    enum Binding { case text(String), integer(Int64) }

    /// The query over `log`; nil when it can match nothing (a stream or type never seen).
    func sql(catalog: Catalog, connection: Connection) throws -> (String, [Binding])? {
        var clauses: [String] = []
        var bindings: [Binding] = []
        if let stream {
            guard let id = try catalog.id(of: stream, .stream, on: connection) else { return nil }
            clauses.append("l.stream_id = ?")
            bindings.append(.integer(id))
        }
        if !types.isEmpty {
            let ids = try types.compactMap { try catalog.id(of: $0, .type, on: connection) }
            guard !ids.isEmpty else { return nil }
            clauses.append("l.type_id IN (" + ids.map { _ in "?" }.joined(separator: ", ") + ")")
            bindings.append(contentsOf: ids.map { .integer($0) })
        }
        if let fromPosition {
            clauses.append("l.position >= ?")
            bindings.append(.integer(fromPosition))
        }
        if let toPosition {
            clauses.append("l.position <= ?")
            bindings.append(.integer(toPosition))
        }
        for (column, bound, op) in [
            ("l.occurred_ms", occurredFrom, ">="), ("l.occurred_ms", occurredTo, "<="),
            ("l.recorded_ms", recordedFrom, ">="), ("l.recorded_ms", recordedTo, "<="),
        ] {
            if let bound {
                clauses.append("\(column) \(op) ?")
                bindings.append(.integer(bound.millisecondsSinceEpoch))
            }
        }
        var sql = StoredRow.columns
        if !clauses.isEmpty { sql += " WHERE " + clauses.joined(separator: " AND ") }
        sql += " ORDER BY l.position"
        if let limit { sql += " LIMIT \(max(0, limit))" }
        return (sql, bindings)
    }
}
