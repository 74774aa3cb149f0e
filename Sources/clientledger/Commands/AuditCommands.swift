import ArgumentParser
import Foundation
import LedgerDomain
import LedgerStore

extension ClientLedger {
    struct Audit: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compliance: prove the log was never altered.",
            subcommands: [Verify.self])
    }
}

extension ClientLedger.Audit {
    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Recompute the hash chain over the whole log and check the append-only triggers.",
            discussion: "Exit 0 when intact; exit 1 naming the first bad position or the missing trigger.")

        @OptionGroup var global: GlobalOptions

        @Option(help: "Output format: text or json.")
        var format: OutputFormat = .text

        func run() throws {
            var intact = true
            try runMapped {
                let log = try global.openLog(readOnly: true)
                let showProgress = stderrIsTerminal
                let report = try log.verifyChain { checked in
                    if showProgress { printError("  \(checked) events checked…") }
                }
                intact = report.isIntact
                if format == .json {
                    print(jsonText(VerifySummary(report)))
                    return
                }
                if let position = report.firstBadPosition {
                    print("BROKEN at position \(position): \(report.problem ?? "")")
                } else {
                    print("chain intact: \(report.eventsChecked) events, head \(report.headHash)")
                }
                for name in report.missingTriggers {
                    print("BROKEN: append-only trigger \(name) is missing or altered")
                }
            }
            if !intact { throw ExitCode(1) }
        }
    }

    struct VerifySummary: Encodable {
        var intact: Bool
        var eventsChecked: Int64
        var firstBadPosition: Int64?
        var problem: String?
        var missingTriggers: [String]
        var headHash: String

        init(_ report: ChainReport) {
            intact = report.isIntact
            eventsChecked = report.eventsChecked
            firstBadPosition = report.firstBadPosition
            problem = report.problem
            missingTriggers = report.missingTriggers
            headHash = report.headHash
        }
    }
}
