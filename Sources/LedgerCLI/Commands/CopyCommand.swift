import ArgumentParser
import Foundation
import LedgerApplication
import LedgerCore
import LedgerStorage

// MARK: - copy

extension ClientLedger {
    struct Copy: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy a ledger to another database (SQLite file ↔ PostgreSQL), chain head unchanged.",
            discussion: """
                Every event is copied as recorded (positions, ids, times, payloads, hashes), with the
                personal-data keys of its stream and the signing key, in one transaction per batch;
                then the target's projections are rebuilt. Stopped midway, the same command resumes
                after the last batch committed. A target that holds anything but a beginning of the
                source's log is refused (exit 65), nothing written. The source is only read.
                """)

        @Option(help: "The ledger to copy: a SQLite file or a postgres:// URL.") var from: String
        @Option(help: "Where to copy it: a SQLite file or a postgres:// URL (created when missing).") var to: String
        @Option(parsing: .unconditional, help: "Events per committed batch (default 10000).") var batchSize = 10_000
        @Option(help: "Output format: text or json.") var format: OutputFormat = .text

        func validate() throws {
            guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
            guard from != to else { throw ValidationError("--from and --to name the same ledger") }
        }

        func run() throws {
            try runMapped {
                let source = try LedgerStores.open(from, readOnly: true)
                let (target, _) = try LedgerStores.create(to)
                let show = stderrIsTerminal
                let report = try LedgerCopy.copy(
                    from: source, to: target, sourceLocation: from, targetLocation: to, batchSize: batchSize,
                    progress: { done, total in if show { printError("  copied through position \(done) of \(total)") } })
                if format == .json {
                    print(try jsonText(report))
                } else {
                    let resumed = report.alreadyThere > 0 ? " (resumed after position \(report.alreadyThere))" : ""
                    print("copied \(report.copied) events in \(report.batches) batches\(resumed) from \(source.location) to \(target.location)")
                    print("chain head on both: position \(report.headPosition), \(report.headHash)")
                    print("personal-data keys copied: \(report.personalKeysCopied), destroyed again after an erasure: \(report.personalKeysDestroyed)")
                    print("signing key: \(report.signingKeyCopied ? "the source's" : "the target's own (checkpoints of the source verify with the source's public key)")")
                    print(report.projectionsRebuilt ? "projections rebuilt on the target" : "nothing to project (empty log)")
                }
            }
        }
    }
}
