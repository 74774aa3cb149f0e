import ArgumentParser
import Foundation
import LedgerDomain
import LedgerProjections
import LedgerApplication
import LedgerCore
import LedgerStorage

extension ClientLedger {
    struct Projections: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Developers: projection status, rebuild, and what a rules change would do.",
            discussion: """
                membership, retention and eligibility share one fold of the log: a rebuild rebuilds
                all three (NAME narrows what diff reports).
                """,
            subcommands: [Status.self, Rebuild.self, Diff.self])
    }
}

extension ProjectionName: ExpressibleByArgument {}

extension ClientLedger.Projections {
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Checkpoint, lag, rules version and staleness of each projection.",
            discussion: "With --check, exit 1 when any projection is stale (built with other rules) or not built.")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var rulesOptions: RulesOptions
        @Flag(help: "Exit 1 when a projection is stale.") var check = false
        @Option(help: "Output format: text or json.") var format: OutputFormat = .text

        func run() throws {
            var stale = false
            try runMapped {
                let log = try global.openLog(readOnly: true)
                let engine = try ProjectionEngine(store: log.projectionStore(), rules: try rulesOptions.load(log))
                // Never built is an answer: every projection at checkpoint 0, never built (null).
                let statuses = try engine.status()
                stale = statuses.contains { $0.stale || $0.builtAt == nil }
                if format == .json {
                    print(try jsonText(statuses))
                } else if !engine.isInstalled {
                    print("projections are not built yet (run `clientledger projections rebuild`)")
                } else {
                    print("rules in force: \(engine.rulesVersion)")
                    print(table(["projection", "checkpoint", "lag", "rules version", "stale", "built at"], statuses.map {
                        [$0.name, String($0.checkpoint), String($0.lag), $0.rulesVersion ?? "-",
                         $0.stale ? "STALE" : "no", $0.builtAt ?? "never"]
                    }))
                }
            }
            if check, stale { throw ExitCode(1) }
        }
    }

    struct Rebuild: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rebuild the projections from position 0 into fresh tables and swap them in atomically.")

        @OptionGroup var global: GlobalOptions
        @Argument(help: "membership, retention or eligibility (all three are rebuilt together).") var name: ProjectionName?
        @Option(help: "Output format: text or json.") var format: OutputFormat = .text

        func run() throws {
            try runMapped {
                let log = try global.openLog(readOnly: false)
                let engine = try ProjectionEngine(store: log.projectionStore(), rules: try RulesInLog.inForce(in: log).rules)
                let show = stderrIsTerminal
                let run = try engine.rebuild { if show { printError("  \($0)") } }
                if format == .json {
                    print(try jsonText(run))
                } else {
                    print("rebuilt membership, retention and eligibility: \(run.eventsApplied) events of \(run.clientsWritten) clients up to position \(run.toPosition) in \(String(format: "%.2f", run.seconds)) s (rules \(engine.rulesVersion))")
                }
            }
        }
    }

    struct Diff: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "What other rules would change (tier, stage, eligibility), writing nothing.")

        @OptionGroup var global: GlobalOptions
        @Argument(help: "Only this projection: membership (tier), retention (stage) or eligibility.") var name: ProjectionName?
        @Option(help: "The proposed rules file (YAML).") var rules: String
        @Option(help: "What-if: compare from this rules file instead of the rules in force in the ledger.") var currentRules: String?
        @Option(parsing: .unconditional, help: "Show at most this many changed clients (text output).") var limit = 20

        func validate() throws {
            guard limit >= 0 else { throw ValidationError("--limit must not be negative") }
        }
        @Option(help: "Output format: text or json.") var format: OutputFormat = .text

        func run() throws {
            try runMapped {
                let log = try global.openLog(readOnly: true)
                let current = try RulesOptions.load(currentRules, log: log)
                let proposed = try Rules(contentsOfFile: rules)
                let engine = try ProjectionEngine(store: log.projectionStore(), rules: current)
                let diff = try engine.diff(against: proposed, projections: name.map { [$0] } ?? Set(ProjectionName.allCases))
                if format == .json {
                    print(try jsonText(diff))
                    return
                }
                print("rules \(diff.currentRulesVersion) → \(diff.proposedRulesVersion), \(diff.clients) clients, as of \(diff.asOf)")
                if diff.changes.isEmpty {
                    print("no client would change")
                    return
                }
                print(table(["change", "clients"], diff.counts.sorted { $0.key < $1.key }.map { [$0.key, String($0.value)] }))
                print("")
                print(table(["client", "what", "from", "to"], diff.changes.prefix(limit).map { [$0.clientId, $0.what, $0.from, $0.to] }))
                if diff.changes.count > limit { print("… \(diff.changes.count - limit) more (use --format json for all)") }
            }
        }
    }
}

/// Opens the projections for a reading command (caught up first unless `catchUp` is false)
/// and passes on to stderr what the reader should know about them.
func openProjections(_ global: GlobalOptions, rules: Rules, catchUp: Bool) throws -> ProjectionEngine {
    let reader = try ProjectionReader.open(global.databasePath, rules: rules, catchUp: catchUp)
    for note in reader.notes { printError("note: \(note)") }
    return reader.engine
}
