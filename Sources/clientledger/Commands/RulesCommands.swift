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
            abstract: "Developers: show and check rules files.",
            subcommands: [Show.self, Check.self, Simulate.self])
    }
}

extension ClientLedger.RulesCommand {
    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the rules in force and their version.")

        @OptionGroup var rulesOptions: RulesOptions

        @Option(help: "text (the YAML), or json: {version, rules, canonical} (canonical: the exact text the version hashes).")
        var format: OutputFormat = .text

        func run() throws {
            try runMapped {
                let rules = try rulesOptions.load()
                if format == .json {
                    print(RulesView.json(rules))
                    return
                }
                print("# rules version \(rules.version)")
                if let path = rulesOptions.rules {
                    print(String(decoding: try readInput(path), as: UTF8.self))
                } else {
                    print(Rules.defaultYAML)
                }
            }
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a rules file: unknown keys, tiers out of order, thresholds that do not increase, negative values.",
            discussion: "Exit 0 and the rules version when the file is valid; exit 65 naming the key otherwise.")

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
                let current = try rulesOptions.load()
                let fromMoment = try from.map { try parseMoment($0, option: "--from") }.map { Timestamp(dayNumber: $0.dayNumber) }
                let toMoment = try to.map { try parseMoment($0, option: "--to") }
                if let fromMoment, let toMoment, toMoment < fromMoment { throw ValidationError("--to is before --from") }
                let store = try global.openLog(readOnly: true)
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
