import LedgerCore
import LedgerStorage

extension SQLiteEventStore {
    /// The audit's fast path: each row's chain fields written as text into reused buffers
    /// (ids, times and derived metadata), names from the catalogue, nothing allocated per row.
    public func scanChain(_ body: (HashChain.FieldBytes, Int64, UnsafeRawBufferPointer) throws -> Bool) throws {
        try mapped {
            try catalog.loadAllStreams(on: connection)
            var streams: [Int64: [UInt8]] = [:]
            var types: [Int64: [UInt8]] = [:]
            var rules: [Int64: [UInt8]] = [:]
            func bytes(_ id: Int64, _ kind: Catalog.Kind, _ cache: inout [Int64: [UInt8]]) throws -> [UInt8] {
                if let known = cache[id] { return known }
                let name = Array((try catalog.name(of: id, kind, on: connection) ?? "").utf8)
                cache[id] = name
                return name
            }
            let statement = try connection.prepare(
                """
                SELECT l.position, l.stream_id, l.version, l.event_id, l.type_id, l.schema_version, l.occurred_ms,
                       l.recorded_ms, l.data, l.metadata, l.correlation, c.event_id, l.rules_id, l.hash
                FROM log l LEFT JOIN log c ON c.position = l.cause_position ORDER BY l.position
                """)
            var eventId = [UInt8]()
            var metadata = [UInt8]()
            var cause = [UInt8]()
            var occurred = [UInt8](repeating: 0, count: 24)
            var recorded = [UInt8](repeating: 0, count: 24)
            let prefix = Array(CompactForm.DecisionMetadata.prefix.utf8)
            let causeKey = Array(#"","causationId":""#.utf8)
            let rulesKey = Array(#"","rulesVersion":""#.utf8)
            let suffix = Array(#""}"#.utf8)
            while try statement.step() {
                let streamId = statement.int64(at: 1)
                let stream = try bytes(streamId, .stream, &streams)
                let type = try bytes(statement.int64(at: 4), .type, &types)
                eventId.removeAll(keepingCapacity: true)
                CompactForm.appendIdText(statement, at: 3, to: &eventId)
                occurred.withUnsafeMutableBufferPointer { Timestamp(millisecondsSinceEpoch: statement.int64(at: 6)).write(into: $0) }
                recorded.withUnsafeMutableBufferPointer { Timestamp(millisecondsSinceEpoch: statement.int64(at: 7)).write(into: $0) }
                metadata.removeAll(keepingCapacity: true)
                if statement.isNull(at: 9) {
                    cause.removeAll(keepingCapacity: true)
                    CompactForm.appendIdText(statement, at: 11, to: &cause)
                    metadata.append(contentsOf: prefix)
                    if statement.isNull(at: 10) { metadata.append(contentsOf: cause) } else { statement.withBytes(at: 10) { metadata.append(contentsOf: $0) } }
                    metadata.append(contentsOf: causeKey)
                    metadata.append(contentsOf: cause)
                    metadata.append(contentsOf: rulesKey)
                    metadata.append(contentsOf: try bytes(statement.int64(at: 12), .rules, &rules))
                    metadata.append(contentsOf: suffix)
                } else {
                    statement.withBytes(at: 9) { metadata.append(contentsOf: $0) }
                }
                let keepGoing = try stream.withUnsafeBytes { stream in
                    try type.withUnsafeBytes { type in
                        try eventId.withUnsafeBytes { eventId in
                            try occurred.withUnsafeBytes { occurred in
                                try recorded.withUnsafeBytes { recorded in
                                    try metadata.withUnsafeBytes { metadata in
                                        try statement.withBytes(at: 8) { data in
                                            try statement.withBytes(at: 13) { hash in
                                                try body(HashChain.FieldBytes(
                                                    position: statement.int64(at: 0), version: statement.int64(at: 2),
                                                    schemaVersion: statement.int64(at: 5), stream: stream, eventId: eventId, type: type,
                                                    occurredAt: occurred, recordedAt: recorded, data: data, metadata: metadata),
                                                    streamId, hash)
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                guard keepGoing else { break }
            }
        }
    }
}
