import Crypto

/// The hash chain over the log: `hash(n) = SHA-256(hash(n-1) ‖ canonical(n))`, with
/// `hash(0)` = 32 zero bytes.
///
/// `canonical(n)` is, for each field in the order below, the field's UTF-8 bytes preceded by
/// their count as a 4-byte big-endian integer. Integers are written in decimal ASCII; text
/// fields are the exact text stored in the row. Fields: position, stream, version, event_id,
/// type, schema_version, occurred_at, recorded_at, data, metadata.
/// `schemas/hash-chain.md` is the same contract for auditors.
public enum HashChain {
    public static let genesis = [UInt8](repeating: 0, count: 32)

    /// The fields of an event that the chain covers.
    public struct Fields {
        public var position: Int64
        public var stream: String
        public var version: Int64
        public var eventId: String
        public var type: String
        public var schemaVersion: Int64
        public var occurredAt: String
        public var recordedAt: String
        public var data: String
        public var metadata: String

        public init(
            position: Int64, stream: String, version: Int64, eventId: String, type: String,
            schemaVersion: Int64, occurredAt: String, recordedAt: String, data: String, metadata: String
        ) {
            self.position = position
            self.stream = stream
            self.version = version
            self.eventId = eventId
            self.type = type
            self.schemaVersion = schemaVersion
            self.occurredAt = occurredAt
            self.recordedAt = recordedAt
            self.data = data
            self.metadata = metadata
        }
    }

    /// The text fields of an event as bytes, lent for one call: the hot path of an audit,
    /// which never builds a `String`.
    public struct FieldBytes {
        public var position: Int64
        public var version: Int64
        public var schemaVersion: Int64
        public var stream: UnsafeRawBufferPointer
        public var eventId: UnsafeRawBufferPointer
        public var type: UnsafeRawBufferPointer
        public var occurredAt: UnsafeRawBufferPointer
        public var recordedAt: UnsafeRawBufferPointer
        public var data: UnsafeRawBufferPointer
        public var metadata: UnsafeRawBufferPointer

        public init(
            position: Int64, version: Int64, schemaVersion: Int64, stream: UnsafeRawBufferPointer,
            eventId: UnsafeRawBufferPointer, type: UnsafeRawBufferPointer, occurredAt: UnsafeRawBufferPointer,
            recordedAt: UnsafeRawBufferPointer, data: UnsafeRawBufferPointer, metadata: UnsafeRawBufferPointer
        ) {
            self.position = position
            self.version = version
            self.schemaVersion = schemaVersion
            self.stream = stream
            self.eventId = eventId
            self.type = type
            self.occurredAt = occurredAt
            self.recordedAt = recordedAt
            self.data = data
            self.metadata = metadata
        }
    }

