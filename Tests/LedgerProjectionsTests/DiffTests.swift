import Foundation
import LedgerTestSupport
import Testing

@testable import LedgerDomain
@testable import LedgerProjections
import LedgerApplication
import LedgerCore
import LedgerSQLite
import LedgerStorage

/// SPEC §1/§4: see what a rules change would do without writing anything, then reconcile.
@Suite("Diff and reconcile")
struct DiffTests {
    static let asOf = at("2025-06-30T00:00:00Z")

    /// Clients around the proposed Silver threshold of 1,000 qualifying points.
    static func importClients(_ ledger: Ledger, offboardedToo: Bool = false) throws {
        let t = at("2025-03-01T10:00:00Z")
        var lines = [
            Line.registered("D-1500", t), Line.trade("D-1500", t.adding(days: 1), "150000.00"),     // 1,500 points
            Line.registered("D-1000", t), Line.trade("D-1000", t.adding(days: 1), "100000.00"),     // exactly 1,000
            Line.registered("D-0999", t), Line.trade("D-0999", t.adding(days: 1), "99999.99"),      // 999
            Line.registered("D-2500", t), Line.trade("D-2500", t.adding(days: 1), "250000.00"),     // Silver already
            Line.registered("D-ASSET", t), Line.deposit("D-ASSET", t.adding(days: 1), "100000.00"), // Silver by assets
            // 1,500 points, but awarded more than 365 days before the as-of date.
            Line.registered("D-OLD", at("2024-03-01T10:00:00Z")), Line.trade("D-OLD", at("2024-05-01T10:00:00Z"), "150000.00"),
            Line.registered("D-NONE", t),
        ]
        if offboardedToo {
            lines += [Line.registered("D-GONE", t), Line.trade("D-GONE", t.adding(days: 1), "150000.00"),
                      Line.offboarded("D-GONE", t.adding(days: 2))]
        }
        try ledger.importLines(lines)
    }

    @Test("diff against rules where Silver needs 1,000 points: the expected tier changes with counts, and nothing written")
    func diffThenReconcile() throws {
        try withTemporaryLedger { store in
            let rules = try defaultRules()
            let proposed = try silverAtThousandRules()
            #expect(proposed.level(.silver).points == 1_000)
            try Self.importClients(store.ledger(rules))
            let engine = try store.engine(rules, asOf: Self.asOf)
            try engine.rebuild()
            let recordedTiers = try engine.membership().map { "\($0.clientId)=\($0.tier)" }
            #expect(recordedTiers == ["D-0999=Standard", "D-1000=Standard", "D-1500=Standard", "D-2500=Silver", "D-ASSET=Silver",
                                      "D-NONE=Standard", "D-OLD=Standard"])

            let headBefore = try store.log.head()
            let eventsBefore = try store.log.connection.scalarInt("SELECT count(*) FROM events")
            let countsBefore = try rowCounts(store.log.connection)
            let before = try dumpProjections(store.log.connection)
            let statusBefore = try engine.status()

