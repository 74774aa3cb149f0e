import LedgerCore
import LedgerDomain
import LedgerStorage

/// One client's events for a regulator, as a self-contained JSON Lines bundle that can be
/// checked without the database (schemas/export-bundle.md):
///
///     line 1      header       the client, the ledger's public key, the event count
///     line 2      checkpoint   the log's Merkle tree size and root, signed
///     line 3      streamLength how many events the client's stream holds in that tree, signed
///     line 4 …    event        one per event: the ten fields the chain hashes, exactly as
///                              stored, the hash before it, its hash, and its inclusion proof
///
/// The signed lines come first so that a reader can check every event as it streams past.
public struct ExportBundle {
    public static let format = "clientledger-export/1"

    public var client: String
    public var stream: String
    public var checkpoint: Checkpoint
    public var statement: StreamStatement
    /// The lines, header first, without line ends.
    public var lines: [String]
    /// Whether the signing key was created for this export (the ledger had none).
    public var keyCreated: Bool

    public var eventCount: Int { statement.events }

    /// Reads the client's events and the whole log's tree in one snapshot and signs both
    /// statements. Refuses (exit 1) a log whose chain does not verify: nothing is signed over
    /// altered events.
    public init(client: String, from store: any EventStore, databasePath: String, at moment: Timestamp) throws {
        let stream = "client/" + client
        let (tree, events, previous) = try store.read { () throws -> (LogTree, [RecordedEvent], [[UInt8]]) in
            let tree = try store.logTree()
            let events = try store.events(EventQuery(stream: stream))
            let previous = try events.map { event in
                event.position > 1 ? try store.hash(at: event.position - 1) ?? HashChain.genesis : HashChain.genesis
            }
            return (tree, events, previous)
        }
        guard !events.isEmpty else {
            throw InputError(line: nil, field: "client", problem: "no events of client \(client)")
        }
        if let position = tree.firstBadPosition {
            throw ComplianceError(
                .checkFailed,
                "the hash chain does not verify at position \(position) (\(tree.problem ?? "")); nothing is signed over a log that does not verify (run `clientledger audit verify`)")
        }
        let (key, created) = try SigningKey.loadOrCreate(forDatabase: databasePath)
        let root = tree.root
        let checkpoint = try Checkpoint.sign(treeSize: tree.size, root: root, time: moment, key: key)
        let statement = try StreamStatement.sign(
            stream: stream, events: events.count, lastPosition: events[events.count - 1].position, checkpoint: checkpoint,
            key: key)

        var header = JSONWriter()
        header.beginObject()
        header.key("kind"); header.string("header")
        header.key("format"); header.string(Self.format)
        header.key("client"); header.string(client)
        header.key("stream"); header.string(stream)
        header.key("events"); header.int(Int64(events.count))
        header.key("exportedAt"); header.string(moment.iso8601)
        header.key("publicKey"); header.string(key.publicKey.hexString)
        header.endObject()

        var lines = [header.text, checkpoint.jsonLine, statement.jsonLine]
        lines.reserveCapacity(events.count + 3)
        for (event, before) in zip(events, previous) {
            let proof = tree.tree.inclusionProof(index: Int(event.position - 1))
            lines.append(Self.eventLine(event, previousHash: before, proof: proof))
        }
        self.client = client
        self.stream = stream
        self.checkpoint = checkpoint
        self.statement = statement
        self.lines = lines
        self.keyCreated = created
    }

    /// One event line: every chain field exactly as stored (data and metadata as their
    /// stored text, so the canonical bytes can be rebuilt byte for byte).
    static func eventLine(_ event: RecordedEvent, previousHash: [UInt8], proof: [[UInt8]]) -> String {
        var w = JSONWriter(capacity: 512 + proof.count * 70)
        w.beginObject()
        w.key("kind"); w.string("event")
        w.key("position"); w.int(event.position)
        w.key("stream"); w.string(event.stream)
        w.key("version"); w.int(event.version)
        w.key("eventId"); w.string(event.eventId)
        w.key("type"); w.string(event.type)
        w.key("schemaVersion"); w.int(Int64(event.schemaVersion))
        w.key("occurredAt"); w.string(event.occurredAt)
        w.key("recordedAt"); w.string(event.recordedAt)
        w.key("data"); w.string(event.data)
        w.key("metadata"); w.string(event.metadata)
        w.key("previousHash"); w.string(previousHash.hexString)
        w.key("hash"); w.string(event.hash.hexString)
        w.key("inclusion")
        w.beginArray()
        for node in proof { w.string(node.hexString) }
        w.endArray()
        w.endObject()
        return w.text
    }
}
