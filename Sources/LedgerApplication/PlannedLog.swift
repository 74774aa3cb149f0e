import Foundation
import LedgerCore
import LedgerDomain
import LedgerStorage

/// The events an open transaction has planned, per client: what the late-fact policy reads
/// besides the stream as committed (the planner's connection does not see what the writer
/// has not committed yet).
///
/// An import plans millions of events and a late fact needs the whole stream of one client,
/// so the events are not kept as values: each is appended, in the stored text form, to a
/// buffer that moves to an unlinked temporary file (`ScratchFile`) past `bufferLimit` bytes, and each record
/// points back at the previous record of its client. Memory is the buffer and one offset per
/// client touched, kept by the client's number in the pass (`ClientNumbers`); a late fact reads its client's records back and decodes them with the one
/// stored-event decoder. Nothing of the file outlives the import (it has no name once
/// created, and is closed with the log).
final class PlannedLog {
    /// Bytes kept in memory before they are written to the file.
    static let defaultBufferLimit = 1 << 20
    private let bufferLimit: Int
    private static let headerSize = 8 + 4 + 1 + 2 + 8 + 2 + 1 + 4

    private var buffer: [UInt8] = []
    /// Bytes already in the file; the buffer starts at this offset.
    private var flushed: Int64 = 0
    private let file = ScratchFile(holding: "the planned events")
    /// The offset of each client's latest record, plus one (0: none), by client number.
    private var latest: [Int64] = []

    init(bufferLimit: Int = PlannedLog.defaultBufferLimit) {
        self.bufferLimit = max(1, bufferLimit)
        buffer.reserveCapacity(min(self.bufferLimit, 1 << 16))
    }

    /// Bytes held in memory: the buffer and the offsets by client.
    var approximateBytes: Int { buffer.capacity + latest.capacity * 8 }

    /// Notes an event planned for the client numbered `number` (`clientId` names it in an error).
    func append(_ number: Int, _ clientId: String, _ event: NewEvent, isDecision: Bool) throws {
        let offset = flushed + Int64(buffer.count)
        let id = Array(event.eventId.utf8), type = Array(event.type.utf8), data = Array(event.data.utf8)
        guard id.count <= Int(UInt16.max), type.count <= Int(UInt8.max), data.count <= Int(Int32.max) else {
            throw StorageError.backend("a planned event of \(clientId) is too large to keep")
        }
        let length = Self.headerSize + id.count + type.count + data.count
        if number >= latest.count { latest.append(contentsOf: repeatElement(0, count: number + 1 - latest.count)) }
        put(UInt64(bitPattern: latest[number]), 8)
        put(UInt64(length), 4)
        buffer.append(isDecision ? 1 : 0)
        put(UInt64(event.schemaVersion), 2)
        put(UInt64(bitPattern: event.occurredAt.millisecondsSinceEpoch), 8)
        put(UInt64(id.count), 2)
        buffer.append(UInt8(type.count))
        put(UInt64(data.count), 4)
        buffer += id
        buffer += type
        buffer += data
        latest[number] = offset + 1
        if buffer.count >= bufferLimit { try flush() }
    }

    /// The planned events of the client numbered `number`, in the order they were planned.
    func events(of number: Int) throws -> [LoggedEvent] {
        var events: [LoggedEvent] = []
        var next = number < latest.count ? latest[number] : 0
        while next > 0 {
            let record = try read(at: next - 1)
            events.append(record.event)
            next = record.previous
        }
        events.reverse()
        return events
    }

    // MARK: - Records

    private func put(_ value: UInt64, _ bytes: Int) {
        for index in 0..<bytes { buffer.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(index)))) }
    }

    private func flush() throws {
        try file.write(buffer, at: flushed)
        flushed += Int64(buffer.count)
        buffer.removeAll(keepingCapacity: true)
    }

    private func read(at offset: Int64) throws -> (event: LoggedEvent, previous: Int64) {
        if offset >= flushed {
            let start = Int(offset - flushed)
            let header = Array(buffer[start..<(start + Self.headerSize)])
            let length = Int(Self.value(header, 8, 4))
            return try Self.decode(Array(buffer[start..<(start + length)]))
        }
        let header = try readBytes(at: offset, count: Self.headerSize)
        let length = Int(Self.value(header, 8, 4))
        return try Self.decode(try readBytes(at: offset, count: length))
    }

    private func readBytes(at offset: Int64, count: Int) throws -> [UInt8] {
        try file.read(count: count, at: offset)
    }

    private static func value(_ bytes: [UInt8], _ at: Int, _ count: Int) -> UInt64 {
        var value: UInt64 = 0
        for index in 0..<count { value |= UInt64(bytes[at + index]) << (8 * UInt64(index)) }
        return value
    }

    private static func decode(_ record: [UInt8]) throws -> (event: LoggedEvent, previous: Int64) {
        let previous = Int64(bitPattern: value(record, 0, 8))
        let isDecision = record[12] == 1
        let schemaVersion = Int(value(record, 13, 2))
        let occurredAt = Timestamp(millisecondsSinceEpoch: Int64(bitPattern: value(record, 15, 8)))
        let idCount = Int(value(record, 23, 2)), typeCount = Int(record[25]), dataCount = Int(value(record, 26, 4))
        var at = headerSize
        let eventId = String(decoding: record[at..<(at + idCount)], as: UTF8.self)
        at += idCount
        let type = String(decoding: record[at..<(at + typeCount)], as: UTF8.self)
        at += typeCount
        let data = String(decoding: record[at..<(at + dataCount)], as: UTF8.self)
        let payload = try StoredEvents.payload(type: type, schemaVersion: schemaVersion, data: data, at: "planned event \(eventId)")
        return (LoggedEvent(eventId: eventId, payload: payload, occurredAt: occurredAt, isDecision: isDecision), previous)
    }
}
