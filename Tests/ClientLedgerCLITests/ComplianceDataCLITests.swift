import Foundation
import LedgerTestSupport
import Testing

@testable import LedgerCore
import LedgerSQLite
import LedgerStorage

/// Rules versions named by decisions, and those the log's `RulesAdopted` carry (read with SQL).
private func versions(_ db: String) throws -> (decided: Set<String>, adopted: Set<String>) {
    let connection = try Connection(path: db, mode: .readOnly)
    func strings(_ sql: String) throws -> Set<String> {
        let statement = try connection.prepare(sql)
        var found = Set<String>()
        while try statement.step() { found.insert(statement.string(at: 0)) }
        return found
    }
    return (
        try strings("SELECT DISTINCT json_extract(metadata, '$.rulesVersion') FROM events WHERE json_extract(metadata, '$.rulesVersion') IS NOT NULL"),
        try strings("SELECT json_extract(data, '$.version') FROM events WHERE type = 'RulesAdopted' AND stream = 'ledger/rules'"))
}

@Suite("rules adopt, rules show --db, rules history, audit suitability through the executable")
struct ComplianceDataCLITests {
    static func doubledTradeRules(_ workspace: Workspace) throws -> String {
        let yaml = try String(contentsOf: repositoryRoot().appendingPathComponent("Sources/LedgerDomain/Resources/default-rules.yaml"), encoding: .utf8)
        let changed = yaml.replacingOccurrences(of: "    points: 1            # points per `per` CNY of notional", with: "    points: 2")
        try #require(changed != yaml)
        return try workspace.write("doubled.yaml", changed)
    }

