import Foundation
import Testing

@testable import LedgerCore

@Suite("Merkle tree: RFC 9162 hashes, inclusion and consistency proofs")
struct MerkleTreeTests {
    /// The leaves of the Certificate Transparency reference tests (RFC 6962 hashing, which RFC
    /// 9162 keeps): leaf data, not leaf hashes.
    static let referenceLeaves: [[UInt8]] = [
        [], [0x00], [0x10], [0x20, 0x21], [0x30, 0x31], [0x40, 0x41, 0x42, 0x43],
        Array(0x50...0x57), Array(0x60...0x6f),
    ]
    /// Their roots for sizes 1 to 8, as published with those tests (and recomputed by
    /// `merkle_root` of tools/verify_export.py, straight from the definition).
    static let referenceRoots = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ]

    static func tree(_ leaves: [[UInt8]], cacheLevel: Int = 8) -> MerkleTree {
        MerkleTree(leafHashes: leaves.flatMap(MerkleTree.leafHash), cacheLevel: cacheLevel)
    }

    /// MTH straight from the definition, recursively over the leaf data.
    static func definition(_ leaves: ArraySlice<[UInt8]>) -> [UInt8] {
        if leaves.isEmpty { return MerkleTree.emptyRoot }
        if leaves.count == 1, let only = leaves.first { return MerkleTree.leafHash(only) }
        var k = 1
        while k * 2 < leaves.count { k *= 2 }
        let start = leaves.startIndex
        return MerkleTree.node(definition(leaves[start..<start + k]), definition(leaves[(start + k)...]))
    }

    @Test("the empty tree and the reference trees of sizes 1 to 8 have the published roots")
    func referenceRootsMatch() {
        #expect(MerkleTree.emptyRoot.hexString == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(Self.tree([]).root == MerkleTree.emptyRoot)
        for size in 1...8 {
            let tree = Self.tree(Array(Self.referenceLeaves.prefix(size)), cacheLevel: 1)
            #expect(tree.root.hexString == Self.referenceRoots[size - 1], "size \(size)")
            let full = Self.tree(Self.referenceLeaves, cacheLevel: 2)
            #expect(full.root(ofFirst: size).hexString == Self.referenceRoots[size - 1], "prefix \(size)")
        }
    }

    @Test("a three-leaf tree computed by hand: node(node(l0, l1), l2)")
    func handComputed() {
        let leaves: [[UInt8]] = [Array("a".utf8), Array("b".utf8), Array("c".utf8)]
        let l = leaves.map(MerkleTree.leafHash)
        let byHand = MerkleTree.node(MerkleTree.node(l[0], l[1]), l[2])
        let tree = Self.tree(leaves)
        #expect(tree.root == byHand)
        // Leaf 2's path is just node(l0, l1); leaf 0's is l1 then l2.
        #expect(tree.inclusionProof(index: 2) == [MerkleTree.node(l[0], l[1])])
        #expect(tree.inclusionProof(index: 0) == [l[1], l[2]])
        // From size 2 to size 3 the proof is [l2] (the old root is a power of two, so implied).
        #expect(tree.consistencyProof(oldSize: 2) == [l[2]])
    }

    @Test("roots, inclusion and consistency proofs agree with the definition for every size to 70, whatever the cache")
    func proofsVerify() {
        let leaves: [[UInt8]] = (0..<70).map { Array("leaf \($0)".utf8) }
        for cacheLevel in [1, 3, 8] {
            let tree = Self.tree(leaves, cacheLevel: cacheLevel)
            for n in 1...leaves.count {
                let root = Self.definition(leaves[0..<n])
                #expect(tree.root(ofFirst: n) == root, "size \(n), cache \(cacheLevel)")
                for m in 0..<n {
                    let proof = tree.inclusionProof(index: m, treeSize: n)
                    #expect(MerkleTree.verifyInclusion(
                        leafHash: MerkleTree.leafHash(leaves[m]), index: m, treeSize: n, proof: proof, root: root))
                    // Another leaf, another index or another root does not verify.
                    #expect(!MerkleTree.verifyInclusion(
                        leafHash: MerkleTree.leafHash(leaves[(m + 1) % 70]), index: m, treeSize: n, proof: proof, root: root))
                    if n > 1 {
                        #expect(!MerkleTree.verifyInclusion(
                            leafHash: MerkleTree.leafHash(leaves[m]), index: (m + 1) % n, treeSize: n, proof: proof, root: root))
                    }
                }
                for m in 0...n {
                    let proof = tree.consistencyProof(oldSize: m, newSize: n)
                    let oldRoot = Self.definition(leaves[0..<m])
                    #expect(MerkleTree.verifyConsistency(oldSize: m, newSize: n, oldRoot: oldRoot, newRoot: root, proof: proof), "\(m) → \(n)")
                }
            }
        }
    }

    @Test("a consistency proof fails when the old tree's leaves were rewritten")
    func rewrittenHistoryFails() {
        let original: [[UInt8]] = (0..<37).map { Array("event \($0)".utf8) }
        for changed in [0, 5, 16, 23] {
            for oldSize in [changed + 1, 24, 32] where oldSize <= 37 {
                let oldRoot = Self.tree(Array(original.prefix(oldSize))).root
                var rewritten = original
                rewritten[changed] = Array("forged".utf8)
                let tree = Self.tree(rewritten, cacheLevel: 2)
                let proof = tree.consistencyProof(oldSize: oldSize)
                #expect(!MerkleTree.verifyConsistency(
                    oldSize: oldSize, newSize: 37, oldRoot: oldRoot, newRoot: tree.root, proof: proof), "leaf \(changed), old size \(oldSize)")
            }
        }
        // A shorter log can never be consistent with a longer checkpoint.
        let tree = Self.tree(original)
        #expect(!MerkleTree.verifyConsistency(oldSize: 37, newSize: 30, oldRoot: tree.root, newRoot: tree.root(ofFirst: 30), proof: []))
    }

    @Test("the roots agree with an independent Python computation (tools/verify_export.py)")
    func agreesWithPython() throws {
        let tools = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("tools").path
        let script = """
            import sys; sys.dont_write_bytecode = True; sys.path.insert(0, sys.argv[1]); import verify_export as v
            leaves = [("leaf %d" % i).encode() for i in range(300)]
            print(" ".join(v.merkle_root(leaves[:n]).hex() for n in (1, 2, 3, 7, 8, 9, 255, 256, 257, 300)))
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, tools]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let tree = Self.tree((0..<300).map { Array("leaf \($0)".utf8) }, cacheLevel: 4)
        let swift = [1, 2, 3, 7, 8, 9, 255, 256, 257, 300].map { tree.root(ofFirst: $0).hexString }.joined(separator: " ")
        #expect(output.trimmingCharacters(in: .whitespacesAndNewlines) == swift)
    }

    @Test("Ed25519: the RFC 8032 test 1 signature verifies, and our own signatures round-trip")
    func signatures() throws {
        let publicKey = try #require([UInt8](hex: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"))
        let signature = try #require([UInt8](hex:
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"))
        #expect(LedgerSignature.verify(signature, of: [], publicKey: publicKey))
        let seed = try #require([UInt8](hex: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"))
        #expect(LedgerSignature.publicKey(of: seed) == publicKey)
        let key = LedgerSignature.newPrivateKey()
        let message = Array("clientledger-checkpoint/1\n3\n".utf8)
        let signed = try #require(LedgerSignature.sign(message, privateKey: key))
        let ours = try #require(LedgerSignature.publicKey(of: key))
        #expect(LedgerSignature.verify(signed, of: message, publicKey: ours))
        #expect(!LedgerSignature.verify(signed, of: message + [0x0A], publicKey: ours))
        #expect(!LedgerSignature.verify(signed, of: message, publicKey: publicKey))
    }
}
