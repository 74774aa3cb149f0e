import Foundation
import LedgerTestSupport
import Testing

import LedgerCore
import LedgerSQLite

/// Checkpoints, consistency, and the export bundle, end to end through the executable and
/// through tools/verify_export.py.
@Suite("compliance proofs: checkpoints, consistency, export bundles checked offline by both verifiers")
struct ComplianceProofTests {
    static var verifyExportScript: String { repositoryRoot().appendingPathComponent("tools/verify_export.py").path }

    /// A ledger with the base facts and C100's bundle written to `bundle.jsonl`.
    static func exported(_ workspace: Workspace) throws -> [String] {
        try EndToEndTests.ledgerWithBase(workspace)
        let run = runCLI(["audit", "export", "C100", "--db", workspace.db, "--output", workspace.path("bundle.jsonl")])
        #expect(run.status == 0, "\(run.stderr)")
        return try String(contentsOfFile: workspace.path("bundle.jsonl"), encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
    }

    /// The line both verifiers name as the first bad one (nil when they say intact), after
    /// checking that they agree.
    static func firstBadLine(_ lines: [String], in workspace: Workspace, publicKey: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws -> Int? {
        let file = workspace.path("tampered-\(UUID().uuidString).jsonl")
        try (lines.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let keyArguments = publicKey.map { ["--public-key", $0] } ?? []
        let swift = runCLI(["audit", "verify-export", file] + keyArguments, sourceLocation: sourceLocation)
        let python = try runTool("python3", [verifyExportScript, file] + keyArguments)
        func line(_ output: String) -> Int? {
            guard let range = output.range(of: "BROKEN at line ") else { return nil }
            return Int(output[range.upperBound...].prefix { $0.isNumber })
        }
        let swiftLine = line(swift.stdout)
        let pythonLine = line(python.stdout)
        #expect(swift.status == (swiftLine == nil ? 0 : 1), "clientledger: \(swift.stdout) \(swift.stderr)", sourceLocation: sourceLocation)
        #expect(python.status == (pythonLine == nil ? 0 : 1), "python: \(python.stdout) \(python.stderr)", sourceLocation: sourceLocation)
        #expect(swiftLine == pythonLine, "clientledger: \(swift.stdout) python: \(python.stdout)", sourceLocation: sourceLocation)
        return swiftLine
    }

    static func object(_ line: String) throws -> [String: Any] { try EndToEndTests.jsonObject(line) }

    static func text(_ object: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    /// The line with one field replaced.
    static func edit(_ line: String, _ field: String, _ value: Any) throws -> String {
        var object = try object(line)
        object[field] = value
        return try text(object)
    }

    /// Another value of the same kind as `value`.
    static func altered(_ value: Any) -> Any {
        if let number = value as? NSNumber { return number.int64Value + 1 }
        if let list = value as? [String] { return list.isEmpty ? [String(repeating: "0", count: 64)] : Array(list.dropLast()) }
        if let text = value as? String {
            if text.count == 64 || text.count == 128, text.allSatisfy(\.isHexDigit) {
                return (text.first == "0" ? "1" : "0") + text.dropFirst()
            }
            if text.count == 24, text.hasSuffix("Z") {
                // Another millisecond, in the same form.
                return String(text.dropLast(2)) + (text.dropLast().last == "1" ? "2Z" : "1Z")
            }
            if text.hasPrefix("{") { return text.replacingOccurrences(of: "}", with: ",\"x\":1}") }
            return text + "x"
        }
        return value
    }

    @Test("an untouched bundle verifies with both verifiers, with and without the ledger's public key")
    func untouchedVerifies() throws {
        try withWorkspace { (workspace) throws in
            let lines = try Self.exported(workspace)
            let statement = try Self.object(lines[2])
            #expect((statement["events"] as? NSNumber)?.intValue == lines.count - 3)
            #expect(try eventCount(workspace.db, where: "stream = 'client/C100'") == Int64(lines.count - 3))
            #expect(try Self.firstBadLine(lines, in: workspace) == nil)
            let key = runCLI(["audit", "public-key", "--db", workspace.db])
            #expect(key.status == 0)
            let publicKey = key.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(try Self.object(lines[0])["publicKey"] as? String == publicKey)
            #expect(try Self.firstBadLine(lines, in: workspace, publicKey: publicKey) == nil)
            let pinned = runCLI(["audit", "verify-export", workspace.path("bundle.jsonl"), "--public-key", publicKey, "--format", "json"])
            let report = try Self.object(pinned.stdout)
            #expect(report["intact"] as? Bool == true)
            #expect(report["keyPinned"] as? Bool == true)
            #expect((report["eventsChecked"] as? NSNumber)?.intValue == lines.count - 3)
            // Another ledger's key: refused at the header.
            let other = String(repeating: "ab", count: 32)
            #expect(try Self.firstBadLine(lines, in: workspace, publicKey: other) == 1)
        }
    }

    @Test("editing any field of an event line is caught at that line")
    func editedEventField() throws {
        try withWorkspace { (workspace) throws in
            let lines = try Self.exported(workspace)
            let target = 4  // the second event (line 5)
            let fields = [
                "position", "stream", "version", "eventId", "type", "schemaVersion", "occurredAt", "recordedAt", "data",
                "metadata", "previousHash", "hash", "inclusion",
            ]
            for field in fields {
                var tampered = lines
                let value = try #require(try Self.object(lines[target])[field], "field \(field)")
                tampered[target] = try Self.edit(lines[target], field, Self.altered(value))
                #expect(try Self.firstBadLine(tampered, in: workspace) == target + 1, "edited \(field)")
            }
        }
    }

    @Test("editing any field of the header, the checkpoint or the stream statement is caught at that line")
    func editedSignedLines() throws {
        try withWorkspace { (workspace) throws in
            let lines = try Self.exported(workspace)
            for (index, fields) in [
                (0, ["format", "client", "stream", "events", "exportedAt", "publicKey"]),
                (1, ["treeSize", "root", "time", "publicKey", "signature"]),
                (2, ["stream", "events", "lastPosition", "treeSize", "root", "checkpointTime", "signature"]),
            ] {
                for field in fields {
                    var tampered = lines
                    let value = try #require(try Self.object(lines[index])[field], "line \(index + 1) field \(field)")
                    tampered[index] = try Self.edit(lines[index], field, Self.altered(value))
                    #expect(try Self.firstBadLine(tampered, in: workspace) == index + 1, "line \(index + 1): edited \(field)")
                }
            }
        }
    }

    @Test("a dropped, reordered, inserted or forged event, and a cut tail, are caught naming the line")
    func missingAndForgedEvents() throws {
        try withWorkspace { (workspace) throws in
            let lines = try Self.exported(workspace)
            let count = lines.count
            #expect(count >= 7, "C100 should have several events")

            var dropped = lines
            dropped.remove(at: 4)
            #expect(try Self.firstBadLine(dropped, in: workspace) == 5, "dropped the second event")
            var droppedFirst = lines
            droppedFirst.remove(at: 3)
            #expect(try Self.firstBadLine(droppedFirst, in: workspace) == 4, "dropped the first event")

            var reordered = lines
            reordered.swapAt(4, 5)
            #expect(try Self.firstBadLine(reordered, in: workspace) == 5, "swapped two events")

            // A forged event with a recomputed hash, slipped in as version 2.
            var forged = try Self.object(lines[4])
            forged["eventId"] = "00000000-0000-4000-8000-000000000001"
            forged["data"] = "{\"amount\":999999999}"
            let fields = HashChain.Fields(
                position: try #require((forged["position"] as? NSNumber)?.int64Value), stream: try #require(forged["stream"] as? String),
                version: 2, eventId: try #require(forged["eventId"] as? String), type: try #require(forged["type"] as? String),
                schemaVersion: try #require((forged["schemaVersion"] as? NSNumber)?.int64Value),
                occurredAt: try #require(forged["occurredAt"] as? String), recordedAt: try #require(forged["recordedAt"] as? String),
                data: try #require(forged["data"] as? String), metadata: try #require(forged["metadata"] as? String))
            let previousText = try #require(forged["previousHash"] as? String)
            let previous = try #require([UInt8](hex: previousText))
            forged["hash"] = HashChain.hash(previous: previous, fields).hexString
            var inserted = lines
            inserted.insert(try Self.text(forged), at: 4)
            #expect(try Self.firstBadLine(inserted, in: workspace) == 5, "forged event inserted")
            var replaced = lines
            replaced[4] = try Self.text(forged)
            #expect(try Self.firstBadLine(replaced, in: workspace) == 5, "event replaced by a forgery")
            var appended = lines
            appended.append(lines[count - 1])
            #expect(try Self.firstBadLine(appended, in: workspace) == count + 1, "an event added at the end")

            #expect(try Self.firstBadLine(Array(lines.dropLast()), in: workspace) == count, "cut the last event")
            #expect(try Self.firstBadLine(Array(lines.dropLast(3)), in: workspace) == count - 2, "cut three events")
            #expect(try Self.firstBadLine(Array(lines.prefix(2)), in: workspace) == 3, "cut after the checkpoint")
        }
    }

    @Test("a checkpoint swapped for a later one of the same ledger, or another ledger's, is caught at line 2")
    func swappedCheckpoint() throws {
        try withWorkspace { (workspace) throws in
            let lines = try Self.exported(workspace)
            let appended = runCLI([
                "append", "--db", workspace.db,
                #"{"type":"FundsDeposited","clientId":"C101","occurredAt":"2026-03-05T10:00:00Z","data":{"amount":10.00}}"#,
            ])
            #expect(appended.status == 0, "\(appended.stderr)")
            let later = runCLI(["audit", "checkpoint", "--db", workspace.db])
            #expect(later.status == 0, "\(later.stderr)")
            var swapped = lines
            swapped[1] = later.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(try Self.firstBadLine(swapped, in: workspace) == 2)

            let other = workspace.path("other.db")
            #expect(runCLI(["init", "--db", other]).status == 0)
            #expect(runCLI(["import", "--db", other, try EndToEndTests.baseFile()]).status == 0)
            let foreign = runCLI(["audit", "checkpoint", "--db", other])
            #expect(foreign.status == 0, "\(foreign.stderr)")
            swapped[1] = foreign.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(try Self.firstBadLine(swapped, in: workspace) == 2)
        }
    }

    @Test("verify --checkpoint: exit 0 after the log grew, exit 1 after it was rewritten or shortened, or the checkpoint edited")
    func consistency() throws {
        try withWorkspace { (workspace) throws in
            try EndToEndTests.ledgerWithBase(workspace)
            let checkpointFile = workspace.path("checkpoint.json")
            let made = runCLI(["audit", "checkpoint", "--db", workspace.db, "--output", checkpointFile])
            #expect(made.status == 0, "\(made.stderr)")
            #expect(try permissions(SigningKey(workspace.db)) == 0o600)
            #expect(runCLI(["audit", "verify", "--db", workspace.db, "--checkpoint", checkpointFile]).status == 0)

            // The log grows: still consistent.
            let appended = runCLI([
                "append", "--db", workspace.db,
                #"{"type":"FundsDeposited","clientId":"C101","occurredAt":"2026-03-05T10:00:00Z","data":{"amount":10.00}}"#,
            ])
            #expect(appended.status == 0, "\(appended.stderr)")
            let grown = runCLI(["audit", "verify", "--db", workspace.db, "--checkpoint", checkpointFile, "--format", "json"])
            #expect(grown.status == 0, "\(grown.stdout) \(grown.stderr)")
            let report = try EndToEndTests.jsonObject(grown.stdout)
            let section = try #require(report["checkpoint"] as? [String: Any])
            #expect(section["consistent"] as? Bool == true)
            #expect(((section["treeSize"] as? NSNumber)?.intValue ?? 0) > ((section["checkpointTreeSize"] as? NSNumber)?.intValue ?? 0))

            // The same log rewritten (one fact changed, every hash recomputed), holding the
            // ledger's key: its own chain is intact, yet it is not the log of the checkpoint.
            var base = try EndToEndTests.baseLines()
            base[2] = base[2].replacingOccurrences(of: "C100", with: "C103")
            let rewrittenInput = try workspace.write("rewritten.jsonl", base.joined(separator: "\n") + "\n")
            let rewritten = workspace.path("rewritten.db")
            #expect(runCLI(["init", "--db", rewritten]).status == 0)
            #expect(runCLI(["import", "--db", rewritten, rewrittenInput]).status == 0)
            try FileManager.default.removeItem(atPath: SigningKey(rewritten))
            try FileManager.default.copyItem(atPath: SigningKey(workspace.db), toPath: SigningKey(rewritten))
            #expect(runCLI(["audit", "verify", "--db", rewritten]).status == 0)
            let failed = runCLI(["audit", "verify", "--db", rewritten, "--checkpoint", checkpointFile])
            #expect(failed.status == 1, "\(failed.stdout)")
            #expect(failed.stdout.contains("NOT CONSISTENT"), "\(failed.stdout)")
            #expect(failed.stdout.contains("rewritten"), "\(failed.stdout)")

            // The checkpoint file edited: its signature no longer verifies.
            var checkpoint = try EndToEndTests.jsonObject(try String(contentsOfFile: checkpointFile, encoding: .utf8))
            checkpoint["treeSize"] = ((checkpoint["treeSize"] as? NSNumber)?.intValue ?? 0) - 1
            let edited = try workspace.write("edited.json", try Self.text(checkpoint))
            let refused = runCLI(["audit", "verify", "--db", workspace.db, "--checkpoint", edited])
            #expect(refused.status == 1)
            #expect(refused.stdout.contains("signature"), "\(refused.stdout)")
        }
    }

    @Test("a shortened log fails verify --checkpoint with the ledger's public key given")
    func shortenedLog() throws {
        try withWorkspace { (workspace) throws in
            try EndToEndTests.ledgerWithBase(workspace)
            let checkpointFile = workspace.path("checkpoint.json")
            #expect(runCLI(["audit", "checkpoint", "--db", workspace.db, "--output", checkpointFile]).status == 0)
            let publicKey = runCLI(["audit", "public-key", "--db", workspace.db, "--output", workspace.path("key.pub")])
            #expect(publicKey.status == 0)
            let short = workspace.path("short.db")
            let shortInput = try workspace.write("short.jsonl", try EndToEndTests.baseLines().prefix(3).joined(separator: "\n") + "\n")
            #expect(runCLI(["init", "--db", short]).status == 0)
            #expect(runCLI(["import", "--db", short, shortInput]).status == 0)
            let run = runCLI(["audit", "verify", "--db", short, "--checkpoint", checkpointFile, "--public-key", workspace.path("key.pub")])
            #expect(run.status == 1, "\(run.stdout) \(run.stderr)")
            #expect(run.stdout.contains("fewer"), "\(run.stdout)")
        }
    }

    @Test("verify --client: exit 0 on an intact client; exit 1 naming the position of an altered event")
    func verifyClient() throws {
        try withWorkspace { (workspace) throws in
            try EndToEndTests.ledgerWithBase(workspace)
            let ok = runCLI(["audit", "verify", "--db", workspace.db, "--client", "C100", "--format", "json"])
            #expect(ok.status == 0, "\(ok.stdout) \(ok.stderr)")
            let report = try EndToEndTests.jsonObject(ok.stdout)
            #expect(report["intact"] as? Bool == true)
            #expect((report["eventsChecked"] as? NSNumber)?.int64Value == (try eventCount(workspace.db, where: "stream = 'client/C100'")))
            #expect(runCLI(["audit", "verify", "--db", workspace.db, "--client", "C999"]).status == 65)

            let connection = try Connection(path: workspace.db, mode: .readWrite)
            try connection.execute("DROP TRIGGER log_append_only_update")
            try connection.execute("UPDATE log SET data = '{\"level\":\"C5\",\"score\":99,\"lowestCategory\":false}' WHERE stream_id = (SELECT id FROM streams WHERE name = 'client/C100') AND version = 2")
            let position = try connection.scalarInt("SELECT position FROM events WHERE stream = 'client/C100' AND version = 2")
            let broken = runCLI(["audit", "verify", "--db", workspace.db, "--client", "C100"])
            #expect(broken.status == 1)
            #expect(broken.stdout.contains("BROKEN at position \(position)"), "\(broken.stdout)")
            // Other clients' events still check out.
            #expect(runCLI(["audit", "verify", "--db", workspace.db, "--client", "C101"]).status == 0)
            // Nothing is signed over the altered log.
            let export = runCLI(["audit", "export", "C100", "--db", workspace.db, "--output", workspace.path("refused.jsonl")])
            #expect(export.status == 1, "\(export.stderr)")
            #expect(!FileManager.default.fileExists(atPath: workspace.path("refused.jsonl")))
            #expect(runCLI(["audit", "checkpoint", "--db", workspace.db]).status == 1)
        }
    }

    @Test("init creates the signing key with mode 0600; a ledger without one gets it on the first checkpoint")
    func signingKey() throws {
        try withWorkspace { (workspace) throws in
            let created = runCLI(["init", "--db", workspace.db])
            #expect(created.status == 0)
            #expect(try permissions(SigningKey(workspace.db)) == 0o600)
            let key = try String(contentsOfFile: SigningKey(workspace.db), encoding: .utf8)
            #expect(try eventCount(workspace.db) == 0)
            // The private key is nowhere in the database file.
            let database = try Data(contentsOf: URL(fileURLWithPath: workspace.db))
            let seed = try #require([UInt8](hex: key.trimmingCharacters(in: .whitespacesAndNewlines)))
            #expect(database.range(of: Data(seed)) == nil)
            #expect(database.range(of: Data(key.utf8.prefix(64))) == nil)

            // A ledger from before keys: none until the first checkpoint, which says so.
            try FileManager.default.removeItem(atPath: SigningKey(workspace.db))
            #expect(runCLI(["audit", "public-key", "--db", workspace.db]).status == 66)
            let first = runCLI(["audit", "checkpoint", "--db", workspace.db])
            #expect(first.status == 0, "\(first.stderr)")
            #expect(first.stderr.contains("created"), "\(first.stderr)")
            #expect(try permissions(SigningKey(workspace.db)) == 0o600)
            let checkpoint = try EndToEndTests.jsonObject(first.stdout)
            #expect((checkpoint["treeSize"] as? NSNumber)?.intValue == 0)
            #expect(checkpoint["root"] as? String == MerkleTree.emptyRoot.hexString)
            let publicKey = runCLI(["audit", "public-key", "--db", workspace.db])
            #expect(checkpoint["publicKey"] as? String == publicKey.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
            let second = runCLI(["audit", "checkpoint", "--db", workspace.db])
            #expect(!second.stderr.contains("created"))
        }
    }

    @Test("verify-export: a missing file exits 66, a bad --public-key 65, and the Python self-test passes")
    func verifyExportErrors() throws {
        try withWorkspace { (workspace) throws in
            #expect(runCLI(["audit", "verify-export", workspace.path("nope.jsonl")]).status == 66)
            let file = try workspace.write("empty.jsonl", "")
            #expect(runCLI(["audit", "verify-export", file, "--public-key", "xyz"]).status == 66)
            let badKey = try workspace.write("bad.key", "not a key\n")
            #expect(runCLI(["audit", "verify-export", file, "--public-key", badKey]).status == 65)
            let empty = runCLI(["audit", "verify-export", file])
            #expect(empty.status == 1)
            #expect(empty.stdout.contains("BROKEN at line 1"), "\(empty.stdout)")
            let selfTest = try runTool("python3", [Self.verifyExportScript, "--self-test"])
            #expect(selfTest.status == 0, "\(selfTest.stdout) \(selfTest.stderr)")
        }
    }
}

/// The key file beside a database.
private func SigningKey(_ db: String) -> String { db + ".signing-key" }
