import Foundation
import LedgerTestSupport
import Testing

@testable import LedgerCore
import LedgerSQLite
import LedgerStorage

/// One entry of `BadInput/cases.json`.
struct BadInputCase: Decodable, Sendable, CustomTestStringConvertible {
    struct Generate: Decodable, Sendable {
        var longLine: Bool?
    }

    var file: String
    var exit: Int32
    var contains: [String]
    var why: String
    var generate: Generate?

    var testDescription: String { file }

    /// Every case of the corpus (empty when the list cannot be read; a test checks it is not).
    static let all: [BadInputCase] = {
        guard let directory = Bundle.module.url(forResource: "BadInput", withExtension: nil),
            let data = try? Data(contentsOf: directory.appendingPathComponent("cases.json"))
        else { return [] }
        return (try? JSONDecoder().decode([BadInputCase].self, from: data)) ?? []
    }()
}

/// One entry of `BadInput/accepted.json`.
struct AcceptedInput: Decodable, Sendable, CustomTestStringConvertible {
    var file: String
    var events: Int
    var why: String
    var testDescription: String { file }

    static let all: [AcceptedInput] = {
        guard let directory = Bundle.module.url(forResource: "BadInput", withExtension: nil),
            let data = try? Data(contentsOf: directory.appendingPathComponent("accepted.json"))
        else { return [] }
        return (try? JSONDecoder().decode([AcceptedInput].self, from: data)) ?? []
    }()
}

@Suite("Bad-input corpus: every rejected import leaves the log exactly as it was")
struct BadInputTests {
    @Test("the corpus lists every case file, and every listed file exists or is generated")
    func corpusComplete() throws {
        let directory = try badInputDirectory()
        let cases = BadInputCase.all
        #expect(cases.count >= 50, "cases.json could not be read or is nearly empty")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        let caseFiles = Set(files.filter { $0.first?.isNumber == true })
        let listed = Set(cases.map(\.file))
        #expect(caseFiles.subtracting(listed).isEmpty, "case files not in cases.json: \(caseFiles.subtracting(listed).sorted())")
        for item in cases where item.generate == nil {
            #expect(caseFiles.contains(item.file), "\(item.file) is listed but missing")
        }
        #expect(cases.filter { $0.generate?.longLine == true }.count == 1)
        #expect(!AcceptedInput.all.isEmpty)
    }

    /// The file to import for a case: from the bundle, or written now.
    static func input(for item: BadInputCase, in workspace: Workspace) throws -> String {
        if item.generate?.longLine == true {
            let name = String(repeating: "a", count: 1_200_000)
            let line = #"{"eventId":"\#(EventID.random())","type":"ClientRegistered","clientId":"C242","occurredAt":"2026-04-01T09:00:00Z","data":{"name":"\#(name)","segment":"retail","investorType":"ordinary","branch":"SH-Lujiazui"},"metadata":{"actor":"crm","channel":"branch"}}"#
            #expect(line.utf8.count > 1_048_576)
            return try workspace.write(item.file, line + "\n")
        }
        return try badInputDirectory().appendingPathComponent(item.file).path
    }

    /// A ledger with `base.jsonl` imported; returns its snapshot.
    static func baseLedger(_ workspace: Workspace) throws -> LogSnapshot {
        let initialized = runCLI(["init", "--db", workspace.db])
        #expect(initialized.status == 0, "init: \(initialized.stderr)")
        let base = try badInputDirectory().appendingPathComponent("base.jsonl").path
        let imported = runCLI(["import", "--db", workspace.db, base])
        #expect(imported.status == 0, "base import: \(imported.stderr)")
        let snapshot = try snapshot(workspace.db)
        #expect(snapshot.count >= 15, "base.jsonl has 15 facts")
        return snapshot
    }

    static func check(_ item: BadInputCase, extraArguments: [String]) throws {
        try withWorkspace { (workspace) throws in
            let before = try Self.baseLedger(workspace)
            let file = try Self.input(for: item, in: workspace)
            let result = runCLI(["import", "--db", workspace.db] + extraArguments + [file])
            #expect(result.status == item.exit, "\(item.file) (\(item.why)): exit \(result.status), stderr: \(result.stderr.prefix(500))")
            for fragment in item.contains {
                #expect(result.stderr.contains(fragment), "\(item.file): stderr lacks \"\(fragment)\": \(result.stderr.prefix(500))")
            }
            #expect(!result.stdout.contains("imported"), "\(item.file): stdout claims an import: \(result.stdout.prefix(300))")
            let after = try snapshot(workspace.db)
            #expect(after.count == before.count, "\(item.file): \(after.count - before.count) events were written")
            #expect(after == before, "\(item.file): the log changed")
            let verify = runCLI(["audit", "verify", "--db", workspace.db])
            #expect(verify.status == 0, "\(item.file): audit verify: \(verify.stdout) \(verify.stderr)")
        }
    }