            let diff = try engine.diff(against: proposed)
            #expect(diff.currentRulesVersion == rules.version)
            #expect(diff.proposedRulesVersion == proposed.version)
            #expect(diff.clients == 7)
            #expect(diff.counts == ["tier: Standard → Silver": 2])
            #expect(diff.changes == [
                ProjectionDiff.Change(clientId: "D-1000", what: "tier", from: "Standard", to: "Silver"),
                ProjectionDiff.Change(clientId: "D-1500", what: "tier", from: "Standard", to: "Silver"),
            ])
            #expect(try engine.diff(against: proposed, projections: [.retention, .eligibility]).changes.isEmpty)
            #expect(try engine.diff(against: rules).changes.isEmpty, "the rules in force against themselves")

            // Nothing written: rows, row counts, checkpoints, the log.
            #expect(try rowCounts(store.log.connection) == countsBefore)
            #expect(try dumpProjections(store.log.connection) == before)
            #expect(try engine.status().map(\.checkpoint) == statusBefore.map(\.checkpoint))
            #expect(try engine.status().map(\.rulesVersion) == statusBefore.map(\.rulesVersion))
            #expect(try store.log.head().position == headBefore.position)
            #expect(try store.log.head().hash == headBefore.hash)
            #expect(try store.log.connection.scalarInt("SELECT count(*) FROM events") == eventsBefore)

            // Reconcile under the proposed rules: TierChanged(reevaluated) for exactly those clients.
            let reconciling = store.ledger(proposed)
            let report = try reconciling.reconcileTiers(asOf: Self.asOf)
            #expect(report.clientsChanged == 2)
            #expect(report.eventsWritten == 2)
            let written = try store.log.events(EventQuery()).filter { $0.position > headBefore.position }
            #expect(written.map(\.stream) == ["client/D-1000", "client/D-1500"])
            for event in written {
                #expect(event.type == "TierChanged")
                #expect(try StoredEvents.payload(of: event) == .tierChanged(from: .standard, to: .silver, reason: .reevaluated))
                #expect(event.occurredMoment == Self.asOf)
                #expect(EventMetadata(json: event.metadata).rulesVersion == proposed.version)
            }

            // A second reconcile writes nothing, for the same date or a later one.
            let headAfter = try store.log.head().position
            #expect(try reconciling.reconcileTiers(asOf: Self.asOf).eventsWritten == 0)
            #expect(try reconciling.reconcileTiers(asOf: Self.asOf.adding(days: 1)).eventsWritten == 0)
            #expect(try store.log.head().position == headAfter)

            // Rebuilt with the proposed rules, recorded and rules tiers agree and nothing is left to change.
            let rebuilt = try store.engine(proposed, asOf: Self.asOf)
            try rebuilt.rebuild()
            let rows = try rebuilt.membership()
            #expect(rows.allSatisfy { $0.tier == $0.rulesTier }, "\(rows.map { "\($0.clientId) \($0.tier)/\($0.rulesTier)" })")
            #expect(rows.filter { $0.tier == "Silver" }.map(\.clientId) == ["D-1000", "D-1500", "D-2500", "D-ASSET"])
            let history = try rebuilt.membership(client: "D-1500", withHistory: true).first?.tierHistory
            #expect(history == [TierChange(at: Self.asOf, from: .standard, to: .silver, reason: .reevaluated)])
        }
    }

    @Test("the membership projection's rules tier shows what a reconcile would do")
    func rulesTierColumn() throws {
        try withTemporaryLedger { store in
            try Self.importClients(store.ledger(try defaultRules()))
            let proposed = try silverAtThousandRules()
            let engine = try store.engine(proposed, asOf: Self.asOf)
            try engine.rebuild()
            let differing = try engine.membership().filter { $0.tier != $0.rulesTier }.map(\.clientId)
            #expect(differing == ["D-1000", "D-1500"])
        }
    }

    @Test("diff and reconcile agree on an offboarded client (reconcile never writes to its stream)")
    func offboardedClientIsNotReportedAsChanging() throws {
        try withTemporaryLedger { store in
            let rules = try defaultRules()
            let proposed = try silverAtThousandRules()
            try Self.importClients(store.ledger(rules), offboardedToo: true)
            let engine = try store.engine(rules, asOf: Self.asOf)
            let diff = try engine.diff(against: proposed)
            let report = try store.ledger(proposed).reconcileTiers(asOf: Self.asOf)
            let reconciled = try store.log.events(EventQuery()).filter { $0.type == "TierChanged" && $0.data.contains("reevaluated") }
                .map { String($0.stream.dropFirst(7)) }
            #expect(report.clientsChanged == 2)
            #expect(reconciled == ["D-1000", "D-1500"])
            #expect(diff.changes.filter { $0.what == "tier" }.map(\.clientId) == reconciled,
                    "diff reports tier changes that reconcile does not make: \(diff.changes)")
        }
    }

    @Test("diff reports lifecycle-stage and eligibility changes with their counts (rules with churn at 150 days and OPT-05 from 400,000)")
    func stageAndEligibilityChanges() throws {
        try withTemporaryLedger { store in
            let rules = try defaultRules()
            let proposedYAML = Rules.defaultYAML
                .replacingOccurrences(of: "churnedAfterDays: 180", with: "churnedAfterDays: 150")
                .replacingOccurrences(of: "riskLevel: R5, minAssets: 500000 }", with: "riskLevel: R5, minAssets: 400000 }")
            let proposed = try Rules(yaml: proposedYAML)
            #expect(proposed.churnedAfterDays == 150)
            #expect(proposed.product("OPT-05")?.minAssets == Money(cents: 40_000_000))
            let t = at("2025-01-02T10:00:00Z")
            try store.ledger(rules).importLines([
                // Quiet for 160 days at the as-of date: at risk now, churned under the proposal.
                Line.registered("S-160", t), Line.interaction("S-160", Self.asOf.adding(days: -160)),
                Line.registered("S-149", t), Line.interaction("S-149", Self.asOf.adding(days: -149)),
                // 450,000 of assets, C5: OPT-05 becomes eligible.
                Line.registered("A-450", t), Line.risk("A-450", t.adding(seconds: 1), level: "C5"),
                Line.deposit("A-450", Self.asOf.adding(days: -30), "450000.00"),
                // 450,000 but C4: unsuitable either way.
                Line.registered("A-C4", t), Line.risk("A-C4", t.adding(seconds: 1), level: "C4"),
                Line.deposit("A-C4", Self.asOf.adding(days: -30), "450000.00"),
            ])
            let engine = try store.engine(rules, asOf: Self.asOf)
            try engine.rebuild()
            let before = try dumpProjections(store.log.connection)
            let diff = try engine.diff(against: proposed)
            #expect(diff.counts == ["stage: at_risk → churned": 1, "eligibility:OPT-05: not eligible → eligible": 1])
            #expect(diff.changes == [
                ProjectionDiff.Change(clientId: "A-450", what: "eligibility:OPT-05", from: "not eligible", to: "eligible"),
                ProjectionDiff.Change(clientId: "S-160", what: "stage", from: "at_risk", to: "churned"),
            ])
            #expect(try engine.diff(against: proposed, projections: [.membership]).changes.isEmpty)
            #expect(try engine.diff(against: proposed, projections: [.retention]).changes.map(\.clientId) == ["S-160"])
            #expect(try dumpProjections(store.log.connection) == before)
        }
    }
}
