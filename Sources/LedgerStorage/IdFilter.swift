import LedgerCore

/// The ids an append transaction wrote to a log that was empty when it began (8 MiB, one
/// probe per id): `mayContain` is false only for an id never inserted.
public struct IdFilter: Sendable {
    private var bits = BloomFilter(bits: 1 << 26, probes: 1)

    public init() {}

    private static func hash(_ id: String) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325  // FNV-1a
        for byte in id.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        return hash
    }

    public mutating func insert(_ id: String) { bits.insert(Self.hash(id), 0) }

    public func mayContain(_ id: String) -> Bool { bits.mayContain(Self.hash(id), 0) }
}
