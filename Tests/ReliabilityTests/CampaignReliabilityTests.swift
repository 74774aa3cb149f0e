import Foundation
import LedgerCore
import LedgerDomain
import LedgerSQLite
import LedgerStorage
import LedgerTestSupport
import Testing

/// Campaign launches killed at random moments, and launches and imports in separate
/// processes at once: a client is awarded at most once per campaign and trigger, and the
/// budget and cap are never exceeded.
@Suite("Campaign reliability: killed launches, concurrent launches and imports")
struct CampaignReliabilityTests {
    static let clients = 200

    /// Clients C0001… registered, assessed and funded in January 2026.
    static func clientLines(count: Int = clients) -> [String] {
        (1...count).flatMap { index -> [String] in
            let id = String(format: "C%04d", index)
            return [
                #"{"type":"ClientRegistered","clientId":"\#(id)","occurredAt":"2026-01-02T09:00:00Z","data":{"name":"Client \#(id)","segment":"retail","investorType":"ordinary","branch":"SH"}}"#,
                #"{"type":"RiskAssessed","clientId":"\#(id)","occurredAt":"2026-01-03T09:00:00Z","data":{"level":"C3","score":50}}"#,
                #"{"type":"FundsDeposited","clientId":"\#(id)","occurredAt":"2026-01-04T09:00:00Z","data":{"amount":5000}}"#,
            ]
        }
    }

    static func campaignFile(_ id: String, award: String, cap: Int, budget: Int, holdout: String = "0.1") -> String {
        #"{"id":"\#(id)","name":"Trial \#(id)","window":{"from":"2026-01-01","to":"2026-12-31"},"award":{\#(award)},"perClientCap":\#(cap),"budget":\#(budget),"holdout":\#(holdout)}"#
    }

