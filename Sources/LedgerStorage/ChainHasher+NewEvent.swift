import LedgerCore

extension ChainHasher {
    /// Extends the chain over `event` as it will be stored at `position` and `version`,
    /// recorded at `recordedAt` (the bytes of its text form), and returns the new hash: what
    /// every adapter's append computes. `scratch` holds the 24 bytes of `occurredAt`'s text.
    public mutating func next(
        _ event: NewEvent, position: Int64, version: Int64, recordedAt: [UInt8], scratch: inout [UInt8]
    ) -> [UInt8] {
        scratch.withUnsafeMutableBufferPointer { event.occurredAt.write(into: $0) }
        var e = event
        e.stream.withUTF8 { stream in e.eventId.withUTF8 { eventId in e.type.withUTF8 { type in
            e.data.withUTF8 { data in e.metadata.withUTF8 { metadata in
                scratch.withUnsafeBytes { occurred in recordedAt.withUnsafeBytes { recorded in
                    next(HashChain.FieldBytes(
                        position: position, version: version, schemaVersion: Int64(event.schemaVersion),
                        stream: UnsafeRawBufferPointer(stream), eventId: UnsafeRawBufferPointer(eventId),
                        type: UnsafeRawBufferPointer(type), occurredAt: occurred, recordedAt: recorded,
                        data: UnsafeRawBufferPointer(data), metadata: UnsafeRawBufferPointer(metadata)))
                } }
            } }
        } } }
        return last
    }
}

/// An event copied from another log, checked against the one it joins (`appendCopy`).
public struct CheckedCopy {
    /// The event as an append would take it, its recorded moment and its (verified) hash.
    public let event: NewEvent
    public let recordedAt: Timestamp
    public let hash: [UInt8]
}

extension ChainHasher {
    /// Checks that `event` takes `position` and `version` with its times in the stored form,
    /// and extends the chain over it; when the hash is not its stored one, the chain is set
    /// back to `previous` and the copy refused (`corrupt`). Every adapter's `appendCopy`.
    public mutating func nextCopy(
        _ event: RecordedEvent, position: Int64, version: Int64, previous: [UInt8], scratch: inout [UInt8]
    ) throws -> CheckedCopy {
        guard event.position == position, event.version == version,
            let occurred = Timestamp(iso8601: event.occurredAt), occurred.iso8601 == event.occurredAt,
            let recorded = Timestamp(iso8601: event.recordedAt), recorded.iso8601 == event.recordedAt
        else {
            throw StorageError.corrupt(
                "the copied event at position \(event.position) (version \(event.version) of \(event.stream)) does not follow this log (position \(position), version \(version)) or its times are not in the stored form")
        }
        let new = NewEvent(
            eventId: event.eventId, stream: event.stream, type: event.type, schemaVersion: event.schemaVersion,
            occurredAt: occurred, data: event.data, metadata: event.metadata)
        let hash = next(new, position: position, version: version, recordedAt: Array(event.recordedAt.utf8), scratch: &scratch)
        guard hash == event.hash else {
            rewind(to: previous)
            throw StorageError.corrupt("the copied event at position \(position) does not hash to its stored hash: the source log is altered")
        }
        return CheckedCopy(event: new, recordedAt: recorded, hash: hash)
    }
}
