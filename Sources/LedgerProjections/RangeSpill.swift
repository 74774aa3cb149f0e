import LedgerCore
import LedgerDomain
import LedgerStorage

/// The client events of the log, sorted by range of clients into one temporary file per range.
///
/// A rebuild over very many clients folds one range of clients at a time, to bound its memory.
/// Reading each range's events from the log means either the whole log once per range, or a
/// seek per stream through the (stream, version) index (at a million clients, pages read in
/// no order: the log read that way measured 70,000 events/s). Instead the log is read once, in
/// position order, and each client event is copied as stored (its payload still encoded)
/// into the file of its client's range; each range is then folded from its file, in the
/// order the log had. The files are `ScratchFile`s: unlinked, in the system's page cache
/// rather than the process's memory, gone when the rebuild ends however it ends. They take
/// about the size of the events' payloads plus 32 bytes an event.
///
/// `fill` runs on one thread, before any read; each range is then read by one thread (a
/// rebuild folds the next range on a thread of its own while it writes the last one).
final class RangeSpill: @unchecked Sendable {
    /// The ranges, in the order `Partition.split` made them.
    let ranges: [Partition]
    private let buckets: [Bucket]
    /// Client events copied in by `fill`.
    private(set) var events: Int64 = 0

    /// `bufferBytes` is what each range's file gathers in memory before a write, `readBytes`
    /// what a read of it takes at once (tests make both small, so that events straddle writes
    /// and reads, and some are longer than either).
    init(ranges: [Partition], bufferBytes: Int = 256 << 10, readBytes: Int = 1 << 20) {
        self.ranges = ranges.isEmpty ? [Partition(from: "", before: nil)] : ranges
        self.buckets = self.ranges.indices.map { index in
            Bucket(
                file: ScratchFile(holding: "the rebuild's events of client range \(index + 1)"),
                capacity: max(bufferBytes, Record.headerBytes), readBytes: max(readBytes, Record.headerBytes))
        }
    }

    /// Reads the client events of `log` through `head`, in position order, into the ranges' files.
    func fill(from log: any EventStore, through head: Int64) throws {
        var bucketOfStream = DenseMap<Int32>()
        var typeIndex = DenseMap<UInt8>()
        let types = EventType.allCases
        let prefixLength = "client/".count
        try log.replay(category: "client", after: 0, through: head) { row in
            let type: UInt8
            if let known = typeIndex[row.typeKey] {
                type = known
            } else {
                guard let index = EventType(rawValue: row.type).flatMap({ types.firstIndex(of: $0) }) else {
                    throw ReplayError(position: row.position, problem: "unknown event type \(row.type)")
                }
                type = UInt8(index)
                typeIndex[row.typeKey] = type
            }
            guard let schemaVersion = UInt16(exactly: row.schemaVersion) else {
                throw ReplayError(position: row.position, problem: "schema version \(row.schemaVersion) is out of range")
            }
            let bucket: Bucket
            if let known = bucketOfStream[row.streamKey] {
                bucket = buckets[Int(known)]
            } else {
                let clientId = String(row.stream.dropFirst(prefixLength))
                let index = Partition.index(of: clientId, in: ranges)
                bucketOfStream[row.streamKey] = Int32(index)
                bucket = buckets[index]
                // The client's name comes once, before its first event.
                var name = clientId
                try name.withUTF8 { bytes in
                    try bucket.append(
                        Record(position: row.position, streamKey: row.streamKey, occurredMs: 0, schemaVersion: 0, type: Record.streamName),
                        data: UnsafeRawBufferPointer(bytes))
                }
            }
            try bucket.append(
                Record(
                    position: row.position, streamKey: row.streamKey, occurredMs: row.occurredAt.millisecondsSinceEpoch,
                    schemaVersion: schemaVersion, type: type),
                data: row.data)
            bucket.events += 1
            events += 1
        }
        for bucket in buckets { try bucket.flush() }
    }

    /// Calls `send` with range `index`'s events, in log order, in chunks of at most
    /// `chunkSize` rows; then lets its file go.
    func read(range index: Int, chunkSize: Int, _ send: (RawChunk) throws -> Void) throws {
        let bucket = buckets[index]
        defer { bucket.release() }
        let types = EventType.allCases
        var names = DenseMap<String>()
        var chunks = ChunkBuilder(size: chunkSize)
        var read: Int64 = 0
        try bucket.forEachRecord { record, data in
            if record.type == Record.streamName {
                names[record.streamKey] = String(decoding: data, as: UTF8.self)
                return
            }
            guard Int(record.type) < types.count, let clientId = names[record.streamKey] else {
                throw StorageError.backend("the rebuild's temporary file of client range \(index + 1) is damaged at position \(record.position)")
            }
            try chunks.add(
                position: record.position, clientId: clientId, type: types[Int(record.type)],
                schemaVersion: Int(record.schemaVersion), occurredAt: Timestamp(millisecondsSinceEpoch: record.occurredMs),
                data: data, send)
            read += 1
        }
        try chunks.finish(send)
        guard read == bucket.events else {
            throw StorageError.backend("the rebuild's temporary file of client range \(index + 1) gave back \(read) of its \(bucket.events) events")
        }
    }
}

/// The fixed part of an event in a range's file, followed by `length` bytes (the payload as
/// stored, or the client id of a `streamName` record).
struct Record {
    static let headerBytes = 32
    /// The type of a record that names a stream key's client.
    static let streamName: UInt8 = 255

