import LedgerCore

/// The result of recomputing the hash chain over the whole log.
public struct ChainReport: Sendable, Equatable {
    /// Events read and checked.
    public var eventsChecked: Int64
    /// The first position where the log is not what the chain says, if any.
    public var firstBadPosition: Int64?
    /// Why that position is bad.
    public var problem: String?
    /// Append-only guards (triggers) that are missing or altered.
    public var missingTriggers: [String]
    /// Hash of the last event (the value to write down and compare later).
    public var headHash: String

    public var isIntact: Bool { firstBadPosition == nil && missingTriggers.isEmpty }
}

extension RecordedEvent {
    /// The fields the chain hashes, exactly as stored.
    public var chainFields: HashChain.Fields {
        HashChain.Fields(
            position: position, stream: stream, version: version, eventId: eventId, type: type,
            schemaVersion: Int64(schemaVersion), occurredAt: occurredAt, recordedAt: recordedAt,
            data: data, metadata: metadata)
    }
}

extension EventStore {
    /// The chain fields of `scan(.all)`, for backends without a faster path.
    public func scanChainFromEvents(_ body: (HashChain.FieldBytes, Int64, UnsafeRawBufferPointer) throws -> Bool) throws {
        var keys: [String: Int64] = [:]
        try scan(.all) { event in
            let key = keys[event.stream] ?? Int64(keys.count)
            keys[event.stream] = key
            var e = event
            return try e.stream.withUTF8 { stream in
                try e.eventId.withUTF8 { eventId in
                    try e.type.withUTF8 { type in
                        try e.occurredAt.withUTF8 { occurredAt in
                            try e.recordedAt.withUTF8 { recordedAt in
                                try e.data.withUTF8 { data in
                                    try e.metadata.withUTF8 { metadata in
                                        try e.hash.withUnsafeBytes { hash in
                                            try body(HashChain.FieldBytes(
                                                position: event.position, version: event.version,
                                                schemaVersion: Int64(event.schemaVersion), stream: UnsafeRawBufferPointer(stream),
                                                eventId: UnsafeRawBufferPointer(eventId), type: UnsafeRawBufferPointer(type),
                                                occurredAt: UnsafeRawBufferPointer(occurredAt),
                                                recordedAt: UnsafeRawBufferPointer(recordedAt), data: UnsafeRawBufferPointer(data),
                                                metadata: UnsafeRawBufferPointer(metadata)), key, hash)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Recomputes every hash from position 1, checks positions are gap-free, versions are
    /// 1, 2, 3… within each stream, and that the append-only guards are in place.
    public func verifyChain(progress: ((Int64) -> Void)? = nil) throws -> ChainReport {
        try read {
            let missing = try missingAppendOnlyGuards()
            var hasher = ChainHasher()
            var expectedPosition: Int64 = 1
            // Stream versions by stream key: dense small keys in an array, others in a table.
            var denseVersions: [Int64] = []
            var versions: [Int64: Int64] = [:]
            var checked: Int64 = 0
            var badPosition: Int64?
            var problem: String?
            try scanChain { fields, streamKey, stored in
                if fields.position != expectedPosition {
                    badPosition = expectedPosition
                    problem = "position \(expectedPosition) is missing (next stored position is \(fields.position))"
                    return false
                }
                hasher.next(fields)
                if !hasher.lastEquals(stored) {
                    badPosition = fields.position
                    problem = "hash mismatch: stored \(Array(stored).hexString), recomputed \(hasher.last.hexString)"
                    return false
                }
                let dense = streamKey >= 0 && streamKey < 1 << 26
                if dense, streamKey >= denseVersions.count {
                    denseVersions.append(contentsOf: repeatElement(0, count: Int(streamKey) - denseVersions.count + 1))
                }
                let expectedVersion = (dense ? denseVersions[Int(streamKey)] : versions[streamKey] ?? 0) + 1
                if fields.version != expectedVersion {
                    badPosition = fields.position
                    problem = "stream \(String(decoding: fields.stream, as: UTF8.self)) jumps to version \(fields.version), expected \(expectedVersion)"
                    return false
                }
                if dense { denseVersions[Int(streamKey)] = fields.version } else { versions[streamKey] = fields.version }
                expectedPosition += 1
                checked += 1
                if checked % 100_000 == 0 { progress?(checked) }
                return true
            }
            return ChainReport(
                eventsChecked: checked, firstBadPosition: badPosition, problem: problem,
                missingTriggers: missing, headHash: hasher.last.hexString)
        }
    }
}
