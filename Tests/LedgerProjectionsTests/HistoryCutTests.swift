import Foundation
import LedgerTestSupport
import Testing
@testable import LedgerApplication
import LedgerCore
import LedgerDomain
import LedgerProjections
import LedgerSQLite
import LedgerStorage

@Suite("history: the state after each event equals what the projections say for the same cut")
struct HistoryCutTests {
    @Test("at random known-at cuts (each import recorded on its own day, with backdated corrections), every client's last history row equals the projection fold through that cut")
    func historyEqualsProjectionsAtRandomCuts() throws {
        try withTemporaryLedger { temporary in
            let rules = try defaultRules()
            let batchEnds: [Int64] = [120, 300, 420, 560]
            var cuts: [(known: Timestamp, position: Int64)] = []
            for (batch, lines) in generatedBatches(seed: 7).enumerated() {
                // Each batch recorded the day after its last fact: recordedAt tells the batches apart.
                let recorded = HistoryGenerator.start.adding(days: batchEnds[batch] + 1)
                let store = try SQLiteEventStore(path: temporary.path, readOnly: false, clock: FixedClock(recorded))
                let ledger = try Ledger.open(store: store, clock: FixedClock(recorded))
                try ledger.importLines(lines)
                cuts.append((recorded, try store.head().position))
            }
            let ledger = try Ledger.open(store: temporary.log)
            let engine = try ProjectionEngine(store: temporary.log.projectionStore(), rules: rules)
            var random = SeededGenerator(seed: 2026)
            var compared = 0
            for _ in 0..<4 {
                let cut = cuts[Int(random.next() % UInt64(cuts.count))]
                // A moment between this import and the next: what was known then.
                let known = cut.known.adding(days: Int64(random.next() % 100))
                let folds = try engine.foldAll(through: cut.position).folds
                let clients = try ledger.clientIds().shuffled(using: &random).prefix(12)
                for client in clients {
                    let steps = try ledger.history(client, knownAt: min(known, cuts.first { $0.known > cut.known }.map { Timestamp(millisecondsSinceEpoch: $0.known.millisecondsSinceEpoch - 1) } ?? known))
                    guard let last = steps.last else {
                        #expect(folds[client] == nil, "\(client): projections know events history does not")
                        continue
                    }
                    let projected = try #require(folds[client]?.state, "\(client): no projection fold at the cut")
                    let moment = last.event.occurredMoment
                    let state = last.stateAfter
                    let label = "\(client) known at \(known.iso8601)"
                    #expect(state.tier == projected.tier, "\(label): tier")
                    #expect(last.pointsAvailable == projected.pointsAvailable(at: moment), "\(label): points available")
                    #expect(last.pointsQualifying == projected.qualifyingPointsSnapshot(at: moment, windowDays: rules.qualifyingWindowDays), "\(label): qualifying")
                    #expect(state.lifetimePoints == projected.lifetimePoints, "\(label): lifetime")
                    #expect(state.netAssets == projected.netAssets, "\(label): net assets")
                    #expect(state.risk?.level == projected.risk?.level, "\(label): risk level")
                    #expect(last.riskValidUntil == EligibilityPolicy.riskValidUntil(state: projected, rules: rules), "\(label): risk validity")
                    #expect(state.holdings == projected.holdings, "\(label): holdings")
                    #expect(state.offboardedAt == projected.offboardedAt, "\(label): offboarded")
                    let stage = LifecycleStage.stage(
                        registeredDay: projected.registeredAt?.dayNumber, firstActivityDay: projected.firstActivityAt?.dayNumber,
                        lastActivityDay: projected.lastActivityAt?.dayNumber, offboardedDay: projected.offboardedAt?.dayNumber,
                        asOfDay: moment.dayNumber, rules: rules)
                    #expect(last.stage == stage, "\(label): stage")
                    let eligible = rules.products.filter {
                        EligibilityPolicy.failedChecks(state: projected, product: $0, asOf: moment, rules: rules).isEmpty
                    }.map(\.id)
                    #expect(last.eligibleFor == eligible, "\(label): eligibility")
                    compared += 1
                }
            }
            #expect(compared >= 20, "too few comparisons: \(compared)")
        }
    }

    @Test("each decision's cause chain ends at the external fact and names the rules version; eligibility changes name the products")
    func causeChainAndEligibilityChanges() throws {
        try withTemporaryLedger { temporary in
            let ledger = try Ledger.open(store: temporary.log)
            let t = at("2025-03-01T09:00:00Z")
            try ledger.importLines([
                Line.registered("C1", t),
                Line.risk("C1", t.adding(days: 1), level: "C3"),
                Line.deposit("C1", t.adding(days: 2), "600000.00"),
                Line.purchase("C1", t.adding(days: 3), "FUND-03", "1000.00"),
            ])
            let steps = try ledger.history("C1")
            let risk = try #require(steps.first { $0.event.type == "RiskAssessed" })
            #expect(risk.eligibilityGained == ["MMF-01", "BOND-02", "FUND-03"])
            #expect(risk.riskValid)
            let deposit = try #require(steps.first { $0.event.type == "FundsDeposited" })
            // 600,000 CNY: Gold on assets; the upgrade follows, OPT-05 needs 500,000 but C3 does not suit R5.
            #expect(deposit.eligibilityGained.isEmpty)
            let upgrade = try #require(steps.first { $0.event.type == "TierChanged" })
            #expect(upgrade.causeChain.map(\.type) == ["FundsDeposited"])
            #expect(upgrade.causeChain.first?.isExternalFact == true)
            #expect(upgrade.metadata.rulesVersion == ledger.rulesVersion)
            let purchase = try #require(steps.first { $0.event.type == "ProductPurchased" })
            #expect(purchase.eligibilityLost == ["FUND-03"], "a held product is no longer offered")
            #expect(purchase.stateAfter.holdings == ["FUND-03"])
            #expect(purchase.stage == .new)
            #expect(purchase.causeChain.isEmpty)
        }
    }
}
