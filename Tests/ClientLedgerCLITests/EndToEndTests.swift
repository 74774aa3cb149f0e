import Foundation
import LedgerTestSupport
import Testing

@testable import LedgerCore
import LedgerSQLite
import LedgerStorage

@Suite("End to end through the clientledger executable")
struct EndToEndTests {
    static func baseFile() throws -> String {
        try badInputDirectory().appendingPathComponent("base.jsonl").path
    }

    static func baseLines() throws -> [String] {
        try String(contentsOfFile: baseFile(), encoding: .utf8).split(separator: "\n").map(String.init)
    }

    /// init + import base.jsonl.
    static func ledgerWithBase(_ workspace: Workspace) throws {
        let created = runCLI(["init", "--db", workspace.db])
        #expect(created.status == 0, "\(created.stderr)")
        let imported = runCLI(["import", "--db", workspace.db, try baseFile()])
        #expect(imported.status == 0, "\(imported.stderr)")
    }

    static func jsonObject(_ text: String) throws -> [String: Any] {
        try #require(try parseJSON(text) as? [String: Any], "not a JSON object: \(text.prefix(300))")
    }

    static func jsonArray(_ text: String) throws -> [[String: Any]] {
        try #require(try parseJSON(text) as? [[String: Any]], "not a JSON array of objects: \(text.prefix(300))")
    }

    // MARK: - init

    @Test("init creates the ledger file with mode 0600; a second init keeps it")
    func initCreates() throws {
        try withWorkspace { (workspace) throws in
            let first = runCLI(["init", "--db", workspace.db])
            #expect(first.status == 0, "\(first.stderr)")
            #expect(first.stdout.contains("created ledger"))
            #expect(FileManager.default.fileExists(atPath: workspace.db))
            #expect(try permissions(workspace.db) == 0o600)
            #expect(try eventCount(workspace.db) == 0)
            let second = runCLI(["init", "--db", workspace.db])
            #expect(second.status == 0)
            #expect(second.stdout.contains("ready (0 events)"), "\(second.stdout)")
            #expect(try permissions(workspace.db) == 0o600)
        }
    }

    @Test("CLIENTLEDGER_DB is not needed when --db is given, and init never writes outside --db")
    func initOnlyTouchesDb() throws {
        try withWorkspace { (workspace) throws in
            #expect(runCLI(["init", "--db", workspace.db]).status == 0)
            let files = try FileManager.default.contentsOfDirectory(atPath: workspace.directory.path)
            #expect(files.allSatisfy { $0.hasPrefix("ledger.db") }, "\(files)")
        }
    }

    // MARK: - import

    @Test("importing the same file twice writes nothing the second time")
    func reimportWritesNothing() throws {
        try withWorkspace { (workspace) throws in
            try Self.ledgerWithBase(workspace)
            let before = try snapshot(workspace.db)
            #expect(try eventCount(workspace.db, where: "type NOT IN ('PointsAwarded','PointsExpired','TierChanged')") == 15)
            let again = runCLI(["import", "--db", workspace.db, try Self.baseFile()])
            #expect(again.status == 0, "\(again.stderr)")
            #expect(again.stdout.contains("imported 0 events"), "\(again.stdout)")
            #expect(again.stdout.contains("15 already stored"), "\(again.stdout)")
            #expect(try snapshot(workspace.db) == before)
        }
    }

    @Test("an import from standard input works like a file")
    func importFromStdin() throws {
        try withWorkspace { (workspace) throws in
            #expect(runCLI(["init", "--db", workspace.db]).status == 0)
            let data = try Data(contentsOf: URL(fileURLWithPath: try Self.baseFile()))
            let result = runCLI(["import", "--db", workspace.db, "-"], stdin: data)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(try eventCount(workspace.db, where: "type = 'ClientRegistered'") == 3)
            let again = runCLI(["import", "--db", workspace.db, "-"], stdin: data)
            #expect(again.stdout.contains("15 already stored"), "\(again.stdout)")
        }
    }

