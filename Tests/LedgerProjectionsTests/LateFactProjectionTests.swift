import Foundation
import LedgerTestSupport
import Testing

@testable import LedgerDomain
@testable import LedgerProjections
import LedgerCore
import LedgerSQLite
import LedgerStorage

/// Late facts (rules.md): the projections follow the same fold, so a catch-up after late
/// facts and their corrections gives the rows a rebuild gives.
@Suite("Projections after late facts")
struct LateFactProjectionTests {
    @Test("a catch-up after late facts equals a rebuild, and the membership shows the corrected tier")
    func catchUpEqualsRebuildAfterLateFacts() throws {
        try withTemporaryLedger { store in
            let rules = try defaultRules()
            let ledger = store.ledger(rules)
            let engine = try store.engine(rules, asOf: at("2025-09-30T00:00:00Z"))
            try ledger.importLines([
                Line.registered("C1", at("2025-01-01T00:00:00Z")),
                Line.deposit("C1", at("2025-03-01T00:00:00Z"), "200000.00"),
                Line.registered("C2", at("2025-01-01T00:00:00Z")),
                Line.deposit("C2", at("2025-01-10T00:00:00Z"), "150000.00"),
            ])
            _ = try engine.rebuild()
            // Late: C1's February deposit (the example), C2's earlier withdrawal.
            try ledger.importLines([Line.deposit("C1", at("2025-02-01T00:00:00Z"), "400000.00")])
            try ledger.importLines([Line.withdraw("C2", at("2025-01-05T00:00:00Z"), "100000.00")])
            _ = try engine.catchUp()
            let caughtUp = try dumpProjections(store.log.connection)
            _ = try engine.rebuild()
            let rebuilt = try dumpProjections(store.log.connection)
            // The tier-history rows a correction rewrote or shortened are replaced too.
            #expect(caughtUp == rebuilt, "\(caughtUp.firstDifference(from: rebuilt) ?? "")")
            let c1 = try ledger.streams.fold("C1")
            #expect(c1.tier == .gold)
            #expect(c1.lifetimePoints == 640)
            #expect(try ledger.streams.fold("C2").tier == .standard)
        }
    }

    @Test("a late lot older than the lots a redemption took from: catch-up from a snapshot that dropped spent lots equals a rebuild")
    func catchUpReallocatesRedemptions() throws {
        try withTemporaryLedger { store in
            let rules = try defaultRules()
            let ledger = store.ledger(rules)
            let engine = try store.engine(rules, asOf: at("2025-09-30T00:00:00Z"))
            try ledger.importLines([
                Line.registered("C3", at("2023-01-01T00:00:00Z")),
                // Spent long before the window: the snapshot drops this lot.
                Line.deposit("C3", at("2023-01-10T00:00:00Z"), "100000.00"),
                Line.redeemPoints("C3", at("2023-02-01T00:00:00Z"), 100),
                Line.deposit("C3", at("2025-01-10T00:00:00Z"), "100000.00"),
                Line.redeemPoints("C3", at("2025-03-01T00:00:00Z"), 60),
                Line.adjust("C3", at("2025-04-01T00:00:00Z"), -10),
            ])
            _ = try engine.rebuild()
            // Late: a lot on 5 January, older than the lot the redemptions took from.
            try ledger.importLines([Line.deposit("C3", at("2025-01-05T00:00:00Z"), "50000.00")])
            _ = try engine.catchUp()
            let caughtUp = try dumpProjections(store.log.connection)
            _ = try engine.rebuild()
            let rebuilt = try dumpProjections(store.log.connection)
            #expect(caughtUp == rebuilt, "\(caughtUp.firstDifference(from: rebuilt) ?? "")")
            let lots = try ledger.streams.fold("C3").openLots
            #expect(lots.map(\.awardedAt) == [at("2025-01-10T00:00:00Z")])
            // Silver from the first deposit (assets): 120 and 60 points; the 70 taken in 2025
            // come from the late lot first.
            #expect(lots.map(\.remaining) == [110])
        }
    }
}
