import Crypto

/// The Merkle tree over the log, alongside the hash chain, in the shape of RFC 9162 §2
/// (Certificate Transparency):
///
///     MTH({})      = SHA-256()                         (the empty tree)
///     MTH({d(0)})  = SHA-256(0x00 ‖ d(0))              (a leaf)
///     MTH(D[n])    = SHA-256(0x01 ‖ MTH(D[0:k]) ‖ MTH(D[k:n]))
///                    where k is the largest power of two smaller than n
///
/// The leaf data of the event at position p is its 32-byte chain hash (`HashChain`), so leaf
/// p − 1 is `SHA-256(0x00 ‖ hash(p))`. The chain hash already covers the event's canonical
/// bytes and every event before it, so the tree is computed from the stored hashes alone.
/// `schemas/merkle-tree.md` is the same contract for auditors.
///
/// The tree keeps the leaf hashes (32 bytes per event) and the hashes of the complete
/// subtrees of `2^cacheLevel` leaves and more (a few kilobytes per million events); any other
/// node is recomputed from at most `2^cacheLevel` leaves when a proof needs it.
public struct MerkleTree: Sendable {
    /// Number of leaves (events).
    public let size: Int
    private let leaves: [UInt8]
    /// `levels[j]` holds the complete aligned subtrees of `2^(cacheLevel + j)` leaves.
    private let levels: [[UInt8]]
    private let cacheLevel: Int

    /// A tree over leaf hashes given as one buffer of `32 × n` bytes (see `leafHash`).
    public init(leafHashes: [UInt8], cacheLevel: Int = 4) {
        precondition(leafHashes.count % 32 == 0, "leaf hashes come in 32-byte units")
        self.size = leafHashes.count / 32
        self.leaves = leafHashes
        self.cacheLevel = max(1, cacheLevel)
        var levels: [[UInt8]] = []
        let width = 1 << self.cacheLevel
        var level = [UInt8]()
        level.reserveCapacity(size / width * 32 + 32)
        var start = 0
        while start + width <= size {
            level.append(contentsOf: MerkleTree.hashRange(leafHashes, start: start, count: width))
            start += width
        }
        while level.count >= 32 {
            levels.append(level)
            var next = [UInt8]()
            next.reserveCapacity(level.count / 2)
            var offset = 0
            while offset + 64 <= level.count {
                next.append(contentsOf: MerkleTree.node(Array(level[offset..<offset + 32]), Array(level[offset + 32..<offset + 64])))
                offset += 64
            }
            level = next
        }
        self.levels = levels
    }

    /// A tree over the events whose chain hashes are given, in position order.
    public init(eventHashes: [[UInt8]], cacheLevel: Int = 4) {
        var buffer = [UInt8]()
        buffer.reserveCapacity(eventHashes.count * 32)
        for hash in eventHashes { buffer.append(contentsOf: MerkleTree.leafHash(hash)) }
        self.init(leafHashes: buffer, cacheLevel: cacheLevel)
    }

    // MARK: - Hashes

    /// The hash of the empty tree: SHA-256 of nothing.
    public static let emptyRoot: [UInt8] = Array(SHA256.hash(data: [UInt8]()))

