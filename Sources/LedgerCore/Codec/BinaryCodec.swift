
/// A compact binary form for snapshots of folded state (zig-zag varints, length-prefixed
/// text). Snapshots are derived data: a format change only needs a rebuild.
public struct BinaryWriter {
    /// The bytes, in memory of the writer's own: a snapshot is millions of small integers,
    /// and appending them to an array one byte at a time was most of its encoding time.
    @usableFromInline final class Storage {
        @usableFromInline @exclusivity(unchecked) var pointer: UnsafeMutablePointer<UInt8>
        @usableFromInline @exclusivity(unchecked) var count = 0
        @usableFromInline @exclusivity(unchecked) var capacity: Int

        @usableFromInline init(capacity: Int) {
            self.capacity = max(capacity, 16)
            pointer = .allocate(capacity: self.capacity)
        }

        @usableFromInline func copy() -> Storage {
            let copy = Storage(capacity: capacity)
            copy.pointer.update(from: pointer, count: count)
            copy.count = count
            return copy
        }

        @usableFromInline func grow(toHold needed: Int) {
            var size = capacity
            while size < needed { size *= 2 }
            let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: size)
            grown.update(from: pointer, count: count)
            pointer.deallocate()
            pointer = grown
            capacity = size
        }

        deinit { pointer.deallocate() }
    }

    @usableFromInline var storage: Storage

    /// Everything written so far.
    public var bytes: [UInt8] { Array(UnsafeBufferPointer(start: storage.pointer, count: storage.count)) }

    /// How many bytes have been written.
    public var count: Int { storage.count }

    /// How many bytes the writer has room for.
    public var capacity: Int { storage.capacity }

    /// The bytes written so far, without copying them out.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: storage.pointer, count: storage.count))
    }

    /// Forgets what was written, keeping the room (a writer used again and again).
    public mutating func removeAll() {
        if !isKnownUniquelyReferenced(&storage) { storage = Storage(capacity: storage.capacity) }
        storage.count = 0
    }

    public init(capacity: Int = 256) {
        storage = Storage(capacity: capacity)
    }

    /// Room for `more` bytes, in storage of this writer alone (a copy of the writer keeps
    /// what it had).
    @inlinable mutating func reserve(_ more: Int) -> Storage {
        if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
        if storage.count + more > storage.capacity { storage.grow(toHold: storage.count + more) }
        return storage
    }

    @inlinable mutating func append(_ byte: UInt8) {
        let storage = reserve(1)
        storage.pointer[storage.count] = byte
        storage.count += 1
    }

    private mutating func append(_ buffer: UnsafeRawBufferPointer) {
        guard let base = buffer.baseAddress, !buffer.isEmpty else { return }
        let storage = reserve(buffer.count)
        (storage.pointer + storage.count).update(from: base.assumingMemoryBound(to: UInt8.self), count: buffer.count)
        storage.count += buffer.count
    }

    @inlinable public mutating func int(_ value: Int64) {
        var zigzag = UInt64(bitPattern: (value << 1) ^ (value >> 63))
        let storage = reserve(10)
        var at = storage.pointer + storage.count
        while zigzag >= 0x80 {
            at.pointee = UInt8(truncatingIfNeeded: zigzag) | 0x80
            at += 1
            zigzag >>= 7
        }
        at.pointee = UInt8(zigzag)
        storage.count = at - storage.pointer + 1
    }

    @inlinable public mutating func int(_ value: Int) { int(Int64(value)) }

    @inlinable public mutating func bool(_ value: Bool) { append(value ? 1 : 0) }

    public mutating func string(_ value: String) {
        var text = value
        text.withUTF8 { utf8 in
            int(Int64(utf8.count))
            append(UnsafeRawBufferPointer(utf8))
        }
    }

    @inlinable public mutating func timestamp(_ value: Timestamp) { int(value.millisecondsSinceEpoch) }

    @inlinable public mutating func optional<T>(_ value: T?, _ write: (inout BinaryWriter, T) -> Void) {
        if let value {
            append(1)
            write(&self, value)
        } else {
            append(0)
        }
    }
}

/// Reads what `BinaryWriter` wrote; any inconsistency throws.
public struct BinaryReader {
    @usableFromInline let bytes: [UInt8]
    @usableFromInline var index = 0

    public struct Malformed: Error, Sendable {
        public init() {}
    }

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    public var isAtEnd: Bool { index == bytes.count }

    @inlinable public mutating func int() throws -> Int64 {
        if index < bytes.count, bytes[index] < 0x80 {
            let result = UInt64(bytes[index])
            index += 1
            return Int64(bitPattern: result >> 1) ^ -Int64(bitPattern: result & 1)
        }
        var value: Int64 = 0
        try ints(1, into: &value)
        return value
    }

    /// Reads `count` integers into `into` (room for `count`) in one pass over the bytes, for
    /// the long runs of a snapshot's lots: a call per integer was most of a catch-up's reading.
    public mutating func ints(_ count: Int, into: UnsafeMutablePointer<Int64>) throws {
        guard count > 0 else { return }
        let end = bytes.count
        var at = index
        try bytes.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { throw Malformed() }
            for k in 0..<count {
                guard at < end else { throw Malformed() }
                var byte = base[at]
                at += 1
                var result = UInt64(byte & 0x7F)
                var shift: UInt64 = 7
                while byte >= 0x80 {
                    guard at < end, shift < 64 else { throw Malformed() }
                    byte = base[at]
                    at += 1
                    result |= UInt64(byte & 0x7F) << shift
                    shift += 7
                }
                into[k] = Int64(bitPattern: result >> 1) ^ -Int64(bitPattern: result & 1)
            }
        }
        index = at
    }

    @inlinable public mutating func count() throws -> Int {
        let value = try int()
        guard value >= 0, value <= Int64(bytes.count) else { throw Malformed() }
        return Int(value)
    }

    @inlinable public mutating func bool() throws -> Bool {
        guard index < bytes.count, bytes[index] <= 1 else { throw Malformed() }
        index += 1
        return bytes[index - 1] == 1
    }

    public mutating func string() throws -> String {
        let length = try count()
        guard index + length <= bytes.count else { throw Malformed() }
        defer { index += length }
        return String(decoding: bytes[index..<(index + length)], as: UTF8.self)
    }

    @inlinable public mutating func timestamp() throws -> Timestamp { Timestamp(millisecondsSinceEpoch: try int()) }

    @inlinable public mutating func optional<T>(_ read: (inout BinaryReader) throws -> T) throws -> T? {
        try bool() ? read(&self) : nil
    }

    public mutating func choice<E: RawRepresentable>(_ type: E.Type) throws -> E where E.RawValue == String {
        guard let value = E(rawValue: try string()) else { throw Malformed() }
        return value
    }
}