    var position: Int64
    var streamKey: Int64
    var occurredMs: Int64
    var schemaVersion: UInt16
    /// Index in `EventType.allCases`, or `streamName`.
    var type: UInt8

    /// Writes the header at `base` (8-byte fields, then length, schema version and type).
    func store(length: Int, to base: UnsafeMutableRawPointer) {
        base.storeBytes(of: position.littleEndian, as: Int64.self)
        (base + 8).storeBytes(of: streamKey.littleEndian, as: Int64.self)
        (base + 16).storeBytes(of: occurredMs.littleEndian, as: Int64.self)
        (base + 24).storeBytes(of: UInt32(length).littleEndian, as: UInt32.self)
        (base + 28).storeBytes(of: schemaVersion.littleEndian, as: UInt16.self)
        (base + 30).storeBytes(of: type, as: UInt8.self)
        (base + 31).storeBytes(of: 0, as: UInt8.self)
    }

    /// The header at `base`, and the length of the bytes that follow it.
    static func load(from base: UnsafeRawPointer) -> (Record, length: Int) {
        let record = Record(
            position: Int64(littleEndian: base.loadUnaligned(as: Int64.self)),
            streamKey: Int64(littleEndian: (base + 8).loadUnaligned(as: Int64.self)),
            occurredMs: Int64(littleEndian: (base + 16).loadUnaligned(as: Int64.self)),
            schemaVersion: UInt16(littleEndian: (base + 28).loadUnaligned(as: UInt16.self)),
            type: (base + 30).load(as: UInt8.self))
        return (record, Int(UInt32(littleEndian: (base + 24).loadUnaligned(as: UInt32.self))))
    }
}

/// One range's file and the bytes gathered for its next write.
private final class Bucket {
    let file: ScratchFile
    private var buffer: UnsafeMutableRawBufferPointer
    private let readBytes: Int
    private var used = 0
    private var written: Int64 = 0
    var events: Int64 = 0

    init(file: ScratchFile, capacity: Int, readBytes: Int) {
        self.file = file
        self.readBytes = readBytes
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 8)
    }

    deinit { buffer.deallocate() }

    func append(_ record: Record, data: UnsafeRawBufferPointer) throws {
        guard data.count <= Int(UInt32.max) else {
            throw ReplayError(position: record.position, problem: "an event of \(data.count) bytes is too long to set aside")
        }
        let total = Record.headerBytes + data.count
        if used + total > buffer.count { try flush() }
        guard let base = buffer.baseAddress else { return }
        record.store(length: data.count, to: base + used)
        used += Record.headerBytes
        if data.count <= buffer.count - used {
            if let source = data.baseAddress { (base + used).copyMemory(from: source, byteCount: data.count) }
            used += data.count
        } else {
            // Longer than the buffer: the header, then the bytes straight to the file.
            try flush()
            try file.write(data, at: written)
            written += Int64(data.count)
        }
    }

    func flush() throws {
        guard used > 0 else { return }
        try file.write(UnsafeRawBufferPointer(rebasing: buffer[0..<used]), at: written)
        written += Int64(used)
        used = 0
    }

    /// Calls `body` with each record and its bytes, in the order they were appended.
    func forEachRecord(_ body: (Record, UnsafeRawBufferPointer) throws -> Void) throws {
        var block = UnsafeMutableRawBufferPointer.allocate(byteCount: readBytes, alignment: 8)
        defer { block.deallocate() }
        var offset: Int64 = 0
        // `block[start..<filled]` is read from the file and not yet handed to `body`.
        var start = 0
        var filled = 0
        while true {
            guard let base = block.baseAddress else { return }
            while filled - start >= Record.headerBytes {
                let (record, length) = Record.load(from: UnsafeRawPointer(base + start))
                guard filled - start >= Record.headerBytes + length else { break }
                try body(record, UnsafeRawBufferPointer(start: base + start + Record.headerBytes, count: length))
                start += Record.headerBytes + length
            }
            guard offset < written else { break }
            // The unread tail moves to the front; a record longer than the block grows it.
            let tail = filled - start
            var needed = block.count
            if tail >= Record.headerBytes { needed = max(needed, Record.headerBytes + Record.load(from: UnsafeRawPointer(base + start)).length) }
            if needed > block.count {
                let larger = UnsafeMutableRawBufferPointer.allocate(byteCount: needed, alignment: 8)
                if let target = larger.baseAddress { target.copyMemory(from: base + start, byteCount: tail) }
                block.deallocate()
                block = larger
            } else if start > 0, tail > 0 {
                base.copyMemory(from: base + start, byteCount: tail)
            }
            start = 0
            filled = tail
            let got = try file.read(into: UnsafeMutableRawBufferPointer(rebasing: block[filled...]), at: offset)
            guard got > 0 else { break }
            offset += Int64(got)
            filled += got
        }
        guard start == filled, offset == written else {
            throw StorageError.backend("a rebuild's temporary file ended inside an event")
        }
    }

    /// Lets the file go (its range is folded): its space is the system's again.
    func release() {
        file.discard()
        used = 0
        written = 0
    }
}

extension Partition {
    /// The index of the range of `ranges` (as `split` makes them: contiguous, in order)
    /// that holds `id`: the last whose `from` is at most `id`.
    static func index(of id: String, in ranges: [Partition]) -> Int {
        var low = 0
        var high = ranges.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if ranges[middle].from <= id { low = middle } else { high = middle - 1 }
        }
        return low
    }
}
