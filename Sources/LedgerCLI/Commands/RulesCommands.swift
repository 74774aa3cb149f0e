import ArgumentParser
import Foundation
import LedgerDomain
import LedgerApplication
import LedgerCore
import LedgerStorage

extension ClientLedger {
    struct RulesCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rules",
            abstract: "Developers: the rules in force in the ledger, their history, adopting new rules, checking a file, backtesting one.",
            discussion: """
                The ledger decides with the rules in force in its log: the last `rules adopt` (the default
                rules before the first). A rules file on the command line is only for what-if work:
                `rules check`, `rules simulate FILE`, `rules show --rules FILE`, `projections diff --rules FILE`,
                `projections status --rules FILE`.
                """,
            subcommands: [Show.self, History.self, Adopt.self, Check.self, Simulate.self])
    }
}

extension ClientLedger.RulesCommand {
    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the rules in force in the ledger (--db) and their version, or a rules file's (--rules).",
            discussion: "Without a ledger database the default rules are shown (with a note on stderr).")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var rulesOptions: RulesOptions

        @Option(help: "text (a rules file), or json: {version, rules, canonical, adoptedAt, position, reason} (canonical: the exact text the version hashes).")
        var format: OutputFormat = .text

        func run() throws {
            try runMapped {
                if let path = rulesOptions.rules {
                    let rules = try Rules(contentsOfFile: path)
                    if format == .json {
                        print(RulesView.json(rules, adopted: nil))
                    } else {
                        print("# rules version \(rules.version) (file \(path))")
                        print(String(decoding: try readInput(path), as: UTF8.self))
                    }
                    return
                }
                var rules = try Rules.defaults()
                var adopted: RulesInLog.Adopted?
                if global.db != nil || FileManager.default.fileExists(atPath: global.databasePath) {
                    (rules, adopted) = try RulesInLog.inForce(in: try global.openLog(readOnly: true))
                } else {
                    printError("note: no ledger at \(global.databasePath): showing the default rules")
                }
                if format == .json {
                    print(RulesView.json(rules, adopted: adopted))
                    return
                }
                if let adopted {
                    print("# rules version \(rules.version), in force since position \(adopted.position) (adopted \(adopted.occurredAt): \(adopted.adoption.reason))")
                } else {
                    print("# rules version \(rules.version): the default rules (not adopted in the log yet; the first write adopts them)")
                }
                print(rules.version == (try Rules.defaults()).version ? Rules.defaultYAML : rules.fileJSON)
            }
        }
    }

    struct History: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Every RulesAdopted of the ledger, oldest first, and the decisions taken under each version.",
            discussion: "Exit 1 when a decision names a rules version that no RulesAdopted carries (a ledger written before rules were kept in the log, with other rules than the defaults).")

        @OptionGroup var global: GlobalOptions
        @Option(help: "Output format: text or json.") var format: OutputFormat = .text

        func run() throws {
            var unresolved = false
            try runMapped {
                let log = try global.openLog(readOnly: true)
                let adoptions = try RulesInLog.adoptions(in: log)
                let decisions = try RulesInLog.decisionsByVersion(in: log)
                let adoptedVersions = Set(adoptions.map(\.adoption.version))
                let missing = decisions.filter { !adoptedVersions.contains($0.key) }
                unresolved = !missing.isEmpty
                let rows = adoptions.enumerated().map { index, item in
                    RulesHistoryRow(
                        position: item.position, eventId: item.eventId, version: item.adoption.version,
                        adoptedAt: item.occurredAt, actor: item.actor, reason: item.adoption.reason,
                        inForce: index == adoptions.count - 1, decisions: decisions[item.adoption.version] ?? 0)
                }
                if format == .json {
                    print(try jsonText(RulesHistoryView(
                        adoptions: rows,
                        unresolved: missing.sorted { $0.key < $1.key }.map { .init(version: $0.key, decisions: $0.value) })))
                } else {
                    if rows.isEmpty { print("no RulesAdopted in the log yet: the default rules are in force (the first write adopts them)") }
                    else {
                        print(table(["position", "adopted at", "version", "in force", "decisions", "actor", "reason"], rows.map {
                            [String($0.position), $0.adoptedAt, $0.version, $0.inForce ? "yes" : "", String($0.decisions), $0.actor ?? "-", $0.reason]
                        }))
                    }
                    for (version, count) in missing.sorted(by: { $0.key < $1.key }) {
                        print("warning: \(count) decisions name rules version \(version), which no RulesAdopted carries")
                    }
                }
            }
            if unresolved { throw ExitCode(1) }
        }
    }

    struct Adopt: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Adopt a rules file: append RulesAdopted, so that every later decision uses these rules.",
            discussion: """
                The file is checked like `rules check` first (exit 65 naming the key; nothing written).
                Adopting the rules already in force writes nothing. Projections built with the old rules
                are stale afterwards: `projections rebuild`, then `tiers reconcile` (see `projections diff`).
                """)

        @OptionGroup var global: GlobalOptions
        @Argument(help: "Rules file (YAML).") var file: String
        @Option(help: "Why the rules change (recorded in the event).") var reason: String
        @Option(help: "Who adopts them (recorded as the event's actor).") var actor: String = "cli"
        @Option(help: "Output format: text or json.") var format: OutputFormat = .text

        func run() throws {
            try runMapped {
                _ = try readInput(file)
                let rules = try Rules(contentsOfFile: file)
                let log = try global.openLog(readOnly: false)
                let outcome = try RulesInLog.adopt(rules, reason: reason, actor: actor, store: log, clock: SystemClock())
                if format == .json {
                    print(try jsonText(RulesAdoptView(version: outcome.version, previousVersion: outcome.previousVersion, position: outcome.position)))
                } else if let position = outcome.position {
                    print("adopted rules \(outcome.version) at position \(position) (before: \(outcome.previousVersion)); rebuild the projections with `clientledger projections rebuild`")
                } else {
                    print("rules \(outcome.version) are already in force: nothing written")
                }
            }
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a rules file: unknown keys, tiers out of order, thresholds that do not increase, negative values.",
            discussion: "Exit 0 and the rules version when the file is valid; exit 65 naming the key otherwise. Writes nothing.")

        @Argument(help: "Rules file (YAML).")
        var file: String

        func run() throws {
            try runMapped {
                _ = try readInput(file)
                let rules = try Rules(contentsOfFile: file)
                print("\(file): valid, rules version \(rules.version)")
            }
        }
    }
}

