/// A fixed-size set of hashed keys with no false negatives: `mayContain` is false only for a
/// key never inserted. A key is given as two 64-bit hashes; probe `i` sets bit `a + i·b`.
/// Used where a set of every id would grow with the input: the import's duplicate check and
/// the writer's ids of a log that was empty.
public struct BloomFilter: Sendable {
    private var words: [UInt64]
    private let mask: UInt64
    private let probes: Int

    /// `bits` is rounded up to a power of two, at least 64.
    public init(bits: Int, probes: Int) {
        var size = 64
        while size < bits { size <<= 1 }
        words = [UInt64](repeating: 0, count: size / 64)
        mask = UInt64(size - 1)
        self.probes = max(probes, 1)
    }

    public mutating func insert(_ a: UInt64, _ b: UInt64) {
        var bit = a
        for _ in 0..<probes {
            let index = bit & mask
            words[Int(index >> 6)] |= 1 << (index & 63)
            bit &+= b
        }
    }

    public func mayContain(_ a: UInt64, _ b: UInt64) -> Bool {
        var bit = a
        for _ in 0..<probes {
            let index = bit & mask
            guard words[Int(index >> 6)] & (1 << (index & 63)) != 0 else { return false }
            bit &+= b
        }
        return true
    }
}
