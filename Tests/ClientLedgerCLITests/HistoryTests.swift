import Foundation
import LedgerTestSupport
import Testing

@testable import LedgerCore
import LedgerSQLite
import LedgerStorage

@Suite("history: a client's events with the state after each, cut by occurredAt or recordedAt")
struct HistoryTests {
    @Test("every event of the stream in order, with the points balance after it and the cause of decisions")
    func historyFollowsTheStream() throws {
        try withWorkspace { (workspace) throws in
            try EndToEndTests.ledgerWithBase(workspace)
            let run = runCLI(["history", "C100", "--db", workspace.db, "--format", "json"])
            #expect(run.status == 0, "\(run.stderr)")
            let steps = try EndToEndTests.jsonArray(run.stdout)
            let events = steps.compactMap { $0["event"] as? [String: Any] }
            #expect(events.compactMap { ($0["version"] as? NSNumber)?.intValue } == Array(1...events.count))
            #expect(try eventCount(workspace.db, where: "stream = 'client/C100'") == Int64(events.count))
            // The trade of 50,000 CNY earns 500 points; its award names the trade as its cause.
            let tradeIndex = try #require(events.firstIndex { $0["type"] as? String == "TradeExecuted" })
            let award = events[tradeIndex + 1]
            #expect(award["type"] as? String == "PointsAwarded")
            let metadata = try #require(award["metadata"] as? [String: Any])
            #expect(metadata["causationId"] as? String == events[tradeIndex]["eventId"] as? String)
            let after = try #require(steps[tradeIndex + 1]["stateAfter"] as? [String: Any])
            #expect((after["pointsAvailable"] as? NSNumber)?.intValue == 500)
            let before = try #require(steps[tradeIndex]["stateAfter"] as? [String: Any])
            #expect((before["pointsAvailable"] as? NSNumber)?.intValue == 0)
        }
    }

    @Test("--as-of keeps what had occurred by then; --known-at what had been recorded by then")
    func cuts() throws {
        try withWorkspace { (workspace) throws in
            try EndToEndTests.ledgerWithBase(workspace)
            // base.jsonl: C100 trades on 2026-01-05; nothing of C100 occurred before 2025-03-10.
            let early = runCLI(["history", "C100", "--db", workspace.db, "--as-of", "2025-12-31", "--format", "csv"])
            #expect(early.status == 0, "\(early.stderr)")
            #expect(!early.stdout.contains("TradeExecuted"))
            let all = runCLI(["history", "C100", "--db", workspace.db, "--format", "csv"])
            #expect(all.stdout.contains("TradeExecuted"))
            // A cut that keeps nothing is an empty answer (exit 0), not an error.
            let none = runCLI(["history", "C100", "--db", workspace.db, "--as-of", "2025-01-01", "--format", "csv"])
            #expect(none.status == 0, "\(none.stderr)")
            #expect(none.stdout.split(separator: "\n").count == 1, "only the header: \(none.stdout)")
            // Everything was recorded just now: known at a year ago, nothing was known.
            let knownBefore = runCLI(["history", "C100", "--db", workspace.db, "--known-at", "2020-01-01", "--format", "json"])
            #expect(knownBefore.status == 0, "\(knownBefore.stderr)")
            #expect(knownBefore.stdout.filter { !$0.isWhitespace } == "[]", "\(knownBefore.stdout)")
            let knownNow = runCLI(["history", "C100", "--db", workspace.db, "--known-at", "2100-01-01", "--format", "csv"])
            #expect(knownNow.stdout.split(separator: "\n").count == all.stdout.split(separator: "\n").count)
        }
    }

    @Test("a client id the ledger has never seen exits 65 naming it, in every format")
    func unknownClient() throws {
        try withWorkspace { (workspace) throws in
            try EndToEndTests.ledgerWithBase(workspace)
            for format in ["text", "json", "csv"] {
                let result = runCLI(["history", "C999", "--db", workspace.db, "--format", format])
                #expect(result.status == 65, "\(format): exit \(result.status) \(result.stdout)")
                #expect(result.stderr.contains("C999"), "\(format): \(result.stderr)")
                #expect(result.stdout.isEmpty, "\(format): \(result.stdout)")
            }
        }
    }
}