    @Test("--batch-size 2 on a 7-line file commits in batches; a rerun duplicates nothing")
    func batchedImport() throws {
        try withWorkspace { (workspace) throws in
            #expect(runCLI(["init", "--db", workspace.db]).status == 0)
            let file = try workspace.write("seven.jsonl", try Self.baseLines().prefix(7).joined(separator: "\n") + "\n")
            let first = runCLI(["import", "--db", workspace.db, "--batch-size", "2", "--format", "json", file])
            #expect(first.status == 0, "\(first.stderr)")
            let report = try Self.jsonObject(first.stdout)
            #expect(report["received"] as? Int == 7)
            #expect(report["factsWritten"] as? Int == 7)
            #expect(report["alreadyStored"] as? Int == 0)
            // Nothing is committed before the check of all 7 lines has passed; the writing
            // runs beside it, so the first commit may hold several batches (BatchedImportTests).
            // Every commit ends at a batch boundary, or at the last line.
            let reported = first.stderr.split(separator: "\n").compactMap { line -> Int? in
                guard line.hasPrefix("committed through line ") else { return nil }
                return Int(line.dropFirst("committed through line ".count))
            }
            #expect(reported.last == 7, "\(first.stderr)")
            #expect(reported.dropLast().allSatisfy { $0 % 2 == 0 }, "\(reported)")
            #expect(report["batchesCommitted"] as? Int == reported.count)
            let decisions = try #require(report["decisionsWritten"] as? Int)
            #expect(decisions >= 2, "a 250,000 CNY deposit earns points and Silver")
            #expect(try eventCount(workspace.db) == Int64(7 + decisions))
            let before = try snapshot(workspace.db)

            let rerun = runCLI(["import", "--db", workspace.db, "--batch-size", "2", "--format", "json", file])
            #expect(rerun.status == 0, "\(rerun.stderr)")
            let second = try Self.jsonObject(rerun.stdout)
            #expect(second["factsWritten"] as? Int == 0)
            #expect(second["decisionsWritten"] as? Int == 0)
            #expect(second["alreadyStored"] as? Int == 7)
            #expect(try snapshot(workspace.db) == before)
            #expect(runCLI(["audit", "verify", "--db", workspace.db]).status == 0)
        }
    }

    @Test("lines without an eventId get derived ids: a rerun, batched or not, duplicates nothing", arguments: [[], ["--batch-size", "2"]])
    func derivedIdsAreStable(extra: [String]) throws {
        try withWorkspace { (workspace) throws in
            #expect(runCLI(["init", "--db", workspace.db]).status == 0)
            let register = #"{"type":"ClientRegistered","clientId":"C900","occurredAt":"2026-01-01T09:00:00Z","data":{"name":"N","segment":"retail","investorType":"ordinary","branch":"B"}}"#
            let visit = #"{"type":"InteractionLogged","clientId":"C900","occurredAt":"2026-01-02T09:00:00Z","data":{"channel":"app","kind":"visit"}}"#
            let call = #"{"type":"InteractionLogged","clientId":"C900","occurredAt":"2026-01-02T09:00:00Z","data":{"channel":"phone","kind":"visit"}}"#
            let file = try workspace.write("noids.jsonl", [register, visit, call].joined(separator: "\n") + "\n")
            let first = runCLI(["import", "--db", workspace.db] + extra + [file])
            #expect(first.status == 0, "\(first.stderr)")
            #expect(try eventCount(workspace.db, where: "stream = 'client/C900'") == 3)
            let before = try snapshot(workspace.db)
            let again = runCLI(["import", "--db", workspace.db] + extra + [file])
            #expect(again.status == 0, "\(again.stderr)")
            #expect(again.stdout.contains("imported 0 events"), "\(again.stdout)")
            #expect(try snapshot(workspace.db) == before)
            // The same visit twice in one input is one fact sent twice: refused, nothing written.
            let twice = try workspace.write("twice.jsonl", [visit, visit].joined(separator: "\n") + "\n")
            let refused = runCLI(["import", "--db", workspace.db] + extra + [twice])
            #expect(refused.status == 65, "\(refused.stdout) \(refused.stderr)")
            #expect(refused.stderr.contains("line 2") && refused.stderr.contains("line 1"), "\(refused.stderr)")
            #expect(try snapshot(workspace.db) == before)
        }
    }

