import Foundation
import LedgerTestSupport
import Testing

@testable import LedgerCore
import LedgerSQLite
import LedgerStorage

@Suite("audit export: one client's events, each verifiable alone")
struct AuditExportTests {
    @Test("every exported event's hash recomputes from its previous hash and its stored text")
    func exportVerifies() throws {
        try withWorkspace { (workspace) throws in
            try EndToEndTests.ledgerWithBase(workspace)
            let run = runCLI(["audit", "export", "C100", "--db", workspace.db])
            #expect(run.status == 0, "\(run.stderr)")
            let lines = run.stdout.split(separator: "\n").map(String.init)
            let header = try EndToEndTests.jsonObject(lines[0])
            let events = try lines.dropFirst().map { try EndToEndTests.jsonObject($0) }
            #expect((header["events"] as? NSNumber)?.intValue == events.count)
            #expect(try eventCount(workspace.db, where: "stream = 'client/C100'") == Int64(events.count))
            let log = try SQLiteEventStore(path: workspace.db, readOnly: true)
            #expect(header["headHash"] as? String == (try log.head().hash.hexString))
            for event in events {
                #expect(event["hashVerifies"] as? Bool == true)
                // Recompute independently of the command, from the exported fields alone.
                let position = try #require((event["position"] as? NSNumber)?.int64Value)
                let previous = try #require(event["previousHash"] as? String)
                let fields = HashChain.Fields(
                    position: position, stream: try #require(event["stream"] as? String),
                    version: try #require((event["version"] as? NSNumber)?.int64Value),
                    eventId: try #require(event["eventId"] as? String), type: try #require(event["type"] as? String),
                    schemaVersion: try #require((event["schemaVersion"] as? NSNumber)?.int64Value),
                    occurredAt: try #require(event["occurredAt"] as? String), recordedAt: try #require(event["recordedAt"] as? String),
                    data: try #require(event["dataText"] as? String), metadata: try #require(event["metadataText"] as? String))
                let previousBytes = stride(from: 0, to: previous.count, by: 2).map { offset -> UInt8 in
                    let start = previous.index(previous.startIndex, offsetBy: offset)
                    return UInt8(previous[start..<previous.index(start, offsetBy: 2)], radix: 16) ?? 0
                }
                #expect(HashChain.hash(previous: previousBytes, fields).hexString == event["hash"] as? String)
            }
        }
    }

    @Test("an unknown client exits 65; a tampered event makes the export exit 1")
    func failures() throws {
        try withWorkspace { (workspace) throws in
            try EndToEndTests.ledgerWithBase(workspace)
            #expect(runCLI(["audit", "export", "C999", "--db", workspace.db]).status == 65)
            let connection = try Connection(path: workspace.db, mode: .readWrite)
            try connection.execute("DROP TRIGGER log_append_only_update")
            try connection.execute("UPDATE log SET data = '{\"level\":\"C5\",\"score\":99,\"lowestCategory\":false}' WHERE stream_id = (SELECT id FROM streams WHERE name = 'client/C100') AND version = 2")
            let run = runCLI(["audit", "export", "C100", "--db", workspace.db])
            #expect(run.status == 1)
            #expect(run.stdout.contains("\"hashVerifies\":false"))
        }
    }
}
