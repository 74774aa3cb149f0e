import ArgumentParser
import Foundation
import LedgerDomain
import LedgerApplication
import LedgerCore
import LedgerStorage

extension ClientLedger {
    struct Audit: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compliance: prove the log was never altered.",
            subcommands: [Verify.self, Export.self, Suitability.self])
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
                    print(try jsonText(VerifySummary(report)))
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
}

extension ClientLedger.Audit {
    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Export one client's events for a regulator, each with the hash before it, and the log's head.",
            discussion: """
                JSON Lines: a header line (client, exportedAt, head position and hash, event count), then one line
                per event with every stored field (data and metadata also as their exact stored text), its hash
                and previousHash, so each event's hash can be recomputed alone (schemas/hash-chain.md).
                Exit 1 if an exported hash does not verify.
                """)

        @OptionGroup var global: GlobalOptions
        @Argument(help: "Client id.") var client: String
        @Option(help: "Write to this file instead of standard output.") var output: String?

        func run() throws {
            var intact = true
            try runMapped {
                let log = try global.openLog(readOnly: true)
                let export = try AuditExport(client: client, from: log, at: .now())
                guard !export.events.isEmpty else {
                    throw InputError(line: nil, field: "client", problem: "no events of client \(client)")
                }
                intact = export.intact
                let sink = try OutputSink(path: output)
                for line in try export.lines() { try sink.write(line) }
                try sink.close()
                if !intact { printError("BROKEN: an exported event's hash does not verify (see hashVerifies)") }
            }
            if !intact { throw ExitCode(1) }
        }
    }
}
