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
            subcommands: [Show.self, Check.self])
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
