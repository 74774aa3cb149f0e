import ArgumentParser
import Foundation
import LedgerDomain
import LedgerProjections
import LedgerApplication
import LedgerCore
import LedgerStorage

extension ClientLedger {
    struct Seed: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate realistic synthetic data, deterministic by --seed.",
            discussion: """
                Writes JSON Lines for `import` (to --output, or standard output), or with --append
                imports them straight into the ledger (--db) in batches.
                """)

        @OptionGroup var global: GlobalOptions

        @Option(parsing: .unconditional, help: "Number of clients.") var clients: Int = 1_000
        @Option(parsing: .unconditional, help: "Number of facts (about; at least three per client).") var events: Int = 100_000
        @Option(parsing: .unconditional, help: "Random seed (0 or more): the same seed gives the same data.", transform: nonNegative("--seed"))
        var seed: UInt64 = 42
        @Option(parsing: .unconditional, help: "Number of the first client (to add clients to a seeded ledger).") var firstClient = 1
        @Option(help: "First day of activity (the period must end by now: facts from the future are refused).") var start: String = "2024-10-01"
        @Option(parsing: .unconditional, help: "Length of the period in days.") var days: Int64 = 760
        @Option(help: "Write JSON Lines to this file instead of standard output.") var output: String?
        @Flag(help: "Import into the ledger (--db) instead of writing JSON Lines.") var append = false

        func validate() throws {
            guard clients >= 1 else { throw ValidationError("--clients must be at least 1") }
            guard firstClient >= 1, firstClient + clients - 1 <= 9_999_999 else { throw ValidationError("--first-client: client numbers run from 1 to 9999999") }
            guard events >= 0 else { throw ValidationError("--events must not be negative") }
            guard days >= 30 else { throw ValidationError("--days must be at least 30") }
            guard let startMoment = Timestamp(iso8601: start) else { throw ValidationError("--start: expected a date such as 2024-10-01") }
            let period = SyntheticData.Options(clients: clients, events: events, seed: seed, start: startMoment, days: days)
            if let problem = period.periodProblem(now: SystemClock().now()) { throw ValidationError("--start/--days: \(problem)") }
            if append, output != nil { throw ValidationError("give --output or --append, not both") }
        }

        func run() throws {
            try runMapped {
                guard let startMoment = Timestamp(iso8601: start) else { return }
                var options = SyntheticData.Options(clients: clients, events: events, seed: seed, start: startMoment, days: days)
                options.firstClient = firstClient
                if append {
                    let log = try global.openLog(readOnly: false)
                    let ledger = try Ledger.open(store: log)
                    let generator = SyntheticData(options: options, rules: ledger.rules)
                    let report = try seedLedger(generator, into: ledger, progress: stderrIsTerminal)
                    print("seeded \(report.factsWritten) events (+\(report.decisionsWritten) decisions) for \(clients) clients")
                    return
                }
                // JSON Lines for a later import: the generator's choices (products, amounts) follow
                // the default rules; the importing ledger decides with its own.
                let generator = SyntheticData(options: options, rules: try Rules.defaults())
                let sink = try OutputSink(path: output)
                try generator.generate { line in try sink.write(line) }
                try sink.close()
            }
        }
    }
}

/// Generates the data and imports it in one transaction.
func seedLedger(_ generator: SyntheticData, into ledger: Ledger, progress: Bool) throws -> Ledger.ImportReport {
    var buffer = [UInt8]()
    generator.generate { line in
        buffer.append(contentsOf: line.utf8)
        buffer.append(0x0A)
    }
    return try buffer.withUnsafeBufferPointer { bytes in
        try ledger.importJSONLines(bytes) { done in
            if progress { printError("  \(done) events…") }
        }
    }
}

/// Where a command's JSON Lines go: a file written safely (`OutputFile`: a temporary file,
/// mode 0600, renamed into place when complete), or standard output. Every write is checked.
final class OutputSink {
    private let file: OutputFile?

