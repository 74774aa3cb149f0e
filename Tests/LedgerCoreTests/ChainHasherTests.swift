import Crypto
import Testing
import LedgerCore

@Suite("Chain hasher: the canonical bytes laid out in one buffer")
struct ChainHasherTests {
    /// The canonical bytes written out by hand, as schemas/hash-chain.md states them.
    static func reference(previous: [UInt8], numbers: (Int64, Int64, Int64), texts: [String]) -> [UInt8] {
        func field(_ bytes: [UInt8]) -> [UInt8] {
            let n = UInt32(bytes.count)
            return [UInt8(n >> 24), UInt8((n >> 16) & 0xFF), UInt8((n >> 8) & 0xFF), UInt8(n & 0xFF)] + bytes
        }
        let (position, version, schemaVersion) = numbers
        var bytes = previous
        bytes += field(Array(String(position).utf8))
        bytes += field(Array(texts[0].utf8))
        bytes += field(Array(String(version).utf8))
        bytes += field(Array(texts[1].utf8))
        bytes += field(Array(texts[2].utf8))
        bytes += field(Array(String(schemaVersion).utf8))
        for text in texts[3...] { bytes += field(Array(text.utf8)) }
        return Array(SHA256.hash(data: bytes))
    }

    @Test("numbers at every width, negative ones and empty fields hash as the contract says",
          arguments: [Int64(0), 1, 9, 10, 99, 100, 12_345, -1, -10, 999_999_999_999, Int64.max, Int64.min + 1, Int64.min])
    func numbersAndFields(_ number: Int64) {
        let texts = ["client/C1", "5b0f3a52-6c1e-4a8b-9d4f-0a1b2c3d4e5f", "PointsAwarded", "2025-01-01T00:00:00.000Z",
                     "2025-01-02T00:00:00.000Z", "{\"points\":10}", ""]
        let previous = (0..<32).map { UInt8($0) }
        var hasher = ChainHasher(previous: previous)
        // All the text fields in one array, lent as slices of it.
        let joined = texts.flatMap { Array($0.utf8) }
        var bounds: [Range<Int>] = []
        var offset = 0
        for text in texts {
            bounds.append(offset..<(offset + text.utf8.count))
            offset += text.utf8.count
        }
        let computed: [UInt8] = joined.withUnsafeBytes { all in
            func part(_ index: Int) -> UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: all[bounds[index]]) }
            hasher.next(HashChain.FieldBytes(
                position: number, version: number / 3, schemaVersion: 1, stream: part(0), eventId: part(1), type: part(2),
                occurredAt: part(3), recordedAt: part(4), data: part(5), metadata: part(6)))
            return hasher.last
        }
        #expect(computed == Self.reference(previous: previous, numbers: (number, number / 3, 1), texts: texts))
        // The next event chains on this one.
        #expect(hasher.last.withUnsafeBytes { hasher.lastEquals($0) })
    }

    @Test("a payload longer than the buffer so far, then a short one, each hash as the contract says")
    func longThenShort() {
        let previous = [UInt8](repeating: 7, count: 32)
        var hasher = ChainHasher(previous: previous)
        var expected = previous
        for data in [String(repeating: "x", count: 5_000), "{}", String(repeating: "y", count: 1_500)] {
            let texts = ["client/C2", "id-1", "FundsDeposited", "2025-01-01T00:00:00.000Z", "2025-01-01T00:00:00.000Z", data, "{}"]
            let numbers = (Int64(123_456), Int64(42), Int64(1))
            expected = Self.reference(previous: expected, numbers: numbers, texts: texts)
            let bytes = texts.map { Array($0.utf8) }
            bytes[0].withUnsafeBytes { stream in bytes[1].withUnsafeBytes { id in bytes[2].withUnsafeBytes { type in
                bytes[3].withUnsafeBytes { occurred in bytes[4].withUnsafeBytes { recorded in
                    bytes[5].withUnsafeBytes { payload in bytes[6].withUnsafeBytes { metadata in
                        hasher.next(HashChain.FieldBytes(
                            position: numbers.0, version: numbers.1, schemaVersion: numbers.2, stream: stream, eventId: id,
                            type: type, occurredAt: occurred, recordedAt: recorded, data: payload, metadata: metadata))
                    } }
                } }
            } } }
            #expect(hasher.last == expected, "a payload of \(data.utf8.count) bytes")
        }
    }
}
