/// A fixed-size set of id hashes with no false negatives: `mayContain` is false only for an
/// id never inserted.
public struct IdFilter: Sendable {
    public init() {}

    private var bits = [UInt64](repeating: 0, count: 1 << 20)  // 2^26 bits

    private static func slot(_ id: String) -> Int {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325  // FNV-1a
        for byte in id.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        return Int(truncatingIfNeeded: hash & ((1 << 26) - 1))
    }

    public mutating func insert(_ id: String) {
        let slot = Self.slot(id)
        bits[slot >> 6] |= 1 << UInt64(slot & 63)
    }

    public func mayContain(_ id: String) -> Bool {
        let slot = Self.slot(id)
        return bits[slot >> 6] & (1 << UInt64(slot & 63)) != 0
    }
}