    init(path: String?) throws {
        file = try path.map { try OutputFile(path: $0) }
    }

    func write(_ line: String) throws {
        if let file {
            try file.line(line)
        } else {
            try standardOutput.line(line)
        }
    }

    /// Puts the file in place (or writes out standard output); throws when that fails.
    func close() throws {
        if let file {
            try file.commit()
        } else {
            try standardOutput.flush()
        }
    }
}

extension ClientLedger {
    struct Demo: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A tour on a fresh demo database: seed, import, read back, periodic jobs, projections, rules adopt, audit suitability, forget, verify, a retention campaign, a compliance export checked offline.")

        @Option(help: "Demo database (recreated on every run).")
        var db: String = "clientledger-demo.db"

        @Option(parsing: .unconditional, help: "Clients to generate.") var clients: Int = 300
        @Option(parsing: .unconditional, help: "Facts to generate.") var events: Int = 30_000

        func validate() throws {
            guard clients >= 1 else { throw ValidationError("--clients must be at least 1") }
            guard events >= 0 else { throw ValidationError("--events must not be negative") }
        }

        func run() throws {
            try runMapped {
                for suffix in ["", "-wal", "-shm", ".signing-key", "-checkpoint.json"] {
                    try? FileManager.default.removeItem(atPath: db + suffix)
                }
                let (log, _) = try LedgerStores.create(db)
                let ledger = try Ledger.open(store: log)
                let rules = ledger.rules
                section("1. A new ledger at \(db) (rules version \(rules.version); its first write adopts them in the log)")

                let generator = SyntheticData(options: .init(clients: clients, events: events, seed: 7), rules: rules)
                let started = Date()
                let report = try seedLedger(generator, into: ledger, progress: false)
                print("imported \(report.factsWritten) seeded facts for \(clients) clients; the policies added \(report.decisionsWritten) decisions (points, expiry, tiers) in \(String(format: "%.2f", Date().timeIntervalSince(started))) s")

                section("2. A retried import writes nothing")
                let retry = try seedLedger(generator, into: ledger, progress: false)
                print("second import of the same data: \(retry.factsWritten) written, \(retry.alreadyStored) already stored")

                section("2b. A signed checkpoint of the log, to keep outside the firm")
                let (checkpoint, _) = try LedgerProofs.checkpoint(of: log, databasePath: db, at: .now())
                let checkpointFile = db + "-checkpoint.json"
                let checkpointOutput = try OutputFile(path: checkpointFile)
                try checkpointOutput.line(checkpoint.jsonLine)
                try checkpointOutput.commit()
                print("tree of \(checkpoint.treeSize) events, root \(checkpoint.root.hexString)")
                print("signed with the ledger's Ed25519 key \(LedgerSignature.fingerprint(checkpoint.publicKey)) (private key \(SigningKey.path(forDatabase: db)), mode 0600): \(checkpointFile)")

                section("3. Three clients, folded from their streams")
                let ids = try ledger.clientIds()
                let now = Timestamp.now()
                let busiest = try ids.map { ($0, try log.version(of: "client/" + $0)) }.sorted { $0.1 > $1.1 }
                for (id, _) in [busiest[0], busiest[busiest.count / 2], busiest[busiest.count - 1]] {
                    let state = try ledger.clientState(id)
                    print(ClientView(state, rules: rules, asOf: now).text.split(separator: "\n").prefix(9).joined(separator: "\n"))
                    print("")
                }

                section("4. The first events of \(busiest[0].0)")
                var rows: [[String]] = []
                try log.scan(EventQuery(stream: "client/" + busiest[0].0, limit: 8)) { event in
                    rows.append([String(event.position), String(event.version), event.type, String(event.occurredAt.prefix(19)), String(event.data.prefix(70))])
                    return true
                }
                print(table(["position", "version", "type", "occurredAt", "data"], rows))

                section("5. Periodic jobs as of \(now.isoDate), each run twice")
                for run in 1...2 {
                    let expired = try ledger.expirePoints(asOf: now)
                    let evaluated = try ledger.evaluateTiers(asOf: now)
                    print("run \(run): expired \(expired.points) points from \(expired.eventsWritten) lots; downgraded \(evaluated.clientsChanged) clients")
                }

                section("6. Projections, rebuilt from position 0")
                let engine = try ProjectionEngine(store: log.projectionStore(), rules: rules, asOf: now)
                let run = try engine.rebuild()
                print("rebuilt membership, retention and eligibility from \(run.eventsApplied) events in \(String(format: "%.2f", run.seconds)) s")
                let members = try engine.membership()
                let byTier = Dictionary(grouping: members, by: \.tier).mapValues(\.count)
                print("members by tier: " + Tier.allCases.map { "\($0.rawValue) \(byTier[$0.rawValue] ?? 0)" }.joined(separator: ", "))
                let metrics = try engine.retentionMetrics(asOf: now)
                print("retention today: \(metrics.activeClients) active, \(metrics.churned) churned, \(metrics.reactivations) reactivations, NPS \(metrics.nps.score.map { String(format: "%.1f", $0) } ?? "-")")
                let eligible = try engine.eligibility(product: "STRUCT-04").filter(\.eligible).count
                print("eligible for the structured note STRUCT-04 (R4, Gold and up): \(eligible) clients")
                let sample = try engine.eligibility(client: busiest[busiest.count / 2].0)
                for row in sample {
                    print("  \(row.clientId) \(row.productId): " + (row.eligible ? "eligible" : row.failedChecks.joined(separator: ", ")))
                }

                // Insight (docs/insight.md): churn risk with its reasons, service quality, reminders.
                let scores = try engine.churnScores(asOf: now)
                let bands = Dictionary(grouping: scores, by: \.band).mapValues(\.count)
                print("churn risk today: " + ChurnBand.allCases.reversed().map { "\($0.rawValue) \(bands[$0.rawValue] ?? 0)" }.joined(separator: ", "))
                for score in scores.prefix(3) {
                    let top = score.factors.sorted { $0.contribution > $1.contribution }.prefix(2).map { "\($0.factor) \(String(format: "%.1f", $0.contribution))" }
                    print("  \(score.clientId) \(score.score) (\(score.band)): " + top.joined(separator: ", "))
                }
                let service = try engine.serviceQuality(asOf: now, by: .channel)
                if let worst = service.rows.max(by: { ($0.complaintsPer1000 ?? 0) < ($1.complaintsPer1000 ?? 0) }) {
                    print("most complaints per 1,000 interactions (\(service.from) to \(service.asOf)): \(worst.group), \(String(format: "%.1f", worst.complaintsPer1000 ?? 0))")
                }
                print("risk assessments to renew within 60 days: \(try engine.reassessReminders(asOf: now, withinDays: 60).count) clients")

                section("7. A rules change: Silver from 2,000 to 1,000 points, Gold from 10,000 to 6,000")
                let proposedYAML = Rules.defaultYAML
                    .replacingOccurrences(of: "{ name: Silver,   points: 2000,", with: "{ name: Silver,   points: 1000,")
                    .replacingOccurrences(of: "{ name: Gold,     points: 10000,", with: "{ name: Gold,     points: 6000, ")
                let proposed = try Rules(yaml: proposedYAML)
                let diff = try engine.diff(against: proposed)
                print("diff \(diff.currentRulesVersion) → \(diff.proposedRulesVersion) (nothing written):")
                for (change, count) in diff.counts.sorted(by: { $0.key < $1.key }) { print("  \(change): \(count)") }
                let adopted = try RulesInLog.adopt(
                    proposed, reason: "demo: lower Silver and Gold thresholds", actor: "demo", store: log, clock: SystemClock())
                print("rules adopt: RulesAdopted \(adopted.version) at position \(adopted.position ?? 0); every later decision uses them")
                let inForce = try Ledger.open(store: log)
                let newEngine = try ProjectionEngine(store: log.projectionStore(), rules: inForce.rules, asOf: now)
                let status = try newEngine.status()
                print("with the new rules in force, the projections are " + (status.contains(where: \.stale) ? "stale" : "current"))
                try newEngine.rebuild()
                print("rebuilt with rules \(inForce.rulesVersion): stale now? \(try newEngine.status().contains(where: \.stale) ? "yes" : "no")")
                let reconciled = try inForce.reconcileTiers(asOf: now)
                print("tiers reconcile: \(reconciled.eventsWritten) TierChanged(reevaluated) appended")
                let again = try inForce.reconcileTiers(asOf: now)
                print("tiers reconcile again: \(again.eventsWritten) written")
                try newEngine.catchUp()
                let history = try RulesInLog.adoptions(in: log)
                print("rules history: " + history.map { "\($0.adoption.version) at \($0.position)" }.joined(separator: ", ")
                    + "; decisions naming rules not in the log: \(try RulesInLog.unresolvedVersions(in: log).values.reduce(0, +))")

                section("8. Compliance: suitability flags and erasure")
                let suitability = try SuitabilityReport(store: log, from: nil, to: nil)
                let reasons = Dictionary(grouping: suitability.flags, by: \.reason).mapValues(\.count)
                print("audit suitability: \(suitability.flags.count) purchases flagged ("
                    + reasons.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
                    + "), \(suitability.acknowledgements.count) warnings acknowledged")
                let forgotten = busiest[busiest.count - 1].0
                let erasure = try inForce.forget(
                    forgotten, reason: "demo: erasure request", requestedBy: "demo",
                    overrideRetention: "demo: erased before the retention period")
                let after = try inForce.clientState(forgotten)
                print("forget \(forgotten): key destroyed \(erasure.keyDestroyed ? "yes" : "no"), ClientDataErased at position \(erasure.position ?? 0); "
                    + "name now \(PersonalField.display(after.name)), net assets still \(after.netAssets.decimalText) CNY, tier \(after.tier.rawValue)")

                section("9. Tamper evidence")
                let verify = try log.verifyChain()
                print(verify.isIntact
                    ? "chain intact: \(verify.eventsChecked) events, head \(verify.headHash)"
                    : "BROKEN at \(verify.firstBadPosition ?? 0)")

                section("10. A retention campaign to the clients at high churn risk, with a holdout")
                let highRisk = try newEngine.churnScores(asOf: now).filter { $0.band == ChurnBand.high.rawValue }.count
                let bandsTargeted = highRisk > 0 ? "[high]" : "[high, medium]"
                let budget = max(500, highRisk * 500 * 6 / 10)
                let today = Timestamp(dayNumber: now.dayNumber)
                let campaignYAML = """
                    id: WINBACK-\(today.isoDate.replacingOccurrences(of: "-", with: ""))
                    name: Win-back bonus for clients at risk
                    window: {from: \(today.isoDate), to: \(today.adding(days: 30).isoDate)}
                    target:
                      churnRisk: \(bandsTargeted)
                    award:
                      fixed: 500
                    perClientCap: 500
                    budget: \(budget)
                    holdout: 0.2
                    """
                print(campaignYAML.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
                let defined = try inForce.defineCampaign(fileText: campaignYAML, actor: "demo")
                let campaignId = defined.definition.id
                let simulation = try CampaignAnalysis.simulate(defined.definition, store: log, rules: proposed, asOf: now)
                print("simulate (nothing written): audience \(simulation.audience) (treatment \(simulation.treatment), holdout \(simulation.holdout)); "
                    + "projected \(simulation.projectedPoints) points, \(String(format: "%.1f", simulation.shareOfBudget * 100))% of the budget; "
                    + "\(simulation.cutByBudget) awards cut by the budget")
                let launched = try inForce.launchCampaign(campaignId, note: "demo")
                print("launch: \(launched.enrolled) enrolled, \(launched.awards) awards, \(launched.points) points (the simulation said \(simulation.projectedPoints))")
                let relaunched = try inForce.launchCampaign(campaignId)
                print("launch again: \(relaunched.alreadyLaunched ? "already launched, nothing written" : "WROTE AGAIN")")
                let record = try Ledger.campaignRecord(campaignId, store: log, rules: proposed)
                let outcome = try CampaignAnalysis.report(record, store: log, asOf: now)
                print("report: \(outcome.points) of \(outcome.budget) points to \(outcome.clientsReached) clients; "
                    + "treatment \(outcome.treatment.clients) vs holdout \(outcome.holdout.clients) clients, compared over the window as it runs")
                print("chain still intact: \(try log.verifyChain().isIntact ? "yes" : "NO")")

                section("11. Compliance: checkpoint → export → verify-export")
                let key = try LedgerProofs.verificationKey(given: nil, databasePath: db)
                let consistency = try LedgerProofs.consistency(of: checkpoint, store: log, publicKey: key)
                print(consistency.consistent
                    ? "since the checkpoint of step 2b the log only grew: tree size \(consistency.checkpointTreeSize) → \(consistency.treeSize) (a consistency proof of \(consistency.proof.count) hashes)"
                    : "NOT CONSISTENT with the checkpoint: \(consistency.problem ?? "")")
                let exported = busiest[busiest.count / 2].0
                let bundle = try ExportBundle(client: exported, from: log, databasePath: db, at: .now())
                let bundleFile = db + "-export-\(exported).jsonl"
                let bundleOutput = try OutputFile(path: bundleFile)
                for line in bundle.lines { try bundleOutput.line(line) }
                try bundleOutput.commit()
                print("exported \(bundle.eventCount) events of \(exported), each with its inclusion proof, against a signed checkpoint of \(bundle.checkpoint.treeSize) events: \(bundleFile)")
                let bundleBytes = Array((bundle.lines.joined(separator: "\n") + "\n").utf8)
                let checked = BundleVerifier.verify(bundleBytes, publicKey: key)
                print(checked.intact
                    ? "verify-export with the ledger's public key: intact, \(checked.eventsChecked) events"
                    : "verify-export: BROKEN at line \(checked.firstBadLine ?? 0): \(checked.problem ?? "")")
                var cut = bundle.lines
                cut.removeLast()
                let cutReport = BundleVerifier.verify(Array((cut.joined(separator: "\n") + "\n").utf8), publicKey: key)
                print("the same bundle without its last event: BROKEN at line \(cutReport.firstBadLine ?? 0): \(cutReport.problem ?? "")")
                var edited = bundle.lines
                edited[3] = edited[3].replacingOccurrences(of: "\"type\":\"", with: "\"type\":\"X")
                let editedReport = BundleVerifier.verify(Array((edited.joined(separator: "\n") + "\n").utf8), publicKey: key)
                print("with its first event's type edited: BROKEN at line \(editedReport.firstBadLine ?? 0): \(editedReport.problem ?? "")")

                print("\nTry: clientledger client show \(busiest[0].0) --db \(db)")
                print("     clientledger membership --tier Gold --db \(db)")
                print("     clientledger metrics retention --db \(db)")
                print("     clientledger insight churn --band high --db \(db)")
                print("     clientledger campaign report \(campaignId) --db \(db)")
                print("     clientledger events --client \(busiest[0].0) --db \(db)")
                print("     clientledger audit suitability --db \(db)")
                print("     clientledger rules history --db \(db)")
                print("     clientledger history \(forgotten) --db \(db)")
                print("     python3 tools/verify_chain.py \(db)")
                print("     clientledger audit verify --checkpoint \(checkpointFile) --db \(db)")
                print("     clientledger audit verify-export \(bundleFile) --public-key \(key.hexString)")
                print("     python3 tools/verify_export.py \(bundleFile) --public-key \(key.hexString)")
            }
        }

        private func section(_ title: String) {
            print("\n== \(title)")
        }
    }
}
