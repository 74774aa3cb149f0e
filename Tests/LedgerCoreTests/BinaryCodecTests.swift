import Testing

@testable import LedgerCore

/// The snapshot codec's integers: zigzag varints, one to ten bytes, read back exactly.
@Suite struct BinaryCodecTests {
    static let edges: [Int64] = [
        0, 1, -1, 63, -64, 64, -65, 127, 128, 8_191, 8_192, -8_193, 1 << 20, 1 << 35, -(1 << 35), 1 << 55, 1 << 56,
        1 << 62, -(1 << 62), Int64.max, Int64.min, Int64.max - 1, Int64.min + 1,
    ]

    @Test func integersRoundTripAtEveryLength() throws {
        var generator = SystemRandomNumberGenerator()
        let values = Self.edges + (0..<2_000).map { _ in Int64.random(in: .min ... .max, using: &generator) >> Int64.random(in: 0...63, using: &generator) }
        var writer = BinaryWriter()
        for value in values { writer.int(value) }
        var reader = BinaryReader(writer.bytes)
        for value in values { #expect(try reader.int() == value) }
        #expect(reader.isAtEnd)
    }

    @Test func encodedLengthsAreTheVarintLengths() {
        // 7 bits a byte of the zigzag form: 0…63 one byte, 64 two, Int64.min ten.
        for (value, length) in [(Int64(0), 1), (63, 1), (64, 2), (-64, 1), (-65, 2), (1 << 20, 4), (Int64.max, 10), (Int64.min, 10)] {
            var writer = BinaryWriter()
            writer.int(value)
            #expect(writer.bytes.count == length, "\(value)")
        }
    }

    @Test func integersReadInOneRunEqualThoseReadOneByOne() throws {
        var generator = SystemRandomNumberGenerator()
        let values = Self.edges + (0..<2_000).map { _ in Int64.random(in: .min ... .max, using: &generator) >> Int64.random(in: 0...63, using: &generator) }
        var writer = BinaryWriter()
        writer.int(7)
        for value in values { writer.int(value) }
        writer.int(-3)
        var reader = BinaryReader(writer.bytes)
        #expect(try reader.int() == 7)
        let run = UnsafeMutablePointer<Int64>.allocate(capacity: values.count)
        defer { run.deallocate() }
        try reader.ints(values.count, into: run)
        #expect(Array(UnsafeBufferPointer(start: run, count: values.count)) == values)
        #expect(try reader.int() == -3, "the reader goes on after the run")
        #expect(reader.isAtEnd)
    }

    @Test func aRunPastTheEndOrATooLongIntegerIsMalformed() {
        var writer = BinaryWriter()
        for value: Int64 in [1, 2, 1 << 40] { writer.int(value) }
        let run = UnsafeMutablePointer<Int64>.allocate(capacity: 4)
        defer { run.deallocate() }
        var short = BinaryReader(writer.bytes)
        #expect(throws: BinaryReader.Malformed.self) { try short.ints(4, into: run) }
        var truncated = BinaryReader(Array(writer.bytes.dropLast()))
        #expect(throws: BinaryReader.Malformed.self) { try truncated.ints(3, into: run) }
        var endless = BinaryReader([UInt8](repeating: 0xFF, count: 12) + [0])
        #expect(throws: BinaryReader.Malformed.self) { try endless.ints(1, into: run) }
    }

    @Test func aTruncatedIntegerIsMalformed() {
        var writer = BinaryWriter()
        writer.int(1 << 40)
        var reader = BinaryReader(Array(writer.bytes.dropLast()))
        #expect(throws: BinaryReader.Malformed.self) { try reader.int() }
    }

    @Test func aCopiedWriterKeepsWhatItHad() throws {
        var first = BinaryWriter(capacity: 1)
        first.string("ledger")
        var second = first
        second.int(300)
        first.bool(true)
        #expect(first.bytes == [12] + Array("ledger".utf8) + [1])  // the length is zigzag-encoded too
        var reader = BinaryReader(second.bytes)
        #expect(try reader.string() == "ledger")
        #expect(try reader.int() == 300)
        #expect(reader.isAtEnd)
    }
}