    @Test("a bad input is refused with its exit code and message, and writes nothing", arguments: BadInputCase.all)
    func refused(_ item: BadInputCase) throws {
        try Self.check(item, extraArguments: [])
    }

    @Test("a bad input imported in batches is refused the same way and writes nothing", arguments: BadInputCase.all)
    func refusedInBatches(_ item: BadInputCase) throws {
        try Self.check(item, extraArguments: ["--batch-size", "1"])
    }

    @Test("the snapshot reads every column of the events table")
    func snapshotCoversEveryColumn() throws {
        try withWorkspace { (workspace) throws in
            #expect(runCLI(["init", "--db", workspace.db]).status == 0)
            #expect(try eventColumnCount(workspace.db) == 11)
        }
    }

    @Test("accepted inputs import, and their SQL-looking and non-ASCII text is stored verbatim", arguments: AcceptedInput.all)
    func accepted(_ item: AcceptedInput) throws {
        try withWorkspace { (workspace) throws in
            #expect(runCLI(["init", "--db", workspace.db]).status == 0)
            let file = try badInputDirectory().appendingPathComponent(item.file)
            let result = runCLI(["import", "--db", workspace.db, file.path])
            #expect(result.status == 0, "\(item.file): \(result.stderr)")
            #expect(result.stdout.contains("imported \(item.events) events"), "\(result.stdout)")

            let lines = try String(contentsOf: file, encoding: .utf8).split(separator: "\n").filter { !$0.isEmpty }
            #expect(lines.count == item.events)
            var storedFacts = 0
            for line in lines {
                let input = try #require(try parseJSON(String(line)) as? [String: Any])
                let eventId = try #require(input["eventId"] as? String)
                guard let stored = try storedEvent(workspace.db, id: eventId) else {
                    Issue.record("\(eventId) was not stored")
                    continue
                }
                storedFacts += 1
                #expect(stored.type == input["type"] as? String)
                #expect(stored.stream == "client/" + ((input["clientId"] as? String) ?? "?"))
                let data = try #require(try parseJSON(stored.data) as? [String: Any])
                for (key, value) in try #require(input["data"] as? [String: Any]) {
                    if key == "name", (input["type"] as? String)?.hasPrefix("Client") == true {
                        // A personal field: stored sealed, never as text (it comes back
                        // through `events`, below).
                        #expect(data[key] is [String: Any], "\(eventId) data.name is not sealed: \(stored.data)")
                        if let text = value as? String { #expect(!stored.data.contains(text)) }
                        continue
                    }
                    if let text = value as? String {
                        #expect(data[key] as? String == text, "\(eventId) data.\(key)")
                        // Stored as UTF-8 text, not re-escaped.
                        if !text.contains("\"") && !text.contains("\\") {
                            #expect(stored.data.contains(text), "\(eventId) data.\(key) is not stored verbatim: \(stored.data)")
                        }
                    }
                }
                let metadata = try #require(try parseJSON(stored.metadata) as? [String: Any])
                for (key, value) in (input["metadata"] as? [String: Any]) ?? [:] {
                    #expect(metadata[key] as? String == value as? String, "\(eventId) metadata.\(key)")
                }
            }
            #expect(storedFacts == item.events)

            // The same text comes back through `events --format json`.
            let events = runCLI(["events", "--db", workspace.db, "--format", "json"])
            #expect(events.status == 0)
            let array = try #require(try parseJSON(events.stdout) as? [[String: Any]])
            #expect(array.count == Int(try eventCount(workspace.db, includingRules: true)))
            let names = array.compactMap { ($0["data"] as? [String: Any])?["name"] as? String }
            #expect(names.contains("Robert'); DROP TABLE events;--"))
            #expect(names.contains("张伟"))
            #expect(names.contains("Zoë O'Brien 😀 \\ 张"))
            let actors = array.compactMap { ($0["metadata"] as? [String: Any])?["actor"] as? String }
            #expect(actors.contains("\" ; DELETE FROM events"))
            #expect(actors.contains("客服 李娜 ☎"))
            #expect(runCLI(["audit", "verify", "--db", workspace.db]).status == 0)
        }
    }
}