    /// A ledger with the clients imported and the campaign files defined.
    static func base(_ scratch: Workspace, campaigns: [String]) throws -> String {
        let db = scratch.path("base.db")
        try #require(runLedger(["init", "--db", db], in: scratch.directory).exited(0))
        let file = scratch.path("clients.jsonl")
        try (clientLines().joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let imported = runLedger(["import", file, "--db", db], in: scratch.directory)
        try #require(imported.exited(0), "\(imported)")
        for (index, text) in campaigns.enumerated() {
            let path = scratch.path("campaign-\(index).json")
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            let defined = runLedger(["campaign", "define", path, "--db", db], in: scratch.directory)
            try #require(defined.exited(0), "\(defined)")
        }
        return db
    }

    /// Campaign awards in the log: (client stream, cause, points) per award of `campaignId`.
    static func awards(_ rows: [LogRow], campaign campaignId: String) -> [(stream: String, cause: String, points: Int64)] {
        rows.compactMap { row in
            guard row.type == "PointsAwarded", row.data.contains(#""campaignId":"\#(campaignId)""#),
                  case .object(let data)? = try? JSONParser.parse(row.data), case .number(let points)? = data["points"],
                  let value = Int64(points) else { return nil }
            return (row.stream, row.causationId ?? "", value)
        }
    }

    static func integrityProblems(_ db: String, _ rows: [LogRow], in directory: URL) -> [String] {
        var problems = logShapeProblems(rows) + transactionProblems(rows)
        let audit = runLedger(["audit", "verify", "--db", db], in: directory)
        if !audit.exited(0) { problems.append("audit verify: \(audit)") }
        return problems
    }

    @Test("a launch killed at a random moment and run again enrols and awards every client exactly once")
    func killedLaunches() throws {
        print("campaign crash trials: \(TrialSeed.banner)")
        let scratch = try Workspace("campaign-kill")
        defer { scratch.remove() }
        // 100 points each, budget for about half of the treatment group: the budget cut applies.
        let base = try Self.base(scratch, campaigns: [Self.campaignFile("FIX", award: #""fixed":100"#, cap: 100, budget: 13_550)])

        // The reference: one launch left alone.
        let reference = scratch.path("reference.db")
        try copyDatabase(base, to: reference)
        let full = runLedger(["campaign", "launch", "FIX", "--db", reference], in: scratch.directory)
        try #require(full.exited(0), "\(full)")
        let referenceRows = try readLogRows(reference)
        let referenceAwards = Self.awards(referenceRows, campaign: "FIX")
        let enrolled = referenceRows.filter { $0.type == "CampaignEnrolled" }.count
        #expect(referenceAwards.map(\.points).reduce(0, +) == 13_550)
        #expect(enrolled == Self.clients)
        let duration = max(full.seconds, 0.05)

        var generator = SeededGenerator(seed: TrialSeed.value)
        var killedBeforeCommit = 0
        for trial in 0..<6 {
            let db = scratch.path("trial-\(trial).db")
            try copyDatabase(base, to: db)
            let child = try LedgerChild(["campaign", "launch", "FIX", "--db", db], in: scratch.directory)
            sleepMilliseconds(Double.random(in: 0...(duration * 1000 * 1.2), using: &generator))
            child.kill()
            _ = child.wait(timeoutSeconds: 60)
            child.removeFiles()
            let afterKill = try readLogRows(db)
            let launchedRows = afterKill.filter { $0.type == "CampaignLaunched" }.count
            // All or nothing: either the whole launch is there or none of it.
            #expect(launchedRows == 0 || afterKill.count == referenceRows.count, "trial \(trial): half a launch is visible")
            if launchedRows == 0 { killedBeforeCommit += 1 }
            let again = runLedger(["campaign", "launch", "FIX", "--db", db], in: scratch.directory)
            #expect(again.exited(0), "trial \(trial): \(again)")
            let rows = try readLogRows(db)
            #expect(rows.filter { $0.type == "CampaignLaunched" }.count == 1)
            #expect(rows.filter { $0.type == "CampaignEnrolled" }.count == enrolled, "trial \(trial)")
            let awards = Self.awards(rows, campaign: "FIX")
            #expect(Set(awards.map(\.stream)).count == awards.count, "trial \(trial): a client was awarded twice")
            #expect(awards.map(\.stream) == referenceAwards.map(\.stream), "trial \(trial): other clients were awarded")
            #expect(awards.map(\.points) == referenceAwards.map(\.points), "trial \(trial)")
            for problem in Self.integrityProblems(db, rows, in: scratch.directory).prefix(5) { Issue.record("trial \(trial): \(problem)") }
        }
        print("  6 launches killed, \(killedBeforeCommit) before their commit; each completed on retry")
    }

    @Test("budget and cap hold with two launches and two imports in separate processes at once")
    func concurrentLaunchesAndImports() throws {
        print("campaign concurrency: \(TrialSeed.banner)")
        let scratch = try Workspace("campaign-concurrent")
        defer { scratch.remove() }
        let perEvent = Self.campaignFile("PER", award: #""perEvent":40,"on":["TradeExecuted"]"#, cap: 100, budget: 5_000, holdout: "0")
        let fixed = Self.campaignFile("FIX", award: #""fixed":70"#, cap: 70, budget: 10_010)
        let db = try Self.base(scratch, campaigns: [perEvent, fixed])
        try #require(runLedger(["campaign", "launch", "PER", "--db", db], in: scratch.directory).exited(0))

        // Two import files of trades (4 per client: 160 points asked, 100 allowed by the cap),
        // dated now so that they are inside the window and not in the future.
        let now = Timestamp.now().adding(seconds: -60).iso8601
        var files: [String] = []
        for half in 0..<2 {
            var lines: [String] = []
            for index in stride(from: 1 + half, through: Self.clients, by: 2) {
                for trade in 0..<4 {
                    lines.append(#"{"type":"TradeExecuted","clientId":"\#(String(format: "C%04d", index))","occurredAt":"\#(now)","data":{"orderId":"O-\#(index)-\#(trade)","productId":"EQ-1","notional":100}}"#)
                }
            }
            let file = scratch.path("trades-\(half).jsonl")
            try (lines.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
            files.append(file)
        }
        let commands: [[String]] = [
            ["campaign", "launch", "FIX", "--db", db], ["import", files[0], "--batch-size", "50", "--db", db],
            ["campaign", "launch", "FIX", "--db", db], ["import", files[1], "--batch-size", "50", "--db", db],
        ]
        let outcomes = Locked([Int32]())
        let group = DispatchGroup()
        for command in commands {
            group.enter()
            Thread {
                var attempts = 0
                while true {
                    attempts += 1
                    let result = runLedger(command, in: scratch.directory)
                    if result.exited(75), attempts < 40 {
                        sleepMilliseconds(50)
                        continue
                    }
                    outcomes.withLock { $0.append(result.signaled ? -1 : result.status) }
                    break
                }
                group.leave()
            }.start()
        }
        #expect(group.wait(timeout: .now() + 600) == .success)
        #expect(outcomes.snapshot.allSatisfy { $0 == 0 }, "exit codes: \(outcomes.snapshot)")

        let rows = try readLogRows(db)
        for problem in Self.integrityProblems(db, rows, in: scratch.directory).prefix(5) { Issue.record("\(problem)") }
        // perEvent: at most one award per trade, at most 100 per client, 5,000 in all (demand is 30,000).
        let per = Self.awards(rows, campaign: "PER")
        #expect(Set(per.map(\.cause)).count == per.count, "a trade caused two awards")
        var perClient: [String: Int64] = [:]
        for award in per { perClient[award.stream, default: 0] += award.points }
        #expect(perClient.values.allSatisfy { $0 <= 100 }, "a client got more than its cap")
        #expect(per.map(\.points).reduce(0, +) == 5_000)
        // fixed: one launch, one award per treatment client, 10,010 in all (the budget).
        #expect(rows.filter { $0.type == "CampaignLaunched" && $0.stream == "campaign/FIX" }.count == 1)
        let fix = Self.awards(rows, campaign: "FIX")
        #expect(Set(fix.map(\.stream)).count == fix.count)
        #expect(fix.map(\.points).reduce(0, +) == 10_010)
        #expect(fix.allSatisfy { $0.points <= 70 })
    }
}