    @Test("the first import adopts the default rules; rules adopt changes what the ledger decides; every decision resolves")
    func adoptAndDecide() throws {
        try withWorkspace { (workspace) throws in
            try EndToEndTests.ledgerWithBase(workspace)
            var found = try versions(workspace.db)
            #expect(found.adopted.count == 1)
            #expect(found.decided == found.adopted)
            let defaults = try #require(found.adopted.first)

            let shown = runCLI(["rules", "show", "--db", workspace.db, "--format", "json"])
            #expect(shown.status == 0, "\(shown.stderr)")
            let inForce = try EndToEndTests.jsonObject(shown.stdout)
            #expect(inForce["version"] as? String == defaults)
            #expect((inForce["position"] as? NSNumber)?.intValue == 1)

            let rules = try Self.doubledTradeRules(workspace)
            // A refused adoption (no reason; a bad file) writes nothing.
            let before = try eventCount(workspace.db)
            #expect(runCLI(["rules", "adopt", rules, "--reason", "  ", "--db", workspace.db]).status == 65)
            let bad = try workspace.write("bad.yaml", "earning: {}\n")
            #expect(runCLI(["rules", "adopt", bad, "--reason", "x", "--db", workspace.db]).status == 65)
            #expect(try eventCount(workspace.db) == before)

            let adopted = runCLI(["rules", "adopt", rules, "--reason", "double trade points", "--db", workspace.db, "--format", "json"])
            #expect(adopted.status == 0, "\(adopted.stderr)")
            let outcome = try EndToEndTests.jsonObject(adopted.stdout)
            let newVersion = try #require(outcome["version"] as? String)
            #expect(outcome["previousVersion"] as? String == defaults)
            let again = runCLI(["rules", "adopt", rules, "--reason", "again", "--db", workspace.db])
            #expect(again.status == 0)
            #expect(again.stdout.contains("already in force"), "\(again.stdout)")

            // C100 is active (registered 2025-03-10): a trade of 10,000 CNY earns 200 under the new rules.
            let appended = runCLI(["append", "--db", workspace.db, #"{"type":"TradeExecuted","clientId":"C100","occurredAt":"2026-02-01T09:00:00Z","data":{"orderId":"O-NEW","productId":"EQ-1","notional":10000.00}}"#])
            #expect(appended.status == 0, "\(appended.stderr)")
            let award = try #require(try storedEvents(workspace.db, where: "type = 'PointsAwarded' AND stream = 'client/C100'").last)
            #expect(award.metadata.contains(newVersion), "\(award.metadata)")
            found = try versions(workspace.db)
            #expect(found.decided == [defaults, newVersion])
            #expect(found.decided.isSubset(of: found.adopted))

            let history = runCLI(["rules", "history", "--db", workspace.db, "--format", "json"])
            #expect(history.status == 0, "\(history.stderr)")
            let document = try EndToEndTests.jsonObject(history.stdout)
            let rows = try #require(document["adoptions"] as? [[String: Any]])
            #expect(rows.map { $0["version"] as? String } == [defaults, newVersion])
            #expect(rows.map { $0["inForce"] as? Bool } == [false, true])
            #expect(rows.last?["reason"] as? String == "double trade points")
            #expect((document["unresolved"] as? [Any])?.isEmpty == true)
            #expect(runCLI(["rules", "show", "--db", workspace.db]).stdout.contains("# rules version \(newVersion)"))
            #expect(runCLI(["audit", "verify", "--db", workspace.db]).status == 0)
        }
    }

    @Test("--rules is what-if only: import and tiers no longer take it; projections status and diff do")
    func rulesOptionIsWhatIfOnly() throws {
        try withWorkspace { (workspace) throws in
            try EndToEndTests.ledgerWithBase(workspace)
            let rules = try Self.doubledTradeRules(workspace)
            #expect(runCLI(["import", "--db", workspace.db, "--rules", rules, try EndToEndTests.baseFile()]).status == 64)
            #expect(runCLI(["tiers", "evaluate", "--as-of", "2026-01-01", "--db", workspace.db, "--rules", rules]).status == 64)
            #expect(runCLI(["projections", "rebuild", "--db", workspace.db]).status == 0)
            let status = runCLI(["projections", "status", "--db", workspace.db, "--rules", rules, "--check"])
            #expect(status.status == 1, "built with the rules in force, stale against the file: \(status.stdout)")
            #expect(runCLI(["projections", "status", "--db", workspace.db, "--check"]).status == 0)
        }
    }

    @Test("audit suitability lists the flagged purchase and the acknowledged warning, not the acknowledged purchase")
    func auditSuitability() throws {
        try withWorkspace { (workspace) throws in
            try EndToEndTests.ledgerWithBase(workspace)
            // C100 is C3: FUND-03 (R3) suits, OPT-05 (R5) does not; STRUCT-04 (R4) after a written warning.
            let lines = [
                #"{"type":"ProductPurchased","clientId":"C100","occurredAt":"2026-02-01T09:00:00Z","data":{"productId":"FUND-03","amount":1000.00}}"#,
                #"{"type":"ProductPurchased","clientId":"C100","occurredAt":"2026-02-02T09:00:00Z","data":{"productId":"OPT-05","amount":1000.00}}"#,
                #"{"type":"SuitabilityWarningAcknowledged","clientId":"C100","occurredAt":"2026-02-03T09:00:00Z","data":{"productId":"STRUCT-04","warningRef":"W-7"}}"#,
                #"{"type":"ProductPurchased","clientId":"C100","occurredAt":"2026-02-03T10:00:00Z","data":{"productId":"STRUCT-04","amount":1000.00}}"#,
            ]
            let file = try workspace.write("purchases.jsonl", lines.joined(separator: "\n") + "\n")
            let imported = runCLI(["import", "--db", workspace.db, file])
            #expect(imported.status == 0, "\(imported.stderr)")
            let report = runCLI(["audit", "suitability", "--db", workspace.db, "--format", "json"])
            #expect(report.status == 0, "\(report.stderr)")
            let document = try EndToEndTests.jsonObject(report.stdout)
            let flags = try #require(document["flags"] as? [[String: Any]])
            #expect(flags.map { $0["productId"] as? String } == ["OPT-05"])
            #expect(flags.first?["reason"] as? String == "unsuitable")
            #expect(flags.first?["clientLevel"] as? String == "C3")
            #expect(flags.first?["productRisk"] as? String == "R5")
            let acknowledged = try #require(document["acknowledgements"] as? [[String: Any]])
            #expect(acknowledged.map { $0["warningRef"] as? String } == ["W-7"])
            let cut = runCLI(["audit", "suitability", "--db", workspace.db, "--from", "2026-02-03", "--format", "json"])
            #expect(((try EndToEndTests.jsonObject(cut.stdout))["flags"] as? [Any])?.isEmpty == true)
            let text = runCLI(["audit", "suitability", "--db", workspace.db])
            #expect(text.stdout.contains("OPT-05") && text.stdout.contains("W-7"), "\(text.stdout)")
            #expect(runCLI(["audit", "suitability", "--db", workspace.db, "--from", "2026-03-01", "--to", "2026-01-01"]).status == 64)
            // A flag is a decision: importing one is refused.
            let forged = try workspace.write("forged.jsonl", #"{"type":"SuitabilityBreachFlagged","clientId":"C100","occurredAt":"2026-02-04T09:00:00Z","data":{"productId":"MMF-01","productRisk":"R1","reason":"unsuitable"}}"# + "\n")
            #expect(runCLI(["import", "--db", workspace.db, forged]).status == 65)
        }
    }

    @Test("forget: client show, history, events and audit export show the name erased; the chain and tools/verify_chain.py still verify")
    func forgetThroughTheExecutable() throws {
        try withWorkspace { (workspace) throws in
            try EndToEndTests.ledgerWithBase(workspace)
            // base.jsonl: C100 "Li Na", C101 "Wang Fang"; C102 was offboarded in 2025.
            let before = runCLI(["client", "show", "C100", "--db", workspace.db, "--format", "json"])
            #expect((try EndToEndTests.jsonObject(before.stdout))["name"] as? String == "Li Na")
            #expect(try eventCount(workspace.db, where: "data LIKE '%Li Na%'") == 0, "the name is stored sealed")
            let refused = runCLI(["forget", "C100", "--reason", "request", "--db", workspace.db])
            #expect(refused.status == 65, "not offboarded: \(refused.stderr)")
            #expect(refused.stderr.contains("--override-retention") || refused.stderr.contains("overrideRetention"), "\(refused.stderr)")
            let total = try eventCount(workspace.db, includingRules: true)

            let forgot = runCLI(["forget", "C100", "--reason", "erasure request", "--requested-by", "dpo",
                                 "--override-retention", "client asked; no retention duty", "--db", workspace.db, "--format", "json"])
            #expect(forgot.status == 0, "\(forgot.stderr)")
            let outcome = try EndToEndTests.jsonObject(forgot.stdout)
            #expect(outcome["keyDestroyed"] as? Bool == true)
            #expect(outcome["retentionOverride"] as? String == "client asked; no retention duty")
            #expect(try eventCount(workspace.db, includingRules: true) == total + 1)

            let shown = try EndToEndTests.jsonObject(runCLI(["client", "show", "C100", "--db", workspace.db, "--format", "json"]).stdout)
            #expect(shown["name"] is NSNull, "\(shown)")
            #expect(shown["personalDataErasedAt"] is String)
            #expect(runCLI(["client", "show", "C100", "--db", workspace.db]).stdout.contains("(erased)"))
            // Every other fact stays: C101 keeps its name, C100 its trades and points.
            #expect((try EndToEndTests.jsonObject(runCLI(["client", "show", "C101", "--db", workspace.db, "--format", "json"]).stdout))["name"] as? String == "Wang Fang")
            #expect((shown["pointsLifetime"] as? NSNumber)?.intValue ?? 0 > 0)

            let history = try EndToEndTests.jsonArray(runCLI(["history", "C100", "--db", workspace.db, "--format", "json"]).stdout)
            let registration = try #require(history.first?["event"] as? [String: Any])
            #expect((registration["data"] as? [String: Any])?["name"] is NSNull)
            #expect((history.last?["event"] as? [String: Any])?["type"] as? String == "ClientDataErased")
            let events = runCLI(["events", "--client", "C100", "--db", workspace.db, "--format", "json"])
            #expect(!events.stdout.contains("Li Na"))
            let export = runCLI(["audit", "export", "C100", "--db", workspace.db])
            #expect(export.status == 0, "old events' hashes still verify: \(export.stderr)")
            #expect(!export.stdout.contains("Li Na"))
            #expect(runCLI(["audit", "verify", "--db", workspace.db]).status == 0)
            let script = repositoryRoot().appendingPathComponent("tools/verify_chain.py").path
            #expect(try runTool("python3", [script, workspace.db, "--quiet"]).status == 0)
            // The same base file again: every fact, C100's registration included, is already stored.
            let again = runCLI(["import", "--db", workspace.db, try EndToEndTests.baseFile()])
            #expect(again.status == 0, "\(again.stderr)")
            #expect(again.stdout.contains("15 already stored"), "\(again.stdout)")
        }
    }
}

/// Stored rows matching a condition, in position order.
func storedEvents(_ db: String, where condition: String) throws -> [StoredRow] {
    let connection = try Connection(path: db, mode: .readOnly)
    let statement = try connection.prepare("SELECT position, stream, type, data, metadata FROM events WHERE \(condition) ORDER BY position")
    var rows: [StoredRow] = []
    while try statement.step() {
        rows.append(StoredRow(
            position: statement.int64(at: 0), stream: statement.string(at: 1), type: statement.string(at: 2),
            data: statement.string(at: 3), metadata: statement.string(at: 4)))
    }
    return rows
}
