import LedgerCore

/// The Merkle tree of the log as it stands in one snapshot, built from the stored event
/// hashes while the hash chain is recomputed, so that no tree is ever built over a chain that
/// does not verify without saying so.
public struct LogTree: Sendable {
    /// The tree: leaf p − 1 is `SHA-256(0x00 ‖ hash(p))` (`MerkleTree`).
    public var tree: MerkleTree
    /// The last position and its stored hash.
    public var head: ChainHead
    /// The first position where the stored hash is not the recomputed one, or positions or
    /// versions are not contiguous; nil when the chain verifies.
    public var firstBadPosition: Int64?
    /// Why that position is bad.
    public var problem: String?

    public var chainIntact: Bool { firstBadPosition == nil }
    public var size: Int { tree.size }
    public var root: [UInt8] { tree.root }
}

extension EventStore {
    /// Reads every event's chain fields once (`scanChain`), recomputes the chain, and builds
    /// the Merkle tree over the stored hashes. Run it inside `read` to pair it with other
    /// reads of the same snapshot (it opens its own read otherwise).
    public func logTree(progress: ((Int64) -> Void)? = nil) throws -> LogTree {
        try read {
            var leaves = [UInt8]()
            let head = try self.head()
            leaves.reserveCapacity(Int(clamping: head.position) * 32)
            var previous = HashChain.genesis
            var expectedPosition: Int64 = 1
            var versions: [Int64: Int64] = [:]
            var badPosition: Int64?
            var problem: String?
            try scanChain { fields, streamKey, stored in
                if badPosition == nil {
                    if fields.position != expectedPosition {
                        badPosition = expectedPosition
                        problem = "position \(expectedPosition) is missing (next stored position is \(fields.position))"
                    } else if !HashChain.hash(previous: previous, fields).elementsEqual(stored) {
                        badPosition = fields.position
                        problem = "the stored hash is not the recomputed one"
                    } else if fields.version != (versions[streamKey] ?? 0) + 1 {
                        badPosition = fields.position
                        problem = "stream \(String(decoding: fields.stream, as: UTF8.self)) jumps to version \(fields.version)"
                    }
                }
                versions[streamKey] = fields.version
                previous = Array(stored)
                expectedPosition = fields.position + 1
                leaves.append(contentsOf: MerkleTree.leafHash(stored))
                if fields.position % 100_000 == 0 { progress?(fields.position) }
                return true
            }
            return LogTree(
                tree: MerkleTree(leafHashes: leaves), head: head, firstBadPosition: badPosition, problem: problem)
        }
    }
}