    @Test("a batched import whose last line is invalid writes nothing at all")
    func batchedImportCheckedFirst() throws {
        try withWorkspace { (workspace) throws in
            #expect(runCLI(["init", "--db", workspace.db]).status == 0)
            var lines = Array(try Self.baseLines().prefix(7))
            lines.append(#"{"eventId":"8c6a2b1e-4f3d-4a5b-9c7d-1e2f3a4b5c6d","type":"FundsDeposited","clientId":"C100","occurredAt":"2026-01-09T10:00:00Z","data":{"amount":"100"}}"#)
            let file = try workspace.write("bad-last.jsonl", lines.joined(separator: "\n") + "\n")
            let result = runCLI(["import", "--db", workspace.db, "--batch-size", "2", file])
            #expect(result.status == 65, "\(result.stderr)")
            #expect(result.stderr.contains("line 8"), "\(result.stderr)")
            #expect(result.stderr.contains("data.amount"), "\(result.stderr)")
            #expect(try eventCount(workspace.db) == 0)
        }
    }

    @Test("a batched import whose last line breaks a policy writes nothing at all")
    func batchedImportPolicyCheckedFirst() throws {
        try withWorkspace { (workspace) throws in
            #expect(runCLI(["init", "--db", workspace.db]).status == 0)
            var lines = Array(try Self.baseLines().prefix(7))
            // Well-formed, but C100 has no points to redeem.
            lines.append(#"{"eventId":"9d7b3c2f-5a4e-4b6c-8d8e-2f3a4b5c6d7e","type":"PointsRedeemed","clientId":"C100","occurredAt":"2026-01-09T10:00:00Z","data":{"points":100,"reward":"mug"}}"#)
            let file = try workspace.write("bad-policy.jsonl", lines.joined(separator: "\n") + "\n")
            let result = runCLI(["import", "--db", workspace.db, "--batch-size", "2", file])
            #expect(result.status == 65, "\(result.stderr)")
            #expect(result.stderr.contains("line 8"), "\(result.stderr)")
            #expect(try eventCount(workspace.db) == 0)
        }
    }

    // MARK: - append

    @Test("append with a wrong --expected-version exits 75 and writes nothing; the right one appends")
    func appendExpectedVersion() throws {
        try withWorkspace { (workspace) throws in
            try Self.ledgerWithBase(workspace)
            let version = try Connection(path: workspace.db, mode: .readOnly)
                .scalarInt("SELECT max(version) FROM events WHERE stream = 'client/C100'")
            #expect(version >= 5)
            let before = try snapshot(workspace.db)
            let event = #"{"type":"InteractionLogged","clientId":"C100","occurredAt":"2026-02-01T10:00:00Z","data":{"channel":"app","kind":"inquiry"}}"#
            for wrong in [version - 1, version + 1, 0] {
                let refused = runCLI(["append", "--db", workspace.db, event, "--expected-version", String(wrong)])
                #expect(refused.status == 75, "expected version \(wrong): \(refused.stderr)")
                #expect(refused.stderr.contains("conflict"), "\(refused.stderr)")
                #expect(try snapshot(workspace.db) == before)
            }
            let accepted = runCLI(["append", "--db", workspace.db, event, "--expected-version", String(version)])
            #expect(accepted.status == 0, "\(accepted.stderr)")
            #expect(accepted.stdout.contains("appended"), "\(accepted.stdout)")
            #expect(try eventCount(workspace.db, includingRules: true) == before.count + 1)
            #expect(try eventCount(workspace.db, where: "stream = 'client/C100' AND version = ?", [String(version + 1)]) == 1)

            // Retrying the very same command (a lost reply) is a no-op, not a conflict.
            let retried = runCLI(["append", "--db", workspace.db, event, "--expected-version", String(version)])
            #expect(retried.status == 0, "\(retried.stderr)")
            #expect(retried.stdout.contains("already stored"), "\(retried.stdout)")
            #expect(try eventCount(workspace.db, includingRules: true) == before.count + 1)
        }
    }

    @Test("append reads the event from standard input with -")
    func appendFromStdin() throws {
        try withWorkspace { (workspace) throws in
            try Self.ledgerWithBase(workspace)
            let count = try eventCount(workspace.db)
            let event = #"{"type":"InteractionLogged","clientId":"C101","occurredAt":"2026-02-01T10:00:00Z","data":{"channel":"email","kind":"education"}}"#
            let result = runCLI(["append", "--db", workspace.db, "-"], stdin: Data(event.utf8))
            #expect(result.status == 0, "\(result.stderr)")
            #expect(try eventCount(workspace.db) == count + 1)
        }
    }

    // MARK: - events

    @Test("events --format json is JSON and filters by client, type, position and time")
    func eventsFilters() throws {
        try withWorkspace { (workspace) throws in
            try Self.ledgerWithBase(workspace)
            let total = try eventCount(workspace.db, includingRules: true)

            let all = runCLI(["events", "--db", workspace.db, "--format", "json"])
            #expect(all.status == 0, "\(all.stderr)")
            let every = try Self.jsonArray(all.stdout)
            #expect(every.count == Int(total))
            #expect(every.compactMap { $0["position"] as? Int } == Array(1...Int(total)))
            #expect(every.allSatisfy { $0["data"] is [String: Any] && $0["metadata"] is [String: Any] })
            #expect(every.allSatisfy { ($0["hash"] as? String)?.count == 64 })

            let client = try Self.jsonArray(runCLI(["events", "--db", workspace.db, "--client", "C100", "--format", "json"]).stdout)
            #expect(client.count == Int(try eventCount(workspace.db, where: "stream = 'client/C100'")))
            #expect(!client.isEmpty && client.allSatisfy { $0["stream"] as? String == "client/C100" })
            #expect(client.compactMap { $0["version"] as? Int } == Array(1...client.count))

            let trades = try Self.jsonArray(runCLI(["events", "--db", workspace.db, "--type", "TradeExecuted", "--format", "json"]).stdout)
            #expect(trades.count == 2)
            #expect(trades.allSatisfy { $0["type"] as? String == "TradeExecuted" })

            let two = try Self.jsonArray(runCLI(["events", "--db", workspace.db, "--type", "TradeExecuted,ClientOffboarded", "--format", "json"]).stdout)
            #expect(Set(two.compactMap { $0["type"] as? String }) == ["TradeExecuted", "ClientOffboarded"])
            #expect(two.count == 3)

            let range = try Self.jsonArray(runCLI(["events", "--db", workspace.db, "--from", "3", "--to", "5", "--format", "json"]).stdout)
            #expect(range.compactMap { $0["position"] as? Int } == [3, 4, 5])

            let autumn = try Self.jsonArray(runCLI(["events", "--db", workspace.db, "--since", "2025-09-01", "--until", "2025-10-31", "--format", "json"]).stdout)
            let expected = try eventCount(workspace.db, where: "occurred_at >= '2025-09-01' AND occurred_at < '2025-11-01'")
            #expect(autumn.count == Int(expected))
            #expect(!autumn.isEmpty)
            #expect(autumn.allSatisfy { (($0["occurredAt"] as? String) ?? "") >= "2025-09-01" && (($0["occurredAt"] as? String) ?? "") < "2025-11" })

            let limited = try Self.jsonArray(runCLI(["events", "--db", workspace.db, "--limit", "2", "--format", "json"]).stdout)
            #expect(limited.compactMap { $0["position"] as? Int } == [1, 2])

            let none = runCLI(["events", "--db", workspace.db, "--client", "C404", "--format", "json"])
            #expect(none.status == 0)
            #expect(try Self.jsonArray(none.stdout).isEmpty)

            let text = runCLI(["events", "--db", workspace.db, "--client", "C101"])
            #expect(text.status == 0)
            #expect(text.stdout.contains("client/C101"))
            #expect(!text.stdout.contains("client/C100"))
        }
    }

    @Test("read commands do not write: events and audit verify leave the file as it was")
    func readCommandsDoNotWrite() throws {
        try withWorkspace { (workspace) throws in
            try Self.ledgerWithBase(workspace)
            let before = try snapshot(workspace.db)
            #expect(runCLI(["events", "--db", workspace.db]).status == 0)
            #expect(runCLI(["audit", "verify", "--db", workspace.db]).status == 0)
            #expect(try snapshot(workspace.db) == before)
        }
    }

    // MARK: - audit

    @Test("audit verify and tools/verify_chain.py agree on an intact log, and both find a tampered row")
    func auditAndTamper() throws {
        try withWorkspace { (workspace) throws in
            try Self.ledgerWithBase(workspace)
            let total = try eventCount(workspace.db, includingRules: true)

            let verify = runCLI(["audit", "verify", "--db", workspace.db])
            #expect(verify.status == 0, "\(verify.stdout) \(verify.stderr)")
            #expect(verify.stdout.contains("chain intact: \(total) events"), "\(verify.stdout)")
            let json = try Self.jsonObject(runCLI(["audit", "verify", "--db", workspace.db, "--format", "json"]).stdout)
            #expect(json["intact"] as? Bool == true)
            let head = try #require(json["headHash"] as? String)

            let script = repositoryRoot().appendingPathComponent("tools/verify_chain.py").path
            let python = try runTool("python3", [script, workspace.db, "--quiet"])
            #expect(python.status == 0, "\(python.stdout) \(python.stderr)")
            #expect(python.stdout.hasPrefix("OK"), "\(python.stdout)")
            #expect(python.stdout.contains("OK \(total) events, head \(head)"), "the independent check disagrees: \(python.stdout)")

            // Tamper: drop the trigger that guards UPDATE and change one row.
            let tamper = #"DROP TRIGGER log_append_only_update; UPDATE log SET data='{"amount":1.00}' WHERE position=3;"#
            if let sqlite3 = sqlite3Path() {
                let result = try runTool(sqlite3, [workspace.db, tamper])
                #expect(result.status == 0, "sqlite3: \(result.stderr)")
            } else {
                let connection = try Connection(path: workspace.db, mode: .readWrite)
                try connection.execute(tamper)
            }
            #expect(try eventCount(workspace.db, where: #"position = 3 AND data = '{"amount":1.00}'"#) == 1)

            let broken = runCLI(["audit", "verify", "--db", workspace.db])
            #expect(broken.status == 1, "\(broken.stdout) \(broken.stderr)")
            #expect(broken.stdout.contains("position 3"), "\(broken.stdout)")
            #expect(broken.stdout.contains("log_append_only_update"), "\(broken.stdout)")
            let brokenJSON = try Self.jsonObject(runCLI(["audit", "verify", "--db", workspace.db, "--format", "json"]).stdout)
            #expect(brokenJSON["intact"] as? Bool == false)
            #expect(brokenJSON["firstBadPosition"] as? Int == 3)
            #expect(brokenJSON["missingTriggers"] as? [String] == ["log_append_only_update"])

            let pythonBroken = try runTool("python3", [script, workspace.db, "--quiet"])
            #expect(pythonBroken.status == 1, "\(pythonBroken.stdout) \(pythonBroken.stderr)")
            #expect(pythonBroken.stdout.hasPrefix("BROKEN at position 3"), "\(pythonBroken.stdout)")
            #expect(pythonBroken.stdout.contains("missing trigger log_append_only_update"))
        }
    }

    @Test("audit verify reports a dropped trigger even when every hash is intact")
    func auditDroppedTrigger() throws {
        try withWorkspace { (workspace) throws in
            try Self.ledgerWithBase(workspace)
            let connection = try Connection(path: workspace.db, mode: .readWrite)
            try connection.execute("DROP TRIGGER log_gap_free")
            let result = runCLI(["audit", "verify", "--db", workspace.db])
            #expect(result.status == 1)
            #expect(result.stdout.contains("log_gap_free"), "\(result.stdout)")
            #expect(!result.stdout.contains("BROKEN at position"), "\(result.stdout)")
        }
    }
}

@Suite("Large imports: the parser runs ahead of the writer in chunks")
struct LargeImportTests {
    static let lineCount = 5_000

    /// A registration for C500, then interactions (no points, so no decisions). Lines have no
    /// eventId unless `ids` is set.
    static func lines(ids: Bool = false) -> [String] {
        let start = Timestamp(iso8601: "2025-01-01T00:00:00Z")?.millisecondsSinceEpoch ?? 0
        var lines = [#"{"type":"ClientRegistered","clientId":"C500","occurredAt":"2025-01-01T00:00:00Z","data":{"name":"Large","segment":"retail","investorType":"ordinary","branch":"B"}}"#]
        for index in 1..<lineCount {
            let moment = Timestamp(millisecondsSinceEpoch: start + Int64(index) * 60_000).iso8601
            let eventId = EventID.derived(from: "large-\(index)")
            let id = ids ? #""eventId":"\#(eventId)","# : ""
            lines.append(#"{\#(id)"type":"InteractionLogged","clientId":"C500","occurredAt":"\#(moment)","data":{"channel":"app","kind":"inquiry"}}"#)
        }
        return lines
    }

    static func write(_ lines: [String], _ workspace: Workspace) throws -> String {
        try workspace.write("large.jsonl", lines.joined(separator: "\n") + "\n")
    }

    @Test("thousands of valid lines import in full, and a rerun writes nothing", arguments: [[], ["--batch-size", "1000"]])
    func largeValid(extra: [String]) throws {
        try withWorkspace { (workspace) throws in
            #expect(runCLI(["init", "--db", workspace.db]).status == 0)
            let file = try Self.write(Self.lines(), workspace)
            let first = runCLI(["import", "--db", workspace.db] + extra + [file])
            #expect(first.status == 0, "\(first.stderr)")
            #expect(try eventCount(workspace.db) == Int64(Self.lineCount))
            let before = try snapshot(workspace.db)
            let again = runCLI(["import", "--db", workspace.db] + extra + [file])
            #expect(again.status == 0, "\(again.stderr)")
            #expect(again.stdout.contains("\(Self.lineCount) already stored"), "\(again.stdout)")
            #expect(try snapshot(workspace.db) == before)
            #expect(runCLI(["audit", "verify", "--db", workspace.db]).status == 0)
        }
    }

    @Test("a malformed line near the end of a large input writes nothing", arguments: [[], ["--batch-size", "1000"]])
    func largeBadNearEnd(extra: [String]) throws {
        try withWorkspace { (workspace) throws in
            #expect(runCLI(["init", "--db", workspace.db]).status == 0)
            var lines = Self.lines()
            lines[4_499] = #"{"type":"InteractionLogged","clientId":"C500","occurredAt":"2025-06-01T00:00:00Z","data":{"channel":"app","kind":"inquiry"}"#
            let result = runCLI(["import", "--db", workspace.db] + extra + [try Self.write(lines, workspace)])
            #expect(result.status == 65, "\(result.stderr)")
            #expect(result.stderr.contains("line 4500: malformed JSON"), "\(result.stderr)")
            #expect(try eventCount(workspace.db) == 0)
        }
    }

    @Test("a policy error at the start of a large input stops the import without hanging and writes nothing")
    func largeBadAtStart() throws {
        try withWorkspace { (workspace) throws in
            #expect(runCLI(["init", "--db", workspace.db]).status == 0)
            var lines = Self.lines()
            lines[1] = #"{"type":"InteractionLogged","clientId":"C999","occurredAt":"2025-06-01T00:00:00Z","data":{"channel":"app","kind":"inquiry"}}"#
            let result = runCLI(["import", "--db", workspace.db, try Self.write(lines, workspace)], timeoutSeconds: 60)
            #expect(result.status == 65, "\(result.stderr)")
            #expect(result.stderr.contains("line 2, field clientId"), "\(result.stderr)")
            #expect(try eventCount(workspace.db) == 0)
        }
    }

    @Test("an eventId repeated thousands of lines later is a duplicate and nothing is written", arguments: [[], ["--batch-size", "1000"]])
    func largeDuplicateFarApart(extra: [String]) throws {
        try withWorkspace { (workspace) throws in
            #expect(runCLI(["init", "--db", workspace.db]).status == 0)
            var lines = Self.lines(ids: true)
            // Line 4010 takes line 10's id, with a different payload.
            lines[4_009] = lines[4_009].replacingOccurrences(
                of: EventID.derived(from: "large-4009"), with: EventID.derived(from: "large-9"))
            lines[4_009] = lines[4_009].replacingOccurrences(of: #""kind":"inquiry""#, with: #""kind":"visit""#)
            let result = runCLI(["import", "--db", workspace.db] + extra + [try Self.write(lines, workspace)])
            #expect(result.status == 65, "\(result.stderr)")
            #expect(result.stderr.contains("line 4010, field eventId"), "\(result.stderr)")
            #expect(result.stderr.contains("duplicate"), "\(result.stderr)")
            #expect(try eventCount(workspace.db) == 0)
        }
    }
}
