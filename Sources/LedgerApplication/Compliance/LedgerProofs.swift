import LedgerCore
import LedgerDomain
import LedgerStorage

/// What checking the log against an earlier checkpoint found.
public struct ConsistencyReport: Sendable, Encodable {
    /// The checkpoint is signed by the ledger's key and the log only grew since.
    public var consistent: Bool
    @NullEncoded public var problem: String?
    public var checkpointTreeSize: Int
    public var checkpointRoot: String
    public var checkpointTime: String
    public var treeSize: Int
    public var root: String
    /// The RFC 9162 consistency proof from the checkpoint's tree to the current one.
    public var proof: [String]
}

/// What checking one client's events and their proofs found.
public struct ClientProofReport: Sendable, Encodable {
    public var client: String
    public var intact: Bool
    public var eventsChecked: Int
    @NullEncoded public var firstBadPosition: Int64?
    @NullEncoded public var problem: String?
    public var treeSize: Int
    public var root: String
}

/// The proofs of the log against the database: checkpoints, consistency, one client's events.
public enum LedgerProofs {
    /// A signed checkpoint of the log as it stands, and whether the key was created for it.
    /// Refuses (exit 1) a log whose chain does not verify.
    public static func checkpoint(of store: any EventStore, databasePath: String, at moment: Timestamp) throws -> (
        checkpoint: Checkpoint, keyCreated: Bool
    ) {
        let tree = try store.logTree()
        if let position = tree.firstBadPosition {
            throw ComplianceError(
                .checkFailed,
                "the hash chain does not verify at position \(position) (\(tree.problem ?? "")); no checkpoint is signed over a log that does not verify")
        }
        let (key, created) = try SigningKey.loadOrCreate(forDatabase: databasePath)
        return (try Checkpoint.sign(treeSize: tree.size, root: tree.root, time: moment, key: key), created)
    }

    /// The key to check signatures with: the one given, or the ledger's own.
    public static func verificationKey(given: String?, databasePath: String) throws -> [UInt8] {
        if let given { return try SigningKey.publicKey(argument: given) }
        guard let key = try SigningKey.load(forDatabase: databasePath) else {
            throw ComplianceError(
                .missing,
                "the ledger has no signing key (\(SigningKey.path(forDatabase: databasePath))); give the public key with --public-key")
        }
        return key.publicKey
    }

    /// Whether the log only grew since `checkpoint`: its signature verifies under `publicKey`
    /// and an RFC 9162 consistency proof leads from its root to the current root.
    public static func consistency(of checkpoint: Checkpoint, store: any EventStore, publicKey: [UInt8]) throws -> ConsistencyReport {
        let tree = try store.logTree()
        var report = ConsistencyReport(
            consistent: false, problem: nil, checkpointTreeSize: checkpoint.treeSize,
            checkpointRoot: checkpoint.root.hexString, checkpointTime: checkpoint.time.iso8601, treeSize: tree.size,
            root: tree.root.hexString, proof: [])
        guard checkpoint.isSigned(by: publicKey) else {
            report.problem = "the checkpoint's signature does not verify under key \(LedgerSignature.fingerprint(publicKey)): it was altered or signed by another key"
            return report
        }
        guard checkpoint.treeSize <= tree.size else {
            report.problem = "the log holds \(tree.size) events, fewer than the \(checkpoint.treeSize) of the checkpoint: events were removed"
            return report
        }
        let proof = tree.tree.consistencyProof(oldSize: checkpoint.treeSize)
        report.proof = proof.map(\.hexString)
        guard MerkleTree.verifyConsistency(
            oldSize: checkpoint.treeSize, newSize: tree.size, oldRoot: checkpoint.root, newRoot: tree.root, proof: proof)
        else {
            report.problem = "the first \(checkpoint.treeSize) events of the log are not those of the checkpoint: the log was rewritten since \(checkpoint.time.iso8601)"
            return report
        }
        report.consistent = true
        return report
    }

    /// Checks each event of one client: its stored hash recomputes from its fields and the
    /// hash before it, its versions run 1, 2, 3 …, and its inclusion proof leads to the root
    /// of the tree over the stored hashes.
    public static func checkClient(_ client: String, store: any EventStore) throws -> ClientProofReport {
        let stream = "client/" + client
        return try store.read {
            let tree = try store.logTree()
            let events = try store.events(EventQuery(stream: stream))
            guard !events.isEmpty else {
                throw InputError(line: nil, field: "client", problem: "no events of client \(client)")
            }
            let root = tree.root
            var report = ClientProofReport(
                client: client, intact: false, eventsChecked: 0, firstBadPosition: nil, problem: nil, treeSize: tree.size,
                root: root.hexString)
            for (index, event) in events.enumerated() {
                let previous = event.position > 1 ? try store.hash(at: event.position - 1) ?? HashChain.genesis : HashChain.genesis
                let bad: String?
                if event.version != Int64(index + 1) {
                    bad = "expected version \(index + 1), found \(event.version)"
                } else if HashChain.hash(previous: previous, event.chainFields) != event.hash {
                    bad = "the stored hash is not the one recomputed from the event's fields and the hash before it"
                } else if !MerkleTree.verifyInclusion(
                    leafHash: MerkleTree.leafHash(event.hash), index: Int(event.position - 1), treeSize: tree.size,
                    proof: tree.tree.inclusionProof(index: Int(event.position - 1)), root: root)
                {
                    bad = "its inclusion proof does not lead to the root of the log's tree"
                } else {
                    bad = nil
                }
                if let bad {
                    report.firstBadPosition = event.position
                    report.problem = bad
                    return report
                }
                report.eventsChecked += 1
            }
            report.intact = true
            return report
        }
    }
}
