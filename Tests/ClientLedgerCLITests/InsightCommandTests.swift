import Foundation
import Testing

import LedgerTestSupport

/// `clientledger insight …` through the real executable (docs/insight.md).
@Suite("insight commands")
struct InsightCommandTests {
    static func builtLedger(_ workspace: Workspace) throws {
        try EndToEndTests.ledgerWithBase(workspace)
        let rebuilt = runCLI(["projections", "rebuild", "--db", workspace.db])
        #expect(rebuilt.status == 0, "\(rebuilt.stderr)")
    }

    @Test("insight churn lists clients highest risk first with their factors; --client and --band filter")
    func churn() throws {
        try withWorkspace { (workspace) throws in
            try Self.builtLedger(workspace)
            let json = runCLI(["insight", "churn", "--as-of", "2025-09-01", "--format", "json", "--db", workspace.db])
            #expect(json.status == 0, "\(json.stderr)")
            let rows = try EndToEndTests.jsonArray(json.stdout)
            #expect(!rows.isEmpty)
            let scores = rows.compactMap { $0["score"] as? Int }
            #expect(scores == scores.sorted(by: >))
            for row in rows {
                let factors = try #require(row["factors"] as? [[String: Any]])
                #expect(factors.map { $0["factor"] as? String ?? "" } == ["recency", "activityDrop", "complaints", "nps", "netOutflow"])
                #expect(row["asOf"] as? String == "2025-09-01")
                #expect(["low", "medium", "high"].contains(row["band"] as? String ?? ""))
            }
            let first = try #require(rows.first?["clientId"] as? String)
            let one = runCLI(["insight", "churn", "--as-of", "2025-09-01", "--client", first, "--db", workspace.db])
            #expect(one.status == 0)
            #expect(one.stdout.contains("why \(first) scores"), "\(one.stdout)")
            let band = try #require(rows.first?["band"] as? String)
            let banded = runCLI(["insight", "churn", "--as-of", "2025-09-01", "--band", band, "--format", "json", "--db", workspace.db])
            #expect(try EndToEndTests.jsonArray(banded.stdout).allSatisfy { $0["band"] as? String == band })
        }
    }

    @Test("empty answers exit 0 with []", arguments: [
        ["insight", "churn", "--as-of", "2020-01-01"], ["insight", "churn", "--client", "C100", "--as-of", "2020-01-01"],
        ["insight", "churn", "--limit", "0"], ["insight", "reassess", "--as-of", "2020-01-01", "--within", "0"],
    ])
    func emptyAnswers(_ command: [String]) throws {
        try withWorkspace { (workspace) throws in
            try Self.builtLedger(workspace)
            let json = runCLI(command + ["--format", "json", "--db", workspace.db])
            #expect(json.status == 0, "\(command): \(json.stderr)")
            #expect((try? parseJSON(json.stdout) as? [Any])?.isEmpty == true, "\(command): \(json.stdout)")
            let text = runCLI(command + ["--db", workspace.db])
            #expect(text.status == 0, "\(command): \(text.stderr)")
        }
    }

    @Test("a client the ledger has never seen exits 65 naming it")
    func unknownClient() throws {
        try withWorkspace { (workspace) throws in
            try Self.builtLedger(workspace)
            let result = runCLI(["insight", "churn", "--client", "C999", "--db", workspace.db])
            #expect(result.status == 65, "exit \(result.status) \(result.stdout)")
            #expect(result.stderr.contains("C999"), "\(result.stderr)")
        }
    }

    @Test("service before any interaction: rows [] with the window stated")
    func emptyService() throws {
        try withWorkspace { (workspace) throws in
            try Self.builtLedger(workspace)
            let json = runCLI(["insight", "service", "--as-of", "2020-01-01", "--format", "json", "--db", workspace.db])
            #expect(json.status == 0, "\(json.stderr)")
            let object = try EndToEndTests.jsonObject(json.stdout)
            #expect((object["rows"] as? [Any])?.isEmpty == true)
            #expect(object["from"] as? String == "2019-01-02" && object["windowDays"] as? Int == 365)
        }
    }

    @Test("bad input exits 64 with a clear message", arguments: [
        (["insight", "churn", "--band", "extreme"], "extreme"),
        (["insight", "reassess", "--within", "-1"], "--within must not be negative"),
        (["insight", "churn", "--limit", "-5"], "--limit must not be negative"),
        (["insight", "backtest", "--as-of", "2025-06-01", "--horizon", "-3"], "--horizon must not be negative"),
        (["insight", "backtest"], "--as-of"),
        (["insight", "service", "--by", "colour"], "colour"),
        (["insight", "churn", "--as-of", "yesterday"], "--as-of"),
    ])
    func badInput(_ command: [String], _ message: String) throws {
        try withWorkspace { (workspace) throws in
            try Self.builtLedger(workspace)
            let result = runCLI(command + ["--db", workspace.db])
            #expect(result.status == 64, "\(command): exit \(result.status) \(result.stderr)")
            #expect(result.stderr.contains(message), "\(command): \(result.stderr)")
        }
    }

    @Test("before the first rebuild the insight commands exit 66 and say so")
    func notBuilt() throws {
        try withWorkspace { (workspace) throws in
            try EndToEndTests.ledgerWithBase(workspace)
            let result = runCLI(["insight", "churn", "--db", workspace.db])
            #expect(result.status == 66, "\(result.stderr)")
            #expect(result.stderr.contains("projections rebuild"), "\(result.stderr)")
        }
    }
}
