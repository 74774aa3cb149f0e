import Foundation
import LedgerTestSupport
import Testing

@testable import LedgerDomain
@testable import LedgerProjections
import LedgerCore
import LedgerSQLite
import LedgerStorage

/// SPEC §5: each projection records the rules version it was built with; `projections status`
/// shows checkpoint, lag, rules version and staleness; `--check` exits 1 when stale (§6).
@Suite("Staleness")
struct StalenessTests {
    /// The default rules with the Silver points threshold changed from 2,000 to 1,500.
    static let editedSilverYAML = Rules.defaultYAML.replacingOccurrences(
        of: "{ name: Silver,   points: 2000,", with: "{ name: Silver,   points: 1500,")

    @Test("after a rebuild nothing is stale; an engine with one tier threshold edited reports stale with the old version")
    func statusAfterRebuildAndAfterARulesEdit() throws {
        try withTemporaryLedger { store in
            let rules = try defaultRules()
            try store.ledger(rules).importLines(generatedBatches(seed: 31)[0])
            let engine = try store.engine(rules, asOf: generatedAsOf)
            #expect(try engine.status().allSatisfy { $0.builtAt == nil && $0.rulesVersion == nil }, "never built")
            try engine.rebuild()
            let head = try store.log.head().position

            let status = try engine.status()
            #expect(status.map(\.name) == ["eligibility", "membership", "retention"])
            for projection in status {
                #expect(!projection.stale)
                #expect(projection.rulesVersion == rules.version)
                #expect(projection.checkpoint == head)
                #expect(projection.lag == 0)
                #expect(projection.builtAt?.isEmpty == false)
            }

            #expect(Self.editedSilverYAML != Rules.defaultYAML)
            let edited = try Rules(yaml: Self.editedSilverYAML)
            #expect(edited.version != rules.version)
            #expect(edited.level(.silver).points == 1_500)
            let editedStatus = try ProjectionEngine(store: store.log.projectionStore(), rules: edited, asOf: generatedAsOf).status()
            #expect(editedStatus.count == 3)
            for projection in editedStatus {
                #expect(projection.stale)
                #expect(projection.rulesVersion == rules.version, "status names the rules the rows were built with")
            }
            // Comments and key order do not make a projection stale.
            let reformatted = try Rules(yaml: "# a comment\n" + Rules.defaultYAML)
            #expect(try ProjectionEngine(store: store.log.projectionStore(), rules: reformatted).status().allSatisfy { !$0.stale })

            // A read-only engine reads the same status.
            let reader = try SQLiteEventStore(path: store.path, readOnly: true)
            #expect(try ProjectionEngine(store: reader.projectionStore(), rules: edited).status() == editedStatus)

            // Rebuilding with the edited rules makes them current.
            try ProjectionEngine(store: store.log.projectionStore(), rules: edited, asOf: generatedAsOf).rebuild()
            #expect(try ProjectionEngine(store: store.log.projectionStore(), rules: edited).status().allSatisfy { !$0.stale && $0.rulesVersion == edited.version })
            #expect(try engine.status().allSatisfy { $0.stale && $0.rulesVersion == edited.version })
        }
    }

    @Test("lag counts the events after the checkpoint; a catch-up brings it to 0")
    func lag() throws {
        try withTemporaryLedger { store in
            let rules = try defaultRules()
            let ledger = store.ledger(rules)
            let batches = generatedBatches(seed: 32)
            try ledger.importLines(batches[0])
            let engine = try store.engine(rules, asOf: generatedAsOf)
            try engine.rebuild()
            let built = try store.log.head().position
            try ledger.importLines(batches[1])
            let head = try store.log.head().position
            #expect(try engine.status().allSatisfy { $0.checkpoint == built && $0.lag == head - built && !$0.stale })
            try engine.catchUp()
            #expect(try engine.status().allSatisfy { $0.checkpoint == head && $0.lag == 0 })
        }
    }

    @Test("a catch-up by an engine with other rules than the projection was built with never leaves rows of mixed rules under one version")
    func catchUpWithOtherRulesDoesNotMixRules() throws {
        try withTemporaryLedger { store in
            let rules = try defaultRules()
            let edited = try Rules(yaml: Self.editedSilverYAML)
            let ledger = store.ledger(rules)
            let start = at("2025-01-10T10:00:00Z")
            try ledger.importLines([
                Line.registered("M-OLD", start), Line.trade("M-OLD", start.adding(days: 1), "160000.00"),
                Line.registered("M-NEW", start),
            ])
            let engine = try store.engine(rules, asOf: at("2025-06-30T00:00:00Z"))
            try engine.rebuild()
            // M-NEW earns 1,600 points: Standard under the rules in force, Silver under the edit.
            try ledger.importLines([Line.trade("M-NEW", start.adding(days: 2), "160000.00")])
            let before = try dumpProjections(store.log.connection)

            let other = try ProjectionEngine(store: store.log.projectionStore(), rules: edited, asOf: at("2025-06-30T00:00:00Z"))
            let threw: Bool
            do {
                try other.catchUp()
                threw = false
            } catch {
                threw = true
            }
            let recorded = try engine.status().first?.rulesVersion
            let rulesTiers = try engine.membership().map { "\($0.clientId)=\($0.rulesTier)" }
            if threw {
                #expect(try dumpProjections(store.log.connection) == before)
            } else {
                // Rows were written: then every row must be of one rules version, the recorded one.
                let expected = recorded == edited.version ? ["M-NEW=Silver", "M-OLD=Silver"] : ["M-NEW=Standard", "M-OLD=Standard"]
                #expect(rulesTiers == expected,
                        "the projection says it was built with \(recorded ?? "-") (\(recorded == rules.version ? "the rules in force" : "the edit")) but holds \(rulesTiers)")
            }
        }
    }

    @Test("CLI: projections status --check exits 0 when current and 1 when the rules in force were edited")
    func statusCheckThroughTheCLI() throws {
        try withTemporaryLedger { store in
            let rules = try defaultRules()
            try store.ledger(rules).importLines(generatedBatches(seed: 33)[0])
            let notBuilt = runCLI(["projections", "status", "--db", store.path, "--check"])
            #expect(notBuilt.status == 1, "not built yet counts as stale: \(notBuilt.stdout)\(notBuilt.stderr)")

            try store.engine(rules, asOf: generatedAsOf).rebuild()
            let current = runCLI(["projections", "status", "--db", store.path, "--check"])
            #expect(current.status == 0, "\(current.stdout)\(current.stderr)")
            #expect(current.stdout.contains(rules.version))
            #expect(!current.stdout.contains("STALE"))

            let rulesFile = store.directory.appendingPathComponent("edited-rules.yaml")
            try Data(Self.editedSilverYAML.utf8).write(to: rulesFile)
            let edited = runCLI(["projections", "status", "--db", store.path, "--rules", rulesFile.path, "--check"])
            #expect(edited.status == 1, "\(edited.stdout)\(edited.stderr)")
            #expect(edited.stdout.contains("STALE"))

            let json = runCLI(["projections", "status", "--db", store.path, "--rules", rulesFile.path, "--format", "json"])
            #expect(json.status == 0, "without --check a stale projection is not an error")
            let decoded = try JSONDecoder().decode([ProjectionStatus].self, from: Data(json.stdout.utf8))
            #expect(decoded.count == 3)
            #expect(decoded.allSatisfy { $0.stale && $0.rulesVersion == rules.version })
        }
    }
}
