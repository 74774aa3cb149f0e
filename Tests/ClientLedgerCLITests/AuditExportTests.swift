import Foundation
import LedgerTestSupport
import Testing

@testable import LedgerCore
import LedgerSQLite
import LedgerStorage

@Suite("audit export: one client's events, each verifiable alone")
struct AuditExportTests {
    @Test("every exported event's hash recomputes from its fields, and its inclusion proof leads to the root of the stored hashes")
    func exportVerifies() throws {
        try withWorkspace { (workspace) throws in
            try EndToEndTests.ledgerWithBase(workspace)
            let run = runCLI(["audit", "export", "C100", "--db", workspace.db])
            #expect(run.status == 0, "\(run.stderr)")
            let lines = run.stdout.split(separator: "\n").map(String.init)
            let header = try EndToEndTests.jsonObject(lines[0])
            let checkpoint = try EndToEndTests.jsonObject(lines[1])
            let events = try lines.dropFirst(3).map { try EndToEndTests.jsonObject($0) }
            #expect(header["kind"] as? String == "header")
            #expect((header["events"] as? NSNumber)?.intValue == events.count)
            #expect(try eventCount(workspace.db, where: "stream = 'client/C100'") == Int64(events.count))

            // The tree recomputed here from the database's stored hashes.
            let log = try SQLiteEventStore(path: workspace.db, readOnly: true)
            let hashes = try log.events(.all).map(\.hash)
            let tree = MerkleTree(eventHashes: hashes)
            #expect((checkpoint["treeSize"] as? NSNumber)?.intValue == hashes.count)
            #expect(checkpoint["root"] as? String == tree.root.hexString)

            for event in events {
                let position = try #require((event["position"] as? NSNumber)?.int64Value)
                let previousText = try #require(event["previousHash"] as? String)
                let previous = try #require([UInt8](hex: previousText))
                #expect(previous == (position > 1 ? hashes[Int(position) - 2] : HashChain.genesis))
                let fields = HashChain.Fields(
                    position: position, stream: try #require(event["stream"] as? String),
                    version: try #require((event["version"] as? NSNumber)?.int64Value),
                    eventId: try #require(event["eventId"] as? String), type: try #require(event["type"] as? String),
                    schemaVersion: try #require((event["schemaVersion"] as? NSNumber)?.int64Value),
                    occurredAt: try #require(event["occurredAt"] as? String), recordedAt: try #require(event["recordedAt"] as? String),
                    data: try #require(event["data"] as? String), metadata: try #require(event["metadata"] as? String))
                let hash = HashChain.hash(previous: previous, fields)
                #expect(hash.hexString == event["hash"] as? String)
                #expect(hash == hashes[Int(position) - 1])
                let proofText = try #require(event["inclusion"] as? [String])
                let proof = proofText.compactMap { [UInt8](hex: $0) }
                #expect(MerkleTree.verifyInclusion(
                    leafHash: MerkleTree.leafHash(hash), index: Int(position - 1), treeSize: hashes.count, proof: proof, root: tree.root))
            }
        }
    }

    @Test("an unknown client exits 65")
    func unknownClient() throws {
        try withWorkspace { (workspace) throws in
            try EndToEndTests.ledgerWithBase(workspace)
            #expect(runCLI(["audit", "export", "C999", "--db", workspace.db]).status == 65)
        }
    }
}
