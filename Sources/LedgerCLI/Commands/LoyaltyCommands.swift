import ArgumentParser
import Foundation
import LedgerDomain
import LedgerApplication
import LedgerCore
import LedgerStorage

extension ClientLedger {
    struct Tiers: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Marketing and operations: periodic tier evaluation.",
            subcommands: [Evaluate.self, Reconcile.self])
    }

    struct Points: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Marketing and operations: points expiry.",
            subcommands: [Expire.self])
    }
}

extension ClientLedger.Tiers {
    struct Evaluate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Downgrade clients whose tier guarantee has passed and who qualify lower.",
            discussion: "Safe to run twice for the same date: the second run writes nothing.")

        @OptionGroup var global: GlobalOptions

        @Option(help: "Evaluation date (a date means the end of that day, UTC).")
        var asOf: String

        func run() throws {
            try runMapped {
                let moment = try parseMoment(asOf, option: "--as-of")
                let ledger = try Ledger.open(store: try global.openLog(readOnly: false))
                let report = try ledger.evaluateTiers(asOf: moment)
                print("tiers evaluated as of \(moment.iso8601): \(report.clientsChanged) clients downgraded")
            }
        }
    }
}

extension ClientLedger.Tiers {
    struct Reconcile: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "After a rules change: TierChanged(reevaluated) for every client whose recorded tier differs from the rules' tier.",
            discussion: """
                The rules' tier is the tier the client qualifies for under the rules in force, except that a
                tier still inside its guarantee is kept. Run `projections diff` first to see what would change.
                """)

        @OptionGroup var global: GlobalOptions

        @Option(help: "Evaluation date (default: now; a date means the end of that day, UTC).")
        var asOf: String?

        func run() throws {
            try runMapped {
                let moment = try asOf.map { try parseMoment($0, option: "--as-of") } ?? Timestamp.now()
                let ledger = try Ledger.open(store: try global.openLog(readOnly: false))
                let report = try ledger.reconcileTiers(asOf: moment)
                print("tiers reconciled with rules \(ledger.rulesVersion) as of \(moment.iso8601): \(report.clientsChanged) clients changed tier")
            }
        }
    }
}

extension ClientLedger.Points {
    struct Expire: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Expire what is left of every lot whose end is at or before the date.",
            discussion: "Safe to run twice for the same date: the second run writes nothing.")

        @OptionGroup var global: GlobalOptions

        @Option(help: "Expiry date (a date means the end of that day, UTC).")
        var asOf: String

        func run() throws {
            try runMapped {
                let moment = try parseMoment(asOf, option: "--as-of")
                let ledger = try Ledger.open(store: try global.openLog(readOnly: false))
                let report = try ledger.expirePoints(asOf: moment)
                print("points expired as of \(moment.iso8601): \(report.points) points from \(report.eventsWritten) lots of \(report.clientsChanged) clients")
            }
        }
    }
}