    /// The hash of an event that follows `previous`.
    public static func hash(previous: [UInt8], _ fields: Fields) -> [UInt8] {
        var f = fields
        return f.stream.withUTF8 { stream in
            f.eventId.withUTF8 { eventId in
                f.type.withUTF8 { type in
                    f.occurredAt.withUTF8 { occurredAt in
                        f.recordedAt.withUTF8 { recordedAt in
                            f.data.withUTF8 { data in
                                f.metadata.withUTF8 { metadata in
                                    hash(previous: previous, FieldBytes(
                                        position: fields.position, version: fields.version, schemaVersion: fields.schemaVersion,
                                        stream: UnsafeRawBufferPointer(stream), eventId: UnsafeRawBufferPointer(eventId),
                                        type: UnsafeRawBufferPointer(type), occurredAt: UnsafeRawBufferPointer(occurredAt),
                                        recordedAt: UnsafeRawBufferPointer(recordedAt), data: UnsafeRawBufferPointer(data),
                                        metadata: UnsafeRawBufferPointer(metadata)))
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The hash of an event that follows `previous`, from its fields' bytes.
    public static func hash(previous: [UInt8], _ fields: FieldBytes) -> [UInt8] {
        var hasher = ChainHasher(previous: previous)
        hasher.next(fields)
        return hasher.last
    }

    /// SHA-256 of any bytes (used for rules versions and derived event ids).
    public static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        Array(SHA256.hash(data: bytes))
    }
}

/// Hashes events one after another: each event's `previous ‖ canonical(n)` is laid out in
/// one reused buffer and hashed in a single call, and the result is kept in place for the
/// next event. The audit and the import hash millions of events this way without allocating
/// per event (hashing the canonical bytes field by field costs a call into the digest per
/// field, which was most of an audit's time).
public struct ChainHasher {
    /// The last hash, kept inline (no allocation when it changes).
    private var state = SIMD32<UInt8>()
    private var buffer: [UInt8] = []

    public init(previous: [UInt8] = HashChain.genesis) {
        // The buffer is sized by the first event hashed: a single append hashes one or two.
        rewind(to: previous)
    }

    /// The hash of the last event (the genesis, or the hash given, before the first).
    public var last: [UInt8] {
        withUnsafeBytes(of: state) { Array($0) }
    }

    /// Makes `previous` the hash the next event chains on (a failed append's hash is undone
    /// this way).
    public mutating func rewind(to previous: [UInt8]) {
        withUnsafeMutableBytes(of: &state) { target in
            previous.withUnsafeBytes { source in target.copyMemory(from: UnsafeRawBufferPointer(rebasing: source.prefix(32))) }
        }
    }

    /// Computes the hash of the event that follows `last`, and makes it `last`.
    public mutating func next(_ fields: HashChain.FieldBytes) {
        // The canonical bytes are laid out with plain stores into a buffer sized once for the
        // longest event so far (appending them byte by byte to an array, with its checks on
        // every byte, cost more than the digest).
        let needed = 32 + 10 * 4 + 3 * 20 + fields.stream.count + fields.eventId.count + fields.type.count
            + fields.occurredAt.count + fields.recordedAt.count + fields.data.count + fields.metadata.count
        if buffer.count < needed { buffer = [UInt8](repeating: 0, count: max(needed, 2 * buffer.count, 512)) }
        let previous = state
        let digest: SHA256Digest? = buffer.withUnsafeMutableBytes { raw in
            guard let base = raw.baseAddress else { return nil }
            var at = base
            at.storeBytes(of: previous, as: SIMD32<UInt8>.self)
            at += 32
            Self.put(fields.position, at: &at)
            Self.put(fields.stream, at: &at)
            Self.put(fields.version, at: &at)
            Self.put(fields.eventId, at: &at)
            Self.put(fields.type, at: &at)
            Self.put(fields.schemaVersion, at: &at)
            Self.put(fields.occurredAt, at: &at)
            Self.put(fields.recordedAt, at: &at)
            Self.put(fields.data, at: &at)
            Self.put(fields.metadata, at: &at)
            return SHA256.hash(data: UnsafeRawBufferPointer(start: base, count: at - base))
        }
        guard let digest else { return }
        withUnsafeMutableBytes(of: &state) { target in
            digest.withUnsafeBytes { source in target.copyMemory(from: source) }
        }
    }

    /// Whether `last` equals the given stored hash.
    public func lastEquals(_ stored: UnsafeRawBufferPointer) -> Bool {
        guard stored.count == 32 else { return false }
        return withUnsafeBytes(of: state) { mine in
            (0..<4).allSatisfy { word in
                mine.loadUnaligned(fromByteOffset: word * 8, as: UInt64.self)
                    == stored.loadUnaligned(fromByteOffset: word * 8, as: UInt64.self)
            }
        }
    }

    /// A field's byte count, 4 bytes big-endian.
    @inline(__always)
    private static func putLength(_ count: Int, at: inout UnsafeMutableRawPointer) {
        at.storeBytes(of: UInt32(truncatingIfNeeded: count).bigEndian, as: UInt32.self)
        at += 4
    }

    /// A text field: its count, then its bytes.
    @inline(__always)
    private static func put(_ bytes: UnsafeRawBufferPointer, at: inout UnsafeMutableRawPointer) {
        putLength(bytes.count, at: &at)
        if let source = bytes.baseAddress, !bytes.isEmpty { at.copyMemory(from: source, byteCount: bytes.count) }
        at += bytes.count
    }

    /// An integer in decimal ASCII, preceded by its length (at most 20 bytes).
    @inline(__always)
    private static func put(_ number: Int64, at: inout UnsafeMutableRawPointer) {
        var magnitude = number.magnitude
        var digits = 1
        var scale: UInt64 = 10
        while digits < 20, magnitude >= scale {
            digits += 1
            if scale > UInt64.max / 10 { break }
            scale *= 10
        }
        let sign = number < 0 ? 1 : 0
        putLength(digits + sign, at: &at)
        if sign == 1 { at.storeBytes(of: 45, as: UInt8.self) }
        var index = sign + digits
        repeat {
            index -= 1
            at.storeBytes(of: UInt8(48 + magnitude % 10), toByteOffset: index, as: UInt8.self)
            magnitude /= 10
        } while magnitude > 0
        at += sign + digits
    }
}

extension Array where Element == UInt8 {
    /// Lower-case hexadecimal text of the bytes.
    public var hexString: String {
        let table: [UInt8] = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(count * 2)
        for byte in self {
            out.append(table[Int(byte >> 4)])
            out.append(table[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