    /// `SHA-256(0x00 ‖ data)`: the hash of a leaf.
    public static func leafHash(_ data: [UInt8]) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: [0x00])
        hasher.update(data: data)
        return Array(hasher.finalize())
    }

    /// The hash of a leaf whose data is lent bytes (an event hash straight from a scan).
    public static func leafHash(_ data: UnsafeRawBufferPointer) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: [0x00])
        hasher.update(bufferPointer: data)
        return Array(hasher.finalize())
    }

    /// `SHA-256(0x01 ‖ left ‖ right)`: the hash of an interior node.
    public static func node(_ left: [UInt8], _ right: [UInt8]) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: [0x01])
        hasher.update(data: left)
        hasher.update(data: right)
        return Array(hasher.finalize())
    }

    /// The root: MTH of all leaves (the empty tree's hash when there is none).
    public var root: [UInt8] { size == 0 ? Self.emptyRoot : subtree(start: 0, count: size) }

    /// The root of the tree of the first `count` leaves (an earlier size of the log).
    public func root(ofFirst count: Int) -> [UInt8] {
        precondition(count >= 0 && count <= size)
        return count == 0 ? Self.emptyRoot : subtree(start: 0, count: count)
    }

    /// The leaf hash at an index.
    public func leaf(_ index: Int) -> [UInt8] { Array(leaves[index * 32..<index * 32 + 32]) }

    /// MTH(D[start : start + count]) for count ≥ 1.
    private func subtree(start: Int, count: Int) -> [UInt8] {
        if count == 1 { return leaf(start) }
        if count & (count - 1) == 0, start % count == 0 {
            let level = count.trailingZeroBitCount - cacheLevel
            if level >= 0, level < levels.count {
                let offset = start / count * 32
                return Array(levels[level][offset..<offset + 32])
            }
            if level < 0 { return Self.hashRange(leaves, start: start, count: count) }
        }
        let k = Self.split(count)
        return Self.node(subtree(start: start, count: k), subtree(start: start + k, count: count - k))
    }

    /// MTH of a range of leaf hashes, computed from the leaves.
    private static func hashRange(_ leaves: [UInt8], start: Int, count: Int) -> [UInt8] {
        if count == 1 { return Array(leaves[start * 32..<start * 32 + 32]) }
        let k = split(count)
        return node(hashRange(leaves, start: start, count: k), hashRange(leaves, start: start + k, count: count - k))
    }

    /// The largest power of two smaller than n (n ≥ 2).
    static func split(_ n: Int) -> Int {
        var k = 1
        while k << 1 < n { k <<= 1 }
        return k
    }

    // MARK: - Proofs (RFC 9162 §2.1.3.1, §2.1.4.1)

    /// The inclusion proof (audit path) of leaf `index` in the tree of the first `treeSize`
    /// leaves: the sibling hashes from the leaf up to the root.
    public func inclusionProof(index: Int, treeSize: Int? = nil) -> [[UInt8]] {
        let n = treeSize ?? size
        precondition(index >= 0 && index < n && n <= size)
        var proof: [[UInt8]] = []
        path(index, start: 0, count: n, into: &proof)
        return proof
    }

    private func path(_ m: Int, start: Int, count: Int, into proof: inout [[UInt8]]) {
        guard count > 1 else { return }
        let k = Self.split(count)
        if m < k {
            path(m, start: start, count: k, into: &proof)
            proof.append(subtree(start: start + k, count: count - k))
        } else {
            path(m - k, start: start + k, count: count - k, into: &proof)
            proof.append(subtree(start: start, count: k))
        }
    }

    /// The consistency proof between the tree of the first `oldSize` leaves and the tree of
    /// the first `newSize` leaves (default: all): empty when the sizes are equal or `oldSize`
    /// is 0.
    public func consistencyProof(oldSize: Int, newSize: Int? = nil) -> [[UInt8]] {
        let n = newSize ?? size
        precondition(oldSize >= 0 && oldSize <= n && n <= size)
        guard oldSize > 0, oldSize < n else { return [] }
        var proof: [[UInt8]] = []
        subproof(oldSize, start: 0, count: n, complete: true, into: &proof)
        return proof
    }

    private func subproof(_ m: Int, start: Int, count: Int, complete: Bool, into proof: inout [[UInt8]]) {
        if m == count {
            if !complete { proof.append(subtree(start: start, count: count)) }
            return
        }
        let k = Self.split(count)
        if m <= k {
            subproof(m, start: start, count: k, complete: complete, into: &proof)
            proof.append(subtree(start: start + k, count: count - k))
        } else {
            subproof(m - k, start: start + k, count: count - k, complete: false, into: &proof)
            proof.append(subtree(start: start, count: k))
        }
    }

    // MARK: - Verification (RFC 9162 §2.1.3.2, §2.1.4.2)

    /// Whether `proof` shows that `leafHash` is leaf `index` of a tree of `treeSize` leaves
    /// whose root is `root`.
    public static func verifyInclusion(
        leafHash: [UInt8], index: Int, treeSize: Int, proof: [[UInt8]], root: [UInt8]
    ) -> Bool {
        guard index >= 0, index < treeSize else { return false }
        var fn = index
        var sn = treeSize - 1
        var r = leafHash
        for p in proof {
            guard sn != 0, p.count == 32 else { return false }
            if fn & 1 == 1 || fn == sn {
                r = node(p, r)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                r = node(r, p)
            }
            fn >>= 1
            sn >>= 1
        }
        return sn == 0 && r == root
    }

    /// Whether `proof` shows that the tree of `oldSize` leaves with root `oldRoot` is a
    /// prefix of the tree of `newSize` leaves with root `newRoot`: the log only grew.
    public static func verifyConsistency(
        oldSize: Int, newSize: Int, oldRoot: [UInt8], newRoot: [UInt8], proof: [[UInt8]]
    ) -> Bool {
        guard oldSize >= 0, oldSize <= newSize else { return false }
        if oldSize == 0 { return proof.isEmpty && oldRoot == emptyRoot }
        if oldSize == newSize { return proof.isEmpty && oldRoot == newRoot }
        guard !proof.isEmpty, proof.allSatisfy({ $0.count == 32 }) else { return false }
        var path = proof
        if oldSize & (oldSize - 1) == 0 { path.insert(oldRoot, at: 0) }
        var fn = oldSize - 1
        var sn = newSize - 1
        while fn & 1 == 1 {
            fn >>= 1
            sn >>= 1
        }
        var fr = path[0]
        var sr = path[0]
        for c in path.dropFirst() {
            guard sn != 0 else { return false }
            if fn & 1 == 1 || fn == sn {
                fr = node(c, fr)
                sr = node(c, sr)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                sr = node(sr, c)
            }
            fn >>= 1
            sn >>= 1
        }
        return fr == oldRoot && sr == newRoot && sn == 0
    }
}

extension Array where Element == UInt8 {
    /// The bytes of lower-case or upper-case hexadecimal text (nil when it is not hex).
    public init?(hex text: String) {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes = [UInt8]()
        bytes.reserveCapacity(digits.count / 2)
        func value(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: return c - 48
            case 97...102: return c - 87
            case 65...70: return c - 55
            default: return nil
            }
        }
        var index = 0
        while index < digits.count {
            guard let high = value(digits[index]), let low = value(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        self = bytes
    }
}