extension ClientLedger.RulesCommand {
    struct Simulate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Backtest other earning or tier rules over the recorded history: points, tiers and cost difference; writes nothing.",
            discussion: """
                Every recorded fact is run again, in recording order, through the policies an import runs, with the rules
                of FILE. With the rules the log was written with, the replay gives every recorded decision exactly
                (`reproducesRecord`). Decisions of periodic jobs and campaign launches are taken as recorded.
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var rulesOptions: RulesOptions
        @Argument(help: "The proposed rules file (YAML).") var file: String
        @Option(help: "Count points from this day (UTC).") var from: String?
        @Option(help: "Count points up to this day (UTC), and compare tiers at its end.") var to: String?
        @Option(help: "Output format: text or json.") var format: OutputFormat = .text

        func run() throws {
            try runMapped {
                _ = try readInput(file)
                let proposed = try Rules(contentsOfFile: file)
                let fromMoment = try from.map { try parseMoment($0, option: "--from") }.map { Timestamp(dayNumber: $0.dayNumber) }
                let toMoment = try to.map { try parseMoment($0, option: "--to") }
                if let fromMoment, let toMoment, toMoment < fromMoment { throw ValidationError("--to is before --from") }
                let store = try global.openLog(readOnly: true)
                let current = try rulesOptions.load(store)
                let result = try Ledger.simulateRules(proposed, current: current, store: store, from: fromMoment, to: toMoment)
                if format == .json {
                    print(try jsonText(result))
                    return
                }
                print("rules \(result.currentRulesVersion) → \(result.proposedRulesVersion), \(result.factsReplayed) facts replayed (nothing written)")
                print("period: \(result.from ?? "the beginning") to \(result.to ?? "now")")
                print("points: recorded \(result.recordedPoints) in \(result.recordedAwards) awards, proposed \(result.simulatedPoints) in \(result.simulatedAwards) awards; difference \(result.pointsDifference)")
                print(table(["tier", "recorded", "proposed"], Tier.allCases.map {
                    [$0.rawValue, String(result.tiersBefore[$0.rawValue] ?? 0), String(result.tiersAfter[$0.rawValue] ?? 0)]
                }))
                print("clients changing tier: \(result.clientsChangingTier); facts the proposed rules refuse: \(result.factsRefused)")
                print(result.reproducesRecord
                    ? "the replay gives every recorded decision exactly"
                    : "decisions differing from the record: \(result.decisionsDiffering) (first: \(result.firstDifference ?? "-"))")
            }
        }
    }
}

struct RulesHistoryRow: Encodable {
    var position: Int64
    var eventId: String
    var version: String
    var adoptedAt: String
    @NullEncoded var actor: String?
    var reason: String
    var inForce: Bool
    /// Decisions of the log that name this version.
    var decisions: Int
}

struct RulesHistoryView: Encodable {
    struct Unresolved: Encodable {
        var version: String
        var decisions: Int
    }

    var adoptions: [RulesHistoryRow]
    /// Rules versions named by decisions that no RulesAdopted carries.
    var unresolved: [Unresolved]
}

struct RulesAdoptView: Encodable {
    var version: String
    var previousVersion: String
    /// nil when the rules were in force already (nothing written).
    @NullEncoded var position: Int64?
}
