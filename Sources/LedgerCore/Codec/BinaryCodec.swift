
/// A compact binary form for snapshots of folded state (zig-zag varints, length-prefixed
/// text). Snapshots are derived data: a format change only needs a rebuild.
public struct BinaryWriter {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 256) {
        bytes.reserveCapacity(capacity)
    }

    public mutating func int(_ value: Int64) {
        var zigzag = UInt64(bitPattern: (value << 1) ^ (value >> 63))
        while zigzag >= 0x80 {
            bytes.append(UInt8(zigzag & 0x7F) | 0x80)
            zigzag >>= 7
        }
        bytes.append(UInt8(zigzag))
    }

    public mutating func int(_ value: Int) { int(Int64(value)) }

    public mutating func bool(_ value: Bool) { bytes.append(value ? 1 : 0) }

    public mutating func string(_ value: String) {
        int(Int64(value.utf8.count))
        bytes.append(contentsOf: value.utf8)
    }

    public mutating func timestamp(_ value: Timestamp) { int(value.millisecondsSinceEpoch) }

    public mutating func optional<T>(_ value: T?, _ write: (inout BinaryWriter, T) -> Void) {
        if let value {
            bytes.append(1)
            write(&self, value)
        } else {
            bytes.append(0)
        }
    }
}

/// Reads what `BinaryWriter` wrote; any inconsistency throws.
public struct BinaryReader {
    private let bytes: [UInt8]
    private var index = 0

    public struct Malformed: Error, Sendable {
        public init() {}
    }

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    public var isAtEnd: Bool { index == bytes.count }

    public mutating func int() throws -> Int64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard index < bytes.count, shift < 64 else { throw Malformed() }
            let byte = bytes[index]
            index += 1
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { break }
            shift += 7
        }
        let value = Int64(bitPattern: result >> 1) ^ -Int64(bitPattern: result & 1)
        return value
    }

    public mutating func count() throws -> Int {
        let value = try int()
        guard value >= 0, value <= Int64(bytes.count) else { throw Malformed() }
        return Int(value)
    }

    public mutating func bool() throws -> Bool {
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

    public mutating func timestamp() throws -> Timestamp { Timestamp(millisecondsSinceEpoch: try int()) }

    public mutating func optional<T>(_ read: (inout BinaryReader) throws -> T) throws -> T? {
        try bool() ? read(&self) : nil
    }

    public mutating func choice<E: RawRepresentable>(_ type: E.Type) throws -> E where E.RawValue == String {
        guard let value = E(rawValue: try string()) else { throw Malformed() }
        return value
    }
}
