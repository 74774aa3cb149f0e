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
}
