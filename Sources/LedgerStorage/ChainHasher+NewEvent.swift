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
